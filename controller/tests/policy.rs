//! The policies in `policies/` load, reject a typo'd key in every table
//! (hickory-dns's trick for its example configs), and no text, however
//! mangled, panics the loader.

use std::path::{Path, PathBuf};
use std::time::Duration;

use muster_controller::policy::{DrainUntil, PolicyError, load_file, load_str};
use proptest::prelude::*;

const POLICIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies");

/// Mappings whose keys are names the user chooses, not fixed keys.
const FREE_FORM: [&str; 5] = ["roles", "want", "default_want", "labels", "aliases"];

fn policy_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(POLICIES)
        .expect("policies/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "expected the example policies in {POLICIES}, found {files:?}"
    );
    files
}

#[test]
fn every_policy_loads() {
    for file in policy_files() {
        if let Err(err) = load_file(&file) {
            panic!("{} does not load:\n{err}", file.display());
        }
    }
}

#[test]
fn the_demo_policy_has_what_the_demo_needs() {
    let policy = load_file(&Path::new(POLICIES).join("demo.yaml")).expect("demo.yaml loads");
    assert_eq!(policy.zone.to_ascii(), "lists.example.test.");
    let roles: Vec<&str> = policy.roles.keys().map(String::as_str).collect();
    assert_eq!(roles, ["bounce", "smtp-in", "smtp-out", "spare", "web"]);
    let smurfs = policy
        .hosts
        .iter()
        .filter(|h| h.name.starts_with("smurf"))
        .count();
    assert_eq!(smurfs, 12);
    assert!(
        policy
            .hosts
            .iter()
            .filter(|h| !h.name.starts_with("smurf"))
            .all(|h| h.is_static)
    );
    let ns1 = policy
        .hosts
        .iter()
        .find(|h| h.name == "ns1")
        .expect("a host for the nameserver");
    assert_eq!(policy.nameservers, std::slice::from_ref(&ns1.fqdn));
    assert!(policy.warnings.is_empty(), "{:?}", policy.warnings);
    // Moves finish within seconds: short TTLs, drains that end with the queue.
    assert_eq!(policy.ttl, 5);
    let smtp_out = &policy.roles["smtp-out"];
    assert_eq!(smtp_out.drain.until, DrainUntil::QueueEmpty);
    assert!(smtp_out.drain.timeout <= Duration::from_secs(60));
    assert!(policy.limits.host_cooldown <= Duration::from_secs(30));
    // Outside windows, default_want; a window every few minutes, in UTC.
    assert!(!policy.default_want.is_empty());
    assert_eq!(policy.schedules.len(), 1);
    let window = &policy.schedules[0];
    assert_eq!(window.timezone.iana_name(), Some("UTC"));
    assert!(window.duration <= Duration::from_secs(120));
    // A load rule on the queue the demo's agents report, borrowing from
    // bounce, then web.
    assert_eq!(policy.autoscale.len(), 1);
    let rule = &policy.autoscale[0];
    assert_eq!(
        (rule.role.as_str(), rule.metric.as_str()),
        ("smtp-out", "queue_depth")
    );
    assert_eq!(rule.borrow_from, ["bounce", "web"]);
    assert!(rule.cooldown <= Duration::from_secs(30));
}

/// Where a bogus key can be inserted into one mapping, and where it then is.
struct Insertion {
    text: String,
    line: usize,
    column: usize,
}

/// One insertion of `bogus_key: 1` into every mapping with fixed keys: before
/// the first key line of each block mapping (after a `- ` item's first key)
/// and at the start of each flow mapping.
fn insertions(text: &str) -> Vec<Insertion> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    // (column, key, line) of the enclosing block keys.
    let mut parents: Vec<(usize, String, usize)> = Vec::new();
    // Block mappings already given a bogus key: (parent line, column).
    let mut done: Vec<(Option<usize>, usize)> = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        let (item, rest, col) = match content.strip_prefix("- ") {
            Some(rest) => (true, rest, indent + 2),
            None => (false, content, indent),
        };
        let key = rest.split_once(':').map(|(key, _)| key).filter(|key| {
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-\"@".contains(c))
        });
        while parents.last().is_some_and(|(c, _, _)| *c >= col) {
            parents.pop();
        }
        let parent = parents.last().map(|(_, key, _)| key.as_str()).unwrap_or("");
        if let Some(key) = key {
            // One insertion per block mapping (each list item is one), at its
            // first key line.
            let mapping = (parents.last().map(|(_, _, line)| *line), col);
            if (item || !done.contains(&mapping)) && !FREE_FORM.contains(&parent) {
                done.push(mapping);
                let at = if item { n + 1 } else { n };
                let mut new: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
                new.insert(at, format!("{}bogus_key: 1", " ".repeat(col)));
                out.push(Insertion {
                    text: new.join("\n") + "\n",
                    line: at + 1,
                    column: col + 1,
                });
            }
            parents.push((col, key.trim_matches('"').to_owned(), n));
        }
        // Flow mappings on this line.
        for (at, _) in line.match_indices('{') {
            let before = line[..at].trim_end().trim_end_matches(':');
            let owner = before.rsplit([' ', '{', ',']).next().unwrap_or("");
            if FREE_FORM.contains(&owner) {
                continue;
            }
            let empty = line[at + 1..].trim_start().starts_with('}');
            let bogus = if empty { " bogus_key: 1 " } else { " bogus_key: 1," };
            let mut new: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            new[n] = format!("{}{bogus}{}", &line[..=at], &line[at + 1..]);
            out.push(Insertion {
                text: new.join("\n") + "\n",
                line: n + 1,
                column: at + 3,
            });
        }
    }
    out
}

#[test]
fn a_bogus_key_in_any_table_is_rejected_at_its_position() {
    let mut tried = 0;
    for file in policy_files() {
        let text = std::fs::read_to_string(&file).expect("readable");
        for insertion in insertions(&text) {
            tried += 1;
            let err = load_str(&file, &insertion.text).expect_err("a bogus key is rejected");
            let problems = err.problems();
            let context = || format!("{}:\n{}\n---\n{err}", file.display(), insertion.text);
            assert_eq!(problems.len(), 1, "{}", context());
            let problem = &problems[0];
            assert!(
                problem.message.contains("unknown key \"bogus_key\""),
                "{}",
                context()
            );
            assert_eq!(
                (problem.line, problem.column),
                (insertion.line, insertion.column),
                "{}",
                context()
            );
            assert!(
                err.to_string().starts_with(&format!(
                    "{}:{}:{}: unknown key",
                    file.display(),
                    insertion.line,
                    insertion.column
                )),
                "{}",
                context()
            );
        }
    }
    assert!(
        tried >= 30,
        "only {tried} insertions: is the insertion finder broken?"
    );
}

#[test]
fn a_missing_file_is_an_io_error() {
    let err = load_file(Path::new("/nonexistent/policy.yaml")).expect_err("no such file");
    assert!(matches!(err, PolicyError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/policy.yaml"), "{err}");
}

/// The example policies' texts, for mutation.
fn texts() -> Vec<String> {
    policy_files()
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("readable"))
        .collect()
}

/// `text` with `len` chars from `at` (both wrapped) replaced by `insert`.
fn mutate(text: &str, at: usize, len: usize, insert: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = at % (chars.len() + 1);
    let end = (at + len % 8).min(chars.len());
    let mut out: String = chars[..at].iter().collect();
    out.push_str(insert);
    out.extend(&chars[end..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC*") {
        let _ = load_str(Path::new("fuzz.yaml"), &text);
    }

    #[test]
    fn yaml_like_text_never_panics(text in "[a-z0-9:{}\\[\\],\\-\"'&*!|>%@#. \n\t]{0,200}") {
        let _ = load_str(Path::new("fuzz.yaml"), &text);
    }

    #[test]
    fn mutated_policies_never_panic(
        file in any::<prop::sample::Index>(),
        edits in prop::collection::vec(
            (any::<usize>(), any::<usize>(), "[a-z0-9:{}\\[\\],\\-\"'&*!%@#. \n]{0,12}"),
            1..4,
        ),
    ) {
        let texts = texts();
        let mut text = file.get(&texts).clone();
        for (at, len, insert) in &edits {
            text = mutate(&text, *at, *len, insert);
        }
        if let Err(err) = load_str(Path::new("fuzz.yaml"), &text) {
            // Every problem has a real position.
            for problem in err.problems() {
                prop_assert!(problem.line >= 1 && problem.column >= 1, "{problem}");
            }
        }
    }
}
