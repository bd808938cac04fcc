//! Names a role publishes at vanish (NXDOMAIN) when its pool is empty,
//! unless something else is always published there.

use super::load;

/// The warnings of `lines`, as `"LINE:COLUMN message"`, but the one about
/// a policy without `spf:` (tested in `list_domain`).
fn warnings(lines: &[&str]) -> Vec<String> {
    load(lines)
        .warnings
        .iter()
        .filter(|w| !w.message.contains("has no spf:"))
        .map(|w| format!("{}:{} {}", w.line, w.column, w.message))
        .collect()
}

const HOSTS: &str =
    "hosts: [ { name: fb, address: 127.0.0.9, static: true }, { name: a, address: 127.0.0.1 } ]";

#[test]
fn a_min_0_role_without_fallback_warns_at_the_role_naming_each_name() {
    let found = warnings(&[
        "zone: lists.example.test",
        "roles:",
        "  bounce:",
        "    min: 0",
        "    records:",
        "      - { name: bounces, type: MX, priority: 10 }",
        "      - { name: bounces, type: A }",
        "      - { name: b2.mail, type: A }",
        HOSTS,
    ]);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("3:3 role \"bounce\" has min 0 and no fallback at bounces.lists.example.test.:")
    );
    assert!(found[0].contains("NXDOMAIN"), "{}", found[0]);
    assert!(
        found[0].contains("add a fallback at bounces, e.g. { name: bounces, type: MX, priority: 20, target: <an in-zone static host> }, or raise min to 1"),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with("3:3 role \"bounce\" has min 0 and no fallback at b2.mail.lists.example.test.:")
    );
    assert!(
        found[1].contains("add a fallback at b2.mail, e.g. { name: b2.mail, type: A,"),
        "{}",
        found[1]
    );
}

#[test]
fn names_something_else_keeps_do_not_warn() {
    // Its own fallback.
    let fallback = [
        "zone: lists.example.test",
        "roles:",
        "  bounce:",
        "    records: [ { name: bounces, type: MX, priority: 10 } ]",
        "    fallback: [ { name: bounces, type: MX, priority: 20, target: fb } ]",
        HOSTS,
    ];
    assert_eq!(warnings(&fallback), Vec::<String>::new());
    // The apex, a host's own name, a name below which a fallback lives, a
    // name a role with min 1 publishes too.
    let others = [
        "zone: lists.example.test",
        "roles:",
        "  smtp-in: { records: [ { name: \"@\", type: MX, priority: 10 } ] }",
        "  named: { records: [ { name: fb, type: AAAA } ] }",
        "  parent: { records: [ { name: mail, type: A } ] }",
        "  other: { fallback: [ { name: x.mail, type: A, address: 127.0.0.2 } ] }",
        "  web: { records: [ { name: www, type: A } ] }",
        "  web2: { min: 1, records: [ { name: www, type: A } ] }",
        HOSTS,
    ];
    assert_eq!(warnings(&others), Vec::<String>::new());
    // A min of 1, or a static member that is always there.
    let held = [
        "zone: lists.example.test",
        "roles:",
        "  bounce: { min: 1, records: [ { name: bounces, type: MX, priority: 10 } ] }",
        "  web: { records: [ { name: www, type: A } ] }",
        "hosts: [ { name: a, address: 127.0.0.1 }, { name: s, address: 127.0.0.2, role: web, static: true } ]",
    ];
    assert_eq!(warnings(&held), Vec::<String>::new());
}

#[test]
fn a_role_that_publishes_nothing_never_warns() {
    let found = warnings(&[
        "zone: lists.example.test",
        "roles: { spare: { min: 0, records: [] } }",
        HOSTS,
    ]);
    assert_eq!(found, Vec::<String>::new());
}
