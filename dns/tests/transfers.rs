//! AXFR and IXFR messages, parsed back with hickory-proto, and the
//! publisher's serial rules and bounded history.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use muster_dns::wire::Request;
use muster_dns::{
    PublishError, RecordData, Snapshot, SoaFields, Zone, ZonePublisher, ixfr_over_udp, refuse,
    transfer_messages,
};

const ID: u16 = 0x4242;
const ORIGIN: &str = "lists.example.test.";

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("valid name")
}

fn soa_fields() -> SoaFields {
    SoaFields {
        mname: name("ns1.lists.example.test."),
        rname: name("hostmaster.lists.example.test."),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 300,
        ttl: 3600,
    }
}

fn host(i: usize) -> Name {
    name(&format!("host{i}.{ORIGIN}"))
}

fn v4(i: usize) -> Ipv4Addr {
    let [_, _, hi, lo] = u32::try_from(i).expect("small").to_be_bytes();
    Ipv4Addr::new(10, 1, hi, lo)
}

/// A zone with NS + glue, an MX pool over host1..=hosts, and a AAAA on host1.
fn zone(serial: u32, hosts: usize) -> Zone {
    let origin = name(ORIGIN);
    let mut zone = Zone::new(&origin, serial, soa_fields()).expect("zone");
    zone.add(&origin, 3600, RecordData::Ns(name("ns1.lists.example.test.")))
        .expect("ns");
    zone.add(
        &name("ns1.lists.example.test."),
        3600,
        RecordData::A(Ipv4Addr::new(192, 0, 2, 53)),
    )
    .expect("glue");
    for i in 1..=hosts {
        zone.add(&host(i), 300, RecordData::A(v4(i))).expect("a");
        zone.add(
            &name(&format!("smtp-out.{ORIGIN}")),
            300,
            RecordData::Mx {
                preference: 10,
                exchange: host(i),
            },
        )
        .expect("mx");
    }
    zone.add(
        &host(1),
        300,
        RecordData::Aaaa(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    )
    .expect("aaaa");
    zone
}

fn encode(msg: &Message) -> Vec<u8> {
    msg.to_vec().expect("hickory encodes the query")
}

fn axfr_query() -> Vec<u8> {
    let mut msg = Message::new(ID, MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(name(ORIGIN), RecordType::AXFR));
    encode(&msg)
}

fn ixfr_query(client_serial: u32) -> Vec<u8> {
    let mut msg = Message::new(ID, MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(name(ORIGIN), RecordType::IXFR));
    msg.add_authority(Record::from_rdata(
        name(ORIGIN),
        0,
        RData::SOA(SOA::new(
            name("ns1.lists.example.test."),
            name("hostmaster.lists.example.test."),
            client_serial,
            3600,
            600,
            1_209_600,
            300,
        )),
    ));
    encode(&msg)
}

/// Builds the transfer and parses every message with hickory.
fn transfer(snapshot: &Snapshot, packet: &[u8]) -> (Vec<Vec<u8>>, Vec<Message>) {
    let req = Request::parse(packet).expect("a valid transfer query");
    let raw = transfer_messages(snapshot, &req);
    let parsed = raw
        .iter()
        .map(|m| Message::from_vec(m).expect("hickory parses each transfer message"))
        .collect();
    (raw, parsed)
}

/// Checks the headers of a transfer and returns all answer records in order.
fn records_of(messages: &[Message], qtype: RecordType) -> Vec<Record> {
    assert!(!messages.is_empty());
    for (i, msg) in messages.iter().enumerate() {
        assert_eq!(msg.metadata.id, ID);
        assert_eq!(msg.metadata.message_type, MessageType::Response);
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
        assert!(msg.metadata.authoritative);
        assert!(!msg.metadata.truncation);
        assert!(msg.authorities.is_empty() && msg.additionals.is_empty());
        if i == 0 {
            assert_eq!(msg.queries.len(), 1, "first message echoes the question");
            assert_eq!(msg.queries[0].name(), &name(ORIGIN));
            assert_eq!(msg.queries[0].query_type(), qtype);
        } else {
            assert!(msg.queries.is_empty(), "later messages have no question");
        }
    }
    messages.iter().flat_map(|m| m.answers.iter().cloned()).collect()
}

fn serial_of(record: &Record) -> u32 {
    match &record.data {
        RData::SOA(soa) => {
            assert_eq!(record.name, name(ORIGIN));
            assert_eq!(record.ttl, 3600);
            soa.serial
        }
        other => panic!("expected SOA, got {other:?}"),
    }
}

/// A hickory record as muster data.
fn as_muster(record: &Record) -> (Name, u32, RecordData) {
    let data = match &record.data {
        RData::A(A(ip)) => RecordData::A(*ip),
        RData::AAAA(AAAA(ip)) => RecordData::Aaaa(*ip),
        RData::MX(mx) => RecordData::Mx {
            preference: mx.preference,
            exchange: mx.exchange.clone(),
        },
        RData::NS(NS(target)) => RecordData::Ns(target.clone()),
        other => panic!("unexpected record in a transfer: {other:?}"),
    };
    (record.name.clone(), record.ttl, data)
}

fn zone_records(zone: &Zone) -> BTreeSet<(Name, u32, RecordData)> {
    zone.records()
        .map(|(n, ttl, d)| (n.clone(), ttl, d.clone()))
        .collect()
}

/// Asserts an AXFR-form transfer of `zone`: SOA, every record once, SOA.
fn assert_full_zone(records: &[Record], zone: &Zone) {
    assert!(records.len() >= 2);
    assert_eq!(serial_of(&records[0]), zone.serial());
    assert_eq!(serial_of(&records[records.len() - 1]), zone.serial());
    let middle: Vec<(Name, u32, RecordData)> = records[1..records.len() - 1].iter().map(as_muster).collect();
    let unique: BTreeSet<_> = middle.iter().cloned().collect();
    assert_eq!(unique.len(), middle.len(), "no record twice");
    assert_eq!(unique, zone_records(zone));
}

#[test]
fn axfr_is_soa_records_soa() {
    let zone = zone(7, 3);
    let expected = zone.clone();
    let snap = Snapshot::compile(zone, Vec::new());
    let (raw, messages) = transfer(&snap, &axfr_query());
    assert_eq!(raw.len(), 1, "a small zone fits one message");
    let records = records_of(&messages, RecordType::AXFR);
    // SOA + NS + ns1 A + 3 MX + 3 A + 1 AAAA + SOA.
    assert_eq!(records.len(), 11);
    assert_full_zone(&records, &expected);
    let soa = match &records[0].data {
        RData::SOA(soa) => soa.clone(),
        _ => unreachable!(),
    };
    assert_eq!(soa.mname, name("ns1.lists.example.test."));
    assert_eq!(soa.rname, name("hostmaster.lists.example.test."));
    assert_eq!(
        (soa.refresh, soa.retry, soa.expire, soa.minimum),
        (3600, 600, 1_209_600, 300)
    );
}

#[test]
fn axfr_keeps_edns_in_every_message() {
    let mut msg = Message::new(ID, MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(name(ORIGIN), RecordType::AXFR));
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    msg.set_edns(edns);
    let snap = Snapshot::compile(zone(7, 2_000), Vec::new());
    let (raw, messages) = transfer(&snap, &encode(&msg));
    assert!(raw.len() > 1);
    for m in &messages {
        assert_eq!(m.edns.as_ref().map(Edns::max_payload), Some(1232));
    }
}

#[test]
fn big_axfr_spans_several_messages_that_all_parse() {
    let hosts = 5_000;
    let zone = zone(2_024_060_101, hosts);
    let expected = zone.clone();
    let snap = Snapshot::compile(zone, Vec::new());
    let (raw, messages) = transfer(&snap, &axfr_query());
    assert!(raw.len() >= 3, "{} messages", raw.len());
    for m in &raw {
        assert!(m.len() < 65_535, "message of {} bytes", m.len());
        // The header's answer count matches what hickory read.
        assert!(m.len() >= 12);
    }
    for (m, parsed) in raw.iter().zip(&messages) {
        assert_eq!(
            usize::from(u16::from_be_bytes([m[6], m[7]])),
            parsed.answers.len()
        );
    }
    let records = records_of(&messages, RecordType::AXFR);
    // 2 SOA + NS + ns1 A + hosts × (A + MX) + 1 AAAA.
    assert_eq!(records.len(), 2 + 2 + 2 * hosts + 1);
    assert_full_zone(&records, &expected);
}

/// Publishes serials 1 → 2 → 3 → 4 with known changes; returns the
/// publisher and the four zones.
fn three_publishes() -> (ZonePublisher, Vec<Zone>) {
    let z1 = zone(1, 3);
    let mut publisher = ZonePublisher::new(z1.clone());

    // 2: host4 joins the pool.
    let mut z2 = zone(2, 4);
    z2.set_serial(2);
    // 3: host2 leaves (its A and MX go), www appears.
    let mut z3 = Zone::new(&name(ORIGIN), 3, soa_fields()).expect("zone");
    for (owner, ttl, data) in z2.records() {
        let leaving =
            owner == &host(2) || matches!(data, RecordData::Mx { exchange, .. } if exchange == &host(2));
        if !leaving {
            z3.add(owner, ttl, data.clone()).expect("copy");
        }
    }
    z3.add(
        &name(&format!("www.{ORIGIN}")),
        60,
        RecordData::A(Ipv4Addr::new(192, 0, 2, 80)),
    )
    .expect("www");
    // 4: www's TTL changes (a removal and an addition) and host1 loses its AAAA.
    let mut z4 = Zone::new(&name(ORIGIN), 4, soa_fields()).expect("zone");
    for (owner, ttl, data) in z3.records() {
        if owner == &name(&format!("www.{ORIGIN}")) || matches!(data, RecordData::Aaaa(_)) {
            continue;
        }
        z4.add(owner, ttl, data.clone()).expect("copy");
    }
    z4.add(
        &name(&format!("www.{ORIGIN}")),
        120,
        RecordData::A(Ipv4Addr::new(192, 0, 2, 80)),
    )
    .expect("www");

    for z in [&z2, &z3, &z4] {
        assert_eq!(publisher.publish(vec![z.clone()]), Ok(true));
    }
    (publisher, vec![z1, z2, z3, z4])
}

/// The snapshot served for ORIGIN.
fn served(publisher: &ZonePublisher) -> Arc<Snapshot> {
    publisher
        .current()
        .zone(&name(ORIGIN))
        .cloned()
        .expect("the zone is served")
}

fn r(owner: &str, ttl: u32, data: RecordData) -> (Name, u32, RecordData) {
    (name(owner), ttl, data)
}

#[test]
fn ixfr_from_the_previous_serial_is_the_exact_diff() {
    let (publisher, _) = three_publishes();
    let snap = served(&publisher);
    assert_eq!(snap.serial(), 4);
    let (raw, messages) = transfer(&snap, &ixfr_query(3));
    assert_eq!(raw.len(), 1);
    let records = records_of(&messages, RecordType::IXFR);
    let got: Vec<String> = records
        .iter()
        .map(|rec| match rec.record_type() {
            RecordType::SOA => format!("SOA {}", serial_of(rec)),
            _ => {
                let (n, ttl, d) = as_muster(rec);
                format!("{n} {ttl} {d:?}")
            }
        })
        .collect();
    let fmt = |(n, ttl, d): (Name, u32, RecordData)| format!("{n} {ttl} {d:?}");
    let www = "www.lists.example.test.";
    let aaaa = RecordData::Aaaa(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    let www_a = RecordData::A(Ipv4Addr::new(192, 0, 2, 80));
    let mut removed = [
        fmt(r("host1.lists.example.test.", 300, aaaa)),
        fmt(r(www, 60, www_a.clone())),
    ];
    removed.sort();
    let mut expected = vec!["SOA 4".to_owned(), "SOA 3".to_owned()];
    expected.extend(removed);
    expected.push("SOA 4".to_owned());
    expected.push(fmt(r(www, 120, www_a)));
    expected.push("SOA 4".to_owned());
    // Within a section the order is free; compare sections as sorted lists.
    let mut got_sorted = got.clone();
    got_sorted[2..4].sort();
    assert_eq!(got_sorted, expected, "got {got:#?}");
}

#[test]
fn ixfr_across_several_diffs_chains_them() {
    let (publisher, zones) = three_publishes();
    let snap = served(&publisher);
    let (_, messages) = transfer(&snap, &ixfr_query(1));
    let records = records_of(&messages, RecordType::IXFR);
    // Walk the sequence: SOA 4, then (SOA old, removed…, SOA new, added…)*, SOA 4.
    assert_eq!(serial_of(&records[0]), 4);
    assert_eq!(serial_of(records.last().expect("records")), 4);
    let mut at = 1;
    let mut state = zone_records(&zones[0]);
    for step in 0..3 {
        let from = u32::try_from(step + 1).expect("small");
        assert_eq!(serial_of(&records[at]), from);
        at += 1;
        while records[at].record_type() != RecordType::SOA {
            assert!(
                state.remove(&as_muster(&records[at])),
                "removed a record that was there"
            );
            at += 1;
        }
        assert_eq!(serial_of(&records[at]), from + 1);
        at += 1;
        while records[at].record_type() != RecordType::SOA {
            assert!(
                state.insert(as_muster(&records[at])),
                "added a record that was not there"
            );
            at += 1;
        }
        assert_eq!(
            state,
            zone_records(&zones[step + 1]),
            "after diff {from} -> {}",
            from + 1
        );
    }
    assert_eq!(at, records.len() - 1);
}

#[test]
fn ixfr_at_or_past_the_current_serial_is_one_soa() {
    let (publisher, _) = three_publishes();
    let snap = served(&publisher);
    for client in [4, 5, 1_000] {
        let (raw, messages) = transfer(&snap, &ixfr_query(client));
        assert_eq!(raw.len(), 1);
        let records = records_of(&messages, RecordType::IXFR);
        assert_eq!(records.len(), 1, "client at {client}");
        assert_eq!(serial_of(&records[0]), 4);
    }
}

#[test]
fn ixfr_older_than_the_history_gets_the_whole_zone() {
    let (publisher, zones) = three_publishes();
    let snap = served(&publisher);
    // Serial 0 was never published; u32::MAX is "older" than 4 in RFC 1982.
    for client in [0, u32::MAX] {
        let (_, messages) = transfer(&snap, &ixfr_query(client));
        let records = records_of(&messages, RecordType::IXFR);
        assert_full_zone(&records, &zones[3]);
    }
}

#[test]
fn ixfr_over_udp_is_our_soa_alone() {
    let (publisher, _) = three_publishes();
    let snap = served(&publisher);
    let packet = ixfr_query(2);
    let req = Request::parse(&packet).expect("valid");
    let mut out = Vec::new();
    ixfr_over_udp(&snap, &req, &mut out);
    let msg = Message::from_vec(&out).expect("parses");
    assert_eq!(msg.metadata.id, ID);
    assert_eq!(msg.metadata.message_type, MessageType::Response);
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    assert!(msg.metadata.authoritative);
    assert_eq!(msg.queries.len(), 1);
    assert_eq!(msg.queries[0].query_type(), RecordType::IXFR);
    assert_eq!(msg.answers.len(), 1);
    assert_eq!(serial_of(&msg.answers[0]), 4);
    assert!(msg.authorities.is_empty() && msg.additionals.is_empty());
}

#[test]
fn refuse_is_refused_and_not_authoritative() {
    let packet = axfr_query();
    let req = Request::parse(&packet).expect("valid");
    let mut out = vec![9; 100];
    refuse(&req, &mut out);
    let msg = Message::from_vec(&out).expect("parses");
    assert_eq!(msg.metadata.id, ID);
    assert_eq!(msg.metadata.response_code, ResponseCode::Refused);
    assert!(!msg.metadata.authoritative);
    assert_eq!(msg.queries.len(), 1);
    assert!(msg.answers.is_empty());
}

#[test]
fn publish_needs_a_newer_serial_for_new_content() {
    let mut publisher = ZonePublisher::new(zone(10, 3));
    // Same serial, new content.
    assert_eq!(
        publisher.publish(vec![zone(10, 4)]),
        Err(PublishError::SerialNotNewer {
            origin: ORIGIN.into(),
            current: 10,
            new: 10
        })
    );
    // Older serial.
    assert_eq!(
        publisher.publish(vec![zone(9, 4)]),
        Err(PublishError::SerialNotNewer {
            origin: ORIGIN.into(),
            current: 10,
            new: 9
        })
    );
    assert_eq!(served(&publisher).serial(), 10);
    assert!(served(&publisher).history().is_empty());
    // Newer serial: accepted, with one diff.
    assert_eq!(publisher.publish(vec![zone(11, 4)]), Ok(true));
    assert_eq!(served(&publisher).serial(), 11);
    assert_eq!(served(&publisher).history().len(), 1);
}

#[test]
fn publishing_the_same_zone_changes_nothing() {
    let mut publisher = ZonePublisher::new(zone(10, 3));
    let mut serials = publisher.subscribe();
    serials.borrow_and_update();
    let before = served(&publisher);
    let catalog = publisher.current();
    assert_eq!(publisher.publish(vec![zone(10, 3)]), Ok(false));
    let after = served(&publisher);
    assert!(Arc::ptr_eq(&before, &after), "snapshot not swapped");
    assert!(Arc::ptr_eq(&publisher.current(), &catalog), "catalog not swapped");
    assert!(
        !serials.has_changed().expect("sender alive"),
        "no NOTIFY for nothing"
    );
    // A newer serial with the same records is a (content-free) change.
    assert_eq!(publisher.publish(vec![zone(11, 3)]), Ok(true));
    assert!(serials.has_changed().expect("sender alive"));
    let told = Arc::clone(&serials.borrow_and_update());
    assert_eq!(told.zone(&name(ORIGIN)).map(|s| s.serial()), Some(11));
    let history = served(&publisher).history().to_vec();
    assert_eq!(history.len(), 1);
    assert!(history[0].is_empty());
}

#[test]
fn serials_wrap_around_per_rfc_1982() {
    let mut publisher = ZonePublisher::new(zone(u32::MAX - 1, 1));
    assert_eq!(publisher.publish(vec![zone(u32::MAX, 2)]), Ok(true));
    assert_eq!(publisher.publish(vec![zone(0, 3)]), Ok(true));
    assert_eq!(publisher.publish(vec![zone(1, 4)]), Ok(true));
    // u32::MAX is older than 1 now.
    assert_eq!(
        publisher.publish(vec![zone(u32::MAX, 5)]),
        Err(PublishError::SerialNotNewer {
            origin: ORIGIN.into(),
            current: 1,
            new: u32::MAX
        })
    );
    let snap = served(&publisher);
    let (_, messages) = transfer(&snap, &ixfr_query(u32::MAX - 1));
    let records = records_of(&messages, RecordType::IXFR);
    let soas: Vec<u32> = records
        .iter()
        .filter(|r| r.record_type() == RecordType::SOA)
        .map(serial_of)
        .collect();
    assert_eq!(soas, vec![1, u32::MAX - 1, u32::MAX, u32::MAX, 0, 0, 1, 1]);
}

#[test]
fn history_stays_bounded_after_many_publishes() {
    let mut publisher = ZonePublisher::new(zone(1, 3));
    for serial in 2..=101u32 {
        let hosts = usize::try_from(serial).expect("small") % 7 + 1;
        assert_eq!(
            publisher.publish(vec![zone(serial, hosts)]),
            Ok(true),
            "serial {serial}"
        );
    }
    let snap = served(&publisher);
    assert_eq!(snap.serial(), 101);
    let history = snap.history();
    // 64 diffs are kept (MAX_DIFFS), oldest first, linked, ending at 101.
    assert_eq!(history.len(), 64);
    assert_eq!(history[0].from_serial, 101 - 64);
    assert_eq!(history[63].to_serial, 101);
    assert!(history.windows(2).all(|w| w[0].to_serial == w[1].from_serial));

    // A client inside the history gets increments; one before it, the zone.
    let (_, messages) = transfer(&snap, &ixfr_query(101 - 64));
    let records = records_of(&messages, RecordType::IXFR);
    assert_eq!(serial_of(&records[1]), 101 - 64, "incremental form");
    let (_, messages) = transfer(&snap, &ixfr_query(101 - 65));
    let records = records_of(&messages, RecordType::IXFR);
    assert_full_zone(&records, snap.zone());
}
