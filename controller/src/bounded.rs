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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::observed::Report;
    use crate::policy::load_str;

    const POLICY: &str = r#"
zone: lists.example.test
ttl: 30
nameservers: [ns1.example.net.]
roles:
  smtp-in:
    publish_max: 2
    records: [ { name: "@", type: MX, priority: 10, ttl: 60 } ]
"#;

    fn policy() -> Policy {
        load_str(Path::new("test.yaml"), POLICY).expect("policy loads")
    }

    fn loads(pairs: &[(&str, f64)]) -> Observed {
        let mut observed = Observed::default();
        for (host, load) in pairs {
            let mut report = Report::default();
            report.metrics.insert("load1".to_owned(), *load);
            observed.record(host, report, 0, 3_000);
        }
        observed
    }

    fn pool(hosts: &[&str]) -> Membership {
        Membership::from([(
            "smtp-in".to_owned(),
            hosts.iter().map(|h| (*h).to_owned()).collect(),
        )])
    }

    #[test]
    fn the_least_loaded_members_are_published_first() {
        let observed = loads(&[("a", 3.0), ("b", 0.5), ("c", 1.0), ("d", 2.0)]);
        let mut choices = Choices::new();
        let out = bound(
            &policy(),
            pool(&["a", "b", "c", "d"]),
            &Membership::new(),
            &mut choices,
            &observed,
            0,
        );
        assert_eq!(out, pool(&["b", "c"]));
    }

    #[test]
    fn the_choice_is_sticky_within_a_ttl_and_swaps_one_for_a_clear_gain_after() {
        let p = policy();
        let mut choices = Choices::new();
        let previous = pool(&["a", "b"]);
        // Still in the pool, so kept; `c` is idler, but the choice was just made.
        choices.insert("smtp-in".to_owned(), 0);
        let observed = loads(&[("a", 3.0), ("b", 1.0), ("c", 0.1)]);
        let out = bound(
            &p,
            pool(&["a", "b", "c"]),
            &previous,
            &mut choices,
            &observed,
            59_000,
        );
        assert_eq!(out, previous);
        // A TTL later: the busiest member gives way to the idlest candidate.
        let out = bound(
            &p,
            pool(&["a", "b", "c"]),
            &previous,
            &mut choices,
            &observed,
            60_000,
        );
        assert_eq!(out, pool(&["b", "c"]));
        assert_eq!(choices["smtp-in"], 60_000);
        // No swap for less than the hysteresis.
        let observed = loads(&[("b", 1.0), ("c", 1.0), ("a", 0.9)]);
        let out = bound(
            &p,
            pool(&["a", "b", "c"]),
            &pool(&["b", "c"]),
            &mut choices,
            &observed,
            200_000,
        );
        assert_eq!(out, pool(&["b", "c"]));
    }

    #[test]
    fn a_gap_is_filled_at_once_and_small_pools_are_untouched() {
        let p = policy();
        let mut choices = Choices::from([("smtp-in".to_owned(), 0)]);
        let observed = loads(&[("a", 3.0), ("c", 1.0), ("d", 2.0)]);
        // `b` left the pool (dead, drained): filled with the idlest at once.
        let out = bound(
            &p,
            pool(&["a", "c", "d"]),
            &pool(&["a", "b"]),
            &mut choices,
            &observed,
            1_000,
        );
        assert_eq!(out, pool(&["a", "c"]));
        let out = bound(
            &p,
            pool(&["a", "c"]),
            &pool(&["a"]),
            &mut choices,
            &observed,
            1_000,
        );
        assert_eq!(out, pool(&["a", "c"]));
    }
}
