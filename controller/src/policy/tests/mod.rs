//! Tests of the loader on small texts: `problems` checks each problem's exact
//! `LINE:COLUMN` and message (rust-analyzer's `check` style), `mapping` what a
//! valid text turns into.

use std::path::Path;

use hickory_proto::rr::Name;

use super::{Policy, load_str};

mod all_at_once;
mod empty_pools;
mod list_domain;
mod mapping;
mod mutations;
mod name_rules;
mod problems;
mod rate_limit;
mod tsig;

/// Two lines every fixture may start with: a zone and roles `web` and `smtp-out`.
const HEAD: [&str; 2] = [
    "zone: lists.example.test",
    "roles: { web: { records: [ { name: www, type: A } ] }, smtp-out: {} }",
];

fn text<S: AsRef<str>>(lines: &[S]) -> String {
    lines.iter().map(|line| format!("{}\n", line.as_ref())).collect()
}

fn with_head(lines: &[&str]) -> Vec<String> {
    HEAD.iter().chain(lines).map(|line| (*line).to_owned()).collect()
}

/// Loads `lines` and expects exactly the `expected` problems, each written
/// `"LINE:COLUMN part of the message"`.
#[track_caller]
fn check<S: AsRef<str>>(lines: &[S], expected: &[&str]) {
    let text = text(lines);
    let err = load_str(Path::new("t.yaml"), &text).expect_err("the policy is rejected");
    let actual: Vec<String> = err
        .problems()
        .iter()
        .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
        .collect();
    let shown = actual.join("\n");
    assert_eq!(actual.len(), expected.len(), "problems:\n{shown}");
    for (actual, expected) in actual.iter().zip(expected) {
        let (pos, part) = expected.split_once(' ').unwrap_or((expected, ""));
        let (actual_pos, message) = actual.split_once(": ").unwrap_or((actual, ""));
        assert_eq!(actual_pos, pos, "problems:\n{shown}");
        assert!(
            message.contains(part),
            "{part:?} not in {message:?}; problems:\n{shown}"
        );
    }
}

#[track_caller]
fn load<S: AsRef<str>>(lines: &[S]) -> Policy {
    load_str(Path::new("t.yaml"), &text(lines)).unwrap_or_else(|err| panic!("{err}"))
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap_or_else(|err| panic!("{text}: {err}"))
}
