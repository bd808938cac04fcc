//! TSIG (RFC 8945) on muster's own wire code: signed answers, the three
//! refusals (BADKEY, BADSIG, BADTIME) and the fudge, transfers signed
//! message by message with each MAC chaining the one before, and requests
//! whose TSIG is malformed or misplaced. NSD, Knot and kdig judge the same
//! code end to end in the workspace's `tests/tsig.rs`.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::RecordType;
use muster_dns::tsig::{self, TsigAlgorithm, TsigKey, TsigRecord};
use muster_dns::{Outcome, Secondary, Snapshot, Transport, respond_at, transfer_messages};
use proptest::prelude::*;
use support::{ORIGIN, hosts_zone, key, name};

const NOW: u64 = 1_760_000_000;
const NOTAUTH: u8 = 9;

fn xfr_key() -> Arc<TsigKey> {
    key(
        "xfr-key.",
        TsigAlgorithm::HmacSha256,
        b"0123456789abcdef0123456789abcdef",
    )
}

/// A zone with `hosts` A records whose secondary 127.0.0.12 holds `key`.
fn snapshot(hosts: u32, key: Arc<TsigKey>) -> Snapshot {
    let mut zone = hosts_zone(7, hosts);
    zone.set_secondaries([Secondary {
        address: SocketAddr::from(([127, 0, 0, 12], 53)),
        key: Some(key),
    }]);
    Snapshot::compile(zone, Vec::new())
}

fn query(qname: &str, qtype: RecordType) -> Vec<u8> {
    let mut msg = Message::new(0x4242, MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(name(qname), qtype));
    msg.to_vec().expect("hickory encodes the query")
}

fn signed_query(qname: &str, qtype: RecordType, key: &TsigKey, at: u64) -> (Vec<u8>, Vec<u8>) {
    let mut packet = query(qname, qtype);
    let mac = tsig::sign_request(key, &mut packet, at);
    (packet, mac)
}

fn rcode(message: &[u8]) -> u8 {
    message[3] & 0xF
}

fn tsig_of(message: &[u8]) -> TsigRecord<'_> {
    TsigRecord::find(message).expect("well formed").expect("signed")
}

#[test]
fn a_query_signed_with_a_known_key_gets_a_signed_answer() {
    for algorithm in TsigAlgorithm::ALL {
        let key = key("xfr-key.", algorithm, b"secret bytes of any length");
        let zone = snapshot(3, Arc::clone(&key));
        let (packet, mac) = signed_query(ORIGIN, RecordType::SOA, &key, NOW);
        let mut out = Vec::new();
        let outcome = respond_at(&zone, &packet, Transport::Udp, || NOW + 10, &mut out);
        assert!(matches!(outcome, Outcome::Reply), "{outcome:?}");
        assert_eq!(rcode(&out), 0);
        assert!(
            tsig::verify_response(&key, &mac, &out, true).is_some(),
            "{algorithm:?}"
        );
        // hickory reads the answer (TSIG last, SOA in the answer).
        let msg = Message::from_vec(&out).expect("hickory parses the signed answer");
        assert_eq!(msg.answers.len(), 1);
        // A tampered answer does not verify.
        let mut tampered = out.clone();
        tampered[HEADER_TTL_BYTE] ^= 1;
        assert!(tsig::verify_response(&key, &mac, &tampered, true).is_none());
    }
}

/// A byte inside the answer's SOA record (past the header and question).
const HEADER_TTL_BYTE: usize = 40;

#[test]
fn an_unknown_key_is_badkey_and_a_wrong_secret_badsig_both_unsigned() {
    let zone = snapshot(3, xfr_key());
    let cases = [
        (
            key(
                "other-key.",
                TsigAlgorithm::HmacSha256,
                b"0123456789abcdef0123456789abcdef",
            ),
            17,
        ),
        (
            key(
                "xfr-key.",
                TsigAlgorithm::HmacSha512,
                b"0123456789abcdef0123456789abcdef",
            ),
            17,
        ),
        (key("xfr-key.", TsigAlgorithm::HmacSha256, b"not the secret"), 16),
    ];
    for (wrong, error) in cases {
        let (packet, _) = signed_query(ORIGIN, RecordType::AXFR, &wrong, NOW);
        let mut out = Vec::new();
        match respond_at(&zone, &packet, Transport::Tcp, || NOW, &mut out) {
            Outcome::Rejected(rejection) => {
                assert_eq!(rejection.error.code(), error);
                assert_eq!(rejection.qname, ORIGIN);
                assert_eq!(rejection.key_name, wrong.name().to_string());
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert_eq!(rcode(&out), NOTAUTH);
        let answer = tsig_of(&out);
        assert_eq!(answer.error, error);
        assert!(answer.mac.is_empty(), "BADKEY and BADSIG answers are unsigned");
        assert_eq!(answer.original_id, 0x4242);
    }
}

#[test]
fn the_time_is_checked_against_the_fudge_and_badtime_is_signed_with_our_time() {
    let key = xfr_key();
    let zone = snapshot(3, Arc::clone(&key));
    // At the edge of the fudge (300 s either way): accepted.
    for skew in [-300i64, 300] {
        let (packet, _) = signed_query(ORIGIN, RecordType::SOA, &key, NOW.saturating_add_signed(skew));
        let mut out = Vec::new();
        assert!(matches!(
            respond_at(&zone, &packet, Transport::Udp, || NOW, &mut out),
            Outcome::Reply
        ));
        assert_eq!(rcode(&out), 0);
    }
    // One second past it, either way: BADTIME, signed, our time in other data.
    for skew in [-301i64, 301] {
        let signed_at = NOW.saturating_add_signed(skew);
        let (packet, mac) = signed_query(ORIGIN, RecordType::SOA, &key, signed_at);
        let mut out = Vec::new();
        match respond_at(&zone, &packet, Transport::Udp, || NOW, &mut out) {
            Outcome::Rejected(rejection) => assert_eq!(rejection.error.mnemonic(), "BADTIME"),
            other => panic!("expected BADTIME, got {other:?}"),
        }
        assert_eq!(rcode(&out), NOTAUTH);
        let answer = tsig_of(&out);
        assert_eq!(answer.error, 18);
        assert_eq!(
            answer.time_signed, signed_at,
            "the request's time signed is echoed"
        );
        assert_eq!(
            answer.other,
            &tsig::record::time_bytes(NOW),
            "our time in other data"
        );
        assert!(
            tsig::verify_response(&key, &mac, &out, true).is_some(),
            "BADTIME is signed"
        );
    }
}

#[test]
fn a_transfer_spanning_many_messages_is_signed_message_by_message_each_mac_chaining() {
    let key = xfr_key();
    let zone = snapshot(3_000, Arc::clone(&key));
    let (packet, request_mac) = signed_query(ORIGIN, RecordType::AXFR, &key, NOW);
    let mut out = Vec::new();
    let (req, signer) = match respond_at(&zone, &packet, Transport::Tcp, || NOW, &mut out) {
        Outcome::Transfer(req, Some(signer)) => (req, signer),
        other => panic!("expected a signed transfer, got {other:?}"),
    };
    let mut messages = transfer_messages(&zone, &req);
    assert!(messages.len() >= 3, "{} messages", messages.len());
    signer.sign_all(&mut messages, NOW);

    let mut prior = request_mac;
    let mut records = 0;
    for (i, message) in messages.iter().enumerate() {
        prior = tsig::verify_response(&key, &prior, message, i == 0)
            .unwrap_or_else(|| panic!("message {i} does not verify"));
        let parsed = Message::from_vec(message).expect("hickory parses each message");
        records += parsed.answers.len();
    }
    assert_eq!(records, 3_000 + 1 + 2, "every record, the NS and both SOAs");

    // Each MAC covers the one before: the messages out of order do not verify.
    let first = tsig::verify_response(&key, tsig_of(&packet).mac, &messages[0], true).expect("first");
    assert!(tsig::verify_response(&key, &first, &messages[2], false).is_none());
    // Nor does a later message checked as if it were the first.
    assert!(tsig::verify_response(&key, &first, &messages[1], true).is_none());
}

#[test]
fn a_tsig_record_not_last_or_malformed_is_formerr() {
    let key = xfr_key();
    let zone = snapshot(3, Arc::clone(&key));
    let (mut packet, _) = signed_query(ORIGIN, RecordType::SOA, &key, NOW);
    // Append an OPT after the TSIG: the TSIG is no longer last.
    packet.extend_from_slice(&[0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0]);
    packet[11] += 1;
    let mut out = Vec::new();
    assert!(matches!(
        respond_at(&zone, &packet, Transport::Udp, || NOW, &mut out),
        Outcome::Reply
    ));
    assert_eq!(rcode(&out), 1, "FORMERR");

    // A TSIG whose RDATA is cut short.
    let (mut packet, _) = signed_query(ORIGIN, RecordType::SOA, &key, NOW);
    let start = tsig_of(&packet).start;
    let rdlen_at = start + key.name_wire().len() + 8;
    let rdlen = u16::from_be_bytes([packet[rdlen_at], packet[rdlen_at + 1]]) - 3;
    packet[rdlen_at..rdlen_at + 2].copy_from_slice(&rdlen.to_be_bytes());
    packet.truncate(packet.len() - 3);
    assert!(matches!(
        respond_at(&zone, &packet, Transport::Udp, || NOW, &mut out),
        Outcome::Reply
    ));
    assert_eq!(rcode(&out), 1, "FORMERR");
}

#[test]
fn the_secret_never_shows_in_debug_output() {
    let key = key("xfr-key.", TsigAlgorithm::HmacSha256, b"SUPERSECRETBYTES");
    let shown = format!("{key:?} {:?}", snapshot(1, Arc::clone(&key)).zone());
    assert!(!shown.contains("SUPERSECRETBYTES"), "{shown}");
    assert!(!shown.contains("83, 85, 80"), "no byte list either: {shown}");
    assert!(shown.contains("redacted"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    /// Whatever follows a valid question — including TSIG-looking records
    /// with random RDATA — `respond` answers or drops, never panics.
    #[test]
    fn random_bytes_after_a_question_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..200),
        counts in (0u8..3, 0u8..3, 0u8..4),
        tsig_rdata in proptest::collection::vec(any::<u8>(), 0..120),
        as_tsig in any::<bool>(),
    ) {
        let zone = snapshot(3, xfr_key());
        let mut packet = query(ORIGIN, RecordType::AXFR);
        packet[7] = counts.0;
        packet[9] = counts.1;
        packet[11] = counts.2;
        if as_tsig {
            // A TSIG owned by the key's name with random RDATA.
            packet[11] = counts.2.max(1);
            packet.extend_from_slice(b"\x07xfr-key\x00\x00\xfa\x00\xff\x00\x00\x00\x00");
            packet.extend_from_slice(&(tsig_rdata.len() as u16).to_be_bytes());
            packet.extend_from_slice(&tsig_rdata);
        }
        packet.extend_from_slice(&tail);
        let mut out = Vec::new();
        let _ = respond_at(&zone, &packet, Transport::Udp, || NOW, &mut out);
        let _ = respond_at(&zone, &packet, Transport::Tcp, || NOW, &mut out);
        let _ = TsigRecord::find(&packet);
    }
}
