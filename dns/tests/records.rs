//! A real list domain's records through `respond`: CNAME chases (RFC 1034
//! §4.3.2, RFC 6604), delegations answered as referrals, additional data
//! for SRV/MX targets, and the RDATA of TXT, CAA, TLSA and RFC 3597 types —
//! every reply parsed back with hickory-proto; then the CNAME and referral
//! cases through a real server and `dig`.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use muster_dns::server::{DnsConfig, spawn_dns_server};
use muster_dns::wire::Request;
use muster_dns::{
    Outcome, RecordData, Snapshot, SoaFields, Transport, Zone, ZonePublisher, respond, transfer_messages,
};
use proptest::prelude::*;
use tokio_util::sync::CancellationToken;

const ID: u16 = 0x5150;
const SERIAL: u32 = 2_024_070_101;
const ORIGIN: &str = "lists.example.test.";
/// min(SOA TTL 3600, MINIMUM 300).
const NEGATIVE_TTL: u32 = 300;
const WWW_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 80);
const SMURF2_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
const SUB_NS_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 53);
const SUB_NS_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x53, 0, 0, 0, 0, 1);
const NS1_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 53);
const TYPE65534: u16 = 65_534;

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("valid name")
}

/// A name in the test zone: `rel` is relative to the origin, "@" the apex.
fn n(rel: &str) -> Name {
    if rel == "@" {
        name(ORIGIN)
    } else {
        name(&format!("{rel}.{ORIGIN}"))
    }
}

fn cname(target: &str) -> RecordData {
    RecordData::Cname(name(target))
}

/// A 400-byte DKIM TXT value, the size of a 2048-bit key record.
fn dkim_value() -> String {
    let mut value = String::from("v=DKIM1; k=rsa; p=");
    let mut i = 0u32;
    while value.len() < 400 {
        value.push(char::from(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i % 64) as usize],
        ));
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    value
}

const TLSA_DATA: [u8; 32] = [0xAB; 32];

/// The list domain: an MX pool over smurf1/2, `www`, aliases of every
/// kind, a delegation `sub` with in-domain, sibling and out-of-zone name
/// servers (and data below it), SRV, TXT, CAA, TLSA and TYPE65534.
fn zone() -> Zone {
    let soa = SoaFields {
        mname: n("ns1"),
        rname: n("hostmaster"),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: NEGATIVE_TTL,
        ttl: 3600,
    };
    let mut z = Zone::new(&n("@"), SERIAL, soa).expect("zone");
    let mut add = |owner: &str, ttl: u32, data: RecordData| z.add(&n(owner), ttl, data).expect("record");
    add("@", 3600, RecordData::Ns(n("ns1")));
    add("ns1", 3600, RecordData::A(NS1_V4));
    add("smurf1", 300, RecordData::A(Ipv4Addr::new(198, 51, 100, 1)));
    add("smurf2", 300, RecordData::A(Ipv4Addr::new(198, 51, 100, 2)));
    add("smurf2", 300, RecordData::Aaaa(SMURF2_V6));
    for i in 1..=2 {
        let exchange = n(&format!("smurf{i}"));
        add(
            "smtp-out",
            300,
            RecordData::Mx {
                preference: 10,
                exchange,
            },
        );
    }
    add("www", 300, RecordData::A(WWW_V4));
    add("x.ent", 300, RecordData::A(Ipv4Addr::new(192, 0, 2, 7)));

    // Aliases.
    add("mail", 600, cname("www.lists.example.test."));
    add("mx-alias", 600, cname("smtp-out.lists.example.test."));
    add("chain1", 600, cname("chain2.lists.example.test."));
    add("chain2", 600, cname("chain3.lists.example.test."));
    add("chain3", 600, cname("www.lists.example.test."));
    add("dangling", 600, cname("missing.lists.example.test."));
    add("to-ent", 600, cname("ent.lists.example.test."));
    add("outside", 600, cname("www.example.org."));
    add("to-apex", 600, cname(ORIGIN));
    add("to-sub", 600, cname("www.sub.lists.example.test."));
    add("loop1", 600, cname("loop2.lists.example.test."));
    add("loop2", 600, cname("loop1.lists.example.test."));
    for i in 0..12 {
        add(
            &format!("long{i}"),
            600,
            cname(&format!("long{}.{ORIGIN}", i + 1)),
        );
    }
    add("long12", 300, RecordData::A(WWW_V4));

    // A delegation, with data below it that is not ours to answer.
    add("sub", 86_400, RecordData::Ns(n("ns1.sub")));
    add("sub", 86_400, RecordData::Ns(n("ns1")));
    add("sub", 86_400, RecordData::Ns(name("ns.example.net.")));
    add("ns1.sub", 86_400, RecordData::A(SUB_NS_V4));
    add("ns1.sub", 86_400, RecordData::Aaaa(SUB_NS_V6));
    add("www.sub", 300, RecordData::A(Ipv4Addr::new(203, 0, 113, 80)));
    add("deeper.sub", 300, RecordData::Ns(n("ns1.sub")));
    add("alias.sub", 300, cname("www.lists.example.test."));

    // Mail-authentication and service records.
    add(
        "_submission._tcp",
        300,
        RecordData::Srv {
            priority: 0,
            weight: 1,
            port: 587,
            target: n("smurf1"),
        },
    );
    add(
        "_submission._tcp",
        300,
        RecordData::Srv {
            priority: 10,
            weight: 1,
            port: 587,
            target: n("smurf2"),
        },
    );
    add("sel._domainkey", 300, RecordData::txt(&dkim_value()));
    add(
        "multi",
        300,
        RecordData::Txt(vec![b"first".to_vec(), b"second string".to_vec(), Vec::new()]),
    );
    add(
        "@",
        3600,
        RecordData::Caa {
            flags: 0,
            tag: "issue".into(),
            value: b"letsencrypt.org".to_vec(),
        },
    );
    add(
        "@",
        3600,
        RecordData::Caa {
            flags: 128,
            tag: "iodef".into(),
            value: b"mailto:ca@example.test".to_vec(),
        },
    );
    add(
        "_25._tcp.smurf1",
        300,
        RecordData::Tlsa {
            usage: 3,
            selector: 1,
            matching: 1,
            data: TLSA_DATA.to_vec(),
        },
    );
    add(
        "unk",
        300,
        RecordData::Unknown {
            rtype: TYPE65534,
            data: vec![0, 1, 2, 0xFF],
        },
    );
    z
}

fn snapshot() -> Snapshot {
    Snapshot::compile(zone(), Vec::new())
}

fn query_message(qname: &str, qtype: RecordType) -> Message {
    let mut msg = Message::new(ID, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(name(qname), qtype));
    msg
}

fn query(qname: &str, qtype: RecordType) -> Vec<u8> {
    query_message(qname, qtype)
        .to_vec()
        .expect("hickory encodes the query")
}

fn query_edns(qname: &str, qtype: RecordType, payload: u16) -> Vec<u8> {
    let mut msg = query_message(qname, qtype);
    let mut edns = Edns::new();
    edns.set_max_payload(payload).set_version(0);
    msg.set_edns(edns);
    msg.to_vec().expect("hickory encodes the query")
}

fn raw_reply(snap: &Snapshot, packet: &[u8], transport: Transport) -> Vec<u8> {
    let mut out = Vec::new();
    match respond(snap, packet, transport, &mut out) {
        Outcome::Reply => out,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn reply(snap: &Snapshot, packet: &[u8], transport: Transport) -> Message {
    let raw = raw_reply(snap, packet, transport);
    let msg = Message::from_vec(&raw).expect("hickory parses the reply");
    assert_eq!(msg.metadata.id, ID);
    assert_eq!(msg.metadata.message_type, MessageType::Response);
    assert!(msg.metadata.recursion_desired, "RD copied");
    assert!(!msg.metadata.recursion_available, "RA clear");
    assert_eq!(msg.queries.len(), 1, "the question echoed");
    msg
}

fn udp(snap: &Snapshot, qname: &str, qtype: RecordType) -> Message {
    let msg = reply(snap, &query(qname, qtype), Transport::Udp);
    assert!(
        msg.queries[0].name().eq_case(&name(qname)),
        "question echoed with its case"
    );
    assert_eq!(msg.queries[0].query_type(), qtype);
    msg
}

/// (owner, type, TTL, presentation of the RDATA) of each record, in order.
fn rows(records: &[Record]) -> Vec<(String, RecordType, u32, String)> {
    records
        .iter()
        .map(|r| {
            assert_eq!(r.dns_class, DNSClass::IN);
            (
                r.name.to_lowercase().to_ascii(),
                r.record_type(),
                r.ttl,
                r.data.to_string(),
            )
        })
        .collect()
}

fn cname_row(owner: &str, target: &str) -> (String, RecordType, u32, String) {
    (
        n(owner).to_ascii(),
        RecordType::CNAME,
        600,
        name(target).to_ascii(),
    )
}

fn assert_flags(msg: &Message, aa: bool, rcode: ResponseCode) {
    assert_eq!(msg.metadata.authoritative, aa, "AA");
    assert_eq!(msg.metadata.response_code, rcode);
    assert!(!msg.metadata.truncation, "TC clear");
}

/// The zone's SOA alone in authority, with the negative TTL (RFC 2308 §3).
fn assert_soa_authority(msg: &Message) {
    assert_eq!(msg.authorities.len(), 1, "{:?}", msg.authorities);
    let soa = &msg.authorities[0];
    assert_eq!(soa.name, n("@"));
    assert_eq!(soa.ttl, NEGATIVE_TTL);
    match &soa.data {
        RData::SOA(soa) => assert_eq!(soa.serial, SERIAL),
        other => panic!("expected the SOA, got {other:?}"),
    }
}

/// (owner, address) of address records.
fn addresses(records: &[Record]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|r| match &r.data {
            RData::A(A(ip)) => (r.name.to_lowercase().to_ascii(), ip.to_string()),
            RData::AAAA(AAAA(ip)) => (r.name.to_lowercase().to_ascii(), ip.to_string()),
            other => panic!("expected an address, got {other:?}"),
        })
        .collect()
}

fn addr(owner: &str, ip: impl ToString) -> (String, String) {
    (n(owner).to_ascii(), ip.to_string())
}

#[test]
fn a_cname_is_chased_to_the_address_in_the_zone() {
    let snap = snapshot();
    let msg = udp(&snap, "mail.lists.example.test.", RecordType::A);
    assert_flags(&msg, true, ResponseCode::NoError);
    assert_eq!(
        rows(&msg.answers),
        vec![
            cname_row("mail", "www.lists.example.test."),
            (n("www").to_ascii(), RecordType::A, 300, WWW_V4.to_string()),
        ]
    );
    assert!(msg.authorities.is_empty() && msg.additionals.is_empty());

    // The question's case is echoed and the compression still lands right.
    let msg = udp(&snap, "MaIl.Lists.EXAMPLE.test.", RecordType::A);
    assert_eq!(msg.answers.len(), 2);
    assert_eq!(msg.answers[0].name.to_lowercase(), n("mail"));
    assert_eq!(msg.answers[1].data, RData::A(A(WWW_V4)));
}

#[test]
fn a_chain_of_cnames_is_followed_in_order() {
    let snap = snapshot();
    let msg = udp(&snap, "chain1.lists.example.test.", RecordType::A);
    assert_flags(&msg, true, ResponseCode::NoError);
    assert_eq!(
        rows(&msg.answers),
        vec![
            cname_row("chain1", "chain2.lists.example.test."),
            cname_row("chain2", "chain3.lists.example.test."),
            cname_row("chain3", "www.lists.example.test."),
            (n("www").to_ascii(), RecordType::A, 300, WWW_V4.to_string()),
        ]
    );
    // From the middle of the chain too.
    let msg = udp(&snap, "chain2.lists.example.test.", RecordType::A);
    assert_eq!(msg.answers.len(), 3);
}

#[test]
fn a_cname_to_an_mx_carries_the_exchanges_addresses() {
    let snap = snapshot();
    let msg = udp(&snap, "mx-alias.lists.example.test.", RecordType::MX);
    assert_flags(&msg, true, ResponseCode::NoError);
    let answers = rows(&msg.answers);
    assert_eq!(answers[0], cname_row("mx-alias", "smtp-out.lists.example.test."));
    let exchanges: BTreeSet<String> = msg.answers[1..]
        .iter()
        .map(|r| match &r.data {
            RData::MX(mx) => {
                assert_eq!(r.name.to_lowercase(), n("smtp-out"));
                mx.exchange.to_ascii()
            }
            other => panic!("expected MX, got {other:?}"),
        })
        .collect();
    assert_eq!(
        exchanges,
        BTreeSet::from([n("smurf1").to_ascii(), n("smurf2").to_ascii()])
    );
    assert!(msg.authorities.is_empty());
    // A then AAAA for each target.
    assert_eq!(
        addresses(&msg.additionals),
        vec![
            addr("smurf1", "198.51.100.1"),
            addr("smurf2", "198.51.100.2"),
            addr("smurf2", SMURF2_V6)
        ]
    );
}

#[test]
fn a_cname_to_a_missing_name_is_nxdomain_with_the_cname() {
    let snap = snapshot();
    for qtype in [RecordType::A, RecordType::AAAA, RecordType::MX, RecordType::TXT] {
        let msg = udp(&snap, "dangling.lists.example.test.", qtype);
        assert_flags(&msg, true, ResponseCode::NXDomain);
        assert_eq!(
            rows(&msg.answers),
            vec![cname_row("dangling", "missing.lists.example.test.")]
        );
        assert_soa_authority(&msg);
        assert!(msg.additionals.is_empty());
    }
}

#[test]
fn a_cname_to_a_name_without_the_type_is_nodata_with_the_cname() {
    let snap = snapshot();
    let msg = udp(&snap, "mail.lists.example.test.", RecordType::MX);
    assert_flags(&msg, true, ResponseCode::NoError);
    assert_eq!(
        rows(&msg.answers),
        vec![cname_row("mail", "www.lists.example.test.")]
    );
    assert_soa_authority(&msg);

    // An empty non-terminal exists: NODATA, not NXDOMAIN.
    let msg = udp(&snap, "to-ent.lists.example.test.", RecordType::A);
    assert_flags(&msg, true, ResponseCode::NoError);
    assert_eq!(
        rows(&msg.answers),
        vec![cname_row("to-ent", "ent.lists.example.test.")]
    );
    assert_soa_authority(&msg);
}

#[test]
fn a_cname_leaving_the_zone_or_its_authority_ends_the_chase() {
    let snap = snapshot();
    for qtype in [RecordType::A, RecordType::MX] {
        let msg = udp(&snap, "outside.lists.example.test.", qtype);
        assert_flags(&msg, true, ResponseCode::NoError);
        assert_eq!(rows(&msg.answers), vec![cname_row("outside", "www.example.org.")]);
        assert!(msg.authorities.is_empty() && msg.additionals.is_empty());
    }
    // Into a delegation: the glue below the cut is not answered.
    let msg = udp(&snap, "to-sub.lists.example.test.", RecordType::A);
    assert_flags(&msg, true, ResponseCode::NoError);
    assert_eq!(
        rows(&msg.answers),
        vec![cname_row("to-sub", "www.sub.lists.example.test.")]
    );
    assert!(msg.authorities.is_empty() && msg.additionals.is_empty());
}

#[test]
fn loops_and_long_chains_end_where_they_are() {
    let snap = snapshot();
    let msg = udp(&snap, "loop1.lists.example.test.", RecordType::A);
    assert_flags(&msg, true, ResponseCode::NoError);
    assert_eq!(
        rows(&msg.answers),
        vec![
            cname_row("loop1", "loop2.lists.example.test."),
            cname_row("loop2", "loop1.lists.example.test.")
        ]
    );
    assert!(msg.authorities.is_empty());

    let msg = udp(&snap, "long0.lists.example.test.", RecordType::A);
    assert_flags(&msg, true, ResponseCode::NoError);
    let expected: Vec<_> = (0..8)
        .map(|i| cname_row(&format!("long{i}"), &format!("long{}.{ORIGIN}", i + 1)))
        .collect();
    assert_eq!(rows(&msg.answers), expected, "eight CNAMEs and no more");
    // Closer to the end the chain fits and reaches the address.
    let msg = udp(&snap, "long5.lists.example.test.", RecordType::A);
    assert_eq!(msg.answers.len(), 8);
    assert_eq!(msg.answers[7].data, RData::A(A(WWW_V4)));
}

#[test]
fn qtype_cname_and_any_get_the_cname_alone() {
    let snap = snapshot();
    for qtype in [RecordType::CNAME, RecordType::ANY] {
        let msg = udp(&snap, "chain1.lists.example.test.", qtype);
        assert_flags(&msg, true, ResponseCode::NoError);
        assert_eq!(
            rows(&msg.answers),
            vec![cname_row("chain1", "chain2.lists.example.test.")]
        );
        assert!(msg.authorities.is_empty() && msg.additionals.is_empty());
    }
}

#[test]
fn a_cname_to_the_apex_reaches_its_soa_and_ns() {
    let snap = snapshot();
    let msg = udp(&snap, "to-apex.lists.example.test.", RecordType::SOA);
    assert_flags(&msg, true, ResponseCode::NoError);
    assert_eq!(msg.answers.len(), 2);
    assert_eq!(msg.answers[1].name, n("@"));
    assert_eq!(msg.answers[1].ttl, 3600, "the SOA's own TTL in an answer");
    assert!(matches!(&msg.answers[1].data, RData::SOA(soa) if soa.serial == SERIAL));

    let msg = udp(&snap, "to-apex.lists.example.test.", RecordType::NS);
    assert_eq!(
        rows(&msg.answers)[1],
        (n("@").to_ascii(), RecordType::NS, 3600, n("ns1").to_ascii())
    );
    assert_eq!(addresses(&msg.additionals), vec![addr("ns1", NS1_V4)]);

    let msg = udp(&snap, "to-apex.lists.example.test.", RecordType::CAA);
    assert_eq!(msg.answers.len(), 3, "the CNAME and both CAA records");
}

/// A referral to `sub`: AA clear, NOERROR, no answer, the three NS in
/// authority; glue for the in-domain server (A, AAAA) then the sibling.
fn assert_referral_to_sub(msg: &Message) {
    assert_flags(msg, false, ResponseCode::NoError);
    assert!(msg.answers.is_empty(), "{:?}", msg.answers);
    let ns: BTreeSet<(String, u32, String)> = msg
        .authorities
        .iter()
        .map(|r| match &r.data {
            // Names compressed against the question take its case.
            RData::NS(NS(target)) => (
                r.name.to_lowercase().to_ascii(),
                r.ttl,
                target.to_lowercase().to_ascii(),
            ),
            other => panic!("expected NS in authority, got {other:?}"),
        })
        .collect();
    let sub = n("sub").to_ascii();
    assert_eq!(
        ns,
        BTreeSet::from([
            (sub.clone(), 86_400, n("ns1.sub").to_ascii()),
            (sub.clone(), 86_400, n("ns1").to_ascii()),
            (sub, 86_400, "ns.example.net.".to_string()),
        ])
    );
    assert_eq!(
        addresses(&msg.additionals),
        vec![
            addr("ns1.sub", SUB_NS_V4),
            addr("ns1.sub", SUB_NS_V6),
            addr("ns1", NS1_V4)
        ]
    );
}

#[test]
fn queries_at_a_zone_cut_get_a_referral() {
    let snap = snapshot();
    for qtype in [
        RecordType::A,
        RecordType::NS,
        RecordType::MX,
        RecordType::ANY,
        RecordType::SOA,
    ] {
        assert_referral_to_sub(&udp(&snap, "sub.lists.example.test.", qtype));
    }
    assert_referral_to_sub(&udp(&snap, "SUB.lists.example.TEST.", RecordType::A));
}

#[test]
fn names_below_a_cut_get_the_referral_whether_they_exist_or_not() {
    let snap = snapshot();
    for qname in [
        "www.sub.lists.example.test.",
        "ns1.sub.lists.example.test.",
        "alias.sub.lists.example.test.",
        "deeper.sub.lists.example.test.",
        "www.deeper.sub.lists.example.test.",
        "nothing.sub.lists.example.test.",
        "a.b.c.d.sub.lists.example.test.",
        "NoThInG.Sub.lists.example.test.",
    ] {
        for qtype in [
            RecordType::A,
            RecordType::AAAA,
            RecordType::NS,
            RecordType::DS,
            RecordType::ANY,
        ] {
            for transport in [Transport::Udp, Transport::Tcp] {
                let msg = reply(&snap, &query(qname, qtype), transport);
                assert!(msg.queries[0].name().eq_case(&name(qname)));
                assert_referral_to_sub(&msg);
            }
        }
    }
    // Siblings of the cut are still ours.
    let msg = udp(&snap, "nosub.lists.example.test.", RecordType::A);
    assert_flags(&msg, true, ResponseCode::NXDomain);
}

#[test]
fn ds_at_the_cut_is_the_parents_nodata() {
    let snap = snapshot();
    let msg = udp(&snap, "sub.lists.example.test.", RecordType::DS);
    assert_flags(&msg, true, ResponseCode::NoError);
    assert!(msg.answers.is_empty());
    assert_soa_authority(&msg);
    assert!(msg.additionals.is_empty());
}

/// A zone with a delegation `big` to twenty servers below it and one `sib`
/// to fourteen servers beside it.
fn crowded_zone() -> Zone {
    let mut z = zone();
    for i in 1..=20u8 {
        let inside = n(&format!("server-number-{i:02}.big"));
        z.add(&n("big"), 3600, RecordData::Ns(inside.clone()))
            .expect("ns");
        z.add(&inside, 3600, RecordData::A(Ipv4Addr::new(203, 0, 113, i)))
            .expect("glue");
    }
    for i in 1..=14u8 {
        let beside = n(&format!("server-number-{i:02}"));
        z.add(&n("sib"), 3600, RecordData::Ns(beside.clone()))
            .expect("ns");
        z.add(&beside, 3600, RecordData::A(Ipv4Addr::new(198, 18, 0, i)))
            .expect("glue");
    }
    z
}

#[test]
fn in_domain_glue_that_does_not_fit_truncates_the_referral() {
    let snap = Snapshot::compile(crowded_zone(), Vec::new());
    for qname in ["big.lists.example.test.", "host.below.big.lists.example.test."] {
        let msg = udp(&snap, qname, RecordType::A);
        assert!(msg.metadata.truncation, "RFC 9471: in-domain glue must fit");
        assert!(!msg.metadata.authoritative, "still a referral");
        assert!(msg.answers.is_empty() && msg.authorities.is_empty());

        let msg = reply(&snap, &query(qname, RecordType::A), Transport::Tcp);
        assert_flags(&msg, false, ResponseCode::NoError);
        assert_eq!(msg.authorities.len(), 20);
        assert_eq!(msg.additionals.len(), 20);
    }
}

#[test]
fn sibling_glue_that_does_not_fit_is_dropped_without_tc() {
    let snap = Snapshot::compile(crowded_zone(), Vec::new());
    // At the cut the referral is compressed and fits 512 bytes; below it
    // its names are whole, and it fits the EDNS buffer.
    let at_cut = "sib.lists.example.test.";
    let below = "host.sib.lists.example.test.";
    for (qname, packet, limit) in [
        (at_cut, query(at_cut, RecordType::A), 512),
        (below, query_edns(below, RecordType::A, 1232), 1232),
    ] {
        let raw = raw_reply(&snap, &packet, Transport::Udp);
        assert!(raw.len() <= limit);
        let msg = Message::from_vec(&raw).expect("parses");
        assert_flags(&msg, false, ResponseCode::NoError);
        assert_eq!(msg.authorities.len(), 14);
        let glue = msg.additionals.len();
        assert!((1..14).contains(&glue), "{qname}: some glue, not all: {glue}");
        let full = reply(&snap, &query(qname, RecordType::A), Transport::Tcp);
        assert_eq!(full.additionals.len(), 14);
        // What fits is a prefix of the whole, whole RRsets at a time.
        assert_eq!(
            addresses(&msg.additionals),
            addresses(&full.additionals)[..glue].to_vec()
        );
    }
}

#[test]
fn srv_answers_carry_the_targets_addresses() {
    let snap = snapshot();
    let msg = udp(&snap, "_submission._tcp.lists.example.test.", RecordType::SRV);
    assert_flags(&msg, true, ResponseCode::NoError);
    let srv: Vec<(u16, u16, u16, Name)> = msg
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::SRV(s) => (s.priority, s.weight, s.port, s.target.clone()),
            other => panic!("expected SRV, got {other:?}"),
        })
        .collect();
    assert_eq!(srv, vec![(0, 1, 587, n("smurf1")), (10, 1, 587, n("smurf2"))]);
    assert_eq!(
        addresses(&msg.additionals),
        vec![
            addr("smurf1", "198.51.100.1"),
            addr("smurf2", "198.51.100.2"),
            addr("smurf2", SMURF2_V6)
        ]
    );
}

#[test]
fn a_dkim_key_is_split_into_character_strings_that_join_back() {
    let snap = snapshot();
    let msg = udp(&snap, "sel._domainkey.lists.example.test.", RecordType::TXT);
    assert_flags(&msg, true, ResponseCode::NoError);
    assert_eq!(msg.answers.len(), 1);
    let RData::TXT(txt) = &msg.answers[0].data else {
        panic!("expected TXT, got {:?}", msg.answers[0].data);
    };
    let lens: Vec<usize> = txt.txt_data.iter().map(|s| s.len()).collect();
    assert_eq!(lens, vec![255, 145]);
    let joined: Vec<u8> = txt.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
    assert_eq!(joined, dkim_value().into_bytes());

    let msg = udp(&snap, "multi.lists.example.test.", RecordType::TXT);
    let RData::TXT(txt) = &msg.answers[0].data else {
        panic!("expected TXT");
    };
    let strings: Vec<&[u8]> = txt.txt_data.iter().map(|s| &s[..]).collect();
    assert_eq!(strings, vec![&b"first"[..], &b"second string"[..], &b""[..]]);
}

#[test]
fn caa_tlsa_and_unknown_types_round_trip() {
    let snap = snapshot();
    let msg = udp(&snap, ORIGIN, RecordType::CAA);
    assert_flags(&msg, true, ResponseCode::NoError);
    let caa: BTreeSet<(bool, String, Vec<u8>)> = msg
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::CAA(c) => (c.issuer_critical, c.tag.clone(), c.value.clone()),
            other => panic!("expected CAA, got {other:?}"),
        })
        .collect();
    assert_eq!(
        caa,
        BTreeSet::from([
            (false, "issue".to_string(), b"letsencrypt.org".to_vec()),
            (true, "iodef".to_string(), b"mailto:ca@example.test".to_vec()),
        ])
    );

    let msg = udp(&snap, "_25._tcp.smurf1.lists.example.test.", RecordType::TLSA);
    assert_eq!(msg.answers.len(), 1);
    let RData::TLSA(tlsa) = &msg.answers[0].data else {
        panic!("expected TLSA, got {:?}", msg.answers[0].data);
    };
    assert_eq!(
        (
            u8::from(tlsa.cert_usage),
            u8::from(tlsa.selector),
            u8::from(tlsa.matching)
        ),
        (3, 1, 1)
    );
    assert_eq!(tlsa.cert_data, TLSA_DATA.to_vec());

    let msg = udp(&snap, "unk.lists.example.test.", RecordType::Unknown(TYPE65534));
    assert_flags(&msg, true, ResponseCode::NoError);
    assert_eq!(msg.answers.len(), 1);
    assert_eq!(msg.answers[0].record_type(), RecordType::Unknown(TYPE65534));
    match &msg.answers[0].data {
        RData::Unknown { code, rdata } => {
            assert_eq!(*code, RecordType::Unknown(TYPE65534));
            assert_eq!(rdata.anything, vec![0, 1, 2, 0xFF]);
        }
        other => panic!("expected opaque RDATA, got {other:?}"),
    }
    // Another type at that name is NODATA.
    let msg = udp(&snap, "unk.lists.example.test.", RecordType::A);
    assert_flags(&msg, true, ResponseCode::NoError);
    assert!(msg.answers.is_empty());
    assert_soa_authority(&msg);
}

#[test]
fn axfr_carries_the_delegation_its_glue_and_every_alias() {
    let z = zone();
    let expected: BTreeSet<(String, RecordType)> = z
        .records()
        .map(|(owner, _, data)| (owner.to_ascii(), data.record_type()))
        .collect();
    let snap = Snapshot::compile(z.clone(), Vec::new());
    let packet = query(ORIGIN, RecordType::AXFR);
    let req = Request::parse(&packet).expect("a transfer query");
    let mut records = Vec::new();
    for raw in transfer_messages(&snap, &req) {
        let msg = Message::from_vec(&raw).expect("hickory parses each transfer message");
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
        records.extend(msg.answers);
    }
    assert_eq!(records.first().map(Record::record_type), Some(RecordType::SOA));
    assert_eq!(records.last().map(Record::record_type), Some(RecordType::SOA));
    let inner = &records[1..records.len() - 1];
    assert_eq!(inner.len(), z.records().count(), "every record once");
    let got: BTreeSet<(String, RecordType)> = inner
        .iter()
        .map(|r| (r.name.to_lowercase().to_ascii(), r.record_type()))
        .collect();
    assert_eq!(got, expected);
    for must in [
        (n("sub").to_ascii(), RecordType::NS),
        (n("ns1.sub").to_ascii(), RecordType::A),
        (n("ns1.sub").to_ascii(), RecordType::AAAA),
        (n("www.sub").to_ascii(), RecordType::A),
        (n("deeper.sub").to_ascii(), RecordType::NS),
        (n("alias.sub").to_ascii(), RecordType::CNAME),
        (n("loop1").to_ascii(), RecordType::CNAME),
    ] {
        assert!(got.contains(&must), "{must:?} in the AXFR");
    }
    let cname_to_sub = inner
        .iter()
        .find(|r| r.name.to_lowercase() == n("to-sub"))
        .map(|r| r.data.clone());
    assert_eq!(cname_to_sub, Some(RData::CNAME(CNAME(n("www.sub")))));
}

/// Every name of the zone, every type, both transports, small and large
/// buffers: the reply parses, keeps to the size limit, and says AA exactly
/// when it is not a referral.
#[test]
fn every_name_and_type_answers_cleanly() {
    let snap = Snapshot::compile(crowded_zone(), Vec::new());
    let z = crowded_zone();
    let mut names: BTreeSet<String> = z.records().map(|(owner, _, _)| owner.to_ascii()).collect();
    names.insert("missing.lists.example.test.".into());
    names.insert("x.y.sub.lists.example.test.".into());
    let types = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::MX,
        RecordType::NS,
        RecordType::SOA,
        RecordType::CNAME,
        RecordType::TXT,
        RecordType::SRV,
        RecordType::DS,
        RecordType::CAA,
        RecordType::TLSA,
        RecordType::ANY,
        RecordType::Unknown(TYPE65534),
    ];
    for qname in &names {
        for qtype in types {
            for (packet, transport, limit) in [
                (query(qname, qtype), Transport::Udp, 512),
                (query_edns(qname, qtype, 1232), Transport::Udp, 1232),
                (query(qname, qtype), Transport::Tcp, 65_535),
            ] {
                let raw = raw_reply(&snap, &packet, transport);
                assert!(raw.len() <= limit, "{qname} {qtype}: {} bytes", raw.len());
                let msg = Message::from_vec(&raw).unwrap_or_else(|e| panic!("{qname} {qtype}: {e}"));
                let referral = !msg.metadata.authoritative;
                if referral {
                    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
                    assert!(
                        msg.answers.is_empty(),
                        "{qname} {qtype}: a referral has no answer"
                    );
                    assert!(
                        msg.metadata.truncation
                            || msg.authorities.iter().all(|r| r.record_type() == RecordType::NS),
                        "{qname} {qtype}"
                    );
                }
            }
        }
    }
}

fn shared_snapshot() -> &'static Snapshot {
    static SNAPSHOT: std::sync::OnceLock<Snapshot> = std::sync::OnceLock::new();
    SNAPSHOT.get_or_init(|| Snapshot::compile(crowded_zone(), Vec::new()))
}

/// A name at or below one of the zone's owners (or a stranger's), in
/// random case.
fn qname() -> impl Strategy<Value = Name> {
    let owners: Vec<String> = crowded_zone().records().map(|(o, _, _)| o.to_ascii()).collect();
    (
        prop::sample::select(owners),
        prop::collection::vec("[a-z0-9]{1,12}", 0..3),
        any::<u64>(),
    )
        .prop_map(|(owner, labels, case)| {
            let mut text = String::new();
            for label in labels {
                text.push_str(&label);
                text.push('.');
            }
            text.push_str(&owner);
            let mixed: String = text
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if case >> (i % 64) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            name(&mixed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Whatever name and type is asked, over either transport and any
    /// buffer: the reply parses, fits, echoes the question, and below the
    /// cut is a referral (but for DS at the cut itself).
    #[test]
    fn any_question_gets_a_well_formed_reply(
        qname in qname(),
        qtype in any::<u16>().prop_filter("not a transfer or OPT", |t| ![41, 251, 252].contains(t)),
        payload in prop::option::of(0u16..=4096),
        tcp in any::<bool>(),
    ) {
        let snap = shared_snapshot();
        let mut msg = query_message(&qname.to_ascii(), RecordType::from(qtype));
        if let Some(payload) = payload {
            let mut edns = Edns::new();
            edns.set_max_payload(payload).set_version(0);
            msg.set_edns(edns);
        }
        let packet = msg.to_vec().expect("encodes");
        let transport = if tcp { Transport::Tcp } else { Transport::Udp };
        let raw = raw_reply(snap, &packet, transport);
        let limit = match (tcp, payload) {
            (true, _) => 65_535,
            (false, None) => 512,
            (false, Some(p)) => usize::from(p.clamp(512, 1232)),
        };
        prop_assert!(raw.len() <= limit);
        let reply = Message::from_vec(&raw).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(reply.metadata.id, ID);
        prop_assert!(reply.queries[0].name().eq_case(&qname));
        let lower = qname.to_lowercase();
        let below_cut = ["sub", "big", "sib"].iter().any(|cut| n(cut).zone_of(&lower));
        let parent_side = qtype == 43 && ["sub", "big", "sib"].iter().any(|cut| n(cut) == lower);
        if below_cut && !parent_side {
            prop_assert!(!reply.metadata.authoritative, "a referral: {}", qname);
            prop_assert!(reply.answers.is_empty());
            prop_assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        } else {
            prop_assert!(reply.metadata.authoritative, "our data: {} {}", qname, qtype);
        }
    }
}

/// Runs `dig` against `addr` and returns its output.
async fn dig(addr: SocketAddr, args: &[&str]) -> String {
    let mut all = vec![
        format!("@{}", addr.ip()),
        "-p".to_string(),
        addr.port().to_string(),
        "+norecurse".to_string(),
        "+time=5".to_string(),
        "+tries=1".to_string(),
    ];
    all.extend(args.iter().map(ToString::to_string));
    let out = tokio::task::spawn_blocking(move || std::process::Command::new("dig").args(&all).output())
        .await
        .expect("dig runs")
        .expect("dig is installed");
    assert!(
        out.status.success(),
        "dig failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("dig prints text")
}

/// The flags dig printed (";; flags: qr aa; QUERY: ...").
fn dig_flags(text: &str) -> BTreeSet<String> {
    let line = text
        .lines()
        .find(|l| l.starts_with(";; flags:"))
        .expect("a flags line");
    let flags = line
        .trim_start_matches(";; flags:")
        .split(';')
        .next()
        .unwrap_or_default();
    flags.split_whitespace().map(str::to_string).collect()
}

/// The records dig printed in `section` ("ANSWER", "AUTHORITY", ...), as
/// (owner, type, data).
fn dig_section(text: &str, section: &str) -> Vec<(String, String, String)> {
    let header = format!(";; {section} SECTION:");
    text.lines()
        .skip_while(|l| *l != header)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            (
                fields[0].to_lowercase(),
                fields[3].to_string(),
                fields[4..].join(" "),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dig_sees_the_cname_chase_and_the_referral() {
    let publisher = ZonePublisher::new(zone());
    let cancel = CancellationToken::new();
    let config = DnsConfig {
        listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
        udp_workers: 1,
        tcp_idle: Duration::from_secs(5),
        max_tcp_connections: 4,
        ..DnsConfig::default()
    };
    let server = spawn_dns_server(&config, publisher.shared(), cancel.clone())
        .await
        .expect("server starts");
    let addr = server.local_addrs()[0];

    let text = dig(addr, &["chain1.lists.example.test", "A"]).await;
    assert!(text.contains("status: NOERROR"), "{text}");
    assert!(dig_flags(&text).contains("aa"), "{text}");
    let answer = dig_section(&text, "ANSWER");
    let kinds: Vec<&str> = answer.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(kinds, vec!["CNAME", "CNAME", "CNAME", "A"], "{text}");
    assert_eq!(
        answer[3],
        ("www.lists.example.test.".into(), "A".into(), WWW_V4.to_string())
    );

    let text = dig(addr, &["dangling.lists.example.test", "A"]).await;
    assert!(text.contains("status: NXDOMAIN"), "{text}");
    assert_eq!(dig_section(&text, "ANSWER").len(), 1, "{text}");
    assert_eq!(dig_section(&text, "AUTHORITY")[0].1, "SOA", "{text}");

    for qname in [
        "sub.lists.example.test",
        "www.sub.lists.example.test",
        "nothing.sub.lists.example.test",
    ] {
        let text = dig(addr, &[qname, "A"]).await;
        assert!(text.contains("status: NOERROR"), "{text}");
        assert_eq!(
            dig_flags(&text),
            BTreeSet::from(["qr".to_string()]),
            "a referral is not authoritative: {text}"
        );
        assert!(dig_section(&text, "ANSWER").is_empty(), "{text}");
        let authority = dig_section(&text, "AUTHORITY");
        assert_eq!(authority.len(), 3, "{text}");
        assert!(
            authority
                .iter()
                .all(|(owner, t, _)| owner == "sub.lists.example.test." && t == "NS"),
            "{text}"
        );
        let glue: BTreeSet<String> = dig_section(&text, "ADDITIONAL")
            .into_iter()
            .map(|(_, _, d)| d)
            .collect();
        assert!(
            glue.contains(&SUB_NS_V4.to_string()) && glue.contains(&SUB_NS_V6.to_string()),
            "{text}"
        );
    }

    // kdig agrees on the referral's flags.
    let (ip, port) = (addr.ip().to_string(), addr.port().to_string());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("kdig")
            .args([
                format!("@{ip}"),
                "-p".into(),
                port,
                "+norec".into(),
                "x.sub.lists.example.test".into(),
                "A".into(),
            ])
            .output()
    })
    .await
    .expect("kdig runs")
    .expect("kdig is installed");
    let text = String::from_utf8_lossy(&out.stdout);
    let flags = text
        .lines()
        .find(|l| l.starts_with(";; Flags:"))
        .unwrap_or_default();
    assert!(flags.contains("qr") && !flags.contains("aa"), "{text}");

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(10), server.join())
        .await
        .expect("server stops");
}
