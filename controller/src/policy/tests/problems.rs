//! Every problem the loader reports, at its exact position.

use std::path::Path;

use super::{check, load, text, with_head};
use crate::policy::load_str;

#[test]
fn unknown_keys_are_named_with_the_keys_expected() {
    check(
        &[
            "zone: lists.example.test",
            "roles:",
            "  smtp-out:",
            "    records:",
            "      - { name: smtp-out, type: MX, prority: 5 }",
        ],
        &[
            "5:37 unknown key \"prority\" in record; expected one of name, type, priority, target, address, ttl",
        ],
    );
    check(
        &with_head(&["tll: 30"]),
        &["3:1 unknown key \"tll\" in the top level; expected one of zone, ttl,"],
    );
    check(
        &with_head(&["soa: { ttl: 1, mnam: x }"]),
        &["3:16 unknown key \"mnam\" in soa"],
    );
    check(
        &with_head(&["hosts:", "  - name: a", "    adress: 192.0.2.1"]),
        &["5:5 unknown key \"adress\" in host"],
    );
    check(
        &[
            "zone: x.test",
            "roles:",
            "  web:",
            "    drain: { until: timeout, after: 1s }",
        ],
        &["4:30 unknown key \"after\" in drain; expected one of until, timeout"],
    );
}

#[test]
fn shape_and_syntax_errors_are_located() {
    check(&["roles: {}"], &["1:1 missing key \"zone\" in the top level"]);
    check(
        &["zone: a.test", "zone: b.test", "roles: {}"],
        &["2:1 key \"zone\" appears twice in the top level"],
    );
    check(
        &with_head(&["hosts: [ { name: a, static: yes } ]"]),
        &["3:29 hosts[0].static: invalid type"],
    );
    check(&["zone: [x]", "roles: {}"], &["1:7 zone: invalid type: sequence"]);
    check(&[""], &["1:1 the policy is empty"]);
    check(&["# nothing yet", "---"], &["1:1 the policy is empty"]);
    check(
        &["zone: x.test", "roles: { web: {}"],
        &["3:1 did not find expected ',' or '}', while parsing a flow mapping"],
    );
    check(
        &["zone: x.test", "roles:", "\tweb: {}"],
        &["3:1 found character that cannot start any token"],
    );
    check(
        &["zone: x.test", "roles: { web: [] }"],
        &["2:15 roles.web: invalid type: sequence, expected a mapping"],
    );
    check(
        &["zone: x.test", "roles: { web: {} }", "---", "zone: y.test"],
        &["1:1 a policy is one YAML document"],
    );
}

#[test]
fn zone_wide_values_are_checked() {
    check(
        &["zone: lists..test", "roles: { web: {} }"],
        &["1:7 zone \"lists..test\": has a bad label: an empty label"],
    );
    check(&["zone: .", "roles: { web: {} }"], &["1:7 not the root"]);
    check(
        &with_head(&["ttl: 0"]),
        &["3:6 ttl: 0 seconds is out of range; expected 1 to 86400"],
    );
    check(
        &with_head(&["ttl: 2d"]),
        &["3:6 ttl: 172800 seconds is out of range"],
    );
    check(
        &with_head(&["ttl: 1500ms"]),
        &["3:6 ttl: \"1500ms\" is not a whole number of seconds"],
    );
    check(&with_head(&["nameservers: []"]), &["3:14 nameservers is empty"]);
    check(
        &with_head(&["nameservers: [ns1, ns1.lists.example.test]"]),
        &["3:20 listed twice"],
    );
    check(
        &with_head(&["soa: { refresh: 5x, minimum: 100000, rname: \"a b@x.test\" }"]),
        &[
            "3:17 refresh: \"5x\" is not a duration",
            "3:30 minimum: 100000 seconds",
            "3:45 rname:",
        ],
    );
    check(
        &with_head(&["heartbeat: { interval: 3s, revive_after: 0, panic_threshold: 101% }"]),
        &[
            "3:12 dead_after (3s) must be longer than interval (3s)",
            "3:42 revive_after: 0 is out of range",
            "3:62 101%",
        ],
    );
    check(
        &with_head(&["secondaries: [192.0.2.53, \"nope:53\", \"192.0.2.53:53\"]"]),
        &[
            "3:27 secondary \"nope:53\" is not an address",
            "3:38 secondary 192.0.2.53:53 is listed twice",
        ],
    );
}

#[test]
fn roles_and_their_records_are_checked() {
    check(&["zone: x.test", "roles: {}"], &["2:8 roles is empty"]);
    check(
        &[
            "zone: x.test",
            "roles:",
            "  Web_1: {}",
            "  web: { min: x }",
            "  web: {}",
        ],
        &[
            "3:3 role name \"Web_1\" is invalid",
            "4:15 min: \"x\" is not a whole number",
            "5:3 role \"web\" appears twice",
        ],
    );
    check(
        &[
            "zone: lists.example.test",
            "roles:",
            "  smtp-out:",
            "    records:",
            "      - { name: smtp-out, type: MX }",
            "      - { name: a, type: A, priority: 5, ttl: 0 }",
            "      - { name: b, type: MX, priority: 70000 }",
            "      - { name: c, type: CNAME }",
            "      - { name: mail.other.test., type: A }",
            "      - { name: d, type: MX, priority: 5, target: x.test. }",
            "      - { name: e, type: AAAA, address: \"2001:db8::1\" }",
        ],
        &[
            "5:9 MX record \"smtp-out\" needs a priority (like priority: 10)",
            "6:39 priority is only for MX records; remove it or change type to MX",
            "6:47 ttl: 0 seconds is out of range",
            "7:40 priority: 70000 is out of range; expected 0 to 65535",
            "8:26 unknown record type \"CNAME\"; a role publishes MX, A or AAAA records",
            "9:17 record name \"mail.other.test.\" is outside the zone lists.example.test.",
            "10:51 target is for fallback records",
            "11:41 address is for fallback records",
        ],
    );
}

#[test]
fn fallback_records_and_drain_are_checked() {
    check(
        &[
            "zone: lists.example.test",
            "roles:",
            "  smtp-out:",
            "    fallback:",
            "      - { name: smtp-out, type: MX, priority: 20 }",
            "      - { name: smtp-out, type: A, address: \"2001:db8::1\" }",
            "      - { name: smtp-out, type: AAAA, address: 192.0.2.1 }",
            "      - { name: smtp-out, type: A }",
            "      - { name: smtp-out, type: A, address: 192.0.2.1, target: x, priority: 1 }",
            "      - { name: smtp-out, type: MX, priority: 1, target: x, address: 192.0.2.1 }",
            "    drain: { until: forever, timeout: 10 minutes }",
        ],
        &[
            "5:9 fallback MX record \"smtp-out\" needs a target",
            "6:45 address 2001:db8::1 is IPv6 but the record type is A; use type AAAA",
            "7:48 address 192.0.2.1 is IPv4 but the record type is AAAA; use type A",
            "8:9 fallback A record \"smtp-out\" needs an address",
            "9:64 target is only for MX records; an A record takes an address",
            "9:77 priority is only for MX records",
            "10:70 address is not used by MX records",
            "11:21 until: \"forever\" is not known; expected queue_empty, timeout or ttl",
            "11:39 timeout: \"10 minutes\" is not a duration",
        ],
    );
}

#[test]
fn hosts_are_checked() {
    check(
        &with_head(&[
            "hosts:",
            "  - { name: smurf3, role: smtp-ot }",
            "  - { name: smurf3, address: 300.1.1.1, static: true }",
            "  - { name: a.b, roles: [web, nope, web], role: smtp-out }",
            "  - { name: c, addresses: [192.0.2.1, 192.0.2.1], address: 192.0.2.1, labels: { k: 1, k: 2 } }",
            "  - { name: d, static: true }",
        ]),
        &[
            "4:27 host \"smurf3\" has role \"smtp-ot\" which is not defined in roles (defined: smtp-out, web); \
             did you mean \"smtp-out\"?",
            "5:13 host \"smurf3\" is listed twice (first as hosts[0])",
            "5:30 \"300.1.1.1\" is not an IP address",
            "6:13 host name \"a.b\" must be a single label",
            "6:31 host \"a.b\" may hold role \"nope\" which is not defined in roles",
            "6:37 role \"web\" is listed twice",
            "6:49 host \"a.b\" starts in role \"smtp-out\" but its roles (web) do not include it",
            "7:28 address 192.0.2.1 is already given by address",
            "7:39 address 192.0.2.1 is listed twice",
            "7:39 address 192.0.2.1 is already given by address",
            "7:87 label \"k\" appears twice",
            "8:5 static host \"d\" needs an address",
        ],
    );
}

#[test]
fn schedules_and_autoscale_are_checked() {
    check(
        &with_head(&[
            "schedules:",
            "  - { name: a, cron: \"0 6 * *\", for: 0, want: { smtp-ot: 1, web: lots } }",
            "  - { name: a, cron: \"0 6 * * *\", for: 1h, timezone: \"Los Angeles\", want: {} }",
            "  - { name: \" \", cron: \"* * * * *\", for: 1x, want: { web: rest, smtp-out: rest } }",
            "autoscale:",
            "  - { role: smtp-out, metric: \"\", target_per_host: 0, borrow_from: [smtp-out, nope], give_back_to: nah, cooldown: x }",
        ]),
        &[
            "4:22 cron: \"0 6 * *\" has 4 fields; a cron expression has 5",
            "4:38 for: a schedule window must last longer than 0",
            "4:58 schedule \"a\" wants role \"smtp-ot\" which is not defined in roles",
            "4:66 web: \"lots\" is not a host count",
            "5:13 schedule \"a\" is defined twice",
            "5:54 timezone \"Los Angeles\" is not in the IANA timezone database",
            "5:75 want is empty",
            "6:13 a schedule needs a non-empty name",
            "6:42 for: \"1x\" is not a duration",
            "6:75 only one role can take the rest; \"web\" already does",
            "8:31 metric \"\" is not one agents report; use one of queue_depth",
            "8:52 target_per_host: \"0\" is not a positive number",
            "8:69 role \"smtp-out\" cannot borrow hosts from itself",
            "8:79 autoscale rule for \"smtp-out\" borrows from role \"nope\" which is not defined in roles",
            "8:100 autoscale rule for \"smtp-out\" gives back to role \"nah\" which is not defined in roles",
            "8:115 cooldown: \"x\" is not a duration",
        ],
    );
}

#[test]
fn problems_display_one_per_line() {
    let err = load_str(
        Path::new("p.yaml"),
        &text(&with_head(&["ttl: 0", "nameservers: []"])),
    )
    .expect_err("two problems");
    assert_eq!(
        err.to_string(),
        "p.yaml:3:6: ttl: 0 seconds is out of range; expected 1 to 86400\n\
         p.yaml:4:14: nameservers is empty; list at least one (the default is ns1.<zone>)"
    );
}

#[test]
fn the_automation_language_is_checked() {
    check(
        &with_head(&[
            "default_want: { smtp-out: 2, webb: rest }",
            "schedules:",
            "  - { name: a, cron: \"0 25 * * *\", for: 8d, timezone: Mars/Olympus, want: { web: 50% } }",
            "  - { name: b, cron: \"0 6 * * mon-fry\", for: 1h, want: { web: 101% } }",
            "autoscale:",
            "  - { role: smtp-out, metric: queue, aggregate: median, target_per_host: 10, min: 3, max: 2, step: 0 }",
            "  - { role: smtp-out, metric: load1, target_per_host: 1, give_back_to: smtp-out }",
        ]),
        &[
            "3:36 default_want wants role \"webb\" which is not defined in roles (defined: smtp-out, web); did you mean \"web\"?",
            "5:22 cron: hour field \"25\": \"25\" is not a value from 0 to 23",
            "5:41 for: 8d is longer than a week; a window that long is a default: use default_want",
            "5:55 timezone \"Mars/Olympus\" is not in the IANA timezone database",
            "6:22 cron: day of week field \"mon-fry\": \"fry\" is not a value from 0 to 7 or a name like sun",
            "6:63 web: \"101%\" is not a host count",
            "8:31 metric \"queue\" is not one agents report; use one of queue_depth, load1, load5, load15, cpu, mem_used, disk_free",
            "8:49 aggregate: \"median\" is not sum or mean",
            "8:91 max 2 is below min 3",
            "8:100 step: 0 is out of range",
            "9:13 role \"smtp-out\" already has a load rule; one rule per role",
            "9:72 role \"smtp-out\" cannot give hosts back to itself",
        ],
    );
}

#[test]
fn mail_exchanges_in_the_zone_need_an_address() {
    check(
        &[
            "zone: lists.example.test",
            "roles:",
            "  smtp-out:",
            "    fallback: [ { name: smtp-out, type: MX, priority: 20, target: backup } ]",
        ],
        &[
            "4:67 MX target backup.lists.example.test. is in the zone but nothing publishes its address; \
             add a host `{ name: backup, address: ..., static: true }` to hosts",
        ],
    );
    // With the host, or outside the zone, it loads.
    load(&[
        "zone: lists.example.test",
        "roles:",
        "  smtp-out:",
        "    fallback: [ { name: smtp-out, type: MX, priority: 20, target: backup } ]",
        "hosts: [ { name: backup, address: 192.0.2.9, static: true } ]",
    ]);
    load(&[
        "zone: lists.example.test",
        "roles:",
        "  smtp-out:",
        "    fallback: [ { name: smtp-out, type: MX, priority: 20, target: mx.example.net. } ]",
    ]);
}

#[test]
fn mins_the_inventory_cannot_fill_are_warnings() {
    let policy = load(&[
        "zone: lists.example.test",
        "roles: { smtp-out: { min: 2 }, web: { min: 1 } }",
        "hosts:",
        "  - { name: a, address: 192.0.2.1, roles: [smtp-out] }",
    ]);
    let warnings: Vec<String> = policy
        .warnings
        .iter()
        .map(|p| format!("{}:{} {}", p.line, p.column, p.message))
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(warnings[0].starts_with("2:8 the roles' mins add up to 3 but the inventory has only 1 host"));
    assert!(warnings[1].starts_with("2:27 min 2 for role \"smtp-out\" but only 1 host"));
    assert!(warnings[2].starts_with("2:44 min 1 for role \"web\" but only 0 hosts"));
}

#[test]
fn mins_larger_than_a_closed_farm_are_errors() {
    check(
        &[
            "zone: lists.example.test",
            "roles: { smtp-out: { min: 2 }, web: { min: 1 } }",
            "enrolment: inventory",
            "hosts:",
            "  - { name: a, address: 192.0.2.1, roles: [smtp-out] }",
        ],
        &[
            "2:8 the roles' mins add up to 3 but the inventory has only 1 host that can hold a role; \
             lower some mins or add hosts; or set enrolment: open",
            "2:27 min 2 for role \"smtp-out\" but only 1 host in the inventory may hold it; lower the min",
            "2:44 min 1 for role \"web\" but only 0 hosts in the inventory may hold it; lower the min",
        ],
    );
    // Static hosts holding a role count; nameserver-only ones do not.
    check(
        &[
            "zone: lists.example.test",
            "roles: { web: { min: 1, records: [ { name: www, type: A } ] } }",
            "enrolment: inventory",
            "hosts: [ { name: ns1, address: 192.0.2.53, static: true } ]",
        ],
        &[
            "2:8 the roles' mins add up to 1 but the inventory has only 0 hosts",
            "2:22 min 1 for role \"web\" but only 0 hosts in the inventory may hold it",
        ],
    );
    let fits = load(&[
        "zone: lists.example.test",
        "roles: { web: { min: 1, records: [ { name: www, type: A } ] } }",
        "enrolment: inventory",
        "hosts: [ { name: old, address: 192.0.2.5, role: web, static: true } ]",
    ]);
    assert!(fits.warnings.is_empty(), "{:?}", fits.warnings);
    assert_eq!(fits.enrolment, crate::policy::Enrolment::Inventory);
}

#[test]
fn enrolment_is_open_or_inventory() {
    check(
        &with_head(&["enrolment: closed"]),
        &["3:12 enrolment: \"closed\" is not open or inventory; write `open`"],
    );
    assert_eq!(load(&with_head(&[])).enrolment, crate::policy::Enrolment::Open);
}
