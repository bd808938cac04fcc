//! `publish_max`: a role publishes at most N of its members, the least
//! loaded, since senders gain nothing from more (Postfix tries at most
//! `smtp_mx_address_limit` = 5 addresses per delivery) and more members
//! only make answers bigger.
//!
//! The choice is sticky. Members already published stay while they are in
//! the pool; a gap (a member died, drained, was cordoned) is filled at
//! once with the least loaded candidate; and at most once per record TTL
//! one published member is swapped for a candidate whose load is lower by
//! more than [`HYSTERESIS`], so the set does not flap with every report.

use std::collections::BTreeMap;

use crate::farm::Millis;
use crate::observed::Observed;
use crate::policy::{Policy, Role};
use crate::zone_builder::Membership;

/// A candidate replaces a published member only when its load is lower by
/// more than this fraction of the member's.
pub const HYSTERESIS: f64 = 0.2;

/// When each bounded role last swapped a member for a less loaded one.
pub type Choices = BTreeMap<String, Millis>;

/// `candidates` (every member that may be published) bounded to each
/// role's `publish_max`, keeping what `previous` published where it can.
pub fn bound(
    policy: &Policy,
    mut candidates: Membership,
    previous: &Membership,
    choices: &mut Choices,
    observed: &Observed,
    now: Millis,
) -> Membership {
    for (name, role) in &policy.roles {
        let Some(max) = role.publish_max.map(|m| m as usize) else {
            continue;
        };
        let Some(pool) = candidates.get_mut(name) else {
            continue;
        };
        if pool.len() <= max {
            continue;
        }
        let load = |host: &String| load_of(policy, role, observed, host);
        let was: &[String] = previous.get(name).map_or(&[], Vec::as_slice);
        let (mut kept, mut others): (Vec<String>, Vec<String>) =
            pool.drain(..).partition(|h| was.contains(h));
        let by_load = |a: &String, b: &String| load(a).total_cmp(&load(b)).then_with(|| a.cmp(b));
        kept.sort_by(by_load);
        others.sort_by(by_load);
        kept.truncate(max);
        // Fill gaps at once.
        while kept.len() < max && !others.is_empty() {
            kept.push(others.remove(0));
        }
        // At most one swap per TTL, and only for a clear gain.
        let due = choices
            .get(name)
            .is_none_or(|at| now - at >= i64::from(ttl(policy, role)) * 1000);
        if due
            && let (Some(busiest), Some(idlest)) = (kept.last(), others.first())
            && load(idlest) < load(busiest) * (1.0 - HYSTERESIS)
        {
            let idlest = others.remove(0);
            kept.pop();
            kept.push(idlest);
            choices.insert(name.clone(), now);
        }
        kept.sort();
        *pool = kept;
    }
    candidates
}

/// The load that ranks members: the role's load-rule metric when it has
/// one, otherwise `load1`; a host that reports neither ranks last.
fn load_of(policy: &Policy, role: &Role, observed: &Observed, host: &str) -> f64 {
    let metric = policy
        .autoscale
        .iter()
        .find(|rule| rule.role == role.name)
        .map_or("load1", |rule| rule.metric.as_str());
    observed
        .get(host)
        .and_then(|o| o.report.metrics.get(metric).copied())
        .filter(|v| v.is_finite())
        .unwrap_or(f64::MAX)
}

/// How often a bounded role may swap a member: its records' TTL (caches
/// hold the old set that long anyway).
fn ttl(policy: &Policy, role: &Role) -> u32 {
    role.records.iter().map(|r| r.ttl).min().unwrap_or(policy.ttl)
}
