//! The reconciler: a pure function from (policy, farm, observations, wanted
//! counts, now) to the steps that bring the farm where the rules say.
//!
//! It does no I/O and is not told why it runs. The executor applies the
//! steps with [`apply`], records their events and republishes the zone;
//! planning again right after yields nothing (tested).
//!
//! The rules, in the order they are decided:
//! 1. **Fail static**: when more than the panic threshold of a pool (or of
//!    all agents) went silent at once, nothing more is declared dead and
//!    nothing moves until the silent hosts are heard from again. Silences
//!    are judged together before any death is published: when a host
//!    crosses `dead_after`, the hosts that have missed a heartbeat and
//!    fell quiet within the same detection window (overdue by more than
//!    `dead_after` less one interval), and those already dead of a silence
//!    that began within `dead_after` of it, count with it. So hosts killed
//!    together are one event even though their staggered heartbeats make
//!    them cross `dead_after` on different ticks, and none of them leaves
//!    DNS before the panic holds. Only hosts heard from count: a host whose
//!    agent never reported is not protected (nor published).
//! 2. **Liveness**: a host silent for `dead_after`, or failing its probes,
//!    is dead; a dead host revives after `revive_after` good heartbeats.
//! 3. **Arrival**: a host given a role is published in it only once its
//!    agent reports holding it (its role-change hook ran); static hosts
//!    hold their role from the start.
//! 4. **Drains finish** once the records' TTL has passed and the role's
//!    work is done (`queue_depth` 0) or the drain timed out; only then does
//!    the host change role (drain before move).
//! 5. **Counts**, on the farm as rules 1–4 leave it: a role below its
//!    wanted count (its live members, published or arriving, plus live
//!    hosts draining towards it) takes hosts that are eligible and carry
//!    the role's `labels` — unassigned ones first, then spares (hosts in a
//!    role that publishes nothing or that the policy dropped), then from
//!    roles whose *published* strength is above their own wanted count
//!    (largest surplus first), the least loaded, by name — within the
//!    per-tick (per instant: moves already made at `now` count) and
//!    per-role caps, never static, pinned, cordoned, dead, arriving or
//!    cooling-down hosts. A host on its way into a role is owed to it but
//!    does not serve yet: it is never a reason to take one that does, so
//!    no role drops below its wanted count (or its `min`) published.

use std::borrow::Cow;

use crate::farm::{Assignment, Farm, HostRecord, Millis, millis};
use crate::observed::{Observation, Observed};
use crate::policy::Policy;

mod apply;
mod choice;
mod drain;
mod fail_static;
mod liveness;
mod membership;
#[cfg(test)]
mod tests;

pub use apply::apply;
pub(crate) use drain::{move_cooldown, records_ttl};
pub use membership::{Membership, membership, membership_is};

use choice::{fill_roles, moves_made_at};
use drain::finish_drains_and_arrive;
use fail_static::alarm;
use liveness::{arrival, holds, judge, look_at};

/// How many hosts each role should have now, and why. Schedules and load
/// rules only change this input (see [`crate::wanted`]).
pub use crate::wanted::Wanted;

/// The actor recorded for the failure detector's decisions.
pub const FAILURE_DETECTOR: &str = "failure-detector";
/// The actor recorded for the reconciler's own decisions.
pub const RECONCILER: &str = "reconciler";

/// One change to the farm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The host stops counting as alive and leaves DNS.
    MarkDead {
        /// Host name.
        host: String,
        /// Why (silence, failing probe).
        reason: String,
    },
    /// The host earned its way back.
    Revive {
        /// Host name.
        host: String,
    },
    /// Too many hosts went silent at once: suspect ourselves, freeze.
    EnterPanic {
        /// What was seen.
        reason: String,
    },
    /// Heartbeats are back: normal rules resume.
    LeavePanic,
    /// The host's agent reports holding the role it was given: it may be
    /// published.
    Arrive {
        /// Host name.
        host: String,
        /// The role it now holds.
        role: String,
        /// Why now: its agent's report, and for a sending role the time
        /// the SPF has listed it.
        reason: String,
    },
    /// An unassigned host takes a role (nothing to drain).
    Assign {
        /// Host name.
        host: String,
        /// The role it takes.
        role: String,
        /// Who decided.
        actor: String,
        /// Why.
        reason: String,
    },
    /// The host leaves DNS for `from` and starts draining towards `to`.
    StartDrain {
        /// Host name.
        host: String,
        /// The role it leaves.
        from: String,
        /// The role it will take.
        to: Option<String>,
        /// Who decided.
        actor: String,
        /// Why.
        reason: String,
    },
    /// The drain is over: the host changes role.
    FinishDrain {
        /// Host name.
        host: String,
        /// The role it left.
        from: String,
        /// The role it takes.
        to: Option<String>,
        /// What ended the drain.
        reason: String,
    },
}

/// Each role's `min`: what is wanted when no schedule or rule says more.
pub fn wanted_from_policy(policy: &Policy) -> Wanted {
    policy
        .roles
        .iter()
        .map(|(name, role)| (name.clone(), role.min))
        .collect()
}

/// One host as the counts see it, after the liveness and drain rules.
struct Row<'f> {
    host: &'f HostRecord,
    /// Borrowed from the farm, or the assignment a drain that finished in
    /// this plan leaves (so planning needs no copy of the farm).
    assignment: Cow<'f, Assignment>,
    alive: bool,
    /// Its observation, looked up once per plan.
    obs: Option<&'f Observation>,
}

/// Plans the steps for `now`.
pub fn plan(policy: &Policy, farm: &Farm, observed: &Observed, wanted: &Wanted, now: Millis) -> Vec<Step> {
    let dead_after = millis(policy.heartbeat.dead_after);
    let interval = millis(policy.heartbeat.interval);
    // A host killed together with one that crosses `dead_after` now has
    // been quiet at least `dead_after` less one interval (heartbeats are
    // staggered over an interval); and a host quiet for less than an
    // interval has missed nothing.
    let overdue_after = (dead_after - interval).max(interval);
    let mut steps = Vec::new();

    let looks = look_at(farm, observed, now, dead_after, overdue_after);

    // 1. Fail static.
    let alarm = alarm(policy, farm, &looks, dead_after);
    match (&alarm, farm.panic) {
        (Some(reason), false) => {
            steps.push(Step::EnterPanic {
                reason: reason.clone(),
            });
            return steps;
        }
        (Some(_), true) => return steps,
        (None, true) => steps.push(Step::LeavePanic),
        (None, false) => {}
    }

    // 2. Liveness, one flag per host in host order.
    let alive = judge(policy, farm, &looks, now, &mut steps);

    // 3. Arrivals and 4. drains that are over. The counts below see the
    // farm as these steps leave it: a finished drain is owed to its new
    // role and no longer counts against its old role's drains, and an
    // arrival serves, so planning again after applying finds nothing more
    // to do.
    let mut rows: Vec<Row<'_>> = farm
        .with_assignments_indexed()
        .map(|(i, host, assignment)| Row {
            host,
            assignment: Cow::Borrowed(assignment),
            alive: alive.get(i).copied().unwrap_or(false),
            obs: looks.get(i).and_then(|look| look.obs),
        })
        .collect();
    finish_drains_and_arrive(policy, &mut rows, now, &mut steps);

    // 5. Counts. Moves already made at this instant (by a plan for the
    // same `now`, applied) use up its budget, for the same reason.
    let budget = policy
        .limits
        .moves_per_tick
        .saturating_sub(moves_made_at(farm, now));
    let moves = fill_roles(policy, &rows, wanted, budget, now);
    // A host given a role its agent already holds has arrived at once
    // (unless the role sends mail: then the SPF must list it first).
    let arrivals: Vec<Step> = moves
        .iter()
        .filter_map(|step| match step {
            Step::Assign { host, role, .. }
            | Step::FinishDrain {
                host, to: Some(role), ..
            } if holds(observed.get(host), role) => Some(Step::Arrive {
                host: host.clone(),
                role: role.clone(),
                reason: arrival(policy, role, now, now, false)?,
            }),
            _ => None,
        })
        .collect();
    steps.extend(moves);
    steps.extend(arrivals);
    steps
}
