//! Drains (rule 4) and arrivals (rule 3): a drain ends once the records'
//! TTL has passed and the role's work is done or timed out; only then does
//! the host change role. A host given a role is published once its agent
//! holds it.

use std::borrow::Cow;

use crate::farm::{Assignment, Millis, Phase, millis};
use crate::observed::Observation;
use crate::policy::{DrainUntil, Policy, Role};

use super::liveness::{arrival, holds};
use super::{Row, Step};

/// Rules 3 and 4 on `rows`: drains that are over finish, hosts whose agent
/// holds their new role arrive. The rows then show the farm as these steps
/// leave it: a finished drain is owed to its new role and no longer counts
/// against its old role's drains, and an arrival serves, so planning again
/// after applying finds nothing more to do.
pub(super) fn finish_drains_and_arrive(
    policy: &Policy,
    rows: &mut [Row<'_>],
    now: Millis,
    steps: &mut Vec<Step>,
) {
    for row in rows.iter_mut() {
        let Row {
            host,
            assignment,
            alive,
            obs,
        } = row;
        let obs = *obs;
        if let (Some(from), Phase::Draining { to, started, .. }) = (&assignment.role, &assignment.phase)
            && let Some(reason) = drain_over(policy, from, *started, obs, *alive, now)
        {
            steps.push(Step::FinishDrain {
                host: host.name.clone(),
                from: from.clone(),
                to: to.clone(),
                reason,
            });
            *assignment = Cow::Owned(Assignment {
                last_moved: Some(now),
                ..Assignment::arriving(to.clone(), now)
            });
        }
        if let (Some(role), Phase::Arriving) = (&assignment.role, &assignment.phase)
            && (host.is_static || holds(obs, role))
            && let Some(reason) = arrival(policy, role, assignment.since, now, host.is_static)
        {
            steps.push(Step::Arrive {
                host: host.name.clone(),
                role: role.clone(),
                reason,
            });
            *assignment = Cow::Owned(Assignment {
                phase: Phase::Active,
                since: now,
                ..assignment.as_ref().clone()
            });
        }
    }
}

/// Why a host leaves a role the policy no longer has without waiting.
pub(super) fn dropped_role(role: &str) -> String {
    format!("role {role} is no longer in the policy")
}

/// The reason a drain from `from` started at `started` is over, if it is.
fn drain_over(
    policy: &Policy,
    from: &str,
    started: Millis,
    obs: Option<&Observation>,
    alive: bool,
    now: Millis,
) -> Option<String> {
    let elapsed = now - started;
    let Some(role) = policy.roles.get(from) else {
        return Some(dropped_role(from));
    };
    if elapsed < records_ttl(policy, role) {
        return None;
    }
    let timed_out = elapsed >= millis(role.drain.timeout);
    match role.drain.until {
        DrainUntil::Ttl => Some("records' TTL passed".to_owned()),
        DrainUntil::QueueEmpty if obs.and_then(Observation::queue_depth) == Some(0.0) && alive => {
            Some("queue empty".to_owned())
        }
        DrainUntil::QueueEmpty if !alive => Some("host is dead; nothing left to wait for".to_owned()),
        DrainUntil::QueueEmpty | DrainUntil::Timeout if timed_out => Some(format!(
            "drain timeout ({}s) reached",
            role.drain.timeout.as_secs()
        )),
        DrainUntil::QueueEmpty | DrainUntil::Timeout => None,
    }
}

/// How long a host that left `role`'s records may still be sent work: the
/// longest TTL among them. No drain ends sooner.
pub(crate) fn records_ttl(policy: &Policy, role: &Role) -> Millis {
    let ttl = role.records.iter().map(|r| r.ttl).max().unwrap_or(policy.ttl);
    i64::from(ttl) * 1000
}

/// How long after a move a host may not move again. Never less than a
/// millisecond, even with no cooldown: what was chosen at one instant
/// stays chosen when planning again at that instant.
pub(crate) fn move_cooldown(policy: &Policy) -> Millis {
    millis(policy.limits.host_cooldown).max(1)
}
