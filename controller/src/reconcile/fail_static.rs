//! Fail static (rule 1): when more than the panic threshold of a pool (or
//! of all agents) went silent at once, nothing more is declared dead and
//! nothing moves until the silent hosts are heard from again.

use std::collections::{BTreeMap, HashSet};

use crate::farm::{Farm, HostRecord, Millis};
use crate::policy::Policy;

use super::liveness::{Health, Look};

/// Host names, hashed (foldhash): the reconciler looks every host up.
type NameSet<'a> = HashSet<&'a str, foldhash::fast::RandomState>;

/// Why fail-static should hold at this plan, if it should.
pub(super) fn alarm(policy: &Policy, farm: &Farm, looks: &[Look<'_>], dead_after: Millis) -> Option<String> {
    let hosts = || farm.hosts.values().zip(looks);
    // Heartbeats are staggered over an interval and ticks
    // are shorter, so hosts that fall silent together cross `dead_after` on
    // different ticks. They are judged together: hosts overdue now, and
    // hosts already dead of a silence that began within `dead_after` of a
    // host falling silent now, belong to the same event and count with it.
    let agent = |h: &HostRecord, look: &Look<'_>| !h.is_static && !h.cordoned && look.known;
    let falling: Vec<(&HostRecord, Option<Millis>)> = hosts()
        .filter(|(h, look)| !h.dead && agent(h, look) && look.health == Health::Silent)
        .map(|(h, look)| (h, look.obs.map(|o| o.last_heartbeat)))
        .collect();
    // Only a host falling silent now can start or keep a panic: planning
    // again after its death at the same instant must not (idempotence), and
    // once every silent host is heard from again the panic is over.
    if falling.is_empty() {
        None
    } else {
        let overdue: Vec<(&HostRecord, Option<Millis>)> = hosts()
            .filter(|(h, look)| !h.dead && agent(h, look) && look.overdue)
            .map(|(h, look)| (h, look.obs.map(|o| o.last_heartbeat)))
            .collect();
        let span = falling
            .iter()
            .chain(&overdue)
            .filter_map(|&(_, heard)| heard)
            .fold(None, |acc: Option<(Millis, Millis)>, t| {
                Some(acc.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))))
            });
        let recently_dead: NameSet<'_> = match span {
            None => NameSet::default(),
            Some((earliest, latest)) => hosts()
                .filter(|(h, look)| h.dead && agent(h, look) && look.health == Health::Silent)
                .filter(|(_, look)| {
                    look.obs.is_some_and(|o| {
                        o.last_heartbeat >= earliest - dead_after && o.last_heartbeat <= latest + dead_after
                    })
                })
                .map(|(h, _)| h.name.as_str())
                .collect(),
        };
        let silent: NameSet<'_> = falling
            .iter()
            .chain(&overdue)
            .map(|(h, _)| h.name.as_str())
            .chain(recently_dead.iter().copied())
            .collect();
        let known: Vec<bool> = looks.iter().map(|l| l.known).collect();
        panic_reason(policy, farm, &known, &silent, &recently_dead)
    }
}

/// Why fail-static should be in force, if it should.
/// `known` has a flag per host in host order: heard from (see [`Look`]).
fn panic_reason(
    policy: &Policy,
    farm: &Farm,
    known: &[bool],
    silent: &NameSet<'_>,
    recently_dead: &NameSet<'_>,
) -> Option<String> {
    if silent.len() < 2 {
        return None;
    }
    let threshold = u64::from(policy.heartbeat.panic_threshold_percent);
    let over = |count: usize, total: usize| total > 0 && (count as u64) * 100 > threshold * total as u64;
    let counted = |i: usize, h: &HostRecord| {
        known.get(i).copied().unwrap_or(false)
            && !h.is_static
            && !h.cordoned
            && (!h.dead || recently_dead.contains(h.name.as_str()))
    };
    let agents: Vec<&HostRecord> = farm
        .hosts
        .values()
        .enumerate()
        .filter(|&(i, h)| counted(i, h))
        .map(|(_, h)| h)
        .collect();
    if over(silent.len(), agents.len()) {
        return Some(format!(
            "{} of {} agents went silent at once",
            silent.len(),
            agents.len()
        ));
    }
    // (pool size, silent in the pool) per role, in one pass.
    let mut pools: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, h, a) in farm.with_assignments_indexed() {
        if !counted(i, h) {
            continue;
        }
        if let Some(role) = a.role.as_deref() {
            let pool = pools.entry(role).or_default();
            pool.0 += 1;
            pool.1 += usize::from(silent.contains(h.name.as_str()));
        }
    }
    for role in policy.roles.keys() {
        let (size, quiet) = pools.get(role.as_str()).copied().unwrap_or_default();
        if quiet >= 2 && over(quiet, size) {
            return Some(format!("{quiet} of {size} hosts in {role} went silent at once"));
        }
    }
    None
}
