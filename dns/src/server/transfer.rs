//! Who may transfer a zone, and the answers to transfers: each zone only
//! to its own secondaries, and a secondary with a TSIG key only with a
//! request signed with that key; a signed request's answers all signed.

use std::net::{IpAddr, SocketAddr};

use tracing::{debug, info, warn};

use crate::answer::Rejection;
use crate::catalog::Catalog;
use crate::log_budget::{Admit, LogBudget};
use crate::snapshot::Snapshot;
use crate::tsig::record::display_name;
use crate::tsig::{Signer, TsigError, unix_now};
use crate::wire::{Request, rtype};
use crate::xfr::{ixfr_over_udp, refuse, transfer_messages};

/// AXFR is TCP only; IXFR over UDP gets our SOA so the client moves to TCP.
pub(super) fn udp_transfer(
    catalog: &Catalog,
    req: &Request<'_>,
    signer: Option<&Signer>,
    peer: SocketAddr,
    out: &mut Vec<u8>,
) {
    match transfer_zone(catalog, req, signer, peer.ip()) {
        Ok(snapshot) if req.qtype == rtype::IXFR => ixfr_over_udp(snapshot, req, out),
        Ok(_) => refuse(req, out),
        Err(refusal) => {
            log_refusal(&refusal, req, peer);
            refuse(req, out);
        }
    }
    if let Some(signer) = signer {
        signer.sign(out, unix_now());
    }
}

/// Why a transfer is refused.
#[derive(Debug)]
enum Refusal {
    /// No zone of ours has this apex.
    NoZone,
    /// The peer is none of the zone's secondaries.
    NotSecondary,
    /// The peer is a secondary with a key, and the request was not signed
    /// with it.
    KeyRequired { wanted: String, used: Option<String> },
}

/// The zone a transfer request names at its apex, if `peer` is one of that
/// zone's secondaries and signed the request with the secondary's key (when
/// it has one): each zone is transferred only to its own.
fn transfer_zone<'c>(
    catalog: &'c Catalog,
    req: &Request<'_>,
    signer: Option<&Signer>,
    peer: IpAddr,
) -> Result<&'c Snapshot, Refusal> {
    let (snapshot, apex_at) = catalog.find(req.qname_lower.as_bytes()).ok_or(Refusal::NoZone)?;
    if apex_at != 0 {
        return Err(Refusal::NoZone);
    }
    may_transfer(snapshot, peer, signer).map(|()| snapshot)
}

/// Only the zone's secondaries may transfer it; a secondary with a key
/// only with a request signed with that key (address and key both).
fn may_transfer(snapshot: &Snapshot, peer: IpAddr, signer: Option<&Signer>) -> Result<(), Refusal> {
    let peer = peer.to_canonical();
    let used = signer.map(|s| s.key());
    let mut wanted = None;
    for secondary in snapshot.zone().secondaries() {
        if secondary.address.ip().to_canonical() != peer {
            continue;
        }
        match &secondary.key {
            None => return Ok(()),
            Some(key) if used.is_some_and(|used| used == key) => return Ok(()),
            Some(key) => wanted = Some(key.name().to_string()),
        }
    }
    match wanted {
        None => Err(Refusal::NotSecondary),
        Some(wanted) => Err(Refusal::KeyRequired {
            wanted,
            used: used.map(|key| key.name().to_string()),
        }),
    }
}

/// Warnings about refused transfers and rejected signatures: spoofable over
/// UDP, so bounded (see [`LogBudget`]).
static REFUSALS: LogBudget = LogBudget::new();
static REJECTIONS: LogBudget = LogBudget::new();

/// One warning per refused transfer from a keyed secondary (within
/// [`REFUSALS`]); strangers are refused quietly (debug), as before.
fn log_refusal(refusal: &Refusal, req: &Request<'_>, peer: SocketAddr) {
    let zone = display_name(req.qname_lower.as_bytes());
    if matches!(refusal, Refusal::NoZone | Refusal::NotSecondary) {
        debug!(%peer, %zone, "zone transfer refused");
        return;
    }
    let Admit::Log { suppressed } = REFUSALS.admit(unix_now()) else {
        return;
    };
    match refusal {
        Refusal::NoZone | Refusal::NotSecondary => {}
        Refusal::KeyRequired { wanted, used: None } => {
            warn!(%peer, %zone, key = %wanted, suppressed, "zone transfer refused: the request is not signed, and this secondary's transfers need TSIG key {wanted}");
        }
        Refusal::KeyRequired {
            wanted,
            used: Some(used),
        } => {
            warn!(%peer, %zone, key = %wanted, used = %used, suppressed, "zone transfer refused: signed with TSIG key {used}, but this secondary's transfers need key {wanted}");
        }
    }
}

/// One warning per request refused for its TSIG (within [`REJECTIONS`]:
/// `suppressed` says how many were left out before it).
pub(super) fn log_rejection(rejection: &Rejection, peer: SocketAddr) {
    let Admit::Log { suppressed } = REJECTIONS.admit(unix_now()) else {
        return;
    };
    let why = match rejection.error {
        TsigError::BadKey => "the key is not one of the secondaries' keys (or its algorithm differs)",
        TsigError::BadSig => "the MAC does not verify: the secondary's secret differs from ours",
        TsigError::BadTime => "the time signed is outside the fudge: check both clocks",
    };
    warn!(%peer, zone = %rejection.qname, key = %rejection.key_name, error = %rejection.error, suppressed, "signed query answered NOTAUTH: {why}");
}

/// The messages answering a transfer over TCP: the zone, or a refusal;
/// every one signed when the request was.
pub(super) fn tcp_transfer(
    catalog: &Catalog,
    req: &Request<'_>,
    signer: Option<&Signer>,
    peer: SocketAddr,
    out: &mut Vec<u8>,
) -> Vec<Vec<u8>> {
    let mut messages = match transfer_zone(catalog, req, signer, peer.ip()) {
        Ok(snapshot) => {
            let kind = if req.qtype == rtype::AXFR { "AXFR" } else { "IXFR" };
            let key = signer.map_or_else(|| "none".to_owned(), |s| s.key().name().to_string());
            info!(%peer, zone = %snapshot.zone().origin(), serial = snapshot.serial(), kind, tsig = %key, "zone transfer");
            transfer_messages(snapshot, req)
        }
        Err(refusal) => {
            log_refusal(&refusal, req, peer);
            refuse(req, out);
            vec![std::mem::take(out)]
        }
    };
    if let Some(signer) = signer {
        signer.sign_all(&mut messages, unix_now());
    }
    messages
}
