//! NOTIFY (RFC 1996): tell every secondary about each new serial, retrying
//! until it acknowledges or a newer serial makes the message moot.

use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::publish::SharedSnapshot;
use crate::wire::{HEADER_LEN, Writer, flags, name_to_wire, opcode, rcode, rtype};

/// How NOTIFY is retried.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// Wait this long for the first acknowledgement, doubling per retry.
    pub first_timeout: Duration,
    /// Give up after this many sends (the secondary's refresh timer still
    /// brings it up to date).
    pub attempts: u32,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            first_timeout: Duration::from_millis(500),
            attempts: 8,
        }
    }
}

/// Sends NOTIFY for the current serial at start and for every new serial
/// until `cancel` fires.
pub fn spawn_notifier(
    zone: SharedSnapshot,
    mut serials: watch::Receiver<u32>,
    config: NotifyConfig,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            serials.borrow_and_update();
            let round = cancel.child_token();
            let snapshot = zone.load_full();
            let mut sends = JoinSet::new();
            for &target in snapshot.zone().secondaries() {
                let message = notify_message(&snapshot, random_id());
                let (config, round) = (config.clone(), round.clone());
                let serial = snapshot.serial();
                sends.spawn(async move {
                    tokio::select! {
                        () = round.cancelled() => {}
                        () = notify_one(target, &message, serial, &config) => {}
                    }
                });
            }
            tokio::select! {
                () = cancel.cancelled() => {
                    round.cancel();
                    sends.shutdown().await;
                    return;
                }
                changed = serials.changed() => {
                    // A newer serial supersedes whatever is still retrying.
                    round.cancel();
                    sends.shutdown().await;
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    })
}

async fn notify_one(target: SocketAddr, message: &[u8], serial: u32, config: &NotifyConfig) {
    let bind: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = match UdpSocket::bind(bind).await {
        Ok(s) => s,
        Err(e) => {
            warn!(%target, error = %e, "cannot open a socket for NOTIFY");
            return;
        }
    };
    let id = u16::from_be_bytes([message[0], message[1]]);
    let mut wait = config.first_timeout;
    for attempt in 1..=config.attempts {
        if let Err(e) = socket.send_to(message, target).await {
            debug!(%target, error = %e, attempt, "NOTIFY send failed");
        } else {
            match tokio::time::timeout(wait, await_ack(&socket, target, id)).await {
                Ok(rcode::NOERROR) => {
                    info!(%target, serial, attempt, "NOTIFY acknowledged");
                    return;
                }
                Ok(code) => {
                    warn!(%target, serial, rcode = code, "secondary rejected NOTIFY");
                    return;
                }
                Err(_) => debug!(%target, serial, attempt, "no NOTIFY acknowledgement yet"),
            }
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
    warn!(%target, serial, attempts = config.attempts, "secondary never acknowledged NOTIFY");
}

/// Waits for the response to our NOTIFY; returns its RCODE.
async fn await_ack(socket: &UdpSocket, target: SocketAddr, id: u16) -> u8 {
    let mut buf = [0u8; 1024];
    loop {
        let Ok((len, from)) = socket.recv_from(&mut buf).await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        if from != target || len < HEADER_LEN {
            continue;
        }
        let word = u16::from_be_bytes([buf[2], buf[3]]);
        let is_answer = word & flags::QR != 0 && ((word >> 11) & 0xF) as u8 == opcode::NOTIFY;
        if is_answer && u16::from_be_bytes([buf[0], buf[1]]) == id {
            return (word & 0xF) as u8;
        }
    }
}

/// A NOTIFY for the snapshot's zone carrying its SOA (RFC 1996 §3.7).
pub fn notify_message(snapshot: &crate::Snapshot, id: u16) -> Vec<u8> {
    let zone = snapshot.zone();
    let origin = name_to_wire(zone.origin());
    let mut head = Vec::with_capacity(64);
    head.extend_from_slice(&id.to_be_bytes());
    head.extend_from_slice(&((u16::from(opcode::NOTIFY) << 11) | flags::AA).to_be_bytes());
    for count in [1u16, 1, 0, 0] {
        head.extend_from_slice(&count.to_be_bytes());
    }
    head.extend_from_slice(&origin);
    head.extend_from_slice(&rtype::SOA.to_be_bytes());
    head.extend_from_slice(&crate::wire::CLASS_IN.to_be_bytes());
    let mut w = Writer::after_question(head, &origin);
    w.soa(&origin, zone.serial(), zone.soa(), zone.soa().ttl);
    w.into_bytes()
}

/// An unpredictable message ID.
fn random_id() -> u16 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u16
}
