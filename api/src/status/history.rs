//! Pool sizes over the last hour, for the status page's chart.
//!
//! A sampler task looks at the controller's view twice a second and records
//! the number of published hosts per role into a bounded ring: whenever the
//! sizes change (so a change shows at once) and at least every `every`
//! otherwise. Samples older than the window are dropped, except the newest of
//! them, which gives each line its value at the window's left edge.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use muster_controller::farm::{Millis, millis};
use muster_controller::runner::{ControllerHandle, ControllerView, now_millis};
use tokio_util::sync::CancellationToken;

/// How far back the chart looks.
pub(crate) const WINDOW: Duration = Duration::from_secs(3600);

/// How often a sample is recorded when nothing changes.
pub(crate) const EVERY: Duration = Duration::from_secs(10);

/// How often the sampler looks for a change.
const POLL: Duration = Duration::from_millis(500);

/// The most samples kept, whatever the window: a farm whose sizes change at
/// every look still costs bounded memory (an hour of changes every 500 ms
/// fits).
const MAX_SAMPLES: usize = 8192;

/// Published hosts per role at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// When (ms since the epoch).
    pub at: Millis,
    /// Published hosts by role.
    pub sizes: BTreeMap<String, u32>,
}

/// Pool sizes over the last hour (by default): shared by the sampler (writer) and
/// the status page (reader). Cloning shares the same ring.
#[derive(Clone, Debug)]
pub struct History {
    ring: Arc<Mutex<VecDeque<Sample>>>,
    every: Duration,
    window: Duration,
}

impl Default for History {
    fn default() -> Self {
        Self::new(EVERY, WINDOW)
    }
}

impl History {
    /// An empty history recording at least every `every` and keeping `window`.
    pub fn new(every: Duration, window: Duration) -> Self {
        Self {
            ring: Arc::default(),
            every: every.max(Duration::from_millis(1)),
            window,
        }
    }

    /// How often a sample is recorded when nothing changes.
    pub fn every(&self) -> Duration {
        self.every
    }

    /// How far back the history goes.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Records `sizes` at `at` when they differ from the last sample or when
    /// `every` has passed since it; drops what fell out of the window.
    /// Returns whether a sample was recorded.
    pub fn observe(&self, at: Millis, sizes: BTreeMap<String, u32>) -> bool {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let due = match ring.back() {
            None => true,
            Some(last) => last.sizes != sizes || at.saturating_sub(last.at) >= millis(self.every),
        };
        if due {
            ring.push_back(Sample { at, sizes });
        }
        let start = at.saturating_sub(millis(self.window));
        // Keep one sample at or before the window's start: the value there.
        while ring.len() > 1 && ring.get(1).is_some_and(|s| s.at <= start) {
            ring.pop_front();
        }
        while ring.len() > MAX_SAMPLES {
            ring.pop_front();
        }
        due
    }

    /// A copy of the samples, oldest first.
    pub fn samples(&self) -> Vec<Sample> {
        self.ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// Published hosts per role of the policy in force (roles without hosts
/// count 0).
pub(crate) fn pool_sizes(view: &ControllerView) -> BTreeMap<String, u32> {
    view.policy
        .roles
        .keys()
        .map(|role| {
            let n = view.membership.get(role).map_or(0, Vec::len);
            (role.clone(), u32::try_from(n).unwrap_or(u32::MAX))
        })
        .collect()
}

/// Starts the sampler: records the controller's pool sizes into `history`
/// until `cancel` fires.
pub(crate) fn spawn_sampler(
    history: History,
    controller: ControllerHandle,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL.min(history.every()));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = tick.tick() => {
                    history.observe(now_millis(), pool_sizes(&controller.view()));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
        pairs.iter().map(|(r, n)| ((*r).to_owned(), *n)).collect()
    }

    #[test]
    fn records_changes_at_once_and_otherwise_every_interval() {
        let h = History::new(Duration::from_secs(10), WINDOW);
        assert!(h.observe(0, sizes(&[("web", 1)])));
        assert!(!h.observe(500, sizes(&[("web", 1)])), "unchanged and not due");
        assert!(
            h.observe(1_000, sizes(&[("web", 2)])),
            "a change is recorded at once"
        );
        assert!(!h.observe(10_999, sizes(&[("web", 2)])));
        assert!(h.observe(11_000, sizes(&[("web", 2)])), "due after `every`");
        let at: Vec<Millis> = h.samples().iter().map(|s| s.at).collect();
        assert_eq!(at, [0, 1_000, 11_000]);
    }

    #[test]
    fn keeps_the_window_plus_the_value_at_its_start() {
        let h = History::new(Duration::from_secs(10), Duration::from_secs(60));
        for i in 0..20 {
            h.observe(i * 10_000, sizes(&[("web", u32::try_from(i % 3).unwrap_or(0))]));
        }
        let samples = h.samples();
        // now = 190 s; the window starts at 130 s: the sample at 130 s is
        // the value at the left edge, nothing older is needed.
        assert_eq!(samples.first().map(|s| s.at), Some(130_000));
        assert_eq!(samples.last().map(|s| s.at), Some(190_000));
        assert_eq!(samples.len(), 7);
    }

    #[test]
    fn is_bounded_even_when_sizes_change_at_every_look() {
        let h = History::new(Duration::from_secs(10), Duration::from_secs(1_000_000));
        for i in 0..(MAX_SAMPLES as i64 + 100) {
            h.observe(i, sizes(&[("web", u32::try_from(i % 2).unwrap_or(0))]));
        }
        assert_eq!(h.samples().len(), MAX_SAMPLES);
    }
}
