//! Turns serde_yaml's error into a position and a message in the policy's
//! own words: `unknown key "prority" in record; expected one of name, type, …`
//! instead of ``roles.smtp-out.records[0]: unknown field `prority`, …``.

use super::locate::{Locator, Pos, YamlPath};

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
    let table = || describe_table(path.unwrap_or(""));
    let blank = text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---"
    });
    let message = if blank {
        pos = Pos { line: 1, column: 1 };
        "the policy is empty; it needs at least `zone:` and `roles:`".to_owned()
    } else if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once("`, ").unwrap_or((rest, ""));
        let expected = match expected.strip_prefix("expected ") {
            Some(list) => format!("expected one of {}", key_list(list)),
            None => "it takes no keys".to_owned(),
        };
        format!("unknown key \"{key}\" in {}; {expected}", table())
    } else if let Some(rest) = message.strip_prefix("missing field `") {
        // serde_yaml points after the mapping; point at its start instead.
        pos = Locator::new(text).find(&YamlPath::parse(path.unwrap_or("")));
        let key = rest.trim_end_matches('`');
        format!("missing key \"{key}\" in {}", table())
    } else if let Some(rest) = message.strip_prefix("duplicate field `") {
        let key = rest.trim_end_matches('`');
        let map = YamlPath::parse(path.unwrap_or(""));
        pos = Locator::new(text).find_key(&map, key, 1);
        format!("key \"{key}\" appears twice in {}; keep one", table())
    } else if message.starts_with("deserializing from YAML containing more than one document") {
        "a policy is one YAML document; remove the second `---` and what follows it".to_owned()
    } else {
        let message = without_struct_names(message);
        match path {
            Some(path) => format!("{path}: {message}"),
            None => message,
        }
    };
    (pos, message)
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
    }
}
