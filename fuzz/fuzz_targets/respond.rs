//! Fuzzes the query path: `Request::parse` and `respond` over UDP and TCP
//! on a fixed snapshot, plus the transfer writers when a transfer is asked,
//! and `respond_to` with cookie secrets (a COOKIE option checked and ours
//! appended) with the slip writer rate limiting uses.
//! Run with `bench/fuzz.sh`.

#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, OnceLock};

use hickory_proto::rr::Name;
use libfuzzer_sys::fuzz_target;
use muster_dns::wire::Request;
use muster_dns::cookie::CookieSecrets;
use muster_dns::{
    Client, Outcome, RecordData, Snapshot, SoaFields, Transport, Zone, ZonePublisher, ixfr_over_udp, refuse,
    respond, respond_to, transfer_messages, write_slip,
};

const ORIGIN: &str = "lists.example.test.";

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("valid name")
}

fn build(serial: u32, members: usize) -> Zone {
    let origin = name(ORIGIN);
    let soa = SoaFields {
        mname: name(&format!("ns1.{ORIGIN}")),
        rname: name(&format!("hostmaster.{ORIGIN}")),
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
    for i in 1..=members {
        let host = name(&format!("smurf{i}.{ORIGIN}"));
        let last = u8::try_from(i).expect("small");
        zone.add(&host, 300, RecordData::A(Ipv4Addr::new(198, 51, 100, last)))
            .expect("a");
        if i % 4 == 0 {
            let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(last));
            zone.add(&host, 300, RecordData::Aaaa(v6)).expect("aaaa");
        }
        zone.add(
            &name(&format!("smtp-out.{ORIGIN}")),
            300,
            RecordData::Mx {
                preference: 10,
                exchange: host,
            },
        )
        .expect("mx");
    }
    zone.add(
        &name(&format!("smtp-out.{ORIGIN}")),
        300,
        RecordData::Mx {
            preference: 20,
            exchange: name("fallback.mail.example.net."),
        },
    )
    .expect("fallback");
    zone.add(
        &name(&format!("a.b.c.{ORIGIN}")),
        300,
        RecordData::A(Ipv4Addr::new(192, 0, 2, 99)),
    )
    .expect("deep");
    zone
}

/// One snapshot with IXFR history and a pool too big for 512 bytes.
fn snapshot() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Arc<Snapshot>> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let mut publisher = ZonePublisher::new(build(1, 20));
        publisher.publish(vec![build(2, 40)]).expect("publish");
        publisher.publish(vec![build(3, 30)]).expect("publish");
        publisher
            .current()
            .zone(&name(ORIGIN))
            .cloned()
            .expect("served")
    })
}

fuzz_target!(|packet: &[u8]| {
    let snap = snapshot();
    let _ = Request::parse(packet);
    let mut out = Vec::new();
    for transport in [Transport::Udp, Transport::Tcp] {
        match respond(snap, packet, transport, &mut out) {
            Outcome::Reply => {
                assert!(packet.len() >= 12, "reply to a runt");
                assert!(out.len() >= 12, "reply shorter than a header");
                assert_eq!(out[..2], packet[..2], "ID echoed");
                assert!(out[2] & 0x80 != 0, "QR set");
                if transport == Transport::Udp {
                    assert!(out.len() <= 1232, "UDP reply of {} bytes", out.len());
                }
            }
            Outcome::Rejected(_) => assert_eq!(out[..2], packet[..2], "ID echoed"),
            Outcome::Drop => assert!(out.is_empty()),
            Outcome::Transfer(req, _) => {
                for message in transfer_messages(snap, &req) {
                    assert!(message.len() < 65_535);
                }
                let mut reply = Vec::new();
                ixfr_over_udp(snap, &req, &mut reply);
                refuse(&req, &mut reply);
            }
        }
    }
    let secrets = CookieSecrets::new(*b"fuzzfuzzfuzzfuzz");
    let client = Client {
        transport: Transport::Udp,
        addr: Ipv4Addr::new(192, 0, 2, 1).into(),
        now: 1_700_000_000,
        cookies: Some(&secrets),
    };
    if let (Outcome::Reply, _) = respond_to(snap, packet, &client, &mut out) {
        assert!(out.len() <= 1232, "UDP reply with a cookie of {} bytes", out.len());
    }
    if write_slip(packet, &client, true, &mut out) {
        assert!(out.len() >= 12 && out[2] & 0x80 != 0, "slip is a response");
    }
});
