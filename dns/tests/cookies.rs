//! Cookies through `respond_to`: the reply carries the client cookie and a
//! server cookie that verifies, fits the size limit, parses with
//! hickory-proto; any EDNS options at all (random codes, lengths that lie,
//! malformed cookies) never panic and always give a parseable reply or
//! FORMERR; the slip replies (TC, BADCOOKIE) are well-formed.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use muster_dns::cookie::{Cookie, CookieSecrets, CookieStatus};
use muster_dns::{
    Client, Outcome, RecordData, Snapshot, SoaFields, Transport, Zone, ZonePublisher, respond_to, write_slip,
};
use proptest::prelude::*;

const ORIGIN: &str = "lists.example.test.";

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("valid name")
}

/// A zone with a pool big enough to fill 512 bytes.
fn snapshot() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Arc<Snapshot>> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
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
        let mut zone = Zone::new(&origin, 1, soa).expect("zone");
        zone.add(&origin, 3600, RecordData::Ns(name(&format!("ns1.{ORIGIN}"))))
            .expect("ns");
        for i in 1..=40u8 {
            let host = name(&format!("pool.{ORIGIN}"));
            zone.add(&host, 300, RecordData::A(Ipv4Addr::new(198, 51, 100, i)))
                .expect("a");
        }
        let publisher = ZonePublisher::new(zone);
        publisher.current().zone(&origin).cloned().expect("served")
    })
}

const SECRET: [u8; 16] = *b"0123456789abcdef";
const NOW: u32 = 1_700_000_000;

fn secrets() -> CookieSecrets {
    CookieSecrets::new(SECRET)
}

fn client(secrets: &CookieSecrets, transport: Transport) -> Client<'_> {
    Client {
        transport,
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
        now: NOW,
        cookies: Some(secrets),
    }
}

/// A query for `qname` A with an OPT record holding `options` (raw).
fn query(qname: &str, payload: u16, options: &[u8]) -> Vec<u8> {
    let mut q = vec![0xab, 0xcd, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    for label in qname.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 41]);
    q.extend_from_slice(&payload.to_be_bytes());
    q.extend_from_slice(&[0, 0, 0, 0]);
    q.extend_from_slice(&(options.len() as u16).to_be_bytes());
    q.extend_from_slice(options);
    q
}

fn cookie_option(data: &[u8]) -> Vec<u8> {
    [&10u16.to_be_bytes()[..], &(data.len() as u16).to_be_bytes(), data].concat()
}

/// The COOKIE option data of a reply (our OPT record is always last).
fn reply_cookie(m: &[u8]) -> Option<Vec<u8>> {
    let opt = (12..m.len().saturating_sub(10))
        .rev()
        .find(|&i| m[i] == 0 && m[i + 1..i + 3] == [0, 41])?;
    let mut options = &m[opt + 11..];
    while options.len() >= 4 {
        let code = u16::from_be_bytes([options[0], options[1]]);
        let len = usize::from(u16::from_be_bytes([options[2], options[3]]));
        let data = options.get(4..4 + len)?;
        if code == 10 {
            return Some(data.to_vec());
        }
        options = &options[4 + len..];
    }
    None
}

#[test]
fn a_cookie_comes_back_with_a_server_cookie_that_verifies() {
    let keys = secrets();
    let c = client(&keys, Transport::Udp);
    let client_cookie = [9u8; 8];
    let packet = query(&format!("pool.{ORIGIN}"), 512, &cookie_option(&client_cookie));
    let mut out = Vec::new();
    let (outcome, facts) = respond_to(snapshot(), &packet, &c, &mut out);
    assert!(matches!(outcome, Outcome::Reply));
    assert_eq!(facts.cookie, CookieStatus::ClientOnly);
    assert!(out.len() <= 512, "{} bytes", out.len());
    let msg = Message::from_vec(&out).expect("parses");
    assert!(msg.metadata.truncation || !msg.answers.is_empty());
    let returned = reply_cookie(&out).expect("a cookie");
    assert_eq!(returned.len(), 24);
    assert_eq!(returned[..8], client_cookie);
    let parsed = Cookie::parse(&returned).expect("cookie");
    assert_eq!(keys.check(&parsed, c.addr, NOW + 10), CookieStatus::Valid);

    // Sent back, it is valid; from elsewhere it is not.
    let again = query(&format!("pool.{ORIGIN}"), 1232, &cookie_option(&returned));
    let (_, facts) = respond_to(snapshot(), &again, &c, &mut out);
    assert_eq!(facts.cookie, CookieStatus::Valid);
    let elsewhere = Client {
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8)),
        ..c
    };
    let (_, facts) = respond_to(snapshot(), &again, &elsewhere, &mut out);
    assert_eq!(facts.cookie, CookieStatus::Invalid);
    let msg = Message::from_vec(&out).expect("parses");
    assert_eq!(msg.answers.len(), 40, "an invalid cookie still gets its answer");
    assert_eq!(msg.answers[0].data.record_type(), RecordType::A);
}

#[test]
fn malformed_cookies_are_format_errors_and_later_cookies_are_ignored() {
    let keys = secrets();
    let c = client(&keys, Transport::Udp);
    let mut out = Vec::new();
    for len in [0, 7, 9, 15, 41] {
        let packet = query(ORIGIN, 1232, &cookie_option(&vec![1; len]));
        respond_to(snapshot(), &packet, &c, &mut out);
        assert_eq!(out[3] & 0x0F, 1, "{len}-byte cookie");
    }
    let two = [cookie_option(&[1; 8]), cookie_option(&[2; 3])].concat();
    let (_, facts) = respond_to(snapshot(), &query(ORIGIN, 1232, &two), &c, &mut out);
    assert_eq!(facts.cookie, CookieStatus::ClientOnly);
}

#[test]
fn slips_are_truncated_or_badcookie() {
    let keys = secrets();
    let c = client(&keys, Transport::Udp);
    let mut out = Vec::new();
    let plain = query(&format!("pool.{ORIGIN}"), 1232, &[]);
    assert!(write_slip(&plain, &c, true, &mut out));
    let msg = Message::from_vec(&out).expect("parses");
    assert!(msg.metadata.truncation && msg.answers.is_empty());
    assert_eq!(msg.queries.len(), 1);

    let with_cookie = query(&format!("pool.{ORIGIN}"), 1232, &cookie_option(&[3; 8]));
    assert!(write_slip(&with_cookie, &c, true, &mut out));
    let msg = Message::from_vec(&out).expect("parses");
    assert_eq!(msg.metadata.response_code, ResponseCode::BADCOOKIE);
    assert!(!msg.metadata.truncation && msg.answers.is_empty());
    assert_eq!(reply_cookie(&out).expect("cookie")[..8], [3; 8]);

    assert!(!write_slip(b"\x00\x01garbage", &c, true, &mut out));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any options at all: no panic, and the reply parses (or is FORMERR).
    #[test]
    fn random_edns_options_never_panic(
        options in prop::collection::vec((0u16..16, prop::collection::vec(any::<u8>(), 0..48), any::<bool>()), 0..4),
        tail in prop::collection::vec(any::<u8>(), 0..6),
        payload in 0u16..5000,
        tcp in any::<bool>(),
    ) {
        let mut raw = Vec::new();
        for (code, data, honest) in &options {
            raw.extend_from_slice(&code.to_be_bytes());
            let len = if *honest { data.len() as u16 } else { data.len() as u16 + 3 };
            raw.extend_from_slice(&len.to_be_bytes());
            raw.extend_from_slice(data);
        }
        raw.extend_from_slice(&tail);
        let keys = secrets();
        let transport = if tcp { Transport::Tcp } else { Transport::Udp };
        let c = client(&keys, transport);
        let packet = query(&format!("pool.{ORIGIN}"), payload, &raw);
        let mut out = Vec::new();
        let (outcome, _) = respond_to(snapshot(), &packet, &c, &mut out);
        prop_assert!(matches!(outcome, Outcome::Reply));
        prop_assert_eq!(&out[..2], &packet[..2]);
        if out[3] & 0x0F != 1 {
            let msg = Message::from_vec(&out).map_err(|e| TestCaseError::fail(format!("{e}: {out:02x?}")))?;
            if !tcp {
                prop_assert!(out.len() <= usize::from(payload.clamp(512, 1232)));
            }
            prop_assert!(msg.edns.is_some());
        }
        let _ = write_slip(&packet, &c, true, &mut out);
    }
}
