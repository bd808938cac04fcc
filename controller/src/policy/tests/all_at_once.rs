//! One run reports every problem it can locate: a shape error (a misspelt
//! key, a value of the wrong type) no longer hides the rest of the file,
//! and a mistake in one part does not hide the cross-checks of another.

use super::{check, load};

#[test]
fn a_misspelt_key_a_bad_cron_and_an_unknown_role_all_at_once() {
    check(
        &[
            "zone: lists.example.test",
            "roles:",
            "  smtp-out:",
            "    min: 1",
            "    recrods: []",
            "  web: { records: [ { name: www, type: A } ], fallback: [ { name: www, type: A, address: 127.0.0.9 } ] }",
            "default_want: { smtp-ot: 2 }",
            "schedules:",
            "  - name: bulge",
            "    cron: \"0 25 * * *\"",
            "    for: 1h",
            "    timezone: America/Los Angeles",
            "    want: { web: 1 }",
        ],
        &[
            "5:5 unknown key \"recrods\" in role \"smtp-out\"; expected one of min, records, fallback, drain, probes, labels, publish_max; did you mean \"records\"?",
            "7:26 default_want wants role \"smtp-ot\" which is not defined in roles (defined: smtp-out, web); did you mean \"smtp-out\"?",
            "10:11 cron: hour field \"25\"",
            "12:15 timezone \"America/Los Angeles\" is not in the IANA timezone database",
        ],
    );
}

#[test]
fn an_unknown_role_does_not_hide_an_mx_target_without_an_address() {
    check(
        &[
            "zone: lists.example.test",
            "roles:",
            "  bounce:",
            "    records: [ { name: bounces, type: MX, priority: 10 } ]",
            "    fallback: [ { name: bounces, type: MX, priority: 20, target: nowhere } ]",
            "default_want: { bonce: 1 }",
        ],
        &[
            "5:66 MX target nowhere.lists.example.test. is in the zone but nothing publishes its address",
            "6:24 default_want wants role \"bonce\" which is not defined in roles (defined: bounce); did you mean \"bounce\"?",
        ],
    );
}

#[test]
fn every_shape_error_is_reported_and_the_rest_still_checked() {
    check(
        &[
            "zone: lists.example.test",
            "tll: 30",
            "soa: { refresh: [1] }",
            "roles:",
            "  web: { records: [ { name: www, type: MX, prority: x } ] }",
            "hosts:",
            "  - [ not, a, host ]",
            "  - { name: b, address: 127.0.0.2, role: wbe }",
            "  - { name: c, adress: 127.0.0.3 }",
        ],
        &[
            "2:1 unknown key \"tll\" in the top level; expected one of zone, ttl,",
            "3:17 soa.refresh: invalid type: sequence",
            "5:44 unknown key \"prority\" in record; expected one of name, type, priority, target, address, ttl; did you mean \"priority\"?",
            // Read as the priority it was meant to be, so its value is checked.
            "5:53 priority: \"x\" is not a whole number",
            "7:5 hosts[0]: invalid type: sequence, expected a mapping",
            // hosts[0] was taken out; the next host is still found where it is written.
            "8:42 host \"b\" has role \"wbe\" which is not defined in roles",
            "9:16 unknown key \"adress\" in host; expected one of name, address, addresses, roles, role, static, labels; did you mean \"address\"?",
        ],
    );
}

#[test]
fn a_required_key_that_does_not_fit_is_reported_once() {
    check(
        &["zone: [x]", "roles: { web: {} }"],
        &["1:7 zone: invalid type: sequence"],
    );
    check(
        &[
            "zone: x.test",
            "roles: { web: {} }",
            "schedules:",
            "  - { name: a, cron: [x], for: 1h, want: { web: 1 } }",
            "  - { name: b, cron: \"0 6 * * *\", for: 1x, want: { web: 1 } }",
        ],
        &[
            "4:22 schedules[0].cron: invalid type: sequence",
            "5:40 for: \"1x\" is not a duration",
        ],
    );
}

#[test]
fn yaml_syntax_errors_are_located_with_a_hint() {
    check(
        &["zone: x.test", "roles:", "\tweb: {}"],
        &[
            "3:1 found character that cannot start any token, while scanning for the next token; tabs are not allowed for indentation",
        ],
    );
    check(
        &["zone: x.test", "ttl:30", "roles: { web: {} }"],
        &[
            "2:1 could not find expected ':', while scanning a simple key at line 2 column 1; a colon and space separate a key from its value",
        ],
    );
    check(
        &[
            "zone: x.test",
            "roles: { web: { records: [ { name: @, type: A } ] } }",
        ],
        &[
            "2:36 found character that cannot start any token, while scanning for the next token; a value cannot start with @ or `; quote it, as in name: \"@\"",
        ],
    );
    check(
        &["zone: x.test", "roles:", "  web:", "    min: 1", "   records: []"],
        &[
            "5:4 did not find expected key, while parsing a block mapping at line 3 column 3; check the indentation: the keys of one mapping start in the same column",
        ],
    );
}

#[test]
fn a_good_policy_still_loads() {
    let policy = load(&[
        "zone: x.test",
        "roles: { web: { min: 1, records: [ { name: www, type: A } ] } }",
    ]);
    assert_eq!(policy.roles.len(), 1);
}
