//! Property tests: whatever arrives, `respond` does not panic, every reply
//! parses with hickory-proto as a response to the same ID, and UDP replies
//! respect the size the client can take.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use muster_dns::wire::Request;
use muster_dns::{
    Outcome, RecordData, Snapshot, SoaFields, Transport, Zone, ZonePublisher, ixfr_over_udp, refuse, respond,
    transfer_messages,
};
use proptest::prelude::*;

const ORIGIN: &str = "lists.example.test.";

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("valid name")
}

/// A zone with everything that changes the shape of an answer: glue that
/// only partly fits (15 members), an answer that never fits UDP (60
/// members), empty non-terminals, and SOA names long enough that a long
/// question pushes even a negative answer past 512 bytes. Published
/// three times so IXFR has history.
fn snapshot() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<std::sync::Arc<Snapshot>> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let build = |serial: u32, extra: usize| {
            let origin = name(ORIGIN);
            let long = "l".repeat(60);
            let soa = SoaFields {
                mname: name(&format!("{long}.ns1.{ORIGIN}")),
                rname: name(&format!("{long}.hostmaster.{ORIGIN}")),
                refresh: 3600,
                retry: 600,
                expire: 1_209_600,
                minimum: 60,
                ttl: 300,
            };
            let mut zone = Zone::new(&origin, serial, soa).expect("zone");
            zone.add(&origin, 3600, RecordData::Ns(name(&format!("ns1.{ORIGIN}"))))
                .expect("ns");
            zone.add(
                &name(&format!("ns1.{ORIGIN}")),
                3600,
                RecordData::A(Ipv4Addr::new(192, 0, 2, 53)),
            )
            .expect("glue");
            for (pool, members) in [("smtp-out", 15), ("big", 60 + extra)] {
                for i in 1..=members {
                    let host = name(&format!("{pool}{i}.{ORIGIN}"));
                    let ip = Ipv4Addr::new(198, 51, 100, u8::try_from(i).expect("small"));
                    zone.add(&host, 300, RecordData::A(ip)).expect("a");
                    if i % 5 == 0 {
                        let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(ip.octets()[3]));
                        zone.add(&host, 300, RecordData::Aaaa(v6)).expect("aaaa");
                    }
                    zone.add(
                        &name(&format!("{pool}.{ORIGIN}")),
                        300,
                        RecordData::Mx {
                            preference: 10,
                            exchange: host,
                        },
                    )
                    .expect("mx");
                }
            }
            zone.add(
                &name(&format!("a.b.c.{ORIGIN}")),
                300,
                RecordData::A(Ipv4Addr::new(192, 0, 2, 99)),
            )
            .expect("deep");
            zone
        };
        let mut publisher = ZonePublisher::new(build(1, 0));
        for serial in 2..=4 {
            let extra = usize::try_from(serial).expect("small");
            publisher.publish(vec![build(serial, extra)]).expect("publish");
        }
        publisher.current().zone(&name(ORIGIN)).cloned().expect("served")
    })
}

/// The largest UDP reply allowed for `packet`: 512 without EDNS,
/// min(max(payload, 512), 1232) with it.
fn udp_limit(packet: &[u8]) -> usize {
    match Request::parse(packet).ok().and_then(|r| r.edns) {
        None => 512,
        Some(edns) => usize::from(edns.payload).clamp(512, 1232),
    }
}

/// Checks one reply: parses with hickory as a response to the query's ID.
fn check_reply(packet: &[u8], reply: &[u8]) -> Result<Message, TestCaseError> {
    prop_assert!(packet.len() >= 12, "replied to a {}-byte packet", packet.len());
    let msg = Message::from_vec(reply).map_err(|e| {
        TestCaseError::fail(format!(
            "reply does not parse: {e}\nquery {packet:02x?}\nreply {reply:02x?}"
        ))
    })?;
    prop_assert_eq!(msg.metadata.id, u16::from_be_bytes([packet[0], packet[1]]));
    prop_assert_eq!(msg.metadata.message_type, MessageType::Response);
    prop_assert!(!msg.metadata.recursion_available);
    // The opcode is echoed.
    prop_assert_eq!(u8::from(msg.metadata.op_code), (packet[2] >> 3) & 0x0F);
    Ok(msg)
}

/// Runs `packet` through everything a server would do with it.
fn exercise(packet: &[u8]) -> Result<(), TestCaseError> {
    let snap = snapshot();
    for transport in [Transport::Udp, Transport::Tcp] {
        let mut out = Vec::new();
        match respond(snap, packet, transport, &mut out) {
            Outcome::Reply => {
                let msg = check_reply(packet, &out)?;
                if transport == Transport::Udp {
                    let limit = udp_limit(packet);
                    prop_assert!(
                        out.len() <= limit,
                        "{} bytes over a limit of {}",
                        out.len(),
                        limit
                    );
                }
                if msg.metadata.truncation {
                    prop_assert!(msg.answers.is_empty() && msg.authorities.is_empty());
                }
            }
            Outcome::Rejected(_) => {
                check_reply(packet, &out)?;
            }
            Outcome::Drop => {
                prop_assert!(packet.len() < 12 || packet[2] & 0x80 != 0, "dropped a query");
                prop_assert!(out.is_empty());
            }
            Outcome::Transfer(req, _) => {
                prop_assert!(req.qtype == 252 || req.qtype == 251);
                for message in transfer_messages(snap, &req) {
                    prop_assert!(message.len() < 65_535);
                    check_reply(packet, &message)?;
                }
                let mut out = Vec::new();
                ixfr_over_udp(snap, &req, &mut out);
                check_reply(packet, &out)?;
                refuse(&req, &mut out);
                check_reply(packet, &out)?;
            }
        }
    }
    // The parser alone never panics either.
    let _ = Request::parse(packet);
    Ok(())
}

/// Names under, at and around the origin, in any case.
fn qname() -> impl Strategy<Value = Name> {
    let label = "[a-zA-Z0-9-]{1,63}";
    let fixed = prop::sample::select(vec![
        ORIGIN,
        "smtp-out.lists.example.test.",
        "SMTP-out.Lists.Example.Test.",
        "big.lists.example.test.",
        "smtp-out7.lists.example.test.",
        "c.lists.example.test.",
        "b.c.lists.example.test.",
        "a.b.c.lists.example.test.",
        "ns1.lists.example.test.",
        "xlists.example.test.",
        "example.test.",
        ".",
    ])
    .prop_map(name);
    let below = prop::collection::vec(label, 0..8).prop_filter_map("name too long", |labels| {
        let text = if labels.is_empty() {
            ORIGIN.to_owned()
        } else {
            format!("{}.{ORIGIN}", labels.join("."))
        };
        Name::from_ascii(text).ok()
    });
    let anywhere = prop::collection::vec(label, 1..5).prop_filter_map("name too long", |labels| {
        Name::from_ascii(format!("{}.", labels.join("."))).ok()
    });
    prop_oneof![6 => fixed, 2 => below, 1 => anywhere]
}

fn qtype() -> impl Strategy<Value = RecordType> {
    prop_oneof![
        6 => prop::sample::select(vec![
            RecordType::A,
            RecordType::AAAA,
            RecordType::MX,
            RecordType::NS,
            RecordType::SOA,
            RecordType::ANY,
            RecordType::AXFR,
            RecordType::IXFR,
            RecordType::OPT,
            RecordType::TXT,
            RecordType::CNAME,
        ]),
        1 => any::<u16>().prop_map(RecordType::from),
    ]
}

prop_compose! {
    /// A query as a client might send it, built and encoded by hickory.
    fn valid_query()(
        id in any::<u16>(),
        op in prop_oneof![12 => Just(OpCode::Query), 1 => Just(OpCode::Notify), 1 => Just(OpCode::Update), 1 => (0u8..16).prop_map(OpCode::from_u8)],
        rd in any::<bool>(),
        cd in any::<bool>(),
        qname in qname(),
        qtype in qtype(),
        class in prop_oneof![12 => Just(DNSClass::IN), 1 => Just(DNSClass::CH), 1 => Just(DNSClass::ANY)],
        edns in prop::option::of((prop::sample::select(vec![0u16, 100, 512, 600, 1232, 1400, 4096, 65535]), prop::sample::select(vec![0u8, 0, 0, 1]), any::<bool>())),
        ixfr_serial in prop::option::weighted(0.2, any::<u32>()),
    ) -> Vec<u8> {
        let mut msg = Message::new(id, MessageType::Query, op);
        msg.metadata.recursion_desired = rd;
        msg.metadata.checking_disabled = cd;
        let mut question = Query::query(qname.clone(), qtype);
        question.set_query_class(class);
        msg.add_query(question);
        if let Some(serial) = ixfr_serial {
            msg.add_authority(Record::from_rdata(
                qname,
                0,
                RData::SOA(SOA::new(name("a."), name("b."), serial, 1, 1, 1, 1)),
            ));
        }
        if let Some((payload, version, dnssec_ok)) = edns {
            let mut e = Edns::new();
            e.set_max_payload(payload).set_version(version).set_dnssec_ok(dnssec_ok);
            msg.set_edns(e);
        }
        msg.to_vec().expect("hickory encodes the query")
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    FlipBit { at: usize, bit: u8 },
    SetByte { at: usize, value: u8 },
    Truncate { keep: usize },
    Count { which: usize, value: u16 },
    Remove { at: usize },
    Append(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let count = prop_oneof![
        prop::sample::select(vec![0u16, 1, 2, 3, 0x7F, 0xFF, 0x8000, 0xFFFF]),
        any::<u16>(),
    ];
    prop_oneof![
        3 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Mutation::SetByte { at, value }),
        1 => any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
        2 => (0usize..4, count).prop_map(|(which, value)| Mutation::Count { which, value }),
        1 => any::<usize>().prop_map(|at| Mutation::Remove { at }),
        1 => prop::collection::vec(any::<u8>(), 1..40).prop_map(Mutation::Append),
    ]
}

fn apply(packet: &mut Vec<u8>, mutation: &Mutation) {
    let len = packet.len();
    match mutation {
        Mutation::FlipBit { at, bit } if len > 0 => packet[at % len] ^= 1 << bit,
        Mutation::SetByte { at, value } if len > 0 => packet[at % len] = *value,
        Mutation::Truncate { keep } => packet.truncate(keep % (len + 1)),
        Mutation::Count { which, value } if len >= 12 => {
            let at = 4 + 2 * which;
            packet[at..at + 2].copy_from_slice(&value.to_be_bytes());
        }
        Mutation::Remove { at } if len > 0 => {
            packet.remove(at % len);
        }
        Mutation::Append(bytes) => packet.extend_from_slice(bytes),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn random_bytes_never_panic(packet in prop::collection::vec(any::<u8>(), 0..600)) {
        exercise(&packet)?;
    }

    #[test]
    fn random_bytes_after_a_query_header_never_panic(
        id in any::<u16>(),
        flags in any::<u16>(),
        counts in prop::array::uniform4(0u16..4),
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut packet = id.to_be_bytes().to_vec();
        packet.extend_from_slice(&(flags & 0x7FFF).to_be_bytes());
        for c in counts {
            packet.extend_from_slice(&c.to_be_bytes());
        }
        packet.extend_from_slice(&body);
        exercise(&packet)?;
    }

    #[test]
    fn valid_queries_get_well_formed_replies(packet in valid_query()) {
        exercise(&packet)?;
    }

    #[test]
    fn mutated_queries_never_panic(
        packet in valid_query(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut packet = packet;
        for m in &mutations {
            apply(&mut packet, m);
        }
        exercise(&packet)?;
    }
}

/// Answers to in-zone standard queries echo the question and are
/// authoritative; nothing in them is malformed.
#[test]
fn every_owner_and_type_answers_cleanly() {
    let snap = snapshot();
    let mut owners: Vec<Name> = snap.zone().sets().map(|(n, _, _)| n.clone()).collect();
    owners.dedup();
    owners.push(name(&format!("b.c.{ORIGIN}")));
    owners.push(name(&format!("nosuch.{ORIGIN}")));
    for owner in owners {
        for qtype in [
            RecordType::A,
            RecordType::AAAA,
            RecordType::MX,
            RecordType::NS,
            RecordType::SOA,
            RecordType::ANY,
        ] {
            for payload in [None, Some(512), Some(1232), Some(4096)] {
                let mut msg = Message::new(7, MessageType::Query, OpCode::Query);
                msg.add_query(Query::query(owner.clone(), qtype));
                if let Some(p) = payload {
                    let mut e = Edns::new();
                    e.set_max_payload(p);
                    msg.set_edns(e);
                }
                let packet = msg.to_vec().expect("encodes");
                exercise(&packet).expect("well-formed");
                let mut out = Vec::new();
                assert!(matches!(
                    respond(snap, &packet, Transport::Udp, &mut out),
                    Outcome::Reply
                ));
                let reply = Message::from_vec(&out).expect("parses");
                assert!(reply.metadata.authoritative, "{owner} {qtype}");
                assert_eq!(
                    &out[12..packet.len() - if payload.is_some() { 11 } else { 0 }],
                    &packet[12..packet.len() - if payload.is_some() { 11 } else { 0 }]
                );
            }
        }
    }
}
