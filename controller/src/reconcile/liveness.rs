//! Liveness (rule 2): how each host looks to the failure detector, which
//! hosts die and which revive; and what an agent reports holding, which
//! arrivals and pools read.

use crate::farm::{Farm, Millis, Phase};
use crate::observed::{Observation, Observed};
use crate::policy::Policy;

use super::Step;

/// How a host looks to the failure detector at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Health {
    Fresh,
    Silent,
    Failing(String),
}

pub(super) fn health(obs: Option<&Observation>, now: Millis, dead_after: Millis) -> Health {
    match obs {
        None => Health::Silent,
        Some(o) if now - o.last_heartbeat > dead_after => Health::Silent,
        Some(o) if !o.healthy() => {
            let mut reasons = o.report.probe_failures.clone();
            reasons.extend(
                o.report
                    .hook_failure
                    .iter()
                    .map(|h| format!("role change failed: {h}")),
            );
            Health::Failing(reasons.join("; "))
        }
        Some(_) => Health::Fresh,
    }
}

/// How each host looks to the failure detector at `now`.
pub(super) struct Look<'o> {
    pub(super) obs: Option<&'o Observation>,
    pub(super) health: Health,
    /// Heard from: its agent reported since the controller started, or it
    /// held a role before (published once). Fail-static protects only
    /// these: a host never heard from was never published.
    pub(super) known: bool,
    /// Quiet for longer than a missed heartbeat allows, not yet `dead_after`.
    pub(super) overdue: bool,
}

/// One look at each host's observation, in host order: every rule reads it.
pub(super) fn look_at<'o>(
    farm: &Farm,
    observed: &'o Observed,
    now: Millis,
    dead_after: Millis,
    overdue_after: Millis,
) -> Vec<Look<'o>> {
    let mut looks: Vec<Look<'o>> = farm
        .hosts
        .values()
        .map(|h| {
            let obs = observed.get(&h.name);
            let health = if h.is_static {
                Health::Fresh
            } else {
                health(obs, now, dead_after)
            };
            let overdue =
                health != Health::Silent && obs.is_some_and(|o| now - o.last_heartbeat > overdue_after);
            Look {
                obs,
                health,
                known: obs.is_some_and(|o| o.heard),
                overdue,
            }
        })
        .collect();
    for (i, _, a) in farm.with_assignments_indexed() {
        if a.role.is_some() && a.phase != Phase::Arriving {
            looks[i].known = true;
        }
    }
    looks
}

/// Rule 2: a host silent for `dead_after`, or failing its probes, dies; a
/// dead one revives after `revive_after` good heartbeats. Returns whether
/// each host is alive after this plan, in host order.
pub(super) fn judge(
    policy: &Policy,
    farm: &Farm,
    looks: &[Look<'_>],
    now: Millis,
    steps: &mut Vec<Step>,
) -> Vec<bool> {
    let hosts = || farm.hosts.values().zip(looks);
    let mut alive = Vec::with_capacity(looks.len());
    for (host, Look { obs, health, .. }) in hosts() {
        let lives = match (host.dead, health) {
            (false, Health::Silent) => {
                steps.push(Step::MarkDead {
                    host: host.name.clone(),
                    reason: match obs {
                        None => "never reported".to_owned(),
                        Some(o) if !o.heard => format!(
                            "never reported in {:.1}s",
                            (now - o.last_heartbeat) as f64 / 1000.0
                        ),
                        Some(o) => format!(
                            "no heartbeat for {:.1}s",
                            (now - o.last_heartbeat) as f64 / 1000.0
                        ),
                    },
                });
                false
            }
            (false, Health::Failing(reason)) => {
                steps.push(Step::MarkDead {
                    host: host.name.clone(),
                    reason: reason.clone(),
                });
                false
            }
            (false, Health::Fresh) => true,
            (true, Health::Fresh) => {
                let revives =
                    host.is_static || obs.map_or(0, |o| o.good_streak) >= policy.heartbeat.revive_after;
                if revives && !host.is_static {
                    steps.push(Step::Revive {
                        host: host.name.clone(),
                    });
                }
                revives
            }
            (true, _) => false,
        };
        alive.push(lives);
    }

    alive
}

/// Why a host given `role` at `since`, whose agent holds it, may be
/// published at `now`; `None` while it must wait. A host joining a role
/// the SPF lists waits until the SPF has listed it for the record's TTL,
/// so no receiver holds a cached SPF without it when its first mail
/// arrives: the join waits like a drain does.
pub(super) fn arrival(
    policy: &Policy,
    role: &str,
    since: Millis,
    now: Millis,
    is_static: bool,
) -> Option<String> {
    let holds = if is_static {
        "static, it holds the role"
    } else {
        "its agent reports holding the role"
    };
    match &policy.spf {
        Some(spf) if spf.roles.iter().any(|r| r == role) => {
            let ttl = spf.ttl;
            (now - since >= i64::from(ttl) * 1000)
                .then(|| format!("{holds}, and the SPF has listed it for its TTL ({ttl} s)"))
        }
        _ => Some(holds.to_owned()),
    }
}

/// True when the host's agent reported holding `role`.
pub(super) fn holds(obs: Option<&Observation>, role: &str) -> bool {
    obs.and_then(Observation::reported_role) == Some(Some(role))
}

/// True unless the host's agent reported holding another role than
/// `role`: an agent not heard from since the controller started is taken
/// to hold what it held when it was published.
pub(super) fn not_contradicted(obs: Option<&Observation>, role: &str) -> bool {
    obs.and_then(Observation::reported_role)
        .is_none_or(|reported| reported == Some(role))
}
