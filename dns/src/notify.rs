//! NOTIFY (RFC 1996): tell each zone's secondaries about each new serial of
//! that zone, retrying until they acknowledge or a newer serial of the same
//! zone makes the message moot.
//!
//! Zones are independent: a change to a reverse zone notifies the reverse
//! zone's secondaries only, and does not cut short the retries still going
//! on for the forward zone.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::Name;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::catalog::Catalog;
use crate::snapshot::Snapshot;
use crate::tsig::{self, TsigKey, unix_now};
use crate::wire::{HEADER_LEN, Writer, flags, name_to_wire, opcode, rcode, rtype};
use crate::zone::Secondary;

/// Where NOTIFY leaves from and how it is retried.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// Wait this long for the first acknowledgement, doubling per retry.
    pub first_timeout: Duration,
    /// Give up after this many sends (the secondary's refresh timer still
    /// brings it up to date).
    pub attempts: u32,
    /// The source address of NOTIFY, at most one per family: a secondary
    /// accepts NOTIFY from its primary's address only (RFC 1996 §3.10), so
    /// it must be the address muster serves DNS on. A family with none
    /// leaves the choice to the kernel (the route's preferred source).
    pub sources: Vec<IpAddr>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            first_timeout: Duration::from_millis(500),
            attempts: 8,
            sources: Vec::new(),
        }
    }
}

impl NotifyConfig {
    /// The local address a NOTIFY to `target` is sent from.
    pub fn source_for(&self, target: SocketAddr) -> SocketAddr {
        let ip = self
            .sources
            .iter()
            .copied()
            .find(|ip| ip.is_ipv4() == target.is_ipv4())
            .unwrap_or(if target.is_ipv4() {
                IpAddr::from(std::net::Ipv4Addr::UNSPECIFIED)
            } else {
                IpAddr::from(std::net::Ipv6Addr::UNSPECIFIED)
            });
        SocketAddr::new(ip, 0)
    }
}

/// The NOTIFY round of one zone: what it announces, and how to stop it.
struct Round {
    serial: u32,
    secondaries: Vec<Secondary>,
    cancel: CancellationToken,
}

/// Sends NOTIFY for every zone served at start, then, for each catalog
/// published, for every zone whose serial (or list of secondaries) changed,
/// to that zone's secondaries; until `cancel` fires. `catalogs` comes from
/// [`crate::ZonePublisher::subscribe`].
pub fn spawn_notifier(
    mut catalogs: watch::Receiver<Arc<Catalog>>,
    config: NotifyConfig,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut rounds: HashMap<Name, Round> = HashMap::new();
        let mut sends = JoinSet::new();
        loop {
            let catalog = Arc::clone(&catalogs.borrow_and_update());
            // Zones no longer served: stop telling anyone about them.
            rounds.retain(|origin, round| {
                let served = catalog.zone(origin).is_some();
                if !served {
                    round.cancel.cancel();
                }
                served
            });
            for snapshot in catalog.iter() {
                let zone = snapshot.zone();
                let same = rounds
                    .get(zone.origin())
                    .is_some_and(|r| r.serial == zone.serial() && r.secondaries == zone.secondaries());
                if same {
                    continue;
                }
                // A newer serial supersedes whatever is still retrying for
                // this zone.
                if let Some(old) = rounds.remove(zone.origin()) {
                    old.cancel.cancel();
                }
                let round = cancel.child_token();
                start_round(&mut sends, snapshot, &config, &round);
                rounds.insert(
                    zone.origin().clone(),
                    Round {
                        serial: zone.serial(),
                        secondaries: zone.secondaries().to_vec(),
                        cancel: round,
                    },
                );
            }
            // Reap the sends that finished or were cancelled.
            while sends.try_join_next().is_some() {}
            tokio::select! {
                () = cancel.cancelled() => break,
                changed = catalogs.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        for round in rounds.values() {
            round.cancel.cancel();
        }
        sends.shutdown().await;
    })
}

/// Spawns one NOTIFY per secondary of `snapshot`'s zone, each stopped by
/// `round`; signed with the secondary's key when it has one.
fn start_round(
    sends: &mut JoinSet<()>,
    snapshot: &Snapshot,
    config: &NotifyConfig,
    round: &CancellationToken,
) {
    let serial = snapshot.serial();
    let origin = snapshot.zone().origin();
    for secondary in snapshot.zone().secondaries() {
        let mut message = notify_message(snapshot, random_id());
        let signed = secondary.key.as_ref().map(|key| {
            let mac = tsig::sign_request(key, &mut message, unix_now());
            (Arc::clone(key), mac)
        });
        let target = secondary.address;
        let (config, round, origin) = (config.clone(), round.clone(), origin.clone());
        sends.spawn(async move {
            let notify = Notify {
                target,
                message: &message,
                signed: signed.as_ref(),
                zone: &origin,
                serial,
            };
            tokio::select! {
                () = round.cancelled() => {}
                () = notify.send(&config) => {}
            }
        });
    }
}

/// One NOTIFY to one secondary.
struct Notify<'a> {
    target: SocketAddr,
    message: &'a [u8],
    /// The key it is signed with and its MAC, which the answer's covers.
    signed: Option<&'a (Arc<TsigKey>, Vec<u8>)>,
    zone: &'a Name,
    serial: u32,
}

impl Notify<'_> {
    /// Sends it until acknowledged, rejected, or out of attempts.
    async fn send(&self, config: &NotifyConfig) {
        let (target, zone, serial) = (self.target, self.zone, self.serial);
        let bind = config.source_for(target);
        let socket = match UdpSocket::bind(bind).await {
            Ok(s) => s,
            Err(e) => {
                warn!(%target, %zone, source = %bind.ip(), error = %e, "cannot open a socket for NOTIFY");
                return;
            }
        };
        let id = u16::from_be_bytes([self.message[0], self.message[1]]);
        let mut wait = config.first_timeout;
        for attempt in 1..=config.attempts {
            if let Err(e) = socket.send_to(self.message, target).await {
                debug!(%target, %zone, error = %e, attempt, "NOTIFY send failed");
            } else {
                match tokio::time::timeout(wait, self.await_ack(&socket, id)).await {
                    Ok(rcode::NOERROR) => {
                        info!(%target, %zone, serial, attempt, "NOTIFY acknowledged");
                        return;
                    }
                    Ok(code) if self.signed.is_some() && code == rcode::NOTAUTH => {
                        warn!(%target, %zone, serial, rcode = code, "secondary rejected our signed NOTIFY (NOTAUTH): its TSIG key or secret differs from ours");
                        return;
                    }
                    Ok(code) => {
                        warn!(%target, %zone, serial, rcode = code, "secondary rejected NOTIFY");
                        return;
                    }
                    Err(_) => debug!(%target, %zone, serial, attempt, "no NOTIFY acknowledgement yet"),
                }
            }
            wait = (wait * 2).min(Duration::from_secs(30));
        }
        warn!(%target, %zone, serial, attempts = config.attempts, "secondary never acknowledged NOTIFY");
    }

    /// Waits for the answer to our NOTIFY; returns its RCODE. An answer to
    /// a signed NOTIFY counts only when it is signed with the same key (a
    /// forged acknowledgement would stop the retries).
    async fn await_ack(&self, socket: &UdpSocket, id: u16) -> u8 {
        let mut buf = [0u8; 1024];
        loop {
            let Ok((len, from)) = socket.recv_from(&mut buf).await else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            let reply = &buf[..len];
            if from != self.target || len < HEADER_LEN {
                continue;
            }
            let word = u16::from_be_bytes([reply[2], reply[3]]);
            let is_answer = word & flags::QR != 0 && ((word >> 11) & 0xF) as u8 == opcode::NOTIFY;
            if !is_answer || u16::from_be_bytes([reply[0], reply[1]]) != id {
                continue;
            }
            let code = (word & 0xF) as u8;
            if let Some((key, mac)) = self.signed
                && code == rcode::NOERROR
                && tsig::verify_response(key, mac, reply, true).is_none()
            {
                warn!(target = %self.target, zone = %self.zone, key = %key.name(), "NOTIFY acknowledgement is unsigned or its TSIG does not verify; ignored");
                continue;
            }
            return code;
        }
    }
}

/// A NOTIFY for the snapshot's zone carrying its SOA (RFC 1996 §3.7).
pub fn notify_message(snapshot: &Snapshot, id: u16) -> Vec<u8> {
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
