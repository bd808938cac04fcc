//! Load rules through the real decision and reconciler: a pool grows from
//! its lenders in order, never takes one below its min, shrinks only after
//! the stabilization window, and never flaps on a noisy metric.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use muster_controller::autoscale::{self, Load, RuleState};
use muster_controller::farm::{Assignment, Event, Farm, HostRecord, Millis};
use muster_controller::observed::{Observed, Report};
use muster_controller::policy::{Aggregate, Autoscale, Policy, load_str};
use muster_controller::reconcile::{apply, membership, plan};
use muster_controller::wanted::{Decision, decide};
use proptest::prelude::*;

const POLICY: &str = "
zone: lists.example.test
heartbeat: { interval: 1s, dead_after: 1h }
limits: { moves_per_tick: 10, moves_per_role: 10, host_cooldown: 0s }
roles:
  smtp-out: { min: 2, records: [ { name: smtp-out, type: MX, priority: 10 } ] }
  smtp-in:  { min: 1, records: [ { name: \"@\", type: MX, priority: 10 } ] }
  web:      { min: 1, records: [ { name: www, type: A } ] }
  bounce:   { min: 1, records: [ { name: bounces, type: MX, priority: 10 } ] }
default_want: { smtp-out: 2, smtp-in: 1, web: 3, bounce: 3 }
autoscale:
  - role: smtp-out
    metric: queue_depth
    target_per_host: 1000
    borrow_from: [bounce, web]
    step: 2
    cooldown: 0s
    stabilization: 5m
";

/// Nine hosts in their default roles, a clock, and the controller's loop.
struct World {
    policy: Policy,
    farm: Farm,
    observed: Observed,
    decision: Decision,
    now: Millis,
    events: Vec<Event>,
}

impl World {
    fn new() -> World {
        let roles = [
            "smtp-out", "smtp-out", "smtp-in", "web", "web", "web", "bounce", "bounce", "bounce",
        ];
        let hosts: Vec<(String, Option<&str>, &str)> = roles
            .iter()
            .enumerate()
            .map(|(i, role)| (format!("smurf{}", i + 1), Some(*role), ""))
            .collect();
        World::with(POLICY, &hosts)
    }

    /// `hosts`: name, role, labels as `k=v,k=v`.
    fn with(policy: &str, hosts: &[(String, Option<&str>, &str)]) -> World {
        let policy = load_str(Path::new("t.yaml"), policy).unwrap_or_else(|e| panic!("{e}"));
        let mut farm = Farm::default();
        for (i, (name, role, labels)) in hosts.iter().enumerate() {
            let labels: BTreeMap<String, String> = labels
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            farm.hosts.insert(
                name.clone(),
                HostRecord {
                    name: name.clone(),
                    addresses: vec![format!("192.0.2.{}", i + 1).parse().expect("address")],
                    eligible: Vec::new(),
                    labels,
                    is_static: false,
                    pinned: false,
                    cordoned: false,
                    dead: false,
                    token_hash: None,
                },
            );
            farm.assignments
                .insert(name.clone(), Assignment::active(role.map(str::to_owned), 0));
        }
        World {
            policy,
            farm,
            observed: Observed::default(),
            decision: Decision::default(),
            now: 1_000_000,
            events: Vec::new(),
        }
    }

    /// One reconcile with `backlog` messages spread over the smtp-out pool.
    fn tick(&mut self, backlog: f64) {
        let pool = membership(&self.policy, &self.farm, &self.observed)
            .get("smtp-out")
            .cloned()
            .unwrap_or_default();
        for name in self.farm.hosts.keys() {
            // Agents hold the role they were given.
            let mut report = Report {
                role: self.farm.assignments.get(name).and_then(|a| a.role.clone()),
                ..Report::default()
            };
            if pool.contains(name) {
                report
                    .metrics
                    .insert("queue_depth".to_owned(), backlog / pool.len() as f64);
            }
            self.observed.record(name, report, self.now, 3_600_000);
        }
        self.decision = decide(
            &self.policy,
            &self.farm,
            &self.observed,
            &self.decision.autoscale,
            self.now,
        );
        let steps = plan(
            &self.policy,
            &self.farm,
            &self.observed,
            &self.decision.wanted,
            self.now,
        );
        for step in &steps {
            self.events.push(apply(&mut self.farm, step, self.now));
        }
        // Rule 2: no pool ever below its min.
        let published = membership(&self.policy, &self.farm, &self.observed);
        for (role, spec) in &self.policy.roles {
            let n = published.get(role).map_or(0, Vec::len);
            assert!(
                n >= spec.min as usize,
                "{role} has {n} < min {} at {}",
                spec.min,
                self.now
            );
        }
        self.now += 10_000;
    }

    fn published(&self, role: &str) -> usize {
        membership(&self.policy, &self.farm, &self.observed)
            .get(role)
            .map_or(0, Vec::len)
    }

    fn run(&mut self, seconds: i64, backlog: f64) {
        for _ in 0..seconds / 10 {
            self.tick(backlog);
        }
    }
}

#[test]
fn rising_load_borrows_in_order_and_falling_load_gives_back_after_the_window() {
    let mut w = World::new();
    w.run(60, 0.0);
    assert_eq!(w.published("smtp-out"), 2);
    assert!(w.events.iter().all(|e| e.kind != "drain-start"), "{:?}", w.events);

    // 6,000 messages at 1,000 per host: smtp-out wants 6, two per step.
    w.run(180, 6000.0);
    assert_eq!(w.published("smtp-out"), 6, "{:#?}", w.decision.wanted);
    assert_eq!(
        (w.published("bounce"), w.published("web")),
        (1, 1),
        "lenders down to their min"
    );
    assert_eq!(w.published("smtp-in"), 1, "not a lender: untouched");
    // Bounce lent first, web only once bounce was at its min.
    let lenders: Vec<&str> = w
        .events
        .iter()
        .filter(|e| e.kind == "drain-start")
        .filter_map(|e| e.from_role.as_deref())
        .collect();
    assert_eq!(lenders, ["bounce", "bounce", "web", "web"], "{:#?}", w.events);
    let cause = w.decision.wanted.cause("smtp-out").expect("a cause");
    assert_eq!(cause.actor, "autoscale-smtp-out");
    assert!(
        cause.reason.contains("borrowed 2 from bounce, 2 from web"),
        "{}",
        cause.reason
    );
    let actors: Vec<&str> = w
        .events
        .iter()
        .filter(|e| e.kind == "drain-start")
        .map(|e| e.actor.as_str())
        .collect();
    assert!(actors.iter().all(|a| *a == "autoscale-smtp-out"), "{actors:?}");

    // The load is gone: nothing moves for the 5-minute window…
    let before = w.events.len();
    w.run(290, 0.0);
    assert_eq!(w.published("smtp-out"), 6);
    assert_eq!(w.events.len(), before, "{:#?}", &w.events[before..]);
    // …then the hosts go back where the default wants them.
    w.run(120, 0.0);
    assert_eq!(w.published("smtp-out"), 2);
    assert_eq!((w.published("bounce"), w.published("web")), (3, 3));
}

#[test]
fn a_lender_at_its_min_lends_nothing() {
    let mut w = World::new();
    // Far more load than the farm can carry: only what the lenders can
    // spare above their mins moves.
    w.run(400, 1e9);
    assert_eq!(w.published("smtp-out"), 6);
    assert_eq!(
        (w.published("bounce"), w.published("web"), w.published("smtp-in")),
        (1, 1, 1)
    );
    let cause = w.decision.wanted.cause("smtp-out").expect("a cause");
    assert!(cause.reason.contains("more to be had"), "{}", cause.reason);
}

#[test]
fn a_growing_role_takes_labelled_hosts_unassigned_first_then_spares_then_the_least_loaded() {
    let policy = "
zone: lists.example.test
heartbeat: { interval: 1s, dead_after: 1h }
limits: { moves_per_tick: 10, moves_per_role: 10, host_cooldown: 0s }
roles:
  smtp-out: { min: 0, labels: { disk: ssd }, records: [ { name: smtp-out, type: MX, priority: 10 } ] }
  web:      { min: 0, records: [ { name: www, type: A } ] }
  spare:    { min: 0 }
default_want: { smtp-out: 0, web: 0, spare: 0 }
";
    let hosts: Vec<(String, Option<&str>, &str)> = vec![
        ("a-web".into(), Some("web"), "disk=ssd"),
        ("b-spare".into(), Some("spare"), "disk=ssd"),
        ("c-none".into(), None, "disk=ssd"),
        ("d-hdd".into(), None, "disk=hdd"),
        ("e-spare-hdd".into(), Some("spare"), ""),
    ];
    let mut w = World::with(policy, &hosts);
    let mut order = Vec::new();
    for n in 1..=4 {
        let names: Vec<String> = w.farm.hosts.keys().cloned().collect();
        for name in names {
            let report = Report {
                role: w.farm.assignments.get(&name).and_then(|a| a.role.clone()),
                ..Report::default()
            };
            w.observed.record(&name, report, w.now, 3_600_000);
        }
        w.decision.wanted.insert("smtp-out".into(), n);
        let steps = plan(&w.policy, &w.farm, &w.observed, &w.decision.wanted, w.now);
        for step in &steps {
            let event = apply(&mut w.farm, step, w.now);
            if matches!(event.kind.as_str(), "assign" | "drain-start") {
                order.extend(event.host.clone());
            }
        }
        w.now += 60_000;
    }
    // The hdd hosts never: smtp-out wants disk=ssd; three ssd hosts exist.
    assert_eq!(
        order,
        ["c-none", "b-spare", "a-web"],
        "unassigned, spare, then serving"
    );
}

fn rule() -> Autoscale {
    Autoscale {
        name: "autoscale-smtp-out".into(),
        role: "smtp-out".into(),
        metric: "queue_depth".into(),
        aggregate: Aggregate::Sum,
        target_per_host: 1000.0,
        min: 2,
        max: Some(20),
        borrow_from: vec![],
        give_back_to: None,
        step: 2,
        cooldown: Duration::from_secs(30),
        stabilization: Duration::from_secs(300),
    }
}

proptest! {
    /// Whatever the noise, the count never goes down within the
    /// stabilization window after going up, changes at most once per
    /// cooldown, and stays within bounds.
    #[test]
    fn a_noisy_metric_never_makes_the_pool_flap(
        base in 0.0f64..20_000.0,
        noise in proptest::collection::vec(-0.5f64..0.5, 50..400),
        spacing_s in 1i64..60,
    ) {
        let r = rule();
        let mut state: Option<RuleState> = None;
        let mut last_up: Option<Millis> = None;
        let mut last_change: Option<Millis> = None;
        for (i, n) in noise.iter().enumerate() {
            let now = i64::try_from(i).expect("small") * spacing_s * 1000;
            let members = state.as_ref().map_or(2, |s| s.count);
            let load = Load { total: (base * (1.0 + n)).max(0.0), reporting: members, members };
            let next = autoscale::step(&r, state.as_ref(), load, now);
            let before = state.as_ref().map(|s| s.count);
            prop_assert!(next.count >= r.min && next.count <= 20);
            if let Some(before) = before && before != next.count {
                if let Some(t) = last_change {
                    prop_assert!(now - t >= 30_000, "two changes within the cooldown at {now}");
                }
                if next.count < before {
                    if let Some(up) = last_up {
                        prop_assert!(now - up >= 300_000, "down at {now}, {} ms after going up", now - up);
                    }
                } else {
                    prop_assert!(next.count - before <= r.step, "more than a step at {now}");
                    last_up = Some(now);
                }
                last_change = Some(now);
            }
            state = Some(next);
        }
    }
}
