//! `respond` against an independent parser: queries are built with
//! hickory-proto, answered by muster, and the replies parsed back with
//! hickory-proto and checked against the RFCs.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use muster_dns::{Outcome, RecordData, Snapshot, SoaFields, Transport, Zone, respond};

const ID: u16 = 0xBEEF;
const SERIAL: u32 = 2_024_060_101;
const ORIGIN: &str = "lists.example.test.";
const FALLBACK: &str = "fallback.mail.example.net.";

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("valid name")
}

fn soa_fields(ttl: u32, minimum: u32) -> SoaFields {
    SoaFields {
        mname: name("ns1.lists.example.test."),
        rname: name("hostmaster.lists.example.test."),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum,
        ttl,
    }
}

fn smurf(i: usize) -> Name {
    name(&format!("smurf{i}.{ORIGIN}"))
}

fn smurf_v4(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, u8::try_from(i).expect("pool under 256"))
}

const SMURF2_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
const NS1_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 53);
const WWW_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 80);

/// The test zone: an MX pool `smtp-out` over smurf1..=pool (smurf2 also has
/// an AAAA), a fallback MX 20 outside the zone, `www`, a deep `a.b.c` (so
/// `b.c` and `c` are empty non-terminals) and NS ns1 with glue.
fn zone_with(pool: usize, soa_ttl: u32, minimum: u32) -> Zone {
    let origin = name(ORIGIN);
    let mut zone = Zone::new(&origin, SERIAL, soa_fields(soa_ttl, minimum)).expect("zone");
    zone.add(&origin, 3600, RecordData::Ns(name("ns1.lists.example.test.")))
        .expect("ns");
    zone.add(&name("ns1.lists.example.test."), 3600, RecordData::A(NS1_V4))
        .expect("ns1");
    let pool_name = name("smtp-out.lists.example.test.");
    for i in 1..=pool {
        zone.add(&smurf(i), 300, RecordData::A(smurf_v4(i))).expect("a");
        if i == 2 {
            zone.add(&smurf(i), 300, RecordData::Aaaa(SMURF2_V6))
                .expect("aaaa");
        }
        zone.add(
            &pool_name,
            300,
            RecordData::Mx {
                preference: 10,
                exchange: smurf(i),
            },
        )
        .expect("mx");
    }
    zone.add(
        &pool_name,
        300,
        RecordData::Mx {
            preference: 20,
            exchange: name(FALLBACK),
        },
    )
    .expect("fallback mx");
    zone.add(&name("www.lists.example.test."), 300, RecordData::A(WWW_V4))
        .expect("www");
    zone.add(
        &name("a.b.c.lists.example.test."),
        300,
        RecordData::A(Ipv4Addr::new(192, 0, 2, 99)),
    )
    .expect("deep");
    zone
}

fn snapshot_with(pool: usize, soa_ttl: u32, minimum: u32) -> Snapshot {
    Snapshot::compile(zone_with(pool, soa_ttl, minimum), Vec::new())
}

fn snapshot() -> Snapshot {
    snapshot_with(3, 3600, 300)
}

fn query_message(qname: &str, qtype: RecordType) -> Message {
    let mut msg = Message::new(ID, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(name(qname), qtype));
    msg
}

fn encode(msg: &Message) -> Vec<u8> {
    msg.to_vec().expect("hickory encodes the query")
}

fn query(qname: &str, qtype: RecordType) -> Vec<u8> {
    encode(&query_message(qname, qtype))
}

fn edns(payload: u16, dnssec_ok: bool) -> Edns {
    let mut edns = Edns::new();
    edns.set_max_payload(payload)
        .set_version(0)
        .set_dnssec_ok(dnssec_ok);
    edns
}

fn query_edns(qname: &str, qtype: RecordType, payload: u16, dnssec_ok: bool) -> Vec<u8> {
    let mut msg = query_message(qname, qtype);
    msg.set_edns(edns(payload, dnssec_ok));
    encode(&msg)
}

/// Answers `packet`, insists on a reply, and returns its raw bytes.
fn raw_reply(snapshot: &Snapshot, packet: &[u8], transport: Transport) -> Vec<u8> {
    let mut out = Vec::new();
    match respond(snapshot, packet, transport, &mut out) {
        Outcome::Reply => out,
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// Answers `packet` and parses the reply with hickory.
fn reply(snapshot: &Snapshot, packet: &[u8], transport: Transport) -> Message {
    let raw = raw_reply(snapshot, packet, transport);
    let msg = Message::from_vec(&raw).expect("hickory parses the reply");
    assert_eq!(msg.metadata.id, ID, "ID echoed");
    assert_eq!(msg.metadata.message_type, MessageType::Response);
    msg
}

fn udp(snapshot: &Snapshot, packet: &[u8]) -> Message {
    reply(snapshot, packet, Transport::Udp)
}

/// An authoritative answer: AA set, RA clear, RD copied from our query (set).
fn assert_authoritative(msg: &Message, rcode: ResponseCode) {
    assert_eq!(msg.metadata.response_code, rcode);
    assert!(msg.metadata.authoritative, "AA set");
    assert!(!msg.metadata.recursion_available, "RA clear");
    assert!(msg.metadata.recursion_desired, "RD copied");
    assert!(!msg.metadata.truncation, "TC clear");
}

fn assert_question(msg: &Message, qname: &str, qtype: RecordType) {
    assert_eq!(msg.queries.len(), 1);
    assert!(
        msg.queries[0].name().eq_case(&name(qname)),
        "question echoed with case"
    );
    assert_eq!(msg.queries[0].query_type(), qtype);
    assert_eq!(msg.queries[0].query_class(), DNSClass::IN);
}

fn soa_of(record: &Record) -> &SOA {
    match &record.data {
        RData::SOA(soa) => soa,
        other => panic!("expected SOA, got {other:?}"),
    }
}

/// NXDOMAIN/NODATA: no answers, the zone's SOA alone in authority with the
/// negative TTL.
fn assert_negative(msg: &Message, rcode: ResponseCode, negative_ttl: u32) {
    assert_authoritative(msg, rcode);
    assert!(msg.answers.is_empty(), "no answers: {:?}", msg.answers);
    assert!(msg.additionals.is_empty());
    assert_eq!(msg.authorities.len(), 1, "one SOA in authority");
    let soa_rec = &msg.authorities[0];
    assert_eq!(soa_rec.name, name(ORIGIN));
    assert_eq!(soa_rec.record_type(), RecordType::SOA);
    assert_eq!(soa_rec.dns_class, DNSClass::IN);
    assert_eq!(soa_rec.ttl, negative_ttl);
    let soa = soa_of(soa_rec);
    assert_eq!(soa.serial, SERIAL);
    assert_eq!(soa.mname, name("ns1.lists.example.test."));
    assert_eq!(soa.rname, name("hostmaster.lists.example.test."));
    assert_eq!((soa.refresh, soa.retry, soa.expire), (3600, 600, 1_209_600));
}

fn assert_refused(msg: &Message) {
    assert_eq!(msg.metadata.response_code, ResponseCode::Refused);
    assert!(!msg.metadata.authoritative, "AA clear on REFUSED");
    assert!(!msg.metadata.recursion_available);
    assert!(msg.answers.is_empty() && msg.authorities.is_empty() && msg.additionals.is_empty());
}

/// (owner, type, rdata) of glue records, for set comparisons.
fn addresses(records: &[Record]) -> BTreeSet<(String, String)> {
    records
        .iter()
        .map(|r| match &r.data {
            RData::A(A(ip)) => (r.name.to_lowercase().to_ascii(), ip.to_string()),
            RData::AAAA(AAAA(ip)) => (r.name.to_lowercase().to_ascii(), ip.to_string()),
            other => panic!("unexpected additional record {other:?}"),
        })
        .collect()
}

fn mx_targets(records: &[Record]) -> Vec<(u16, Name)> {
    records
        .iter()
        .map(|r| match &r.data {
            RData::MX(mx) => (mx.preference, mx.exchange.clone()),
            other => panic!("expected MX, got {other:?}"),
        })
        .collect()
}

fn expected_glue(pool: usize) -> BTreeSet<(String, String)> {
    let mut glue: BTreeSet<(String, String)> = (1..=pool)
        .map(|i| (smurf(i).to_ascii(), smurf_v4(i).to_string()))
        .collect();
    if pool >= 2 {
        glue.insert((smurf(2).to_ascii(), SMURF2_V6.to_string()));
    }
    glue
}

#[test]
fn a_record_is_authoritative_with_rd_copied() {
    let snap = snapshot();
    let msg = udp(&snap, &query("www.lists.example.test.", RecordType::A));
    assert_authoritative(&msg, ResponseCode::NoError);
    assert_question(&msg, "www.lists.example.test.", RecordType::A);
    assert_eq!(msg.answers.len(), 1);
    let answer = &msg.answers[0];
    assert_eq!(answer.name, name("www.lists.example.test."));
    assert_eq!(answer.ttl, 300);
    assert_eq!(answer.data, RData::A(A(WWW_V4)));
    assert!(msg.authorities.is_empty());
    assert!(msg.additionals.is_empty());
    assert!(msg.edns.is_none(), "no OPT without one in the query");
}

#[test]
fn rd_clear_stays_clear_and_cd_is_copied() {
    let snap = snapshot();
    let mut q = query_message("www.lists.example.test.", RecordType::A);
    q.metadata.recursion_desired = false;
    q.metadata.checking_disabled = true;
    let msg = udp(&snap, &encode(&q));
    assert!(!msg.metadata.recursion_desired);
    assert!(msg.metadata.checking_disabled);
    assert!(msg.metadata.authoritative);
    assert_eq!(msg.answers.len(), 1);
}

#[test]
fn mx_pool_carries_glue_for_every_target() {
    let snap = snapshot();
    let msg = udp(&snap, &query("smtp-out.lists.example.test.", RecordType::MX));
    assert_authoritative(&msg, ResponseCode::NoError);
    assert_question(&msg, "smtp-out.lists.example.test.", RecordType::MX);
    let mut targets = mx_targets(&msg.answers);
    targets.sort();
    assert_eq!(
        targets,
        vec![
            (10, smurf(1)),
            (10, smurf(2)),
            (10, smurf(3)),
            (20, name(FALLBACK)),
        ]
    );
    assert!(msg.answers.iter().all(|r| r.ttl == 300));
    assert!(msg.authorities.is_empty());
    // Every in-zone target's A, and smurf2's AAAA; nothing for the
    // out-of-zone fallback.
    assert_eq!(msg.additionals.len(), 4);
    assert_eq!(addresses(&msg.additionals), expected_glue(3));
}

#[test]
fn empty_non_terminals_are_nodata() {
    let snap = snapshot();
    for qname in ["b.c.lists.example.test.", "c.lists.example.test."] {
        for qtype in [RecordType::A, RecordType::MX, RecordType::ANY] {
            let msg = udp(&snap, &query(qname, qtype));
            assert_negative(&msg, ResponseCode::NoError, 300);
            assert_question(&msg, qname, qtype);
        }
    }
    // The deep name itself exists.
    let msg = udp(&snap, &query("a.b.c.lists.example.test.", RecordType::A));
    assert_authoritative(&msg, ResponseCode::NoError);
    assert_eq!(msg.answers.len(), 1);
}

#[test]
fn existing_name_without_the_type_is_nodata() {
    let snap = snapshot();
    let msg = udp(&snap, &query("www.lists.example.test.", RecordType::MX));
    assert_negative(&msg, ResponseCode::NoError, 300);
    let msg = udp(&snap, &query("smurf1.lists.example.test.", RecordType::AAAA));
    assert_negative(&msg, ResponseCode::NoError, 300);
}

#[test]
fn nxdomain_soa_ttl_is_min_of_ttl_and_minimum() {
    for (soa_ttl, minimum, expected) in [(300, 60, 60), (60, 300, 60), (120, 900, 120), (900, 45, 45)] {
        let snap = snapshot_with(3, soa_ttl, minimum);
        for qname in [
            "nosuch.lists.example.test.",
            "x.a.b.c.lists.example.test.",
            "deeper.www.lists.example.test.",
        ] {
            let msg = udp(&snap, &query(qname, RecordType::A));
            assert_negative(&msg, ResponseCode::NXDomain, expected);
            assert_eq!(soa_of(&msg.authorities[0]).minimum, minimum);
        }
        // NODATA uses the same negative TTL (RFC 2308 §5).
        let msg = udp(&snap, &query("c.lists.example.test.", RecordType::A));
        assert_negative(&msg, ResponseCode::NoError, expected);
        // The SOA asked for directly keeps its own TTL.
        let msg = udp(&snap, &query(ORIGIN, RecordType::SOA));
        assert_eq!(msg.answers[0].ttl, soa_ttl);
    }
}

#[test]
fn names_outside_the_zone_are_refused() {
    let snap = snapshot();
    for qname in [
        "example.test.",
        "test.",
        "www.example.org.",
        "xlists.example.test.",
        "www.xlists.example.test.",
        "lists.example.test.evil.",
    ] {
        let msg = udp(&snap, &query(qname, RecordType::A));
        assert_refused(&msg);
        assert_question(&msg, qname, RecordType::A);
    }
    // The root name too.
    let msg = udp(&snap, &query(".", RecordType::NS));
    assert_refused(&msg);
}

#[test]
fn mixed_case_question_is_echoed_byte_exactly() {
    let snap = snapshot();
    let qname = "SmTp-OuT.LiStS.eXaMpLe.TeSt.";
    let packet = query(qname, RecordType::MX);
    let raw = raw_reply(&snap, &packet, Transport::Udp);
    // Header (12) then the question: name, type, class, as sent.
    let question_len = packet.len() - 12;
    assert_eq!(&raw[12..12 + question_len], &packet[12..]);
    let msg = Message::from_vec(&raw).expect("parses");
    assert_authoritative(&msg, ResponseCode::NoError);
    assert_question(&msg, qname, RecordType::MX);
    assert_eq!(msg.answers.len(), 4);
    for answer in &msg.answers {
        assert_eq!(answer.name, name("smtp-out.lists.example.test."));
    }
    assert_eq!(addresses(&msg.additionals), expected_glue(3));

    // Negative answers point into the mixed-case question too.
    let qname = "NoSuCh.LiStS.eXaMpLe.TeSt.";
    let packet = query(qname, RecordType::A);
    let raw = raw_reply(&snap, &packet, Transport::Udp);
    assert_eq!(&raw[12..packet.len()], &packet[12..]);
    let msg = Message::from_vec(&raw).expect("parses");
    assert_negative(&msg, ResponseCode::NXDomain, 300);
    assert_question(&msg, qname, RecordType::A);

    // Refusals echo it as well.
    let qname = "XLiStS.eXaMpLe.TeSt.";
    let packet = query(qname, RecordType::A);
    let raw = raw_reply(&snap, &packet, Transport::Udp);
    assert_eq!(&raw[12..packet.len()], &packet[12..]);
}

#[test]
fn edns_is_echoed_with_our_payload_and_the_do_bit() {
    let snap = snapshot();
    for (payload, dnssec_ok) in [
        (4096, true),
        (4096, false),
        (512, true),
        (1232, false),
        (100, false),
    ] {
        let msg = udp(
            &snap,
            &query_edns("www.lists.example.test.", RecordType::A, payload, dnssec_ok),
        );
        assert_authoritative(&msg, ResponseCode::NoError);
        let opt = msg.edns.as_ref().expect("OPT echoed");
        assert_eq!(opt.max_payload(), 1232);
        assert_eq!(opt.version(), 0);
        assert_eq!(opt.rcode_high(), 0);
        assert_eq!(opt.flags().dnssec_ok, dnssec_ok);
        assert_eq!(msg.answers.len(), 1);
        assert!(
            msg.additionals.is_empty(),
            "OPT is not counted as a record by hickory"
        );
    }
    // Negative answers and refusals carry OPT too.
    let msg = udp(
        &snap,
        &query_edns("nosuch.lists.example.test.", RecordType::A, 1232, true),
    );
    assert_negative(&msg, ResponseCode::NXDomain, 300);
    assert!(msg.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok));
    let msg = udp(&snap, &query_edns("www.example.org.", RecordType::A, 1232, false));
    assert_refused(&msg);
    assert_eq!(msg.edns.as_ref().map(Edns::max_payload), Some(1232));
}

#[test]
fn edns_version_one_is_badvers() {
    let snap = snapshot();
    let mut q = query_message("www.lists.example.test.", RecordType::A);
    let mut e = edns(1232, true);
    e.set_version(1);
    q.set_edns(e);
    let raw = raw_reply(&snap, &encode(&q), Transport::Udp);
    // The header's RCODE holds the low four bits (0); OPT holds the upper 8 (1).
    assert_eq!(raw[3] & 0x0F, 0);
    let msg = Message::from_vec(&raw).expect("parses");
    // 16 is BADVERS in an OPT context; hickory names the shared code BADSIG.
    assert_eq!(u16::from(msg.metadata.response_code), 16);
    let opt = msg.edns.as_ref().expect("OPT in BADVERS");
    assert_eq!(opt.version(), 0, "we answer with the version we support");
    assert_eq!(opt.rcode_high(), 1);
    assert!(msg.answers.is_empty() && msg.authorities.is_empty());
}

#[test]
fn oversized_answer_is_truncated_over_udp_and_whole_over_tcp() {
    let pool = 60;
    let snap = snapshot_with(pool, 3600, 300);
    let qname = "smtp-out.lists.example.test.";

    let raw = raw_reply(&snap, &query(qname, RecordType::MX), Transport::Udp);
    assert!(raw.len() <= 512);
    let msg = Message::from_vec(&raw).expect("parses");
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    assert!(msg.metadata.truncation, "TC set");
    assert!(msg.metadata.authoritative);
    assert!(msg.answers.is_empty() && msg.authorities.is_empty() && msg.additionals.is_empty());
    assert_question(&msg, qname, RecordType::MX);

    // EDNS 1232 is not enough either: TC, OPT kept.
    let raw = raw_reply(
        &snap,
        &query_edns(qname, RecordType::MX, 4096, false),
        Transport::Udp,
    );
    assert!(raw.len() <= 1232);
    let msg = Message::from_vec(&raw).expect("parses");
    assert!(msg.metadata.truncation);
    assert!(msg.answers.is_empty());
    assert_eq!(msg.edns.as_ref().map(Edns::max_payload), Some(1232));

    // TCP: everything.
    let raw = raw_reply(&snap, &query(qname, RecordType::MX), Transport::Tcp);
    assert!(raw.len() > 1232);
    let msg = Message::from_vec(&raw).expect("parses");
    assert_authoritative(&msg, ResponseCode::NoError);
    assert_eq!(msg.answers.len(), pool + 1);
    let mut expected: Vec<(u16, Name)> = (1..=pool).map(|i| (10, smurf(i))).collect();
    expected.push((20, name(FALLBACK)));
    expected.sort();
    let mut got = mx_targets(&msg.answers);
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(msg.additionals.len(), pool + 1);
    assert_eq!(addresses(&msg.additionals), expected_glue(pool));
}

#[test]
fn glue_that_does_not_fit_is_dropped_without_tc() {
    let pool = 15;
    let snap = snapshot_with(pool, 3600, 300);
    let qname = "smtp-out.lists.example.test.";
    let packet = query(qname, RecordType::MX);

    // Precondition: the whole answer is over 512 bytes.
    let full = Message::from_vec(&raw_reply(&snap, &packet, Transport::Tcp)).expect("parses");
    let full_len = raw_reply(&snap, &packet, Transport::Tcp).len();
    assert!(full_len > 512, "test zone must overflow 512 bytes, is {full_len}");
    assert_eq!(full.additionals.len(), pool + 1);

    let raw = raw_reply(&snap, &packet, Transport::Udp);
    assert!(raw.len() <= 512, "{} bytes", raw.len());
    let msg = Message::from_vec(&raw).expect("parses");
    assert_authoritative(&msg, ResponseCode::NoError);
    assert_eq!(msg.answers.len(), pool + 1, "all answers present");
    assert!(!msg.additionals.is_empty(), "some glue fits");
    assert!(msg.additionals.len() < pool + 1, "not all glue fits");
    // What is kept is a prefix of the full additional section, every
    // record well-formed and one of the targets' addresses.
    let kept = msg.additionals.len();
    assert_eq!(msg.additionals[..], full.additionals[..kept]);
    assert!(addresses(&msg.additionals).is_subset(&expected_glue(pool)));
    // Whole RRsets only: smurf2 has one A and one AAAA set; no set is split
    // (each A/AAAA set has one record here), and the header count matches.
    assert_eq!(u16::from_be_bytes([raw[10], raw[11]]) as usize, kept);
    // The UDP body is the TCP body cut short (only ARCOUNT differs).
    let full_raw = raw_reply(&snap, &packet, Transport::Tcp);
    assert_eq!(raw[..10], full_raw[..10]);
    assert_eq!(raw[12..], full_raw[12..raw.len()]);
    // Nothing more would have fitted: the next glue record (owner
    // compressed to a pointer into the MX RDATA, 2 + 10 bytes, then the
    // address) overflows 512.
    let next_len = 12
        + match &full.additionals[kept].data {
            RData::A(_) => 4,
            RData::AAAA(_) => 16,
            other => panic!("unexpected glue {other:?}"),
        };
    assert!(raw.len() + next_len > 512, "{} + {next_len} bytes", raw.len());
}

#[test]
fn any_returns_exactly_one_rrset() {
    let snap = snapshot();
    // The apex has SOA and NS: ANY gives the SOA alone.
    let msg = udp(&snap, &query(ORIGIN, RecordType::ANY));
    assert_authoritative(&msg, ResponseCode::NoError);
    assert_question(&msg, ORIGIN, RecordType::ANY);
    assert_eq!(msg.answers.len(), 1);
    assert_eq!(msg.answers[0].record_type(), RecordType::SOA);

    // The pool has only MX: all of it, one RRset.
    let msg = udp(&snap, &query("smtp-out.lists.example.test.", RecordType::ANY));
    assert_authoritative(&msg, ResponseCode::NoError);
    assert_eq!(msg.answers.len(), 4);
    let types: BTreeSet<RecordType> = msg.answers.iter().map(Record::record_type).collect();
    assert_eq!(types, BTreeSet::from([RecordType::MX]));

    // smurf2 has A and AAAA: exactly one of them.
    let msg = udp(&snap, &query("smurf2.lists.example.test.", RecordType::ANY));
    assert_eq!(msg.answers.len(), 1);
    let types: BTreeSet<RecordType> = msg.answers.iter().map(Record::record_type).collect();
    assert_eq!(types.len(), 1);

    // ANY for a missing name is still NXDOMAIN.
    let msg = udp(&snap, &query("nosuch.lists.example.test.", RecordType::ANY));
    assert_negative(&msg, ResponseCode::NXDomain, 300);
}

#[test]
fn soa_at_apex_shows_the_serial() {
    let snap = snapshot();
    let msg = udp(&snap, &query(ORIGIN, RecordType::SOA));
    assert_authoritative(&msg, ResponseCode::NoError);
    assert_eq!(msg.answers.len(), 1);
    let rec = &msg.answers[0];
    assert_eq!(rec.name, name(ORIGIN));
    assert_eq!(rec.ttl, 3600);
    let soa = soa_of(rec);
    assert_eq!(soa.serial, SERIAL);
    assert_eq!(soa.minimum, 300);
    assert_eq!(soa.mname, name("ns1.lists.example.test."));
    assert!(msg.authorities.is_empty());
    assert_eq!(snap.serial(), SERIAL);

    // SOA below the apex: NODATA, not the apex SOA.
    let msg = udp(&snap, &query("www.lists.example.test.", RecordType::SOA));
    assert_negative(&msg, ResponseCode::NoError, 300);
}

#[test]
fn ns_at_apex_comes_with_glue() {
    let snap = snapshot();
    let msg = udp(&snap, &query(ORIGIN, RecordType::NS));
    assert_authoritative(&msg, ResponseCode::NoError);
    assert_eq!(msg.answers.len(), 1);
    assert_eq!(
        msg.answers[0].data,
        RData::NS(hickory_proto::rr::rdata::NS(name("ns1.lists.example.test.")))
    );
    assert_eq!(msg.answers[0].ttl, 3600);
    assert_eq!(msg.additionals.len(), 1);
    assert_eq!(msg.additionals[0].name, name("ns1.lists.example.test."));
    assert_eq!(msg.additionals[0].data, RData::A(A(NS1_V4)));
    assert_eq!(msg.additionals[0].ttl, 3600);
}

#[test]
fn update_and_notify_are_not_implemented() {
    let snap = snapshot();
    for op in [OpCode::Update, OpCode::Notify, OpCode::Status, OpCode::Unknown(1)] {
        let mut q = Message::new(ID, MessageType::Query, op);
        q.add_query(Query::query(name(ORIGIN), RecordType::SOA));
        let msg = udp(&snap, &encode(&q));
        assert_eq!(msg.metadata.response_code, ResponseCode::NotImp, "{op:?}");
        assert_eq!(msg.metadata.op_code, op, "opcode echoed");
        assert!(!msg.metadata.authoritative);
        assert!(msg.answers.is_empty());
    }
}

#[test]
fn notify_with_soa_answer_and_update_with_records_are_not_implemented() {
    let snap = snapshot();
    let soa = Record::from_rdata(
        name(ORIGIN),
        3600,
        RData::SOA(SOA::new(
            name("ns1.lists.example.test."),
            name("hostmaster.lists.example.test."),
            SERIAL + 1,
            3600,
            600,
            1_209_600,
            300,
        )),
    );
    // RFC 1996 §3.7: a NOTIFY may carry the new SOA in its answer section.
    let mut notify = Message::new(ID, MessageType::Query, OpCode::Notify);
    notify.metadata.authoritative = true;
    notify.add_query(Query::query(name(ORIGIN), RecordType::SOA));
    notify.add_answer(soa);
    let msg = udp(&snap, &encode(&notify));
    assert_eq!(msg.metadata.response_code, ResponseCode::NotImp);
    assert_eq!(msg.metadata.op_code, OpCode::Notify);

    // RFC 2136: an UPDATE with a prerequisite and an update record.
    let mut update = Message::new(ID, MessageType::Query, OpCode::Update);
    update.add_query(Query::query(name(ORIGIN), RecordType::SOA));
    update.add_answer(Record::update0(name("www.lists.example.test."), 0, RecordType::A));
    update.add_authority(Record::from_rdata(
        name("new.lists.example.test."),
        300,
        RData::A(A(Ipv4Addr::new(192, 0, 2, 7))),
    ));
    let msg = udp(&snap, &encode(&update));
    assert_eq!(msg.metadata.response_code, ResponseCode::NotImp);
    assert_eq!(msg.metadata.op_code, OpCode::Update);
}

#[test]
fn two_questions_are_formerr() {
    let snap = snapshot();
    let mut q = query_message("www.lists.example.test.", RecordType::A);
    q.add_query(Query::query(name("smtp-out.lists.example.test."), RecordType::MX));
    let msg = udp(&snap, &encode(&q));
    assert_eq!(msg.metadata.response_code, ResponseCode::FormErr);
    assert!(msg.metadata.recursion_desired);
    assert!(msg.answers.is_empty());

    // No question at all.
    let mut q = Message::new(ID, MessageType::Query, OpCode::Query);
    q.metadata.recursion_desired = true;
    let msg = udp(&snap, &encode(&q));
    assert_eq!(msg.metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn answers_in_a_query_are_formerr() {
    let snap = snapshot();
    let mut q = query_message("www.lists.example.test.", RecordType::A);
    q.add_answer(Record::from_rdata(
        name("www.lists.example.test."),
        300,
        RData::A(A(WWW_V4)),
    ));
    let msg = udp(&snap, &encode(&q));
    assert_eq!(msg.metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn two_opt_records_are_formerr() {
    let snap = snapshot();
    let mut packet = query_edns("www.lists.example.test.", RecordType::A, 1232, false);
    let opt = packet[packet.len() - 11..].to_vec();
    packet.extend_from_slice(&opt);
    packet[11] = 2;
    let msg = udp(&snap, &packet);
    assert_eq!(msg.metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn responses_and_runts_are_dropped() {
    let snap = snapshot();
    let mut out = vec![1, 2, 3];
    let mut response = query_message("www.lists.example.test.", RecordType::A);
    response.metadata.message_type = MessageType::Response;
    let packet = encode(&response);
    assert!(matches!(
        respond(&snap, &packet, Transport::Udp, &mut out),
        Outcome::Drop
    ));
    assert!(out.is_empty(), "nothing to send");
    assert!(matches!(
        respond(&snap, &packet, Transport::Tcp, &mut out),
        Outcome::Drop
    ));

    let full = query("www.lists.example.test.", RecordType::A);
    for len in 0..12 {
        assert!(
            matches!(
                respond(&snap, &full[..len], Transport::Udp, &mut out),
                Outcome::Drop
            ),
            "{len} bytes"
        );
    }
}

#[test]
fn qtype_opt_is_formerr() {
    let snap = snapshot();
    let msg = udp(&snap, &query("www.lists.example.test.", RecordType::OPT));
    assert_eq!(msg.metadata.response_code, ResponseCode::FormErr);
    assert!(msg.answers.is_empty());
}

#[test]
fn class_chaos_is_refused() {
    let snap = snapshot();
    for qname in [ORIGIN, "www.lists.example.test.", "version.bind."] {
        let mut q = Message::new(ID, MessageType::Query, OpCode::Query);
        q.metadata.recursion_desired = true;
        let mut question = Query::query(name(qname), RecordType::TXT);
        question.set_query_class(DNSClass::CH);
        q.add_query(question);
        let msg = udp(&snap, &encode(&q));
        assert_refused(&msg);
        assert_eq!(msg.queries[0].query_class(), DNSClass::CH);
    }
}

#[test]
fn axfr_and_ixfr_at_the_apex_are_transfers() {
    let snap = snapshot();
    let mut out = Vec::new();
    for transport in [Transport::Udp, Transport::Tcp] {
        let packet = query(ORIGIN, RecordType::AXFR);
        match respond(&snap, &packet, transport, &mut out) {
            Outcome::Transfer(req, _) => {
                assert_eq!(req.id, ID);
                assert_eq!(req.qtype, 252);
                assert_eq!(req.ixfr_serial, None);
            }
            other => panic!("expected a transfer, got {other:?}"),
        }
        // Case does not matter.
        let packet = query("LISTS.Example.TEST.", RecordType::AXFR);
        assert!(matches!(
            respond(&snap, &packet, transport, &mut out),
            Outcome::Transfer(..)
        ));

        let mut ixfr = query_message(ORIGIN, RecordType::IXFR);
        ixfr.add_authority(Record::from_rdata(
            name(ORIGIN),
            0,
            RData::SOA(SOA::new(name("a."), name("b."), 41, 1, 1, 1, 1)),
        ));
        let packet = encode(&ixfr);
        match respond(&snap, &packet, transport, &mut out) {
            Outcome::Transfer(req, _) => assert_eq!(req.ixfr_serial, Some(41)),
            other => panic!("expected a transfer, got {other:?}"),
        }
    }
}

#[test]
fn transfers_of_a_name_below_the_apex_are_not_authoritative() {
    let snap = snapshot();
    let msg = udp(&snap, &query("www.lists.example.test.", RecordType::AXFR));
    assert_eq!(msg.metadata.response_code, ResponseCode::NotAuth);
    assert!(!msg.metadata.authoritative);
    let msg = reply(
        &snap,
        &query("www.example.org.", RecordType::AXFR),
        Transport::Tcp,
    );
    assert_refused(&msg);
}

#[test]
fn ixfr_without_soa_is_formerr() {
    let snap = snapshot();
    let msg = udp(&snap, &query(ORIGIN, RecordType::IXFR));
    assert_eq!(msg.metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn tcp_answers_match_udp_answers_when_they_fit() {
    let snap = snapshot();
    for (qname, qtype) in [
        ("www.lists.example.test.", RecordType::A),
        ("smtp-out.lists.example.test.", RecordType::MX),
        (ORIGIN, RecordType::NS),
        ("nosuch.lists.example.test.", RecordType::A),
        ("c.lists.example.test.", RecordType::A),
    ] {
        let packet = query(qname, qtype);
        assert_eq!(
            raw_reply(&snap, &packet, Transport::Udp),
            raw_reply(&snap, &packet, Transport::Tcp),
            "{qname} {qtype}"
        );
    }
}

#[test]
fn long_soa_names_never_push_a_negative_answer_past_512() {
    // A 250-byte question plus an SOA whose names are ~120 bytes each.
    let label = "m".repeat(55);
    let origin = name(ORIGIN);
    let soa = SoaFields {
        mname: name(&format!("{label}.{label}.ns.{ORIGIN}")),
        rname: name(&format!("{label}.{label}.hm.{ORIGIN}")),
        ..soa_fields(3600, 300)
    };
    let zone = Zone::new(&origin, SERIAL, soa).expect("zone");
    let snap = Snapshot::compile(zone, Vec::new());
    let long = format!("{l}.{l}.{l}.{m}.{ORIGIN}", l = "q".repeat(63), m = "q".repeat(42));
    let packet = query(&long, RecordType::A);
    assert_eq!(packet.len() - 12 - 4, 255, "maximal question name");
    let raw = raw_reply(&snap, &packet, Transport::Udp);
    assert!(raw.len() <= 512, "{} bytes", raw.len());
    let msg = Message::from_vec(&raw).expect("parses");
    assert_eq!(msg.metadata.response_code, ResponseCode::NXDomain);
    assert!(msg.metadata.truncation, "too big for UDP: TC");
    assert!(msg.authorities.is_empty());
    // Over TCP the whole negative answer.
    let msg = reply(&snap, &packet, Transport::Tcp);
    assert_negative_long(&msg);
}

fn assert_negative_long(msg: &Message) {
    assert_eq!(msg.metadata.response_code, ResponseCode::NXDomain);
    assert!(!msg.metadata.truncation);
    assert_eq!(msg.authorities.len(), 1);
    assert_eq!(msg.authorities[0].ttl, 300);
}
