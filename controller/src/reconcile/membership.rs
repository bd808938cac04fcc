//! Membership: who is published in each role. One rule ([`in_pool`]) for
//! the planner and for the zone.

use std::collections::BTreeMap;

use crate::farm::{Assignment, Farm, HostRecord, Phase};
use crate::observed::{Observation, Observed};
use crate::policy::Policy;

use super::liveness::not_contradicted;

/// Which hosts are published in each role right now: role -> host names.
/// Hosts not listed (draining, dead, unassigned) publish only their own
/// address records.
pub type Membership = BTreeMap<String, Vec<String>>;

/// Every (host, role) published, in host order: in its role's pool (see
/// [`in_pool`]) and static or alive.
fn published<'f>(
    policy: &'f Policy,
    farm: &'f Farm,
    observed: &'f Observed,
) -> impl Iterator<Item = (&'f String, &'f String)> {
    farm.with_assignments().filter_map(move |(host, a)| {
        let role = in_pool(policy, host, a, observed.get(&host.name))?;
        (host.is_static || !host.dead).then_some((&host.name, role))
    })
}

/// The one rule for who is in a pool, liveness aside (the planner judges
/// that for this tick, [`published`] from the farm): the role the host
/// holds when it is active in a declared role, not cordoned, and static or
/// with the role in place (an agent that now reports another role is
/// switching and stays out of DNS).
pub(super) fn in_pool<'a>(
    policy: &Policy,
    host: &HostRecord,
    a: &'a Assignment,
    obs: Option<&Observation>,
) -> Option<&'a String> {
    let (Some(role), Phase::Active) = (&a.role, &a.phase) else {
        return None;
    };
    let in_place = host.is_static || not_contradicted(obs, role);
    (!host.cordoned && policy.roles.contains_key(role) && in_place).then_some(role)
}

/// True when [`membership`] would return `current`, without building it.
pub fn membership_is(policy: &Policy, farm: &Farm, observed: &Observed, current: &Membership) -> bool {
    // Each role of `current`, its members, and how many of them were met:
    // a handful of roles, so a list (this runs on every tick).
    let mut roles: Vec<(&str, &[String], usize)> = current
        .iter()
        .map(|(role, members)| (role.as_str(), members.as_slice(), 0))
        .collect();
    for (name, role) in published(policy, farm, observed) {
        let Some((_, members, met)) = roles.iter_mut().find(|(r, _, _)| *r == role.as_str()) else {
            return false;
        };
        if members.get(*met) != Some(name) {
            return false;
        }
        *met += 1;
    }
    roles
        .iter()
        .all(|(_, members, met)| !members.is_empty() && *met == members.len())
}

/// Who is published in each role (see [`published`] for the rule).
pub fn membership(policy: &Policy, farm: &Farm, observed: &Observed) -> Membership {
    let mut members = Membership::new();
    for (name, role) in published(policy, farm, observed) {
        match members.get_mut(role) {
            Some(list) => list.push(name.clone()),
            None => {
                members.insert(role.clone(), vec![name.clone()]);
            }
        }
    }
    members
}
