//! The rules the zone's names keep (`claims`), each broken once in a policy
//! (the problem at the later of the two, with the fix) and once through the
//! API entry points (`check_api_record`, `check_api_alias`).

use std::collections::{BTreeMap, BTreeSet};

use muster_dns::RecordData;

use super::{check, load, name};
use crate::policy::{Policy, StaticRecord, check_api_alias, check_api_record};

/// Lines 1-9: a zone with a pool at smtp-out (MX, A) and bounces (with a
/// fallback MX to fb), hosts smurf1, ms1 and fb, and an SPF at the apex.
const BASE: [&str; 9] = [
    "zone: lists.example.test",
    "roles:",
    "  smtp-out: { records: [ { name: smtp-out, type: MX, priority: 5 }, { name: smtp-out, type: A } ] }",
    "  bounce: { records: [ { name: bounces, type: MX, priority: 10 } ], fallback: [ { name: bounces, type: MX, priority: 20, target: fb } ] }",
    "hosts:",
    "  - { name: smurf1, address: 127.0.10.1 }",
    "  - { name: ms1, address: 127.0.10.2, static: true }",
    "  - { name: fb, address: 127.0.10.3, static: true }",
    "spf: { roles: [smtp-out, bounce] }",
];

fn with_base(lines: &[&str]) -> Vec<String> {
    BASE.iter().chain(lines).map(|l| (*l).to_owned()).collect()
}

#[test]
fn the_base_with_good_records_and_aliases_loads() {
    let policy = load(&with_base(&[
        "records:",
        "  - { name: imap, type: CNAME, target: ms1 }",
        "  - { name: \"@\", type: TXT, data: \"google-site-verification=abc\" }",
        "  - { name: smurf1, type: TXT, data: \"a host's name may carry other data\" }",
        "  - { name: sub, type: NS, target: ns.sub }",
        "  - { name: sub, type: NS, target: ns.example.net. }",
        "  - { name: ns.sub, type: A, address: 127.0.10.53 }",
        "  - { name: mx2, type: MX, priority: 10, target: smurf1 }",
        "  - { name: chain, type: CNAME, target: imap }",
        "aliases: { john.pop: ms1, mary.pop: smurf1 }",
    ]));
    assert_eq!(policy.records.len(), 8);
    assert_eq!(policy.aliases.len(), 2);
}

#[test]
fn no_cname_at_the_apex_or_beside_other_data() {
    check(
        &with_base(&[
            "records:",
            "  - { name: \"@\", type: CNAME, target: ms1 }",
            "  - { name: smtp-out, type: CNAME, target: ms1 }",
            "  - { name: ms1, type: CNAME, target: fb }",
            "  - { name: _dmarc, type: TXT, data: \"v=DMARC1; p=none\" }",
            "  - { name: _dmarc, type: CNAME, target: fb }",
            "  - { name: www, type: CNAME, target: fb }",
            "  - { name: www, type: CNAME, target: ms1 }",
        ]),
        &[
            "11:13 the CNAME record (records[0]) would put a CNAME at the zone apex lists.example.test., beside the zone's SOA and NS records; a CNAME cannot be at the apex (RFC 1034 §3.6.2)",
            "12:13 the CNAME record (records[1]) is a CNAME at smtp-out.lists.example.test., and muster also publishes role \"smtp-out\"'s MX records there (published whenever the pool has members, so even while it is empty)",
            "13:13 the CNAME record (records[2]) is a CNAME at ms1.lists.example.test., and muster also publishes host \"ms1\"'s address records there",
            "15:13 the CNAME record (records[4]) is a CNAME at _dmarc.lists.example.test., and muster also publishes the TXT record (records[3]) there",
            "17:13 the CNAME record (records[6]) is a CNAME at www.lists.example.test., and muster also publishes the CNAME record (records[5])",
        ],
    );
}

#[test]
fn a_cname_at_the_spf_names_is_refused() {
    check(
        &with_base(&[
            "records:",
            "  - { name: _spf1, type: TXT, data: \"v=spf1 -all\" }",
            "  - { name: _spf9, type: CNAME, target: fb }",
            "  - { name: \"@\", type: TXT, data: \"v=spf1 ip4:127.0.0.1 -all\" }",
        ]),
        &[
            "11:13 _spf1.lists.example.test. is reserved for part 1 of the SPF (spf:), which muster publishes there when the SPF outgrows one record",
            "12:13 _spf9.lists.example.test. is reserved for part 9 of the SPF",
            "13:13 the TXT record (records[2]) is a second SPF record at lists.example.test., where muster publishes the one computed from spf:; two SPF records make every check fail (permerror, RFC 7208 §4.5)",
        ],
    );
    check(
        &[
            "zone: lists.example.test",
            "roles: { web: {} }",
            "spf: { name: mail, roles: [web] }",
            "aliases: { mail: x }",
        ],
        &[
            "4:12 the alias mail.lists.example.test. -> x.lists.example.test. (aliases: mail) is a CNAME at mail.lists.example.test., and muster also publishes the SPF record (spf:) there",
        ],
    );
}

#[test]
fn no_static_record_of_a_pool_s_type_beside_it_or_a_host_address() {
    check(
        &with_base(&[
            "records:",
            "  - { name: smtp-out, type: MX, priority: 30, target: fb }",
            "  - { name: bounces, type: MX, priority: 30, target: fb }",
            "  - { name: smurf1, type: A, address: 127.0.10.99 }",
            "  - { name: \"@\", type: NS, target: ns9 }",
        ]),
        &[
            "11:13 the MX record (records[0]) would be served among role \"smtp-out\"'s MX records at smtp-out.lists.example.test., which change as hosts move",
            "12:13 the MX record (records[1]) would be served among role \"bounce\"'s MX records at bounces.lists.example.test.",
            "13:13 smurf1.lists.example.test. is host \"smurf1\"'s own name, whose address records muster publishes from the host's addresses; change the host's address",
            "14:24 the zone's own NS records come from nameservers:",
        ],
    );
    // Another type may sit beside a pool.
    let lines = ["records:", "  - { name: smtp-out, type: TXT, data: hello }"];
    assert_eq!(load(&with_base(&lines)).records.len(), 1);
}

#[test]
fn at_the_apex_only_a_pool_s_own_type_is_refused() {
    let lines = [
        "zone: lists.example.test",
        "roles: { smtp-in: { records: [ { name: \"@\", type: MX, priority: 10 } ] } }",
        "hosts: [ { name: mx9, address: 127.0.0.9, static: true } ]",
        "spf: { roles: [smtp-in] }",
        "records:",
        "  - { name: \"@\", type: CAA, data: '0 issue \"letsencrypt.org\"' }",
        "  - { name: \"@\", type: A, address: 127.0.0.80 }",
    ];
    assert_eq!(load(&lines).records.len(), 2);
    let mut bad: Vec<&str> = lines.to_vec();
    bad.push("  - { name: \"@\", type: MX, priority: 50, target: mx9 }");
    check(
        &bad,
        &[
            "8:13 the MX record (records[2]) would be served among role \"smtp-in\"'s MX records at lists.example.test., which change as hosts move",
        ],
    );
}

#[test]
fn no_mx_ns_or_srv_target_is_a_cname_or_an_alias() {
    check(
        &with_base(&[
            "records:",
            "  - { name: imap, type: CNAME, target: ms1 }",
            "  - { name: mx2, type: MX, priority: 10, target: imap }",
            "  - { name: _imaps._tcp, type: SRV, data: \"0 1 993 john.pop\" }",
            "  - { name: sub, type: NS, target: mary.pop }",
            "  - { name: relay, type: MX, priority: 10, target: later }",
            "  - { name: later, type: CNAME, target: fb }",
            "aliases: { john.pop: ms1, mary.pop: ms1, fb2: fb }",
            "nameservers: [ns1, fb2]",
        ]),
        &[
            "12:5 the MX record (records[1]) points at imap.lists.example.test., which is a CNAME (the CNAME record (records[0])); an MX, NS or SRV target must be a name with address records, never an alias (RFC 2181 §10.3): point it at ms1.lists.example.test. instead",
            "16:13 later.lists.example.test. is the target of the MX record (records[4]), and an MX, NS or SRV target must never be a CNAME (RFC 2181 §10.3)",
            "17:12 john.pop.lists.example.test. is the target of the SRV record (records[2])",
            "17:27 mary.pop.lists.example.test. is the target of the NS record (records[3])",
            "17:42 fb2.lists.example.test. is the target of the zone's SOA and NS records",
        ],
    );
    // A pool's fallback MX at a static CNAME.
    check(
        &with_base(&["records: [ { name: fb, type: CNAME, target: ms1 } ]"]),
        &[
            "10:20 fb.lists.example.test. is the target of role \"bounce\"'s MX records, and an MX, NS or SRV target must never be a CNAME",
        ],
    );
}

#[test]
fn only_glue_sits_at_or_below_a_delegation() {
    check(
        &with_base(&[
            "records:",
            "  - { name: sub, type: NS, target: ns.sub }",
            "  - { name: ns.sub, type: A, address: 127.0.10.53 }",
            "  - { name: www.sub, type: TXT, data: x }",
            "  - { name: sub, type: MX, priority: 10, target: fb }",
            "  - { name: smurf1, type: NS, target: ns.example.net. }",
            "  - { name: deep.x.bounces, type: A, address: 127.0.10.54 }",
            "  - { name: bounces, type: NS, target: ns.example.net. }",
            "aliases: { a.sub: ms1 }",
        ]),
        &[
            "13:13 www.sub.lists.example.test. is at or below sub.lists.example.test., which the NS record (records[0]) delegates",
            "14:13 the NS record (records[0]) delegates sub.lists.example.test., so the MX record (records[3]) there would be answered by the child zone's servers",
            "15:13 the NS record (records[4]) delegates smurf1.lists.example.test., so host \"smurf1\"'s address records there would be answered by the child zone's servers",
            "17:13 the NS record (records[6]) delegates bounces.lists.example.test., so role \"bounce\"'s MX records there would be answered by the child zone's servers",
            "18:12 a.sub.lists.example.test. is at or below sub.lists.example.test., which the NS record (records[0]) delegates",
        ],
    );
}

fn store() -> (BTreeSet<StaticRecord>, BTreeMap<hickory_proto::rr::Name, String>) {
    let records = BTreeSet::from([StaticRecord {
        owner: name("imap.lists.example.test."),
        ttl: 30,
        data: RecordData::Cname(name("ms1.lists.example.test.")),
    }]);
    let aliases = BTreeMap::from([(name("john.pop.lists.example.test."), "ms1".to_owned())]);
    (records, aliases)
}

fn record(owner: &str, rtype: &str, data: &str) -> StaticRecord {
    let zone = name("lists.example.test.");
    StaticRecord {
        owner: name(owner),
        ttl: 30,
        data: RecordData::from_presentation(rtype, data, &zone).unwrap_or_else(|e| panic!("{e}")),
    }
}

fn policy() -> Policy {
    let mut lines = with_base(&["records: [ { name: _dmarc, type: TXT, data: \"v=DMARC1; p=none\" } ]"]);
    lines.push("aliases: { mary.pop: smurf1 }".to_owned());
    load(&lines)
}

#[track_caller]
fn refused(result: Result<(), crate::policy::NameConflict>, parts: &[&str]) {
    let err = result.expect_err("refused");
    for part in parts {
        assert!(err.0.contains(part), "{part:?} not in {}", err.0);
    }
}

#[test]
fn api_records_follow_the_same_rules() {
    let policy = policy();
    let (records, aliases) = store();
    let api = |r: &StaticRecord| check_api_record(&policy, &records, &aliases, r);
    assert_eq!(
        api(&record("relay.lists.example.test.", "A", "127.0.10.9")),
        Ok(())
    );
    assert_eq!(
        api(&record("imap.lists.example.test.", "CNAME", "ms1")),
        Ok(()),
        "already there"
    );
    assert_eq!(
        api(&record("_dmarc.lists.example.test.", "TXT", "\"second\"")),
        Ok(())
    );
    refused(
        api(&record("x.example.net.", "A", "127.0.0.1")),
        &["outside the zone"],
    );
    refused(
        api(&record("lists.example.test.", "CNAME", "ms1")),
        &["cannot be at the apex"],
    );
    refused(
        api(&record("smtp-out.lists.example.test.", "CNAME", "ms1")),
        &["role \"smtp-out\"", "even while it is empty"],
    );
    refused(
        api(&record("smtp-out.lists.example.test.", "MX", "10 ms1")),
        &["among role \"smtp-out\"'s MX records", "fallback:"],
    );
    refused(
        api(&record("_dmarc.lists.example.test.", "CNAME", "ms1")),
        &["the TXT record (records[0])"],
    );
    refused(
        api(&record("imap.lists.example.test.", "TXT", "x")),
        &["the CNAME record (added through the API)"],
    );
    refused(
        api(&record("mx2.lists.example.test.", "MX", "10 john.pop")),
        &["which is a CNAME", "point it at ms1.lists.example.test. instead"],
    );
    refused(
        api(&record("mx2.lists.example.test.", "MX", "10 mary.pop")),
        &[
            "which is a CNAME (the alias mary.pop.lists.example.test. -> smurf1.lists.example.test. (aliases: mary.pop",
        ],
    );
    refused(
        api(&record("_spf3.lists.example.test.", "TXT", "x")),
        &["reserved for part 3 of the SPF"],
    );
    refused(
        api(&record("lists.example.test.", "TXT", "v=spf1 -all")),
        &["second SPF record"],
    );
    refused(
        api(&record("ms1.lists.example.test.", "AAAA", "::1")),
        &["host \"ms1\"'s own name"],
    );
    refused(
        api(&record("lists.example.test.", "NS", "ns9")),
        &["nameservers:"],
    );
    refused(
        api(&record("smtp-out.lists.example.test.", "NS", "ns.example.net.")),
        &["delegates smtp-out.lists.example.test."],
    );
}

#[test]
fn api_aliases_follow_the_same_rules() {
    let policy = policy();
    let (records, aliases) = store();
    let api = |owner: &str, host: &str| check_api_alias(&policy, &records, &aliases, &name(owner), host);
    assert_eq!(api("new.pop.lists.example.test.", "ms1"), Ok(()));
    assert_eq!(api("john.pop.lists.example.test.", "smurf1"), Ok(()), "a move");
    assert_eq!(
        api("mary.pop.lists.example.test.", "ms1"),
        Ok(()),
        "a move of the policy's"
    );
    assert_eq!(
        api("later.lists.example.test.", "not-yet"),
        Ok(()),
        "open enrolment"
    );
    refused(api("lists.example.test.", "ms1"), &["cannot sit at the apex"]);
    refused(api("x.example.net.", "ms1"), &["not a name below the zone"]);
    refused(
        api("imap.lists.example.test.", "ms1"),
        &["the CNAME record (added through the API)"],
    );
    refused(
        api("smtp-out.lists.example.test.", "ms1"),
        &["role \"smtp-out\"", "even while it is empty"],
    );
    refused(api("bounces.lists.example.test.", "ms1"), &["role \"bounce\""]);
    refused(api("smurf1.lists.example.test.", "ms1"), &["host \"smurf1\""]);
    refused(
        api("fb.lists.example.test.", "ms1"),
        &["the target of role \"bounce\"'s MX records"],
    );
    refused(
        api("_dmarc.lists.example.test.", "ms1"),
        &["the TXT record (records[0])"],
    );
    let closed = load(&with_base(&["enrolment: inventory"]));
    let err = check_api_alias(&closed, &records, &aliases, &name("a.lists.example.test."), "ms2")
        .expect_err("refused");
    assert!(
        err.0.contains("host \"ms2\" is not in the inventory"),
        "{}",
        err.0
    );
    assert!(err.0.contains("did you mean \"ms1\""), "{}", err.0);
}
