//! What agents report, kept in memory: liveness and the latest metrics.
//!
//! Heartbeats are many and small, so they never touch the store; the
//! reconciler reads this map and only its *decisions* (death, revival) are
//! persisted.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::farm::Millis;

/// One heartbeat, as the controller core sees it (no HTTP, no JSON).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// The role the agent says the box holds now.
    pub role: Option<String>,
    /// Failing probes of its role, with reasons; empty when healthy.
    pub probe_failures: Vec<String>,
    /// Numeric metrics (`queue_depth`, `load1`, `cpu`, …).
    pub metrics: BTreeMap<String, f64>,
    /// The role-change hook failed: its exit status and last stderr lines.
    pub hook_failure: Option<String>,
}

/// The latest about one host.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// When the last heartbeat arrived.
    pub last_heartbeat: Millis,
    /// Consecutive heartbeats with every probe passing, counted since the
    /// last failing one or the last silence longer than `dead_after`.
    pub good_streak: u32,
    /// The latest report (shared: copying the observations for a tick
    /// copies no reports).
    pub report: Arc<Report>,
    /// A heartbeat arrived: false while the controller only assumes the
    /// host alive (see [`Observed::assume_alive`]), when `report` is empty
    /// and says nothing about the role the host holds.
    pub heard: bool,
}

impl Observation {
    /// The queue depth the agent reported, if any.
    pub fn queue_depth(&self) -> Option<f64> {
        self.report.metrics.get("queue_depth").copied()
    }

    /// The role the agent reported holding, when it has reported at all
    /// (`Some(None)`: it reported holding none).
    pub fn reported_role(&self) -> Option<Option<&str>> {
        self.heard.then(|| self.report.role.as_deref())
    }

    /// True when every probe passed in the latest report.
    pub fn healthy(&self) -> bool {
        self.report.probe_failures.is_empty() && self.report.hook_failure.is_none()
    }
}

/// Observations by host name.
///
/// Cloned on every tick (the reconcile works on a copy while heartbeats go
/// on), so names are shared (`Arc<str>`) as reports are: a copy of 10,000
/// observations allocates one table, not 10,000 strings.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    hosts: HashMap<Arc<str>, Observation, foldhash::fast::RandomState>,
}

impl Observed {
    /// Records a heartbeat from `host` at `now`. A heartbeat after a silence
    /// longer than `dead_after_ms` starts a new good streak.
    pub fn record(&mut self, host: &str, report: Report, now: Millis, dead_after_ms: Millis) {
        let entry = match self.hosts.get_mut(host) {
            Some(entry) => entry,
            None => self.hosts.entry(Arc::from(host)).or_default(),
        };
        let resumed = now - entry.last_heartbeat > dead_after_ms;
        let good = report.probe_failures.is_empty() && report.hook_failure.is_none();
        entry.good_streak = match (good, resumed) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => entry.good_streak.saturating_add(1),
        };
        entry.last_heartbeat = now;
        entry.report = Arc::new(report);
        entry.heard = true;
    }

    /// Treats `host` as heard from at `now` without a report: used at start
    /// so a restarted controller gives every agent `dead_after` to report
    /// before declaring anything (fail static).
    pub fn assume_alive(&mut self, host: &str, now: Millis) {
        if self.hosts.contains_key(host) {
            return;
        }
        let fresh = Observation {
            last_heartbeat: now,
            good_streak: 0,
            report: Arc::default(),
            heard: false,
        };
        self.hosts.insert(Arc::from(host), fresh);
    }

    /// Forgets a host (removed from the farm).
    pub fn forget(&mut self, host: &str) {
        self.hosts.remove(host);
    }

    /// The observation of `host`.
    pub fn get(&self, host: &str) -> Option<&Observation> {
        self.hosts.get(host)
    }

    /// Number of hosts observed.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// True when nothing was observed.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}
