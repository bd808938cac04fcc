//! Previewing a policy without running it: what the first reconcile at a
//! given moment would do (`muster plan`, `GET /api/v1/plan`), and a replay
//! of a day through the same decisions with a simple mail-delivery model
//! (`muster simulate`).
//!
//! Both go through exactly the functions a running controller uses, in
//! the order [`crate::engine::Engine::tick`] uses them:
//! [`wanted::decide`] (schedules, then load rules), [`reconcile::plan`],
//! [`reconcile::apply`]; who is published follows
//! [`reconcile::membership`]'s rule (the replay counts it on its own walk
//! of the farm and checks against it in debug builds). Nothing here
//! decides anything on its own; it only builds the inputs (a farm, the
//! agents' reports) and reads the outputs.
//!
//! - [`preview()`]: one moment, against a farm (the live one, or the
//!   policy's inventory).
//! - [`replay()`]: a span of time in steps, with a mail backlog.
//! - [`settle`]: after a preview's first reconcile, the ones that follow
//!   until every role has its count.
//! - [`trace`]: the CSV of arriving mail; [`time`]: instants and steps as
//!   people type them.
//!
//! [`wanted::decide`]: crate::wanted::decide
//! [`reconcile::plan`]: crate::reconcile::plan
//! [`reconcile::apply`]: crate::reconcile::apply
//! [`reconcile::membership`]: crate::reconcile::membership

pub mod preview;
pub mod replay;
pub mod settle;
pub mod time;
pub mod trace;

use std::net::{IpAddr, Ipv4Addr};

pub use preview::{Preview, RolePreview, preview};
pub use replay::{Model, Replay, Sample, Summary, replay};
pub use settle::{Outcome, Settling};
pub use trace::Trace;

use crate::autoscale::AutoscaleState;
use crate::farm::{Assignment, Event, Farm, HostRecord, Millis, millis};
use crate::observed::{Observed, Report};
use crate::policy::Policy;
use crate::{reconcile, wanted};

/// What a preview or a replay could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulateError {
    /// An instant, a step or a timezone.
    #[error("`{text}`: {reason}")]
    Time {
        /// What was given.
        text: String,
        /// What is wrong, and the forms accepted.
        reason: String,
    },
    /// A line of the load trace.
    #[error("line {line}: {message}")]
    Trace {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The options do not make sense together.
    #[error("{0}")]
    Options(String),
}

/// The farm a controller would start with from `policy` alone: every
/// inventory host, alive, in its `role:` (as the engine merges the
/// inventory into an empty store).
pub fn inventory_farm(policy: &Policy, now: Millis) -> Farm {
    let mut farm = Farm::default();
    crate::engine::merge_inventory(policy, None, &mut farm, now);
    // As if the farm had been running: every agent holds its role.
    for a in farm.assignments.values_mut() {
        if a.is_arriving() {
            a.phase = crate::farm::Phase::Active;
        }
    }
    farm
}

/// Simulated agents take a new role the moment they are given it: the
/// arrivals their reports allow, applied at the same instant (planning
/// again right after a plan finds only those). Returns their events.
fn arrive_at_once(
    policy: &Policy,
    farm: &mut Farm,
    observed: &Observed,
    wanted: &crate::reconcile::Wanted,
    at: Millis,
) -> Vec<Event> {
    reconcile::plan(policy, farm, observed, wanted, at)
        .iter()
        .filter(|step| matches!(step, reconcile::Step::Arrive { .. }))
        .map(|step| reconcile::apply(farm, step, at))
        .collect()
}

/// A farm of `count` synthetic agent hosts, `smurf1`…`smurfN` (addresses
/// from 10.0.0.1 on), each eligible for every role, plus the policy's
/// static hosts. The agents start where the wanted counts at `now` put
/// them, as if the farm had been running: roles in name order, each
/// filled to its count; any left over stay unassigned.
pub fn synthetic_farm(policy: &Policy, count: u32, now: Millis) -> Farm {
    let mut farm = inventory_farm(policy, now);
    farm.hosts.retain(|_, h| h.is_static);
    farm.assignments.retain(|name, _| farm.hosts.contains_key(name));
    let names: Vec<String> = (1..=count).map(|i| format!("smurf{i}")).collect();
    for (i, name) in (1u32..).zip(&names) {
        let [_, b, c, d] = i.to_be_bytes();
        farm.hosts.insert(
            name.clone(),
            HostRecord::new(name.clone(), vec![IpAddr::V4(Ipv4Addr::new(10, b, c, d))]),
        );
        farm.assignments
            .insert(name.clone(), Assignment::active(None, now));
    }
    let observed = reporting(&farm, |_| None, now, policy);
    let decision = wanted::decide(policy, &farm, &observed, &AutoscaleState::new(), now);
    let mut free = names.iter();
    for (role, count) in decision.wanted.iter() {
        let held = farm
            .assignments
            .values()
            .filter(|a| a.role.as_deref() == Some(role))
            .count();
        let need = usize::try_from(count).unwrap_or(usize::MAX).saturating_sub(held);
        for name in free.by_ref().take(need) {
            farm.assignments
                .insert(name.clone(), Assignment::active(Some(role.to_owned()), now));
        }
    }
    farm
}

/// A copy of `policy` under which no silence within `span` is death. A
/// preview's agents never fall silent, so rather than a heartbeat from
/// every host at every step, a host reports when what it says changes; the
/// failure detector has nothing to find either way, and every other rule
/// is the policy's own.
fn never_silent(policy: &Policy, span: Millis) -> Policy {
    let mut policy = policy.clone();
    policy.heartbeat.dead_after = std::time::Duration::from_millis(u64::try_from(span).unwrap_or(u64::MAX));
    policy
}

/// Observations in which every agent host the farm does not count dead
/// reports at `now`: its report from `reports`, or else a healthy one
/// holding its assigned role. Dead hosts stay silent (and so stay dead).
pub fn reporting<'r>(
    farm: &Farm,
    reports: impl Fn(&str) -> Option<&'r Report>,
    now: Millis,
    policy: &Policy,
) -> Observed {
    let dead_after = millis(policy.heartbeat.dead_after);
    let mut observed = Observed::default();
    for host in farm.hosts.values().filter(|h| !h.is_static && !h.dead) {
        let report = reports(&host.name).cloned().unwrap_or_else(|| Report {
            role: farm.assignments.get(&host.name).and_then(|a| a.role.clone()),
            ..Report::default()
        });
        observed.record(&host.name, report, now, dead_after);
    }
    observed
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::policy::load_file;
    use crate::simulate::time::{default_zone, parse_instant};

    const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/morning-bulge.yaml");

    fn roles(farm: &Farm) -> BTreeMap<Option<String>, usize> {
        let mut counts = BTreeMap::new();
        for (name, a) in &farm.assignments {
            if farm.hosts.get(name).is_some_and(|h| !h.is_static) {
                *counts.entry(a.role.clone()).or_default() += 1;
            }
        }
        counts
    }

    #[test]
    fn synthetic_hosts_start_where_the_wanted_counts_put_them() {
        let policy = load_file(std::path::Path::new(EXAMPLE)).expect("the example loads");
        let tz = default_zone(&policy);
        let night = parse_instant("2026-11-24T03:00", 0, &tz).expect("instant");
        let farm = synthetic_farm(&policy, 100, night);
        assert_eq!(farm.hosts.len(), 101, "100 agents and the static ns1");
        assert!(farm.hosts.get("ns1").is_some_and(|h| h.is_static));
        assert!(
            farm.hosts
                .get("smurf100")
                .is_some_and(|h| h.eligible.is_empty() && !h.is_static)
        );
        let counts = roles(&farm);
        let of = |r: &str| counts.get(&Some(r.to_owned())).copied().unwrap_or(0);
        assert_eq!(
            (of("smtp-out"), of("smtp-in"), of("web"), of("bounce")),
            (4, 3, 4, 3)
        );
        assert_eq!(of("spare"), 86, "the rest");
        let morning = parse_instant("2026-11-24T07:00", 0, &tz).expect("instant");
        let counts = roles(&synthetic_farm(&policy, 100, morning));
        assert_eq!(
            counts.get(&Some("smtp-out".to_owned())),
            Some(&97),
            "all but 3 in the window"
        );
    }

    #[test]
    fn the_inventory_farm_is_the_policy_as_written() {
        let policy = load_file(std::path::Path::new(EXAMPLE)).expect("the example loads");
        let farm = inventory_farm(&policy, 0);
        assert_eq!(farm.hosts.len(), policy.hosts.len());
        for host in &policy.hosts {
            assert_eq!(
                farm.assignments.get(&host.name).and_then(|a| a.role.clone()),
                host.role
            );
        }
    }
}
