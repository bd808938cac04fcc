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

use std::collections::BTreeMap;

use crate::autoscale::AutoscaleState;
use crate::farm::{Event, Farm, Millis, Phase};
use crate::observed::{Observed, Report};
use crate::policy::Policy;
use crate::reconcile;
use crate::wanted;

use super::trace::Trace;
use super::SimulateError;

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
pub fn replay(policy: &Policy, mut farm: Farm, trace: &Trace, model: &Model) -> Result<Replay, SimulateError> {
    if model.step <= 0 || model.to <= model.from {
        return Err(SimulateError::Options(
            "nothing to simulate: --to must be after --from and the step positive".to_owned(),
        ));
    }
    if !(model.rate_per_minute.is_finite() && model.rate_per_minute >= 0.0) {
        return Err(SimulateError::Options("the rate must be 0 or more messages a minute".to_owned()));
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
    let dead_after = i64::try_from(policy.heartbeat.dead_after.as_millis()).unwrap_or(i64::MAX);

    let mut observed = Observed::default();
    let mut rules = AutoscaleState::new();
    let mut backlog = 0.0;
    let mut published = published_counts(policy, &farm, &observed, &roles);
    let mut samples = Vec::with_capacity(count);
    for (k, &arrived) in arrivals.iter().enumerate() {
        let at = model.from + model.step * k as i64;
        backlog += arrived;
        let share = match published[mail] {
            0 => 0.0,
            n => backlog / f64::from(n),
        };
        let t0 = std::time::Instant::now();
        report(&farm, &mut observed, &model.mail_role, share, at, dead_after);
        T[0].fetch_add(t0.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
        if k == 0 {
            published = published_counts(policy, &farm, &observed, &roles);
        }

        let t0 = std::time::Instant::now();
        let decision = wanted::decide(policy, &farm, &observed, &rules, at);
        T[1].fetch_add(t0.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
        rules = decision.autoscale;
        let t0 = std::time::Instant::now();
        let steps = reconcile::plan(policy, &farm, &observed, &decision.wanted, at);
        T[2].fetch_add(t0.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
        let t0 = std::time::Instant::now();
        let events: Vec<Event> = steps
            .iter()
            .map(|step| reconcile::apply(&mut farm, step, at))
            .collect();
        if !events.is_empty() {
            // Agents take their new role at once; only then are they
            // published in it.
            report(&farm, &mut observed, &model.mail_role, share, at, dead_after);
            published = published_counts(policy, &farm, &observed, &roles);
        }
        T[3].fetch_add(t0.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);

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
            wanted: roles
                .iter()
                .zip(&mins)
                .map(|(r, &min)| decision.wanted.get(r).copied().unwrap_or(0).max(min))
                .collect(),
            draining: u32::try_from(farm.assignments.values().filter(|a| a.is_draining()).count())
                .unwrap_or(u32::MAX),
            arrived,
            delivered,
            backlog,
            events,
        });
    }
    eprintln!("report {:?} decide {:?} plan {:?} apply+members {:?}", T.iter().map(|t| t.load(std::sync::atomic::Ordering::Relaxed)/1_000_000).collect::<Vec<_>>(), (), (), ());
    let summary = summarize(&samples, &mins, model.step);
    Ok(Replay {
        roles,
        mins,
        samples,
        summary,
    })
}

/// Every live agent reports at `at`: its role, and its share of the
/// backlog when it serves the mail role.
fn report(farm: &Farm, observed: &mut Observed, mail: &str, share: f64, at: Millis, dead_after: Millis) {
    for (name, a) in &farm.assignments {
        let Some(host) = farm.hosts.get(name) else { continue };
        if host.is_static || host.dead {
            continue;
        }
        let serving = a.phase == Phase::Active && a.role.as_deref() == Some(mail) && !host.cordoned;
        let mut metrics = BTreeMap::new();
        metrics.insert("queue_depth".to_owned(), if serving { share } else { 0.0 });
        let report = Report {
            role: a.role.clone(),
            probe_failures: Vec::new(),
            metrics,
            hook_failure: None,
        };
        observed.record(name, report, at, dead_after);
    }
}

/// Published hosts per role, in role order.
fn published_counts(policy: &Policy, farm: &Farm, observed: &Observed, roles: &[String]) -> Vec<u32> {
    let members = reconcile::membership(policy, farm, observed);
    roles
        .iter()
        .map(|r| members.get(r).map_or(0, |m| u32::try_from(m.len()).unwrap_or(u32::MAX)))
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
            match e.kind.as_str() {
                "drain-start" | "assign" => s.moves += 1,
                "move" => s.drains_finished += 1,
                _ => {}
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

static T: [std::sync::atomic::AtomicU64; 4] = [const { std::sync::atomic::AtomicU64::new(0) }; 4];
