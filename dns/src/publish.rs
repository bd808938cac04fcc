//! The one writer: turns each new [`Zone`] into a [`Snapshot`] and swaps it in.

use std::collections::VecDeque;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::snapshot::Snapshot;
use crate::zone::{Zone, ZoneDiff, serial};

/// What DNS tasks read: the current snapshot, swapped atomically.
pub type SharedSnapshot = Arc<ArcSwap<Snapshot>>;

/// How many diffs IXFR can reach back through.
const MAX_DIFFS: usize = 64;
/// Bound on the records all kept diffs may hold together.
const MAX_DIFF_RECORDS: usize = 200_000;

/// A zone that cannot be published.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PublishError {
    /// The content changed but the serial did not grow (RFC 1982).
    #[error("serial {new} is not newer than the published serial {current}")]
    SerialNotNewer {
        /// The serial being served.
        current: u32,
        /// The serial offered.
        new: u32,
    },
    /// A different zone than the one being served.
    #[error("zone {new} cannot replace zone {current}")]
    OtherOrigin {
        /// The origin being served.
        current: String,
        /// The origin offered.
        new: String,
    },
}

/// Owns the published zone; hands out readers.
pub struct ZonePublisher {
    shared: SharedSnapshot,
    serials: watch::Sender<u32>,
    history: VecDeque<Arc<ZoneDiff>>,
}

impl ZonePublisher {
    /// Starts publishing `zone`.
    pub fn new(zone: Zone) -> Self {
        let (serials, _) = watch::channel(zone.serial());
        Self {
            shared: Arc::new(ArcSwap::from_pointee(Snapshot::compile(zone, Vec::new()))),
            serials,
            history: VecDeque::new(),
        }
    }

    /// The handle DNS tasks read from.
    pub fn shared(&self) -> SharedSnapshot {
        Arc::clone(&self.shared)
    }

    /// A receiver told of every new serial (for NOTIFY).
    pub fn subscribe(&self) -> watch::Receiver<u32> {
        self.serials.subscribe()
    }

    /// The snapshot being served.
    pub fn current(&self) -> Arc<Snapshot> {
        self.shared.load_full()
    }

    /// Publishes `zone` if it differs from the one being served. Returns
    /// whether anything changed. Content changes need a newer serial.
    pub fn publish(&mut self, zone: Zone) -> Result<bool, PublishError> {
        let current = self.shared.load_full();
        let old = current.zone();
        if old.origin() != zone.origin() {
            return Err(PublishError::OtherOrigin {
                current: old.origin().to_string(),
                new: zone.origin().to_string(),
            });
        }
        if zone.serial() == old.serial() && zone.same_content(old) {
            if zone.secondaries() == old.secondaries() {
                return Ok(false);
            }
            // Only the secondaries changed: same records, same serial; the
            // new ones are told at once.
            let serial = zone.serial();
            let snapshot = Snapshot::compile(zone, self.history.iter().cloned().collect());
            self.shared.store(Arc::new(snapshot));
            self.serials.send_replace(serial);
            return Ok(true);
        }
        if !serial::is_newer(zone.serial(), old.serial()) {
            return Err(PublishError::SerialNotNewer {
                current: old.serial(),
                new: zone.serial(),
            });
        }
        self.history.push_back(Arc::new(ZoneDiff::between(old, &zone)));
        let mut total: usize = self.history.iter().map(|d| d.len()).sum();
        while self.history.len() > MAX_DIFFS || (total > MAX_DIFF_RECORDS && self.history.len() > 1) {
            if let Some(dropped) = self.history.pop_front() {
                total -= dropped.len();
            }
        }
        let serial = zone.serial();
        let snapshot = Snapshot::compile(zone, self.history.iter().cloned().collect());
        self.shared.store(Arc::new(snapshot));
        self.serials.send_replace(serial);
        Ok(true)
    }
}
