//! The one writer: turns each new set of [`Zone`]s into a [`Catalog`] of
//! [`Snapshot`]s and swaps it in.
//!
//! Each zone is matched to the one served at the same origin: unchanged
//! content keeps its snapshot (nothing recompiled, the same `Arc`), changed
//! content needs a newer serial, new origins start, origins no longer given
//! stop being served. IXFR history is kept per origin.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use arc_swap::ArcSwap;
use hickory_proto::rr::Name;
use tokio::sync::watch;

use crate::catalog::Catalog;
use crate::snapshot::Snapshot;
use crate::zone::{Zone, ZoneDiff, serial};

/// What DNS tasks read: the current catalog, swapped atomically.
pub type SharedCatalog = Arc<ArcSwap<Catalog>>;

/// How many diffs IXFR can reach back through, per zone.
const MAX_DIFFS: usize = 64;
/// Bound on the records all kept diffs of one zone may hold together.
const MAX_DIFF_RECORDS: usize = 200_000;

/// Zones that cannot be published. Nothing of the call is published then.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PublishError {
    /// The content changed but the serial did not grow (RFC 1982).
    #[error("zone {origin}: serial {new} is not newer than the published serial {current}")]
    SerialNotNewer {
        /// The zone.
        origin: String,
        /// The serial being served.
        current: u32,
        /// The serial offered.
        new: u32,
    },
    /// Two zones with one origin.
    #[error("zone {origin} is given twice")]
    DuplicateOrigin {
        /// The origin given twice.
        origin: String,
    },
}

/// Owns the published zones; hands out readers.
pub struct ZonePublisher {
    shared: SharedCatalog,
    catalogs: watch::Sender<Arc<Catalog>>,
    /// Per origin, the diffs IXFR can serve, oldest first.
    histories: HashMap<Name, VecDeque<Arc<ZoneDiff>>>,
}

/// What becomes of one zone in a publish.
enum Fate {
    /// Served as it is: the same snapshot.
    Keep(Arc<Snapshot>),
    /// Same records and serial, other secondaries: recompiled, same history.
    Secondaries(Zone),
    /// New content at a newer serial: one more diff.
    Changed(Zone, Arc<ZoneDiff>),
    /// An origin not served so far.
    New(Zone),
}

impl ZonePublisher {
    /// Starts publishing `zones`, in that order; two with one origin are an
    /// error.
    pub fn try_new(zones: Vec<Zone>) -> Result<Self, PublishError> {
        let mut publisher = Self {
            shared: Arc::new(ArcSwap::from_pointee(Catalog::default())),
            catalogs: watch::channel(Arc::new(Catalog::default())).0,
            histories: HashMap::new(),
        };
        publisher.publish(zones)?;
        Ok(publisher)
    }

    /// Starts publishing one zone.
    pub fn new(zone: Zone) -> Self {
        let catalog = Arc::new(Catalog::from(Snapshot::compile(zone, Vec::new())));
        Self {
            shared: Arc::new(ArcSwap::new(Arc::clone(&catalog))),
            catalogs: watch::channel(catalog).0,
            histories: HashMap::new(),
        }
    }

    /// The handle DNS tasks read from.
    pub fn shared(&self) -> SharedCatalog {
        Arc::clone(&self.shared)
    }

    /// A receiver told of every catalog published (for NOTIFY); it holds
    /// the current one from the start.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Catalog>> {
        self.catalogs.subscribe()
    }

    /// The zones being served.
    pub fn current(&self) -> Arc<Catalog> {
        self.shared.load_full()
    }

    /// Publishes `zones` (the whole set served from now on, in this order)
    /// if anything differs from what is served. Returns whether anything
    /// changed. A zone whose content changed needs a newer serial; on any
    /// error nothing is published.
    pub fn publish(&mut self, zones: Vec<Zone>) -> Result<bool, PublishError> {
        let current = self.shared.load_full();
        let mut seen = HashSet::with_capacity(zones.len());
        let mut fates = Vec::with_capacity(zones.len());
        for zone in zones {
            if !seen.insert(zone.origin().clone()) {
                return Err(PublishError::DuplicateOrigin {
                    origin: zone.origin().to_string(),
                });
            }
            fates.push(fate(current.zone(zone.origin()), zone)?);
        }
        let unchanged = fates.len() == current.len()
            && fates
                .iter()
                .zip(current.iter())
                .all(|(f, old)| matches!(f, Fate::Keep(kept) if Arc::ptr_eq(kept, old)));
        if unchanged {
            return Ok(false);
        }

        // Origins no longer given stop being served and forget their history.
        self.histories.retain(|origin, _| seen.contains(origin));
        let mut snapshots = Vec::with_capacity(fates.len());
        for f in fates {
            let snapshot = match f {
                Fate::Keep(snapshot) => snapshot,
                Fate::Secondaries(zone) => {
                    let history = self.history(zone.origin()).iter().cloned().collect();
                    Arc::new(Snapshot::compile(zone, history))
                }
                Fate::Changed(zone, diff) => {
                    let history = self.history(zone.origin());
                    push_bounded(history, diff);
                    let history = history.iter().cloned().collect();
                    Arc::new(Snapshot::compile(zone, history))
                }
                Fate::New(zone) => {
                    self.histories.remove(zone.origin());
                    Arc::new(Snapshot::compile(zone, Vec::new()))
                }
            };
            snapshots.push(snapshot);
        }
        let catalog = Arc::new(Catalog::try_new(snapshots)?);
        self.shared.store(Arc::clone(&catalog));
        self.catalogs.send_replace(catalog);
        Ok(true)
    }

    fn history(&mut self, origin: &Name) -> &mut VecDeque<Arc<ZoneDiff>> {
        self.histories.entry(origin.clone()).or_default()
    }
}

/// What becomes of `zone` given the snapshot served at its origin.
fn fate(served: Option<&Arc<Snapshot>>, zone: Zone) -> Result<Fate, PublishError> {
    let Some(served) = served else {
        return Ok(Fate::New(zone));
    };
    let old = served.zone();
    if zone.serial() == old.serial() && zone.same_content(old) {
        if zone.secondaries() == old.secondaries() {
            return Ok(Fate::Keep(Arc::clone(served)));
        }
        // Only the secondaries changed: same records, same serial; the new
        // ones are told at once.
        return Ok(Fate::Secondaries(zone));
    }
    if !serial::is_newer(zone.serial(), old.serial()) {
        return Err(PublishError::SerialNotNewer {
            origin: zone.origin().to_string(),
            current: old.serial(),
            new: zone.serial(),
        });
    }
    let diff = Arc::new(ZoneDiff::between(old, &zone));
    Ok(Fate::Changed(zone, diff))
}

/// Appends `diff`, dropping the oldest beyond the bounds.
fn push_bounded(history: &mut VecDeque<Arc<ZoneDiff>>, diff: Arc<ZoneDiff>) {
    history.push_back(diff);
    let mut total: usize = history.iter().map(|d| d.len()).sum();
    while history.len() > MAX_DIFFS || (total > MAX_DIFF_RECORDS && history.len() > 1) {
        if let Some(dropped) = history.pop_front() {
            total -= dropped.len();
        }
    }
}
