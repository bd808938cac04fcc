//! After the first reconcile of a preview: the reconciles that follow,
//! until every role has the count wanted at the moment previewed.
//!
//! The counts stay those of the moment (no window opens or closes, no load
//! rule changes its mind), agents keep reporting what they report now (a
//! host with no report is an idle agent with an empty queue) and take each
//! new role as soon as it is given (their hooks succeed), and
//! the clock moves from one reconcile to the next as the controller's does
//! (twice per heartbeat interval), skipping ahead while nothing can change:
//! to the next drain whose TTL or timeout passes, or the next host cooldown
//! that ends. Every rule of the policy applies: limits, cooldowns, drains.

use crate::farm::{Event, EventKind, Farm, Millis, Phase, millis};
use crate::observed::{Observed, Report};
use crate::policy::Policy;
use crate::reconcile::{self, move_cooldown, records_ttl};
use crate::wanted::Wanted;

/// The reconciles after the first, until the farm settles.
#[derive(Clone, Debug, PartialEq)]
pub struct Settling {
    /// Every step they take, as the events they would log, each at the
    /// time it would be taken.
    pub events: Vec<Event>,
    /// How it ends.
    pub outcome: Outcome,
}

/// How the reconciles after a preview end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every role has its count from `at` on.
    Settled {
        /// When the last step was taken.
        at: Millis,
    },
    /// Nothing more can move at `at`, and these roles stay short of their
    /// counts: (role, live members, count wanted).
    Short {
        /// When the last step was taken.
        at: Millis,
        /// The roles short of their count.
        roles: Vec<(String, u32, u32)>,
    },
    /// Not settled when looking stopped: after `moves` moves, or a day.
    Unfinished {
        /// The time reached.
        at: Millis,
    },
    /// Fail-static is in force: automation moves nothing until the silent
    /// hosts are heard from.
    Frozen,
}

/// At most this many moves are followed.
pub const MOVES_FOLLOWED: usize = 500;

/// At most this long after the moment previewed is followed.
const HORIZON: Millis = 24 * 3_600_000;

/// Follows the reconciles after the first one, which left `farm` at
/// `from`, until every role has its `wanted` count; `reports` as in
/// [`super::preview()`].
pub fn settle<'r>(
    policy: &Policy,
    mut farm: Farm,
    reports: impl Fn(&str) -> Option<&'r Report>,
    wanted: &Wanted,
    from: Millis,
) -> Settling {
    if farm.panic {
        return Settling {
            events: Vec::new(),
            outcome: Outcome::Frozen,
        };
    }
    let tick = millis(policy.heartbeat.tick());
    let until = from + HORIZON;
    // A host reports once, and again when its role changes.
    let policy = &super::never_silent(policy, 2 * HORIZON);
    let dead_after = millis(policy.heartbeat.dead_after);
    // A host without a report is an idle agent: its queue is empty, so its
    // drains end when their TTL passes.
    let report = |farm: &Farm, host: &str| -> Report {
        let mut report = reports(host).cloned().unwrap_or_else(|| Report {
            metrics: [("queue_depth".to_owned(), 0.0)].into(),
            ..Report::default()
        });
        report.role = farm.assignments.get(host).and_then(|a| a.role.clone());
        report
    };
    let mut observed = Observed::default();
    for host in farm.hosts.values().filter(|h| !h.is_static && !h.dead) {
        observed.record(&host.name, report(&farm, &host.name), from, dead_after);
    }

    let mut events: Vec<Event> = Vec::new();
    let mut moves = 0;
    let mut at = from + tick;
    while at <= until && moves < MOVES_FOLLOWED {
        let steps = reconcile::plan(policy, &farm, &observed, wanted, at);
        if !steps.is_empty() {
            for step in &steps {
                let event = reconcile::apply(&mut farm, step, at);
                if event.kind.starts_move() {
                    moves += 1;
                }
                if let Some(host) = &event.host
                    && farm.hosts.get(host).is_some_and(|h| !h.is_static && !h.dead)
                {
                    observed.record(host, report(&farm, host), at, dead_after);
                }
                // An arrival is not a move: the preview's agents switch at once.
                if event.kind != EventKind::Arrive {
                    events.push(event);
                }
            }
            super::arrive_at_once(policy, &mut farm, &observed, wanted, at);
            at += tick;
            continue;
        }
        let last = events.last().map_or(from, |e| e.at);
        let draining = farm.assignments.values().any(|a| a.is_draining());
        let short = short_roles(policy, &farm, wanted);
        if !draining && short.is_empty() {
            return Settling {
                events,
                outcome: Outcome::Settled { at: last },
            };
        }
        match next_change(policy, &farm, at) {
            // On the controller's clock: a whole number of ticks on.
            Some(next) => at += (next - at + tick - 1) / tick * tick,
            None => {
                let outcome = if short.is_empty() {
                    Outcome::Settled { at: last }
                } else {
                    Outcome::Short {
                        at: last,
                        roles: short,
                    }
                };
                return Settling { events, outcome };
            }
        }
    }
    Settling {
        events,
        outcome: Outcome::Unfinished { at: at.min(until) },
    }
}

/// The roles below their count: (role, live active members, count).
fn short_roles(policy: &Policy, farm: &Farm, wanted: &Wanted) -> Vec<(String, u32, u32)> {
    policy
        .roles
        .iter()
        .filter_map(|(name, role)| {
            let target = wanted.get(name).copied().unwrap_or(0).max(role.min);
            let members = farm
                .with_assignments()
                .filter(|(h, a)| {
                    !h.dead && !h.cordoned && a.phase == Phase::Active && a.role.as_ref() == Some(name)
                })
                .count();
            let members = u32::try_from(members).unwrap_or(u32::MAX);
            (members < target).then(|| (name.clone(), members, target))
        })
        .collect()
}

/// The first time after `now` at which a plan may find something new: a
/// drain's TTL or timeout passing, or a host's cooldown ending.
fn next_change(policy: &Policy, farm: &Farm, now: Millis) -> Option<Millis> {
    let cooldown = move_cooldown(policy);
    farm.assignments
        .values()
        .flat_map(|a| {
            let drain = match (&a.phase, a.role.as_ref().and_then(|r| policy.roles.get(r))) {
                (Phase::Draining { started, .. }, Some(role)) => [
                    Some(started + records_ttl(policy, role)),
                    Some(started + millis(role.drain.timeout)),
                ],
                _ => [None, None],
            };
            let cooled = a.last_moved.map(|t| t + cooldown);
            drain.into_iter().chain([cooled]).flatten()
        })
        .filter(|&t| t > now)
        .min()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::autoscale::AutoscaleState;
    use crate::observed::Observed;
    use crate::policy::load_str;
    use crate::simulate::{inventory_farm, preview};

    /// Two roles; `web` may give hosts to `smtp-out` one at a time.
    fn policy(want: &str, extra_hosts: &str) -> Policy {
        let text = format!(
            r#"
zone: lists.example.test
ttl: 30
nameservers: [ns1.lists.example.test]
limits: {{ moves_per_tick: 2, moves_per_role: 1, host_cooldown: 5m }}
roles:
  smtp-out: {{ min: 1, records: [ {{ name: smtp-out, type: A }} ], drain: {{ until: queue_empty, timeout: 10m }} }}
  web: {{ min: 1, records: [ {{ name: www, type: A }} ], labels: {{ tier: front }} }}
default_want: {want}
hosts:
  - {{ name: ns1, address: 192.0.2.1, static: true }}
  - {{ name: a1, address: 192.0.2.11, role: smtp-out }}
  - {{ name: a2, address: 192.0.2.12, role: web, labels: {{ tier: front }} }}
  - {{ name: a3, address: 192.0.2.13, role: web, labels: {{ tier: front }} }}
  - {{ name: a4, address: 192.0.2.14, role: web, labels: {{ tier: front }} }}
{extra_hosts}"#
        );
        load_str(Path::new("p.yaml"), &text).unwrap_or_else(|e| panic!("{e}"))
    }

    const NOW: Millis = 1_800_000_000_000;

    fn starts(events: &[Event]) -> Vec<(Millis, &str)> {
        events
            .iter()
            .filter(|e| e.kind == EventKind::DrainStart)
            .map(|e| (e.at - NOW, e.host.as_deref().unwrap_or("")))
            .collect()
    }

    #[test]
    fn one_role_gives_one_host_at_a_time_until_the_counts_are_reached() {
        let p = policy("{ smtp-out: 4, web: rest }", "");
        let farm = inventory_farm(&p, NOW);
        let preview = preview(&p, &farm, |_| None, &AutoscaleState::new(), NOW);
        assert_eq!(starts(&preview.events), [(0, "a2")]);
        // web gives one host at a time: each next drain starts on the tick
        // after the one before ends (TTL 30 s, queues empty), and a4 stays
        // for web's min.
        assert_eq!(starts(&preview.then.events), [(30_000, "a3")]);
        assert_eq!(
            preview.then.outcome,
            Outcome::Short {
                at: NOW + 60_000,
                roles: vec![("smtp-out".to_owned(), 3, 4)],
            }
        );
    }

    #[test]
    fn a_settled_farm_plans_nothing_more() {
        let p = policy("{ smtp-out: 3, web: rest }", "");
        let farm = inventory_farm(&p, NOW);
        let preview = preview(&p, &farm, |_| None, &AutoscaleState::new(), NOW);
        let Outcome::Settled { at } = preview.then.outcome else {
            panic!("{:?}", preview.then.outcome)
        };
        assert_eq!(at, NOW + 60_000, "two drains of 30 s, one after the other");
        // Replaying every event reaches a farm the reconciler leaves alone.
        let mut replayed = farm.clone();
        for e in preview.events.iter().chain(&preview.then.events) {
            let step = match e.kind.as_str() {
                "drain-start" => reconcile::Step::StartDrain {
                    host: e.host.clone().unwrap_or_default(),
                    from: e.from_role.clone().unwrap_or_default(),
                    to: e.to_role.clone(),
                    actor: e.actor.clone(),
                    reason: e.reason.clone(),
                },
                "move" => reconcile::Step::FinishDrain {
                    host: e.host.clone().unwrap_or_default(),
                    from: e.from_role.clone().unwrap_or_default(),
                    to: e.to_role.clone(),
                    reason: e.reason.clone(),
                },
                other => panic!("unexpected {other}"),
            };
            reconcile::apply(&mut replayed, &step, e.at);
        }
        let mut observed = Observed::default();
        for h in ["a1", "a2", "a3", "a4"] {
            let role = replayed.assignments.get(h).and_then(|a| a.role.clone());
            observed.record(
                h,
                Report {
                    role,
                    ..Report::default()
                },
                at,
                3_000,
            );
        }
        let wanted = crate::wanted::decide(&p, &replayed, &observed, &AutoscaleState::new(), at).wanted;
        // The moved hosts' agents hold their roles: they arrive, and
        // nothing else is left to do.
        let steps = reconcile::plan(&p, &replayed, &observed, &wanted, at);
        assert!(
            steps.iter().all(|s| matches!(s, reconcile::Step::Arrive { .. })),
            "{steps:?}"
        );
        let out = replayed
            .assignments
            .values()
            .filter(|a| a.role.as_deref() == Some("smtp-out"))
            .count();
        assert_eq!(out, 3);
    }

    #[test]
    fn a_queue_that_does_not_empty_holds_its_drain_to_the_timeout() {
        // a5 is the one smtp-out host that carries web's label; web wants it.
        let p = policy(
            "{ smtp-out: 1, web: 4 }",
            "  - { name: a5, address: 192.0.2.15, role: smtp-out, labels: { tier: front } }",
        );
        let farm = inventory_farm(&p, NOW);
        let busy = Report {
            role: Some("smtp-out".to_owned()),
            metrics: [("queue_depth".to_owned(), 40.0)].into(),
            ..Report::default()
        };
        let reports = |host: &str| (host == "a1" || host == "a5").then_some(&busy);
        let seen = preview(&p, &farm, reports, &AutoscaleState::new(), NOW);
        assert_eq!(starts(&seen.events), [(0, "a5")]);
        assert_eq!(seen.then.events.len(), 1, "{:?}", seen.then.events);
        assert_eq!(seen.then.events[0].kind, "move");
        assert_eq!(
            seen.then.outcome,
            Outcome::Settled { at: NOW + 600_000 },
            "smtp-out's 10-minute drain timeout"
        );
        // An idle agent's drain ends with its TTL.
        let seen = preview(&p, &farm, |_| None, &AutoscaleState::new(), NOW);
        assert_eq!(seen.then.outcome, Outcome::Settled { at: NOW + 30_000 });
    }

    #[test]
    fn fail_static_freezes_the_farm() {
        let p = policy("{ smtp-out: 3, web: rest }", "");
        let mut farm = inventory_farm(&p, NOW);
        farm.panic = true;
        let settling = settle(&p, farm, |_| None, &Wanted::default(), NOW);
        assert_eq!(settling.outcome, Outcome::Frozen);
        assert_eq!(settling.events, []);
    }

    #[test]
    fn looking_stops_after_so_many_moves() {
        let hosts: String = (0..MOVES_FOLLOWED + 10)
            .map(|i| {
                format!(
                    "  - {{ name: b{i}, address: 10.0.{}.{}, role: web, labels: {{ tier: front }} }}\n",
                    i / 250,
                    i % 250 + 1
                )
            })
            .collect();
        let mut p = policy("{ smtp-out: all-but 1, web: 1 }", &hosts);
        p.limits.moves_per_tick = 2;
        p.limits.moves_per_role = 1000;
        let farm = inventory_farm(&p, NOW);
        let preview = preview(&p, &farm, |_| None, &AutoscaleState::new(), NOW);
        assert!(
            matches!(preview.then.outcome, Outcome::Unfinished { .. }),
            "{:?}",
            preview.then.outcome
        );
        assert_eq!(starts(&preview.then.events).len(), MOVES_FOLLOWED);
    }
}
