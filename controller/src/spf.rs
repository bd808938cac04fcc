//! The SPF record that follows the sending pools.
//!
//! Every host that may send mail as the domain is listed: members of the
//! listed roles in any phase (arriving, serving, draining out — a draining
//! host still delivers its queue, a dead one may come back with one), and
//! hosts that left those roles less than `keep_after_leave` ago. A host
//! joining a listed role is listed from the moment it is given the role
//! and is published in the role's pool only once the record's TTL has
//! passed (see `reconcile`), so no receiver holds a cached SPF without it.
//!
//! How the record is written (CIDR blocks, `_spfN` parts, the lookup
//! limit) is [`crate::policy::Spf::records`]'s business, shared with
//! `muster check`.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::farm::{Farm, Millis, millis};
use crate::policy::{Policy, Spf};

/// The hosts the SPF lists, by name.
pub type Senders = BTreeSet<String>;

/// True when hosts in `role` send mail as the domain: the SPF lists them,
/// and they join the role's pool only once it has listed them for its TTL.
pub fn sends(policy: &Policy, role: Option<&str>) -> bool {
    policy
        .spf
        .as_ref()
        .is_some_and(|spf| role.is_some_and(|role| spf.roles.iter().any(|r| r == role)))
}

/// Every host that may be sending mail as the domain at `now`.
pub fn senders(spf: &Spf, farm: &Farm, now: Millis) -> Senders {
    let sends = |role: &str| spf.roles.iter().any(|r| r == role);
    let keep = millis(spf.keep_after_leave);
    let holding = farm
        .assignments
        .iter()
        .filter(|(_, a)| a.role.as_deref().is_some_and(sends))
        .map(|(host, _)| host.clone());
    let recently_left = farm
        .departures
        .iter()
        .filter(|((host, role), left)| sends(role) && now - **left < keep && farm.hosts.contains_key(host))
        .map(|((host, _), _)| host.clone());
    holding.chain(recently_left).collect()
}

/// Notes in `after` the roles each host left since `before`: a host whose
/// role changed, or that left the farm, left its old role at `now`; a host
/// back in a role it left is no longer departed from it. Departures older
/// than the SPF keeps them are forgotten (all of them without an SPF).
pub fn track_departures(spf: Option<&Spf>, before: &Farm, after: &mut Farm, now: Millis) {
    for (host, old) in &before.assignments {
        let Some(old_role) = &old.role else { continue };
        let new_role = after.assignments.get(host).and_then(|a| a.role.as_ref());
        if new_role != Some(old_role) {
            after.departures.insert((host.clone(), old_role.clone()), now);
        }
    }
    for (host, a) in &after.assignments {
        if let Some(role) = &a.role {
            after.departures.remove(&(host.clone(), role.clone()));
        }
    }
    let keep = spf.map_or(0, |s| millis(s.keep_after_leave));
    after.departures.retain(|_, left| now - *left < keep);
}

/// The addresses of every host [`senders`] lists: what the record covers.
pub fn sender_addresses(spf: &Spf, farm: &Farm, now: Millis) -> Vec<IpAddr> {
    senders(spf, farm, now)
        .iter()
        .filter_map(|host| farm.hosts.get(host))
        .flat_map(|host| host.addresses.iter().copied())
        .collect()
}

/// When the next listed departure expires (the SPF changes then with no
/// other change to the farm), if any.
pub fn next_expiry(spf: &Spf, farm: &Farm, now: Millis) -> Option<Millis> {
    let keep = millis(spf.keep_after_leave);
    farm.departures
        .iter()
        .filter(|((_, role), _)| spf.roles.contains(role))
        .map(|(_, left)| left.saturating_add(keep))
        .filter(|&end| end > now)
        .min()
}
