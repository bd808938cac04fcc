//! What the controller counts for `/metrics`: how long each reconcile took
//! and how many moves each kind of actor started, plus a summary of how old
//! the agents' heartbeats are. Atomics behind an `Arc`: the runner writes,
//! the API reads, nobody waits.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::farm::{Event, EventKind, Farm, Millis, millis};
use crate::observed::Observed;
use crate::policy::Policy;
use crate::reconcile::{FAILURE_DETECTOR, RECONCILER};
use crate::wanted::DEFAULT_WANT;

/// Upper bounds, in seconds, of the reconcile-duration histogram's buckets
/// (a final `+Inf` bucket is implied).
pub const TICK_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Who started a move, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    /// A schedule window of the policy.
    Schedule,
    /// A load rule of the policy.
    Autoscale,
    /// An operator, through the API.
    Operator,
    /// The reconciler on its own (a role below its `min`).
    Reconciler,
    /// The failure detector.
    FailureDetector,
}

impl ActorKind {
    /// Every kind, in the order [`ControllerCounts::moves`] uses.
    pub const ALL: [Self; 5] = [
        Self::Schedule,
        Self::Autoscale,
        Self::Operator,
        Self::Reconciler,
        Self::FailureDetector,
    ];

    /// The label (`failure-detector`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Autoscale => "autoscale",
            Self::Operator => "operator",
            Self::Reconciler => "reconciler",
            Self::FailureDetector => "failure-detector",
        }
    }

    /// The kind of an event's `actor`: the failure detector and the
    /// reconciler by their names, a load rule or a schedule by its name in
    /// `policy` (the wanted counts outside any window count as a schedule's);
    /// anyone else is an operator (the name of an operator token).
    pub fn of(actor: &str, policy: &Policy) -> Self {
        if actor == FAILURE_DETECTOR {
            Self::FailureDetector
        } else if actor == RECONCILER {
            Self::Reconciler
        } else if policy.autoscale.iter().any(|r| r.name == actor) {
            Self::Autoscale
        } else if actor == DEFAULT_WANT || policy.schedules.iter().any(|s| s.name == actor) {
            Self::Schedule
        } else {
            Self::Operator
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Per bucket of [`TICK_BUCKETS`], then `+Inf`; not cumulative.
    tick_buckets: [AtomicU64; TICK_BUCKETS.len() + 1],
    tick_micros_sum: AtomicU64,
    tick_micros_last: AtomicU64,
    moves: [AtomicU64; ActorKind::ALL.len()],
    /// The policy's load time and the last reload; a short lock, never
    /// held across an await.
    policy: std::sync::Mutex<PolicyStatus>,
}

/// When the policy in force was loaded, and how the last reload went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyStatus {
    /// When the policy in force was put in force (ms since the epoch).
    pub loaded_at: Millis,
    /// The latest reload attempted (SIGHUP or the API), if any.
    pub last_reload: Option<ReloadOutcome>,
    /// Reloads put in force since start.
    pub accepted: u64,
    /// Reloads rejected since start.
    pub rejected: u64,
}

/// How one reload went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReloadOutcome {
    /// When (ms since the epoch).
    pub at: Millis,
    /// Who asked: an operator token's name, or `sighup`.
    pub actor: String,
    /// Put in force (`false`: rejected, the policy in force stayed).
    pub accepted: bool,
    /// What happened, for people (the problems when rejected).
    pub message: String,
}

/// The controller's counters: cheap to clone, written by the runner,
/// read by `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct ControllerStats {
    inner: Arc<Inner>,
}

/// The reconcile-duration histogram as Prometheus wants it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TickHistogram {
    /// `(upper bound in seconds, ticks that took at most that)`, cumulative,
    /// one per [`TICK_BUCKETS`]; `count` is the `+Inf` bucket.
    pub buckets: Vec<(f64, u64)>,
    /// Seconds spent in all ticks.
    pub sum_seconds: f64,
    /// Ticks measured.
    pub count: u64,
    /// Seconds the latest tick took.
    pub last_seconds: f64,
}

/// The counters at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ControllerCounts {
    /// How long reconciles took.
    pub ticks: TickHistogram,
    /// Moves started, by [`ActorKind::ALL`] index.
    pub moves: [u64; ActorKind::ALL.len()],
}

impl ControllerCounts {
    /// Moves started per kind of actor, labelled.
    pub fn moves_by_actor(&self) -> impl Iterator<Item = (ActorKind, u64)> + '_ {
        ActorKind::ALL.into_iter().zip(self.moves)
    }
}

impl ControllerStats {
    /// Records one reconcile that took `took`.
    pub fn record_tick(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = TICK_BUCKETS
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(TICK_BUCKETS.len());
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let inner = &self.inner;
        inner.tick_buckets[bucket].fetch_add(1, Relaxed);
        inner.tick_micros_sum.fetch_add(micros, Relaxed);
        inner.tick_micros_last.store(micros, Relaxed);
    }

    /// Runs `tick` and records how long it took.
    pub async fn time<T>(&self, tick: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let result = tick.await;
        self.record_tick(started.elapsed());
        result
    }

    /// Counts one move started by `kind`.
    pub fn record_move(&self, kind: ActorKind) {
        self.inner.moves[kind as usize].fetch_add(1, Relaxed);
    }

    /// Counts the moves a tick started among its `events`, each by the kind
    /// of its actor.
    pub fn record_events(&self, events: &[Event], policy: &Policy) {
        for event in events.iter().filter(|e| e.kind.starts_move()) {
            self.record_move(ActorKind::of(&event.actor, policy));
        }
    }

    /// Counts the moves among the `events` of one operator request: there a
    /// `move` is a move made at once (`now=true`, no drain), so it counts too.
    pub fn record_operator_events(&self, events: &[Event], policy: &Policy) {
        for event in events
            .iter()
            .filter(|e| e.kind.starts_move() || e.kind == EventKind::Move)
        {
            self.record_move(ActorKind::of(&event.actor, policy));
        }
    }

    /// Records that the policy in force was loaded at `at` (start).
    pub fn record_policy_loaded(&self, at: Millis) {
        self.policy_lock().loaded_at = at;
    }

    /// Records a reload attempt; an accepted one is the new load time.
    pub fn record_reload(&self, outcome: ReloadOutcome) {
        let mut status = self.policy_lock();
        if outcome.accepted {
            status.loaded_at = outcome.at;
            status.accepted += 1;
        } else {
            status.rejected += 1;
        }
        status.last_reload = Some(outcome);
    }

    /// The policy's load time and last reload.
    pub fn policy_status(&self) -> PolicyStatus {
        self.policy_lock().clone()
    }

    fn policy_lock(&self) -> std::sync::MutexGuard<'_, PolicyStatus> {
        self.inner
            .policy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The counters now.
    pub fn counts(&self) -> ControllerCounts {
        let inner = &self.inner;
        let mut cumulative = 0;
        let buckets = TICK_BUCKETS
            .iter()
            .zip(&inner.tick_buckets)
            .map(|(&le, n)| {
                cumulative += n.load(Relaxed);
                (le, cumulative)
            })
            .collect();
        let count = cumulative + inner.tick_buckets[TICK_BUCKETS.len()].load(Relaxed);
        ControllerCounts {
            ticks: TickHistogram {
                buckets,
                sum_seconds: micros_to_seconds(inner.tick_micros_sum.load(Relaxed)),
                count,
                last_seconds: micros_to_seconds(inner.tick_micros_last.load(Relaxed)),
            },
            moves: std::array::from_fn(|i| inner.moves[i].load(Relaxed)),
        }
    }
}

fn micros_to_seconds(micros: u64) -> f64 {
    Duration::from_micros(micros).as_secs_f64()
}

/// How old the agents' heartbeats are, without one number per host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeartbeatAges {
    /// Ages in milliseconds of the live agent hosts (not static, not
    /// declared dead), sorted ascending.
    pub live: Vec<Millis>,
    /// Agent hosts, dead ones included, silent for longer than `dead_after`.
    pub stale: usize,
}

impl HeartbeatAges {
    /// The age in seconds at quantile `q` (0 to 1) of the live hosts
    /// (nearest rank); 0 with none.
    pub fn quantile(&self, q: f64) -> f64 {
        let Some(last) = self.live.len().checked_sub(1) else {
            return 0.0;
        };
        let rank = (q.clamp(0.0, 1.0) * last as f64).round() as usize;
        millis_to_seconds(self.live[rank.min(last)])
    }

    /// The oldest live heartbeat, in seconds.
    pub fn max(&self) -> f64 {
        self.live.last().map_or(0.0, |&age| millis_to_seconds(age))
    }

    /// The sum of the live ages, in seconds.
    pub fn sum(&self) -> f64 {
        millis_to_seconds(self.live.iter().sum())
    }
}

fn millis_to_seconds(millis: Millis) -> f64 {
    millis as f64 / 1000.0
}

/// The heartbeat ages of `farm`'s agent hosts as of `now`. Hosts never
/// heard from (no observation) are left out.
pub fn heartbeat_ages(farm: &Farm, observed: &Observed, now: Millis, dead_after: Duration) -> HeartbeatAges {
    let dead_after = millis(dead_after);
    let mut ages = HeartbeatAges::default();
    for host in farm.hosts.values().filter(|h| !h.is_static) {
        let Some(seen) = observed.get(&host.name) else {
            continue;
        };
        let age = now.saturating_sub(seen.last_heartbeat).max(0);
        if age > dead_after {
            ages.stale += 1;
        }
        if !host.dead {
            ages.live.push(age);
        }
    }
    ages.live.sort_unstable();
    ages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::farm::HostRecord;

    fn event(kind: &str, actor: &str) -> Event {
        Event {
            at: 0,
            kind: EventKind::parse(kind).expect("a kind"),
            host: Some("smurf1".to_owned()),
            from_role: None,
            to_role: None,
            actor: actor.to_owned(),
            reason: String::new(),
            serial: None,
        }
    }

    fn policy() -> Policy {
        crate::policy::load_str(
            std::path::Path::new("test.yaml"),
            r#"
zone: lists.example.test
nameservers: [ns1.lists.example.test]
roles:
  smtp-out: { min: 1, records: [ { name: smtp-out, type: A } ] }
schedules:
  - { name: nightly, cron: "0 22 * * *", for: 8h, want: { smtp-out: 2 } }
autoscale:
  - { role: smtp-out, metric: queue_depth, target_per_host: 100 }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
"#,
        )
        .expect("test policy")
    }

    #[test]
    fn actors_are_sorted_into_kinds() {
        let p = policy();
        assert_eq!(ActorKind::of("failure-detector", &p), ActorKind::FailureDetector);
        assert_eq!(ActorKind::of("reconciler", &p), ActorKind::Reconciler);
        assert_eq!(ActorKind::of("nightly", &p), ActorKind::Schedule);
        assert_eq!(ActorKind::of("autoscale-smtp-out", &p), ActorKind::Autoscale);
        assert_eq!(ActorKind::of("default-want", &p), ActorKind::Schedule);
        assert_eq!(ActorKind::of("alice", &p), ActorKind::Operator);
    }

    #[test]
    fn only_move_starts_are_counted() {
        let stats = ControllerStats::default();
        let p = policy();
        stats.record_events(
            &[
                event("drain-start", "nightly"),
                event("move", "nightly"),
                event("assign", "reconciler"),
                event("death", "failure-detector"),
                event("publish", "reconciler"),
                event("drain-start", "failure-detector"),
            ],
            &p,
        );
        stats.record_move(ActorKind::Operator);
        stats.record_operator_events(&[event("move", "alice"), event("cordon", "alice")], &p);
        let counts = stats.counts();
        let moves: Vec<_> = counts.moves_by_actor().filter(|(_, n)| *n > 0).collect();
        assert_eq!(
            moves,
            [
                (ActorKind::Schedule, 1),
                (ActorKind::Operator, 2),
                (ActorKind::Reconciler, 1),
                (ActorKind::FailureDetector, 1)
            ]
        );
    }

    #[test]
    fn ticks_fill_a_cumulative_histogram() {
        let stats = ControllerStats::default();
        stats.record_tick(Duration::from_micros(200));
        stats.record_tick(Duration::from_millis(7));
        stats.record_tick(Duration::from_secs(3));
        let h = stats.counts().ticks;
        assert_eq!(h.count, 3);
        assert_eq!(h.buckets[0], (0.001, 1));
        assert_eq!(h.buckets[3], (0.01, 2));
        assert_eq!(h.buckets.last(), Some(&(1.0, 2)));
        assert!((h.sum_seconds - 3.0072).abs() < 1e-9);
        assert!((h.last_seconds - 3.0).abs() < 1e-9);
    }

    #[tokio::test]
    async fn time_records_the_future() {
        let stats = ControllerStats::default();
        let got = stats.time(async { 7 }).await;
        assert_eq!(got, 7);
        assert_eq!(stats.counts().ticks.count, 1);
    }

    fn host(name: &str, is_static: bool, dead: bool) -> HostRecord {
        HostRecord {
            is_static,
            dead,
            ..HostRecord::new(name, Vec::new())
        }
    }

    #[test]
    fn heartbeat_ages_summarise_live_agents() {
        let mut farm = Farm::default();
        for h in [
            host("a", false, false),
            host("b", false, false),
            host("c", false, true),
            host("ns1", true, false),
            host("never", false, false),
        ] {
            farm.hosts.insert(h.name.clone(), h);
        }
        let mut observed = Observed::default();
        let report = crate::observed::Report::default();
        observed.record("a", report.clone(), 9_500, 3_000);
        observed.record("b", report.clone(), 6_000, 3_000);
        observed.record("c", report.clone(), 1_000, 3_000);
        observed.record("ns1", report, 0, 3_000);
        let ages = heartbeat_ages(&farm, &observed, 10_000, Duration::from_secs(3));
        assert_eq!(ages.live, [500, 4_000]);
        assert_eq!(ages.stale, 2);
        assert!((ages.max() - 4.0).abs() < 1e-9);
        assert!((ages.quantile(0.0) - 0.5).abs() < 1e-9);
        assert!((ages.sum() - 4.5).abs() < 1e-9);
        assert!(HeartbeatAges::default().quantile(0.5).abs() < 1e-9);
    }
}
