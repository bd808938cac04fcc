//! Turns serde_yaml's error into a position and a message in the policy's
//! own words: `unknown key "prority" in record; expected one of name, type, …`
//! instead of ``roles.smtp-out.records[0]: unknown field `prority`, …``.

use super::locate::{Locator, Pos, YamlPath};
use super::recover::ShapeError;

/// Messages of serde's own errors, which serde_yaml prefixes with a path.
const SERDE_MESSAGES: [&str; 7] = [
    "unknown field `",
    "missing field `",
    "duplicate field `",
    "invalid type: ",
    "invalid value: ",
    "invalid length ",
    "unknown variant `",
];

/// The position and message for `err`, raised while reading `text`.
pub(super) fn describe(err: &serde_yaml::Error, text: &str) -> (Pos, String) {
    let mut pos = match err.location() {
        Some(loc) => Pos {
            line: loc.line().max(1),
            column: loc.column().max(1),
        },
        None => Pos { line: 1, column: 1 },
    };
    let full = err.to_string();
    let full = match err.location() {
        Some(loc) => full.replacen(&format!(" at line {} column {}", loc.line(), loc.column()), "", 1),
        None => full,
    };
    let (path, message) = split_path(&full);
    let blank = text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---"
    });
    if blank {
        let message = "the policy is empty; it needs at least `zone:` and `roles:`".to_owned();
        return (Pos { line: 1, column: 1 }, message);
    }
    let map = || YamlPath::parse(path.unwrap_or(""));
    if message.starts_with("missing field `") {
        // serde_yaml points after the mapping; point at its start instead.
        pos = Locator::new(text).find(&map());
    } else if let Some(rest) = message.strip_prefix("duplicate field `") {
        let key = rest.trim_end_matches('`');
        pos = Locator::new(text).find_key(&map(), key, 1);
    }
    if message.starts_with("could not find expected ':'") {
        // libyaml notices at the next line; the key without `: ` is where
        // it started scanning.
        if let Some(start) = context_pos(message) {
            pos = start;
        }
    }
    let serde_message = SERDE_MESSAGES.iter().any(|m| message.starts_with(m));
    let mut message = explain(path, message);
    if !serde_message && let Some(hint) = syntax_hint(&message, text, pos) {
        message.push_str("; ");
        message.push_str(hint);
    }
    (pos, message)
}

/// The position and message of a shape problem found while reading on
/// past the first (see `recover`).
pub(super) fn describe_shape(err: &ShapeError, locator: &Locator) -> (Pos, String) {
    let pos = match unknown_key(&err.message) {
        Some(key) => locator.find_key(&err.path, key, 0),
        None => locator.find(&err.path),
    };
    let path = err.path.to_string();
    let path = (!path.is_empty()).then_some(path.as_str());
    (pos, explain(path, &err.message))
}

/// serde's `message` about the value at `path`, in the policy's words.
fn explain(path: Option<&str>, message: &str) -> String {
    let table = || describe_table(path.unwrap_or(""));
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once("`, ").unwrap_or((rest, ""));
        let mut expected = match expected.strip_prefix("expected ") {
            Some(list) => format!("expected one of {}", key_list(list)),
            None => "it takes no keys".to_owned(),
        };
        if let Some(close) = close_key(message) {
            expected.push_str(&format!("; did you mean \"{close}\"?"));
        }
        format!("unknown key \"{key}\" in {}; {expected}", table())
    } else if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.trim_end_matches('`');
        format!("missing key \"{key}\" in {}", table())
    } else if let Some(rest) = message.strip_prefix("duplicate field `") {
        let key = rest.trim_end_matches('`');
        format!("key \"{key}\" appears twice in {}; keep one", table())
    } else if message.starts_with("deserializing from YAML containing more than one document") {
        "a policy is one YAML document; remove the second `---` and what follows it".to_owned()
    } else {
        let mut message = without_struct_names(message);
        let string = message
            .strip_prefix("invalid type: string \"")
            .and_then(|rest| rest.rsplit_once('"'))
            .map(|(string, _)| string);
        if string.is_some_and(|s| s.contains(':') && !s.contains(": ")) {
            message.push_str("; a colon and space separate a key from its value (`key: value`)");
        }
        match path {
            Some(path) => format!("{path}: {message}"),
            None => message,
        }
    }
}

/// The position in libyaml's "…, while scanning a simple key at line L
/// column C" (1-based, as it prints them).
fn context_pos(message: &str) -> Option<Pos> {
    let (_, rest) = message.rsplit_once(" at line ")?;
    let (line, column) = rest.split_once(" column ")?;
    let column: String = column.chars().take_while(char::is_ascii_digit).collect();
    Some(Pos {
        line: line.parse().ok()?,
        column: column.parse().ok()?,
    })
}

/// A plain-words hint for a YAML syntax error at `pos`.
fn syntax_hint(message: &str, text: &str, pos: Pos) -> Option<&'static str> {
    let line = text.lines().nth(pos.line.saturating_sub(1)).unwrap_or("");
    let indent = &line[..line.len() - line.trim_start().len()];
    let at = line.chars().nth(pos.column.saturating_sub(1));
    if indent.contains('\t') || at == Some('\t') {
        return Some("tabs are not allowed for indentation; indent with spaces");
    }
    if matches!(at, Some('@' | '`')) {
        return Some("a value cannot start with @ or `; quote it, as in name: \"@\"");
    }
    let hints: [(&str, &str); 9] = [
        (
            "could not find expected ':'",
            "a colon and space separate a key from its value (`key: value`)",
        ),
        (
            "mapping values are not allowed in this context",
            "a colon and space start a key here: put the key on its own line at its mapping's indentation, \
             or quote a value that contains \": \"",
        ),
        (
            "block sequence entries are not allowed in this context",
            "a list item `- ` cannot follow a key's value on its line; start the list on the next line, indented",
        ),
        (
            "did not find expected key",
            "check the indentation: the keys of one mapping start in the same column",
        ),
        (
            "did not find expected '-' indicator",
            "check the indentation: the items of one list start in the same column",
        ),
        (
            "did not find expected ',' or '}'",
            "a `{ ... }` mapping needs commas between entries and a closing `}`",
        ),
        (
            "did not find expected ',' or ']'",
            "a `[ ... ]` list needs commas between items and a closing `]`",
        ),
        (
            "while scanning a quoted scalar",
            "a quoted value is missing its closing quote",
        ),
        (
            "found unknown escape character",
            "inside double quotes a backslash starts an escape; use single quotes, or write \\\\",
        ),
    ];
    hints
        .iter()
        .find(|(needle, _)| message.contains(needle))
        .map(|(_, hint)| *hint)
}

/// "expected struct RawRole" says nothing to the user: "expected a mapping".
fn without_struct_names(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("struct Raw") {
        out.push_str(&rest[..at]);
        out.push_str("a mapping");
        let name = &rest[at + "struct Raw".len()..];
        rest = name.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    }
    out.push_str(rest);
    out
}

/// Splits serde_yaml's `path: message` where the message is serde's own.
fn split_path(full: &str) -> (Option<&str>, &str) {
    for start in SERDE_MESSAGES {
        if full.starts_with(start) {
            return (None, full);
        }
        if let Some(at) = full.find(&format!(": {start}")) {
            return (Some(&full[..at]), &full[at + 2..]);
        }
    }
    (None, full)
}

/// The unknown key of serde's "unknown field `k`, expected …" message.
pub(super) fn unknown_key(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// The expected key closest to the unknown one in serde's "unknown field"
/// `message`, if it is within two edits (a typo, not another key).
pub(super) fn close_key(message: &str) -> Option<String> {
    let key = unknown_key(message)?;
    let (_, expected) = message.split_once("`, expected ")?;
    key_list(expected)
        .split(", ")
        .map(|k| (super::validate::edit_distance(key, k), k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.to_owned())
}

/// "`a`, `b` or `c`", "one of `a`, `b`" or "`a`" → "a, b, c".
fn key_list(expected: &str) -> String {
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the table at serde_yaml's `path` is, in the policy's words.
fn describe_table(path: &str) -> String {
    let mut trimmed = path;
    while let Some(open) = trimmed.strip_suffix(']').and_then(|rest| rest.rfind('[')) {
        trimmed = &trimmed[..open];
    }
    let last = trimmed.rsplit('.').next().unwrap_or(trimmed);
    let in_list = trimmed.len() < path.len();
    match (trimmed, last, in_list) {
        ("" | ".", _, _) => "the top level".to_owned(),
        ("soa" | "heartbeat", _, false) => trimmed.to_owned(),
        ("schedules", _, true) => "schedule".to_owned(),
        ("autoscale", _, true) => "autoscale rule".to_owned(),
        ("hosts", _, true) => "host".to_owned(),
        ("records", _, true) => "record".to_owned(),
        ("reverse", _, true) => "reverse block".to_owned(),
        ("spf", _, false) => "spf".to_owned(),
        ("rate_limit", _, false) => "rate_limit".to_owned(),
        (_, "records", true) if path.starts_with("roles.") => "record".to_owned(),
        (_, "fallback", true) if path.starts_with("roles.") => "fallback record".to_owned(),
        (_, "drain", false) if path.starts_with("roles.") => "drain".to_owned(),
        _ => match path.strip_prefix("roles.") {
            Some(role) if !in_list => format!("role \"{role}\""),
            _ => path.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_path_off() {
        assert_eq!(
            split_path("roles.a.records[0]: unknown field `x`, expected `name`"),
            (Some("roles.a.records[0]"), "unknown field `x`, expected `name`")
        );
        assert_eq!(split_path("missing field `zone`"), (None, "missing field `zone`"));
        assert_eq!(
            split_path("did not find expected key"),
            (None, "did not find expected key")
        );
    }

    #[test]
    fn hides_struct_names() {
        assert_eq!(
            without_struct_names("invalid type: sequence, expected struct RawRole"),
            "invalid type: sequence, expected a mapping"
        );
        assert_eq!(without_struct_names("no struct here"), "no struct here");
    }

    #[test]
    fn lists_keys() {
        assert_eq!(key_list("one of `a`, `b`, `c`"), "a, b, c");
        assert_eq!(key_list("`min` or `records`"), "min, records");
        assert_eq!(key_list("`zone`"), "zone");
    }

    #[test]
    fn names_tables() {
        assert_eq!(describe_table(""), "the top level");
        assert_eq!(describe_table("soa"), "soa");
        assert_eq!(describe_table("hosts[3]"), "host");
        assert_eq!(describe_table("schedules[0]"), "schedule");
        assert_eq!(describe_table("autoscale[1]"), "autoscale rule");
        assert_eq!(describe_table("roles.web"), "role \"web\"");
        assert_eq!(describe_table("roles.smtp2"), "role \"smtp2\"");
        assert_eq!(describe_table("roles.web.records[0]"), "record");
        assert_eq!(describe_table("roles.web.fallback[10]"), "fallback record");
        assert_eq!(describe_table("roles.web.drain"), "drain");
        assert_eq!(describe_table("records[2]"), "record");
        assert_eq!(describe_table("reverse[0]"), "reverse block");
        assert_eq!(describe_table("spf"), "spf");
    }
}
