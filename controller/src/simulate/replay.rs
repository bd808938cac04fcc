//! A span of time replayed in steps through the controller's own
//! decisions, with a simple mail-delivery model.
//!
//! Each step, at time `t`:
//!
//! 1. the trace's messages for the step join a shared **backlog**;
//! 2. every agent reports (heartbeats never fail here): its role, and as
//!    `queue_depth` its share of the backlog when it is a published
//!    member of the mail role (`smtp-out`), else 0. A host leaving the
//!    mail role hands its share back to the backlog as it leaves DNS, so
//!    its own queue is empty and a `queue_empty` drain ends once the
//!    records' TTL has passed;
//! 3. [`wanted::decide`] (schedules, load rules with their memory from
//!    the step before), [`reconcile::plan`], [`reconcile::apply`] of every
//!    step, exactly as a controller tick; agents take a new role at once;
//! 4. during the step each published member of the mail role delivers
//!    `rate` messages a minute from the backlog.
//!
//! The backlog recorded for a step is what is still waiting at its end.
//!
//! Three shortcuts keep a day of 10,000 hosts affordable, none of which
//! changes the outcome (`Model::every_step` turns the last two off, and a
//! test compares): agents report only when what they say changes (the
//! replay's copy of the policy counts no silence as death, since none
//! happens); a step whose plan inputs are those of an empty plan but for
//! the clock, with no drain under way and every role at its count, is not
//! planned again; after the first step only the hosts a step's events
//! name report again and are recounted, and published counts are kept
//! from those rather than from `membership` (debug builds check both
//! agree at every step that changed something).

use std::collections::{BTreeMap, BTreeSet};

use crate::autoscale::AutoscaleState;
use crate::farm::{Assignment, Event, EventKind, Farm, HostRecord, Millis, Phase};
use crate::observed::{Observed, Report};
use crate::policy::Policy;
use crate::reconcile;
use crate::wanted;

use super::SimulateError;
use super::trace::Trace;

/// What to replay and how mail behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The first step's time.
    pub from: Millis,
    /// Steps run while their time is before this.
    pub to: Millis,
    /// Time between steps.
    pub step: Millis,
    /// Messages one published mail host delivers per minute.
    pub rate_per_minute: f64,
    /// The role that delivers mail (`smtp-out`).
    pub mail_role: String,
    /// Plan at every step, even when nothing but the clock changed and
    /// the plan is known to be empty (slower; the outcome is the same).
    pub every_step: bool,
}

/// One step as it went.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// When.
    pub at: Millis,
    /// The schedule in force (`None`: `default_want`).
    pub schedule: Option<String>,
    /// Published hosts per role after the step's changes, in role order.
    pub published: Vec<u32>,
    /// Wanted count per role (never below `min`), in role order.
    pub wanted: Vec<u32>,
    /// Hosts draining after the step's changes.
    pub draining: u32,
    /// Messages that arrived during the step.
    pub arrived: f64,
    /// Messages delivered during the step.
    pub delivered: f64,
    /// Messages still waiting at the end of the step.
    pub backlog: f64,
    /// What the reconcile did at `at`, as the events it logs.
    pub events: Vec<Event>,
}

/// The replay in numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Steps run.
    pub steps: usize,
    /// Moves started: drains begun and unassigned hosts given a role.
    pub moves: u32,
    /// Drains finished (hosts that changed role).
    pub drains_finished: u32,
    /// Messages that arrived.
    pub arrived: f64,
    /// Messages delivered.
    pub delivered: f64,
    /// The largest backlog at the end of a step, and when.
    pub peak_backlog: (f64, Millis),
    /// Per role (in role order): how long it had fewer published hosts
    /// than its `min`.
    pub below_min: Vec<Millis>,
    /// Per role (in role order): the fewest and the most published hosts.
    pub range: Vec<(u32, u32)>,
    /// When the backlog was empty again after its peak (the end of the
    /// first step after the peak with nothing left); `None` when no mail
    /// was ever left waiting at the end of a step, or still is at the end.
    pub cleared_at: Option<Millis>,
    /// Messages still waiting at the end.
    pub left: f64,
}

/// A finished replay.
#[derive(Clone, Debug, PartialEq)]
pub struct Replay {
    /// The roles, in the order of every per-role vector.
    pub roles: Vec<String>,
    /// Each role's `min`, in role order.
    pub mins: Vec<u32>,
    /// Every step.
    pub samples: Vec<Sample>,
    /// The totals.
    pub summary: Summary,
}

/// Replays `model` from `farm` with the mail of `trace`.
///
/// # Errors
/// [`SimulateError::Options`] when the span is empty, the step is not
/// positive, or the mail role is not in the policy.
pub fn replay(
    policy: &Policy,
    mut farm: Farm,
    trace: &Trace,
    model: &Model,
) -> Result<Replay, SimulateError> {
    if model.step <= 0 || model.to <= model.from {
        return Err(SimulateError::Options(
            "nothing to simulate: --to must be after --from and the step positive".to_owned(),
        ));
    }
    if !(model.rate_per_minute.is_finite() && model.rate_per_minute >= 0.0) {
        return Err(SimulateError::Options(
            "the rate must be 0 or more messages a minute".to_owned(),
        ));
    }
    let roles: Vec<String> = policy.roles.keys().cloned().collect();
    let Some(mail) = roles.iter().position(|r| *r == model.mail_role) else {
        return Err(SimulateError::Options(format!(
            "the policy has no role {:?} to deliver mail",
            model.mail_role
        )));
    };
    let mins: Vec<u32> = policy.roles.values().map(|r| r.min).collect();
    let count = usize::try_from((model.to - model.from - 1) / model.step + 1).unwrap_or(usize::MAX);
    let arrivals = trace.per_step(model.from, model.step, count);
    let minutes = model.step as f64 / 60_000.0;

    // Not a heartbeat from every host every step (14 million reports for
    // 10,000 hosts over a day): hosts report when what they say changes.
    let policy = &super::never_silent(policy, model.to - model.from + model.step);
    let mut agents = Agents::new(policy, &farm, &model.mail_role);

    let mut observed = Observed::default();
    let mut rules = AutoscaleState::new();
    let mut backlog = 0.0;
    let mut published = vec![0; roles.len()];
    let mut draining = 0;
    // The inputs of the last plan that found nothing to do.
    let mut idle: Option<Vec<u32>> = None;
    let mut samples = Vec::with_capacity(count);
    for (k, &arrived) in arrivals.iter().enumerate() {
        let at = model.from + model.step * k as i64;
        backlog += arrived;
        let share = match published[mail] {
            0 => 0.0,
            n => backlog / f64::from(n),
        };
        if k == 0 {
            agents.report_all(&farm, &mut observed, share, at);
            (published, draining) = agents.counts(policy, &farm, &observed);
            if model.every_step {
                published = published_counts(policy, &farm, &observed, &roles);
                draining = count_draining(&farm);
            }
        } else {
            agents.report_share(&mut observed, share, at);
        }

        let decision = wanted::decide(policy, &farm, &observed, &rules, at);
        rules = decision.autoscale;
        let wanted: Vec<u32> = roles
            .iter()
            .zip(&mins)
            .map(|(r, &min)| decision.wanted.get(r).copied().unwrap_or(0).max(min))
            .collect();
        // Planning again with the same farm and counts, no drain under
        // way and every role at its count finds nothing: the clock only
        // matters to drains and to cooldowns holding back a move.
        let settled = !model.every_step
            && idle.as_ref() == Some(&wanted)
            && draining == 0
            && !farm.panic
            && published.iter().zip(&wanted).all(|(p, w)| p >= w);
        let steps = if settled {
            Vec::new()
        } else {
            reconcile::plan(policy, &farm, &observed, &decision.wanted, at)
        };
        idle = steps.is_empty().then(|| wanted.clone());
        let events: Vec<Event> = steps
            .iter()
            .map(|step| reconcile::apply(&mut farm, step, at))
            .collect();
        if !events.is_empty() {
            // Agents take their new role at once; only then are they
            // published in it.
            if model.every_step {
                agents.report_all(&farm, &mut observed, share, at);
            } else {
                agents.report_changed(&farm, &events, &mut observed, share, at);
            }
            let arrived = super::arrive_at_once(policy, &mut farm, &observed, &decision.wanted, at);
            if model.every_step {
                agents.report_all(&farm, &mut observed, share, at);
            } else {
                agents.report_changed(&farm, &arrived, &mut observed, share, at);
            }
            (published, draining) = agents.counts(policy, &farm, &observed);
            if model.every_step {
                published = published_counts(policy, &farm, &observed, &roles);
                draining = count_draining(&farm);
            }
        }

        let capacity = f64::from(published[mail]) * model.rate_per_minute * minutes;
        let delivered = capacity.min(backlog);
        backlog -= delivered;
        if backlog < 1e-6 {
            backlog = 0.0;
        }
        samples.push(Sample {
            at,
            schedule: decision.schedule,
            published: published.clone(),
            wanted,
            draining,
            arrived,
            delivered,
            backlog,
            events,
        });
    }
    let summary = summarize(&samples, &mins, model.step);
    Ok(Replay {
        roles,
        mins,
        samples,
        summary,
    })
}

/// The agents and what they last said, in the farm's host order (a replay
/// never adds or removes hosts). The first step looks at every host; after
/// that only at the hosts a step's events name, so a step costs what it
/// changed rather than the size of the farm.
struct Agents {
    mail: String,
    /// The policy's roles, in order (published counts are in this order).
    roles: Vec<String>,
    /// Host names in the farm's order, to find a host an event names.
    names: Vec<String>,
    hosts: Vec<AgentState>,
    /// Published hosts per role, in role order.
    published: Vec<u32>,
    /// Hosts draining.
    draining: u32,
    /// The hosts serving mail, by index.
    serving: BTreeSet<usize>,
}

/// One host as the replay last saw it.
struct AgentState {
    /// The role and queue depth it last reported (`None`: a static host,
    /// which has no agent).
    last: Option<(Option<String>, f64)>,
    /// The role it is published in, by number.
    published: Option<usize>,
    draining: bool,
}

impl Agents {
    fn new(policy: &Policy, farm: &Farm, mail: &str) -> Self {
        Self {
            mail: mail.to_owned(),
            roles: policy.roles.keys().cloned().collect(),
            names: farm.hosts.keys().cloned().collect(),
            hosts: farm
                .hosts
                .values()
                .map(|h| AgentState {
                    last: (!h.is_static).then_some((None, f64::NAN)),
                    published: None,
                    draining: false,
                })
                .collect(),
            published: vec![0; policy.roles.len()],
            draining: 0,
            serving: BTreeSet::new(),
        }
    }

    /// Every host looks at its assignment and reports at `at` if what it
    /// says changed.
    fn report_all(&mut self, farm: &Farm, observed: &mut Observed, share: f64, at: Millis) {
        for (i, host, a) in farm.with_assignments_indexed() {
            self.look(i, host, a, observed, share, at);
        }
    }

    /// The hosts `events` name look again and report at `at` if what they
    /// say changed.
    fn report_changed(
        &mut self,
        farm: &Farm,
        events: &[Event],
        observed: &mut Observed,
        share: f64,
        at: Millis,
    ) {
        for name in events.iter().filter_map(|e| e.host.as_deref()) {
            let (Ok(i), Some(host), Some(a)) = (
                self.names.binary_search_by(|n| n.as_str().cmp(name)),
                farm.hosts.get(name),
                farm.assignments.get(name),
            ) else {
                continue;
            };
            self.look(i, host, a, observed, share, at);
        }
    }

    /// Host `i` as `host` and `a` say now. With every agent in its role,
    /// [`reconcile::membership`]'s rule comes down to active, not
    /// cordoned, and static or alive (debug builds check that the counts
    /// agree; `every_step` asks `membership` itself).
    fn look(
        &mut self,
        i: usize,
        host: &HostRecord,
        a: &Assignment,
        observed: &mut Observed,
        share: f64,
        at: Millis,
    ) {
        let Some(state) = self.hosts.get_mut(i) else {
            return;
        };
        if let Some(role) = state.published.take() {
            self.published[role] -= 1;
        }
        if state.draining {
            self.draining -= 1;
        }
        self.serving.remove(&i);

        let active = a.phase == Phase::Active;
        state.published = match a.role.as_deref() {
            Some(role) if active && !host.cordoned && (host.is_static || !host.dead) => {
                self.roles.iter().position(|r| r == role)
            }
            _ => None,
        };
        if let Some(role) = state.published {
            self.published[role] += 1;
        }
        state.draining = a.is_draining();
        self.draining += u32::from(state.draining);

        let Some(last) = &mut state.last else { return };
        if host.dead {
            return;
        }
        let serving = active && a.role.as_deref() == Some(self.mail.as_str()) && !host.cordoned;
        if serving {
            self.serving.insert(i);
        }
        let queue = if serving { share } else { 0.0 };
        if last.0 != a.role || last.1.to_bits() != queue.to_bits() {
            *last = (a.role.clone(), queue);
            observed.record(&host.name, report(a.role.clone(), queue), at, i64::MAX);
        }
    }

    /// The mail hosts report their new share of the backlog.
    fn report_share(&mut self, observed: &mut Observed, share: f64, at: Millis) {
        for &i in &self.serving {
            if let (Some(Some(last)), Some(name)) =
                (self.hosts.get_mut(i).map(|h| &mut h.last), self.names.get(i))
                && last.1.to_bits() != share.to_bits()
            {
                last.1 = share;
                observed.record(name, report(last.0.clone(), share), at, i64::MAX);
            }
        }
    }

    /// Published hosts per role, in role order, and hosts draining; debug
    /// builds check both against the farm.
    fn counts(&self, policy: &Policy, farm: &Farm, observed: &Observed) -> (Vec<u32>, u32) {
        debug_assert_eq!(
            self.published,
            published_counts(policy, farm, observed, &self.roles),
            "the published counts agree with reconcile::membership"
        );
        debug_assert_eq!(
            self.draining,
            count_draining(farm),
            "the drains agree with the farm"
        );
        (self.published.clone(), self.draining)
    }
}

fn report(role: Option<String>, queue: f64) -> Report {
    let mut metrics = BTreeMap::new();
    metrics.insert("queue_depth".to_owned(), queue);
    Report {
        role,
        probe_failures: Vec::new(),
        metrics,
        hook_failure: None,
    }
}

fn count_draining(farm: &Farm) -> u32 {
    u32::try_from(farm.assignments.values().filter(|a| a.is_draining()).count()).unwrap_or(u32::MAX)
}

/// Published hosts per role, in role order.
fn published_counts(policy: &Policy, farm: &Farm, observed: &Observed, roles: &[String]) -> Vec<u32> {
    let members = reconcile::membership(policy, farm, observed);
    roles
        .iter()
        .map(|r| {
            members
                .get(r)
                .map_or(0, |m| u32::try_from(m.len()).unwrap_or(u32::MAX))
        })
        .collect()
}

fn summarize(samples: &[Sample], mins: &[u32], step: Millis) -> Summary {
    let mut s = Summary {
        steps: samples.len(),
        moves: 0,
        drains_finished: 0,
        arrived: 0.0,
        delivered: 0.0,
        peak_backlog: (0.0, samples.first().map_or(0, |s| s.at)),
        below_min: vec![0; mins.len()],
        range: vec![(u32::MAX, 0); mins.len()],
        cleared_at: None,
        left: samples.last().map_or(0.0, |s| s.backlog),
    };
    for sample in samples {
        for e in &sample.events {
            if e.kind.starts_move() {
                s.moves += 1;
            } else if e.kind == EventKind::Move {
                s.drains_finished += 1;
            }
        }
        s.arrived += sample.arrived;
        s.delivered += sample.delivered;
        if sample.backlog > s.peak_backlog.0 {
            s.peak_backlog = (sample.backlog, sample.at);
        }
        for (i, (&n, &min)) in sample.published.iter().zip(mins).enumerate() {
            if n < min {
                s.below_min[i] += step;
            }
            s.range[i] = (s.range[i].0.min(n), s.range[i].1.max(n));
        }
    }
    if s.peak_backlog.0 > 0.0 {
        s.cleared_at = samples
            .iter()
            .find(|x| x.at > s.peak_backlog.1 && x.backlog == 0.0)
            .map(|x| x.at + step);
    }
    for r in &mut s.range {
        if r.0 == u32::MAX {
            r.0 = 0;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load_file;
    use crate::simulate::time::{default_zone, parse_instant};
    use crate::simulate::{inventory_farm, synthetic_farm};

    const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/morning-bulge.yaml");
    const TRACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/bulge-day.csv");
    const HOUR: Millis = 3_600_000;

    fn example(hosts: Option<u32>, every_step: bool) -> (Replay, Millis) {
        let policy = load_file(std::path::Path::new(EXAMPLE)).expect("the example loads");
        let tz = default_zone(&policy);
        let from = parse_instant("2026-11-24", 0, &tz).expect("from");
        let text = std::fs::read_to_string(TRACE).expect("the trace is readable");
        let trace = Trace::parse(&text, from, &tz).expect("the trace parses");
        let farm = match hosts {
            Some(n) => synthetic_farm(&policy, n, from),
            None => inventory_farm(&policy, from),
        };
        let model = Model {
            from,
            to: from + 24 * HOUR,
            step: 60_000,
            rate_per_minute: 600.0,
            mail_role: "smtp-out".to_owned(),
            every_step,
        };
        (replay(&policy, farm, &trace, &model).expect("replays"), from)
    }

    fn out_at(replay: &Replay, at: Millis) -> u32 {
        let i = replay
            .roles
            .iter()
            .position(|r| r == "smtp-out")
            .expect("smtp-out");
        replay
            .samples
            .iter()
            .find(|s| s.at == at)
            .map(|s| s.published[i])
            .expect("a sample at that time")
    }

    #[test]
    fn the_bulge_grows_smtp_out_and_the_farm_returns_after() {
        let (r, from) = example(None, false);
        assert_eq!(r.samples.len(), 1440);
        assert_eq!(out_at(&r, from + 5 * HOUR), 4, "the default before the window");
        assert_eq!(out_at(&r, from + 7 * HOUR), 13, "all but 3 of 16 during it");
        assert_eq!(out_at(&r, from + 12 * HOUR), 4, "back to the default after");
        let s = &r.summary;
        assert!(
            s.below_min.iter().all(|&t| t == 0),
            "no pool below its min: {:?}",
            s.below_min
        );
        assert_eq!(s.moves, s.drains_finished, "every drain finished");
        assert!(s.moves >= 18, "9 hosts in and 9 back out: {}", s.moves);
        assert!(s.peak_backlog.0 > 0.0 && s.left == 0.0);
        assert!((s.arrived - s.delivered).abs() < 1e-3);
        let cleared = s.cleared_at.expect("the backlog clears");
        assert!(
            cleared > from + 9 * HOUR && cleared < from + 12 * HOUR,
            "after the window"
        );
        // Past the window the load rule holds smtp-out above the default
        // while mail waits, and moves are its own.
        assert!(out_at(&r, from + 9 * HOUR + 60_000) > 4);
        assert!(
            r.samples
                .iter()
                .flat_map(|s| &s.events)
                .any(|e| e.actor == "queue-pressure"),
            "the load rule set some counts"
        );
    }

    #[test]
    fn skipping_settled_steps_changes_nothing() {
        for hosts in [None, Some(300)] {
            let (fast, _) = example(hosts, false);
            let (every, _) = example(hosts, true);
            assert_eq!(fast, every, "with {hosts:?} hosts");
        }
    }

    #[test]
    fn nonsense_is_refused() {
        let policy = load_file(std::path::Path::new(EXAMPLE)).expect("the example loads");
        let model = Model {
            from: 0,
            to: HOUR,
            step: 60_000,
            rate_per_minute: 10.0,
            mail_role: "smtp-out".to_owned(),
            every_step: false,
        };
        let farm = inventory_farm(&policy, 0);
        let run = |m: &Model| replay(&policy, farm.clone(), &Trace::default(), m);
        assert!(
            run(&Model {
                to: 0,
                ..model.clone()
            })
            .is_err()
        );
        assert!(
            run(&Model {
                step: 0,
                ..model.clone()
            })
            .is_err()
        );
        assert!(
            run(&Model {
                rate_per_minute: f64::NAN,
                ..model.clone()
            })
            .is_err()
        );
        assert!(
            run(&Model {
                mail_role: "fax".into(),
                ..model.clone()
            })
            .is_err()
        );
        let quiet = run(&model).expect("an hour with no mail");
        assert_eq!(quiet.samples.len(), 60);
        assert_eq!(quiet.summary.cleared_at, None);
        assert_eq!(quiet.summary.moves, 0);
    }
}
