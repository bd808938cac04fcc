//! Whatever is in the file, loading it never panics, and every problem is
//! located (the file, a line inside it, a column) and says something: the
//! real example policies, mutated at random as an editor's slip would.

use std::path::Path;

use proptest::prelude::*;

use crate::policy::{PolicyError, load_str};

const POLICIES: &[&str] = &[
    include_str!("../../../../policies/reference.yaml"),
    include_str!("../../../../policies/design-example.yaml"),
    include_str!("../../../../policies/morning-bulge.yaml"),
    include_str!("../../../../policies/static-only.yaml"),
];

/// One slip: what it does and where (a fraction of the way through the text).
#[derive(Clone, Debug)]
enum Slip {
    DeleteLine(f64),
    DuplicateLine(f64),
    SwapLines(f64, f64),
    ReplaceChar(f64, char),
    InsertText(f64, String),
    Truncate(f64),
}

fn slip() -> impl Strategy<Value = Slip> {
    let at = 0.0..1.0f64;
    let punctuation = prop::sample::select(vec![
        ':', '{', '}', '[', ']', '-', ' ', '\t', '"', '\'', ',', '#', '&', '*', '!', '|', '>', '%', '@', '0',
        '9', 'x', '.', '/', '\n', '\r', 'é',
    ]);
    let snippet = prop_oneof![
        Just(": ".to_owned()),
        Just("  - ".to_owned()),
        Just("{ min: -1 }".to_owned()),
        Just("99999999999999999999".to_owned()),
        Just("127.0.0.256".to_owned()),
        Just("::1".to_owned()),
        Just("&anchor ".to_owned()),
        Just("*alias".to_owned()),
        Just("!!binary ".to_owned()),
        "\\PC{0,12}",
    ];
    prop_oneof![
        at.clone().prop_map(Slip::DeleteLine),
        at.clone().prop_map(Slip::DuplicateLine),
        (at.clone(), at.clone()).prop_map(|(a, b)| Slip::SwapLines(a, b)),
        (at.clone(), punctuation).prop_map(|(a, c)| Slip::ReplaceChar(a, c)),
        (at.clone(), snippet).prop_map(|(a, s)| Slip::InsertText(a, s)),
        at.prop_map(Slip::Truncate),
    ]
}

fn index(fraction: f64, len: usize) -> usize {
    ((fraction * len as f64) as usize).min(len.saturating_sub(1))
}

/// The nearest char boundary at or before `at`.
fn boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, slip: &Slip) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return text.to_owned();
    }
    match slip {
        Slip::DeleteLine(a) => {
            lines.remove(index(*a, lines.len()));
        }
        Slip::DuplicateLine(a) => {
            let i = index(*a, lines.len());
            lines.insert(i, lines[i]);
        }
        Slip::SwapLines(a, b) => {
            let (i, j) = (index(*a, lines.len()), index(*b, lines.len()));
            lines.swap(i, j);
        }
        Slip::ReplaceChar(a, c) => {
            let at = boundary(text, index(*a, text.len()));
            let mut out = text[..at].to_owned();
            out.push(*c);
            let rest = &text[at..];
            out.push_str(
                rest.get(rest.chars().next().map_or(0, char::len_utf8)..)
                    .unwrap_or(""),
            );
            return out;
        }
        Slip::InsertText(a, s) => {
            let at = boundary(text, index(*a, text.len()));
            return format!("{}{s}{}", &text[..at], &text[at..]);
        }
        Slip::Truncate(a) => return text[..boundary(text, index(*a, text.len()))].to_owned(),
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Lines as YAML counts them: `\r\n`, a lone `\r` and `\n` each end one.
fn yaml_lines(text: &str) -> usize {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|&c| c == '\n' || c == '\r')
        .count()
        + 1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn a_slip_in_a_policy_is_loaded_or_located(
        which in 0..POLICIES.len(),
        slips in prop::collection::vec(slip(), 1..4),
    ) {
        let text = slips.iter().fold(POLICIES[which].to_owned(), |text, s| apply(&text, s));
        let path = Path::new("slipped.yaml");
        match load_str(path, &text) {
            Ok(_) => {}
            Err(PolicyError::Io { .. }) => prop_assert!(false, "a text has no I/O to fail"),
            Err(PolicyError::Invalid(problems)) => {
                prop_assert!(!problems.is_empty(), "rejected without a reason");
                let lines = yaml_lines(&text);
                for p in &problems {
                    prop_assert_eq!(p.file.as_path(), path);
                    prop_assert!(
                        p.line >= 1 && p.line <= lines + 1 && p.column >= 1,
                        "{}:{} is outside the {}-line text: {}", p.line, p.column, lines, p.message
                    );
                    prop_assert!(!p.message.trim().is_empty(), "a problem without a message at {}:{}", p.line, p.column);
                }
            }
        }
    }
}
