//! NOTIFY to a keyed secondary, seen from the secondary: every NOTIFY is
//! signed with its key; an unsigned acknowledgement does not count (the
//! notifier sends again); a signed one ends the retries.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::Name;
use muster_dns::notify::{NotifyConfig, spawn_notifier};
use muster_dns::tsig::{self, TsigAlgorithm, TsigKey, TsigRecord, TsigSecret, unix_now};
use muster_dns::{RecordData, Secondary, SoaFields, Zone, ZonePublisher};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("valid name")
}

fn zone(secondary: SocketAddr, key: &Arc<TsigKey>) -> Zone {
    let soa = SoaFields {
        mname: name("ns1.lists.example.test."),
        rname: name("hostmaster.lists.example.test."),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 300,
        ttl: 3600,
    };
    let mut zone = Zone::new(&name("lists.example.test."), 9, soa).expect("zone");
    zone.add(
        &name("www.lists.example.test."),
        300,
        RecordData::A(Ipv4Addr::new(192, 0, 2, 80)),
    )
    .expect("www");
    zone.set_secondaries([Secondary {
        address: secondary,
        key: Some(Arc::clone(key)),
    }]);
    zone
}

/// The next NOTIFY, within `wait`.
async fn next_notify(socket: &UdpSocket, wait: Duration) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = [0u8; 2048];
    let (len, from) = tokio::time::timeout(wait, socket.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some((buf[..len].to_vec(), from))
}

/// The acknowledgement of `notify` (its header and question, QR set), without TSIG.
fn ack(notify: &[u8], tsig_start: usize) -> Vec<u8> {
    let question_end = 12 + notify[12..].iter().position(|&b| b == 0).expect("qname") + 1 + 4;
    let mut reply = notify[..question_end.min(tsig_start)].to_vec();
    reply[2] |= 0x80;
    reply[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 0]);
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_is_signed_and_only_a_signed_acknowledgement_ends_the_retries() {
    let key = Arc::new(TsigKey::new(
        &name("xfr-key."),
        TsigAlgorithm::HmacSha512,
        TsigSecret::new(vec![7; 64]),
    ));
    let secondary = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let publisher = ZonePublisher::new(zone(secondary.local_addr().expect("addr"), &key));
    let cancel = CancellationToken::new();
    let config = NotifyConfig {
        first_timeout: Duration::from_millis(200),
        attempts: 6,
        sources: vec!["127.0.0.1".parse().expect("ip")],
    };
    let notifier = spawn_notifier(publisher.subscribe(), config, cancel.clone());
    let find_key = |lower: &[u8]| (lower == key.name_wire()).then_some(&key);

    // The first NOTIFY verifies with the key; we acknowledge it unsigned.
    let (first, from) = next_notify(&secondary, Duration::from_secs(5))
        .await
        .expect("a NOTIFY");
    assert_eq!((first[2] >> 3) & 0xF, 4, "opcode NOTIFY");
    let record = TsigRecord::find(&first).expect("well formed").expect("signed");
    assert!(tsig::verify_request(&first, &record, find_key, unix_now()).is_ok());
    secondary
        .send_to(&ack(&first, record.start), from)
        .await
        .expect("send");

    // Not taken as an acknowledgement: the same NOTIFY comes again.
    let (again, from) = next_notify(&secondary, Duration::from_secs(3))
        .await
        .expect("a retry");
    assert_eq!(again[..2], first[..2], "the same message ID");
    let record = TsigRecord::find(&again).expect("well formed").expect("signed");
    let signer = tsig::verify_request(&again, &record, find_key, unix_now()).expect("verifies");
    let mut reply = ack(&again, record.start);
    signer.sign(&mut reply, unix_now());
    secondary.send_to(&reply, from).await.expect("send");

    // Acknowledged: no more NOTIFY.
    assert!(
        next_notify(&secondary, Duration::from_millis(1500))
            .await
            .is_none(),
        "NOTIFY sent again after a signed acknowledgement"
    );
    cancel.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), notifier).await;
}
