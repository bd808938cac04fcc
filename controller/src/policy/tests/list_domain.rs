//! The rest of the list domain: `records:`, `spf:`, `reverse:`, `aliases:`
//! and `publish_max:` load into the model, and each value problem is named
//! at its position with the fix.

use std::net::SocketAddr;
use std::time::Duration;

use muster_dns::RecordData;

use super::{check, load, name, with_head};
use crate::policy::{SpfAll, load_str};

/// A 2048-bit RSA public key's base64 (392 characters), as DKIM publishes it.
fn dkim_key() -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let body: String = (0..390)
        .map(|i: usize| char::from(alphabet[(i * 7 + 3) % 64]))
        .collect();
    format!("MIIB{}", &body[..388])
}

fn full() -> Vec<String> {
    let lines = [
        "zone: lists.example.test",
        "roles:",
        "  smtp-out:",
        "    min: 1",
        "    publish_max: 3",
        "    records: [ { name: smtp-out, type: MX, priority: 5 }, { name: smtp-out, type: A } ]",
        "  bounce:",
        "    records: [ { name: bounces, type: MX, priority: 10 } ]",
        "    fallback: [ { name: bounces, type: MX, priority: 20, target: fb } ]",
        "hosts:",
        "  - { name: smurf1, address: 127.0.10.1, roles: [smtp-out] }",
        "  - { name: ms1, addresses: [127.0.10.2, \"fd00:10::2\"], static: true }",
        "  - { name: fb, address: 127.0.20.70, static: true }",
        "secondaries: [127.0.0.53]",
        "records:",
        "  - { name: _dmarc, type: TXT, data: \"v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com\" }",
        "  - name: mail2024._domainkey",
        "    type: TXT",
        "    data: v=DKIM1; k=rsa; p=KEY",
        "  - { name: imap, type: CNAME, target: ms1, ttl: 300 }",
        "  - { name: \"@\", type: CAA, data: '0 issue \"letsencrypt.org\"' }",
        "  - { name: mx2, type: MX, priority: 10, target: fb }",
        "  - { name: relay, type: A, address: 127.0.10.9 }",
        "  - { name: relay, type: AAAA, address: \"::1\" }",
        "  - { name: _imaps._tcp, type: SRV, data: \"0 1 993 ms1\" }",
        "  - { name: sub, type: NS, target: ns.sub }",
        "  - { name: ns.sub, type: A, address: 127.0.10.53 }",
        "  - { name: _25._tcp.mx2, type: TLSA, data: \"3 1 1 0D6FCE3A\" }",
        "  - { name: odd.lists.example.test., type: TYPE65534, data: '\\# 2 ABCD' }",
        "  - { name: \"@\", type: TXT, data: '\"google-site-verification=abc\"' }",
        "spf: { roles: [smtp-out, bounce], include: [_spf.example.net.], keep_after_leave: 2d, all: \"~all\", ttl: 300 }",
        "reverse:",
        "  - 127.0.10.0/24",
        "  - { block: \"127.0.20.64/26\", secondaries: [\"127.0.0.54:5353\"] }",
        "  - \"fd00:10::/48\"",
        "aliases:",
        "  john.pop: ms1",
        "  mary.pop.lists.example.test.: smurf1",
    ];
    lines.iter().map(|l| l.replace("KEY", &dkim_key())).collect()
}

#[test]
fn every_new_key_loads() {
    let policy = load(&full());
    assert!(policy.warnings.is_empty(), "{:?}", policy.warnings);
    assert_eq!(policy.roles["smtp-out"].publish_max, Some(3));
    assert_eq!(policy.roles["bounce"].publish_max, None);

    let records = &policy.records;
    assert_eq!(records.len(), 13);
    assert_eq!(records[0].owner, name("_dmarc.lists.example.test."));
    assert_eq!(records[0].ttl, 30, "the zone's TTL");
    // The DKIM key, unquoted in YAML: one string, split into 255-byte
    // character-strings that readers join.
    let RecordData::Txt(strings) = &records[1].data else {
        panic!("{:?}", records[1]);
    };
    let text = format!("v=DKIM1; k=rsa; p={}", dkim_key());
    assert_eq!(strings.len(), 2);
    assert_eq!(strings[0].len(), 255);
    assert_eq!(strings.concat(), text.as_bytes());
    assert_eq!(
        records[2].data,
        RecordData::Cname(name("ms1.lists.example.test."))
    );
    assert_eq!(records[2].ttl, 300);
    assert_eq!(records[3].owner, name("lists.example.test."));
    assert_eq!(
        records[4].data,
        RecordData::Mx {
            preference: 10,
            exchange: name("fb.lists.example.test.")
        }
    );
    assert_eq!(records[5].data, RecordData::A("127.0.10.9".parse().expect("ip")));
    assert_eq!(records[6].data, RecordData::Aaaa("::1".parse().expect("ip")));
    assert_eq!(
        records[7].data,
        RecordData::Srv {
            priority: 0,
            weight: 1,
            port: 993,
            target: name("ms1.lists.example.test.")
        }
    );
    assert_eq!(
        records[8].data,
        RecordData::Ns(name("ns.sub.lists.example.test."))
    );
    assert_eq!(records[11].owner, name("odd.lists.example.test."));
    assert_eq!(
        records[11].data,
        RecordData::Unknown {
            rtype: 65534,
            data: vec![0xAB, 0xCD]
        }
    );

    let spf = policy.spf.as_ref().expect("spf");
    assert_eq!(spf.owner, name("lists.example.test."));
    assert_eq!(spf.roles, ["smtp-out", "bounce"]);
    assert_eq!(spf.include, [name("_spf.example.net.")]);
    assert_eq!(spf.keep_after_leave, Duration::from_secs(2 * 86_400));
    assert_eq!(spf.all, SpfAll::SoftFail);
    assert_eq!(spf.ttl, 300);

    let origins: Vec<String> = policy.reverse.iter().map(|z| z.origin.to_ascii()).collect();
    assert_eq!(
        origins,
        [
            "10.0.127.in-addr.arpa.",
            "64-26.20.0.127.in-addr.arpa.",
            "0.0.0.0.0.1.0.0.0.0.d.f.ip6.arpa."
        ]
    );
    let local: SocketAddr = "127.0.0.53:53".parse().expect("addr");
    let own: SocketAddr = "127.0.0.54:5353".parse().expect("addr");
    assert_eq!(
        policy.reverse[0].secondaries,
        [local.into()],
        "the zone's by default"
    );
    assert_eq!(policy.reverse[1].secondaries, [own.into()]);
    assert_eq!(policy.reverse[1].prefix, 26);

    let aliases: Vec<(String, &str)> = policy
        .aliases
        .iter()
        .map(|a| (a.owner.to_ascii(), a.host.as_str()))
        .collect();
    assert_eq!(
        aliases,
        [
            ("john.pop.lists.example.test.".to_owned(), "ms1"),
            ("mary.pop.lists.example.test.".to_owned(), "smurf1")
        ]
    );
    // Everything the zone may publish, the SPF's parts included.
    let names = policy.published_names();
    for owner in [
        "smtp-out", "bounces", "smurf1", "_spf1", "_spf9", "john.pop", "_dmarc", "ns.sub",
    ] {
        let owner = name(&format!("{owner}.lists.example.test."));
        assert!(names.contains(&owner), "{owner}");
    }
}

#[test]
fn spf_defaults() {
    let policy = load(&with_head(&["spf: { roles: [smtp-out] }"]));
    let spf = policy.spf.expect("spf");
    assert_eq!(spf.owner, name("lists.example.test."));
    assert_eq!(spf.keep_after_leave, Duration::from_secs(5 * 86_400));
    assert_eq!(spf.all, SpfAll::Fail);
    assert_eq!(spf.ttl, 30);
    assert!(spf.include.is_empty());
    let policy = load(&with_head(&[
        "spf: { name: mail, roles: [smtp-out], include: [spf.example.net], all: \"-all\" }",
    ]));
    let spf = policy.spf.expect("spf");
    assert_eq!(spf.owner, name("mail.lists.example.test."));
    assert_eq!(
        spf.include,
        [name("spf.example.net.")],
        "outside names, never relative"
    );
}

#[test]
fn bad_records_are_named_with_the_fix() {
    check(
        &with_head(&["records: [ { name: a, type: TXT, dta: x } ]"]),
        &["3:34 unknown key \"dta\" in record; expected one of name, type, data,"],
    );
    check(
        &with_head(&[
            "records:",
            "  - { name: a, type: HINFO, data: x }",
            "  - { name: \"@\", type: SOA, data: x }",
            "  - { name: \"@\", type: NS, target: ns9 }",
            "  - { name: b, type: A, data: 300.1.1.1 }",
            "  - { name: c, type: MX, data: \"10\" }",
            "  - { name: d, type: TXT }",
            "  - { name: e, type: CNAME }",
            "  - { name: f, type: A, data: 127.0.0.1, address: 127.0.0.2 }",
            "  - { name: g.example.net., type: A, address: 127.0.0.1 }",
            "  - { name: h, type: A, target: x }",
            "  - { name: i, type: CNAME, priority: 3, target: x }",
            "  - { name: j, type: MX, target: x }",
            "  - { name: k, type: TXT, data: '\"open' }",
            "  - { name: l, type: A, address: \"::1\" }",
        ]),
        &[
            "4:22 unknown record type \"HINFO\"; use one of A, AAAA,",
            "5:24 the SOA record is muster's own; set its fields under soa:",
            "6:24 the zone's own NS records come from nameservers:",
            "7:31 data: \"300.1.1.1\" is not an IPv4 address",
            "8:32 data: MX data is `PREFERENCE EXCHANGE`",
            "9:5 TXT record \"d\" needs data",
            "10:5 CNAME record \"e\" needs a target",
            "11:51 address and data both give the record's data",
            "12:13 record name \"g.example.net.\" is outside the zone lists.example.test.",
            "13:33 target is for names; an A record takes an address",
            "14:39 priority is only for MX records",
            "15:5 MX record \"j\" needs priority and target",
            "16:33 data: a quoted string is not closed",
            "17:34 address: \"::1\" is not an IPv4 address",
        ],
    );
}

#[test]
fn a_name_in_data_without_its_final_dot_is_relative_and_warned_about() {
    let policy = load(&with_head(&[
        "hosts: [ { name: ms1, address: 127.0.0.2, static: true } ]",
        "records: [ { name: imap, type: CNAME, data: ms1.lists.example.test } ]",
    ]));
    let warning = policy
        .warnings
        .iter()
        .find(|w| w.message.contains("ends in the zone twice"))
        .unwrap_or_else(|| panic!("{:?}", policy.warnings));
    assert_eq!((warning.line, warning.column), (4, 45));
    assert!(
        warning
            .message
            .contains("write ms1.lists.example.test. (with the final dot)"),
        "{}",
        warning.message
    );
}

#[test]
fn bad_spf_values_are_named_with_the_fix() {
    check(
        &with_head(&["spf: { roles: [smtp-out], incude: [x.test] }"]),
        &["3:27 unknown key \"incude\" in spf; expected one of name, roles, include,"],
    );
    check(
        &with_head(&[
            "spf:",
            "  name: x.example.net.",
            "  roles: [smtp-ot, smtp-out, smtp-out]",
            "  include: [\"bad..name\", a.test, a.test.]",
            "  keep_after_leave: 5 days",
            "  all: \"+all\"",
            "  ttl: 0",
        ]),
        &[
            "4:9 record name \"x.example.net.\" is outside the zone",
            "5:11 spf lists role \"smtp-ot\" which is not defined in roles (defined: smtp-out, web); did you mean \"smtp-out\"?",
            "5:30 role \"smtp-out\" is listed twice",
            "6:13 include: \"bad..name\" is not a valid domain name",
            "6:34 include a.test is listed twice",
            "7:21 keep_after_leave: \"5 days\" is not a duration",
            "8:8 all: \"+all\" lets anyone on the internet send as the domain",
            "9:8 ttl: 0 seconds is out of range",
        ],
    );
    let ten: Vec<String> = (0..10).map(|i| format!("s{i}.example.net")).collect();
    check(
        &with_head(&[&format!(
            "spf: {{ roles: [smtp-out], include: [{}] }}",
            ten.join(", ")
        )]),
        &["3:181 10 include: terms, at most 9: an SPF check may make 10 DNS lookups"],
    );
}

#[test]
fn an_spf_the_hosts_outgrow_is_refused_saying_why() {
    // 300 sending hosts whose addresses merge into no block: more parts
    // than the 10 DNS lookups leave room for.
    let mut lines = with_head(&[
        "spf: { roles: [smtp-out], include: [_spf.example.net] }",
        "hosts:",
    ]);
    for i in 0..300u32 {
        lines.push(format!(
            "  - {{ name: h{i}, address: 127.{}.{}.1 }}",
            1 + i / 200,
            i % 200
        ));
    }
    check(
        &lines,
        &["3:6 with the inventory's hosts that may hold smtp-out: the SPF would need 11 parts"],
    );
    let text = super::text(&lines);
    let err = load_str(std::path::Path::new("t.yaml"), &text).expect_err("refused");
    let message = &err.problems()[0].message;
    for part in ["RFC 7208 §4.6.4", "list fewer include:", "fewer, larger blocks"] {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
    // The same hosts in consecutive addresses merge into a few blocks: fine.
    let mut lines = with_head(&["spf: { roles: [smtp-out] }", "hosts:"]);
    for i in 0..300u32 {
        lines.push(format!(
            "  - {{ name: h{i}, address: 127.1.{}.{} }}",
            i / 256,
            i % 256
        ));
    }
    let policy = load(&lines);
    let spf = policy.spf.as_ref().expect("spf");
    let addresses = crate::policy::inventory_senders(&policy, spf).flat_map(|h| h.addresses.clone());
    let records = spf.records(&policy.zone, addresses).expect("fits");
    assert_eq!(
        records,
        [(
            name("lists.example.test."),
            "v=spf1 ip4:127.1.0.0/24 ip4:127.1.1.0/27 ip4:127.1.1.32/29 ip4:127.1.1.40/30 -all".to_owned()
        )]
    );
}

#[test]
fn bad_reverse_blocks_are_named_with_the_fix() {
    check(
        &with_head(&[
            "reverse:",
            "  - 127.0.10.0",
            "  - 127.0.10.1/24",
            "  - 127.0.0.0/4",
            "  - { block: \"fd00::/30\" }",
            "  - { block: 127.0.20.0/24, secondaries: [nope] }",
            "  - { blok: 127.0.30.0/24 }",
        ]),
        &[
            "4:5 \"127.0.10.0\" is not an address block; write it as ADDRESS/PREFIX",
            "5:5 127.0.10.1/24 has host bits set; the block is 127.0.10.0/24",
            "6:5 an IPv4 reverse block is /8 to /31, not /4",
            "7:14 an IPv6 reverse block ends on a nibble boundary",
            "8:43 secondary \"nope\" is not an address",
            "9:7 unknown key \"blok\" in reverse block; expected one of block, secondaries",
        ],
    );
    check(
        &with_head(&[
            "reverse:",
            "  - 127.0.10.0/24",
            "  - 127.0.8.0/22",
            "  - 127.0.10.64/26",
            "  - 127.0.20.0/25",
            "  - 127.0.20.0/26",
        ]),
        &[
            "5:5 the zone 10.0.127.in-addr.arpa. is already served by reverse[0]",
            "6:5 127.0.10.64/26 (zone 64-26.10.0.127.in-addr.arpa.) overlaps 127.0.10.0/24",
            "8:5 127.0.20.0/26 (zone 0-26.20.0.127.in-addr.arpa.) overlaps 127.0.20.0/25",
        ],
    );
}

#[test]
fn bad_aliases_are_named_with_the_fix() {
    check(
        &with_head(&[
            "enrolment: inventory",
            "hosts: [ { name: ms1, address: 127.0.0.2, roles: [web] } ]",
            "aliases:",
            "  \"@\": ms1",
            "  x.example.net.: ms1",
            "  a: ms2",
            "  b: ms1.lists.example.test",
            "  c: ms1",
            "  c: ms1",
        ]),
        &[
            "6:3 alias \"@\" is the zone apex; an alias is a CNAME, which cannot sit at the apex",
            "7:3 alias \"x.example.net.\" is outside the zone",
            "8:6 alias \"a\" points at host \"ms2\" is not in the inventory (hosts: ms1); did you mean \"ms1\"?",
            "9:6 host name \"ms1.lists.example.test\" must be a single label",
            "11:3 alias \"c\" appears twice; keep one",
        ],
    );
    // With open enrolment an agent may bring the host later: a warning.
    let policy = load(&with_head(&["aliases: { a: ms2 }"]));
    let warning = policy
        .warnings
        .iter()
        .find(|w| w.message.contains("alias"))
        .unwrap_or_else(|| panic!("{:?}", policy.warnings));
    assert_eq!((warning.line, warning.column), (3, 15));
    assert!(
        warning.message.contains("once an agent enrols \"ms2\""),
        "{}",
        warning.message
    );
}

#[test]
fn publish_max_is_at_least_one_and_warned_below_min() {
    check(
        &["zone: lists.example.test", "roles: { web: { publish_max: 0 } }"],
        &["2:30 publish_max: 0 is out of range; expected 1 to"],
    );
    let policy = load(&[
        "zone: lists.example.test",
        "roles: { web: { min: 3, publish_max: 2 } }",
    ]);
    let warning = policy
        .warnings
        .iter()
        .find(|w| w.message.contains("publish_max"))
        .unwrap_or_else(|| panic!("{:?}", policy.warnings));
    assert_eq!((warning.line, warning.column), (2, 38));
    assert!(
        warning.message.contains("publish_max 2 is below min 3"),
        "{}",
        warning.message
    );
}

#[test]
fn warnings_for_missing_reverse_blocks_and_a_missing_spf() {
    let policy = load(&[
        "zone: lists.example.test",
        "roles: { smtp-in: { records: [ { name: \"@\", type: MX, priority: 10 } ] } }",
        "hosts:",
        "  - { name: a, address: 127.0.10.1 }",
        "  - { name: b, addresses: [127.0.11.1, \"::1\"] }",
        "reverse: [127.0.10.0/24]",
    ]);
    let found: Vec<String> = policy
        .warnings
        .iter()
        .map(|w| format!("{}:{} {}", w.line, w.column, w.message))
        .collect();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with("2:32 role \"smtp-in\" publishes MX but the policy has no spf:"),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("5:5 host \"b\" has address 127.0.11.1, which lies in no block under reverse:"),
        "{found:#?}"
    );
    assert!(
        found[2].starts_with("5:5 host \"b\" has address ::1,"),
        "{found:#?}"
    );
    // No reverse: no such warning; an spf: no SPF warning.
    let policy = load(&[
        "zone: lists.example.test",
        "roles: { smtp-in: { records: [ { name: \"@\", type: MX, priority: 10 } ] } }",
        "hosts: [ { name: a, address: 127.0.10.1 } ]",
        "spf: { roles: [smtp-in] }",
    ]);
    assert!(policy.warnings.is_empty(), "{:?}", policy.warnings);
}
