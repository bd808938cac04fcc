//! One moment: the wanted counts and the steps the *first* reconcile at
//! that moment would take, on a copy of a farm. Nothing is changed.
//!
//! The agents are assumed to keep reporting what they report now (hosts
//! the farm counts dead stay silent), so a moment hours ahead shows what
//! the policy asks for then against the farm as it is now. Load rules
//! continue from the memory they are given: the running controller's for
//! its own plan, none (they start from the pools as they are) for another
//! policy. Caps (`moves_per_tick`, `moves_per_role`), host cooldowns
//! and drain-before-move all apply, so the moves of that reconcile are only
//! the first ones: [`super::settle`] follows the later reconciles until
//! every role has its count.

use std::collections::BTreeMap;

use crate::autoscale::AutoscaleState;
use crate::farm::{Event, Farm, Millis, Phase};
use crate::observed::Report;
use crate::policy::Policy;
use crate::reconcile;
use crate::schedule;
use crate::wanted::{self, Cause};

use super::settle::{Settling, settle};

/// What the first reconcile at [`Preview::at`] would do.
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    /// The moment previewed.
    pub at: Millis,
    /// The schedule in force and when its window opened; `None`: the
    /// policy's `default_want`.
    pub schedule: Option<(String, Millis)>,
    /// Live hosts the counts were resolved against.
    pub live_hosts: u32,
    /// Every role, in name order.
    pub roles: Vec<RolePreview>,
    /// The steps the reconcile would take, as the events it would log.
    pub events: Vec<Event>,
    /// The reconciles after it, until every role has its count.
    pub then: Settling,
}

/// One role at the moment previewed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolePreview {
    /// The role.
    pub role: String,
    /// Its `min`.
    pub min: u32,
    /// Live hosts holding it now, active (not draining).
    pub members: u32,
    /// Live hosts draining towards it now.
    pub incoming: u32,
    /// The count wanted then (never below `min`).
    pub wanted: u32,
    /// Who set the count and why.
    pub cause: Option<Cause>,
}

/// Previews the first reconcile at `at` on `farm`, given each agent's
/// latest report by host name (`None`: a healthy report of its role) and
/// the load rules' memory (a running controller's, or empty: rules that
/// start fresh scale down without waiting for their stabilization window).
pub fn preview<'r>(
    policy: &Policy,
    farm: &Farm,
    reports: impl Fn(&str) -> Option<&'r Report>,
    rules: &AutoscaleState,
    at: Millis,
) -> Preview {
    let observed = super::reporting(farm, &reports, at, policy);
    let decision = wanted::decide(policy, farm, &observed, rules, at);
    let steps = reconcile::plan(policy, farm, &observed, &decision.wanted, at);
    let mut scratch = farm.clone();
    let events = steps
        .iter()
        .map(|step| reconcile::apply(&mut scratch, step, at))
        .collect();
    let then = settle(policy, scratch, &reports, &decision.wanted, at);

    let mut members: BTreeMap<&str, u32> = BTreeMap::new();
    let mut incoming: BTreeMap<&str, u32> = BTreeMap::new();
    for (name, a) in &farm.assignments {
        if farm.hosts.get(name).is_none_or(|h| h.dead || h.cordoned) {
            continue;
        }
        match (&a.phase, a.role.as_deref()) {
            (Phase::Active, Some(role)) => *members.entry(role).or_default() += 1,
            (Phase::Draining { to: Some(to), .. }, _) => *incoming.entry(to.as_str()).or_default() += 1,
            (Phase::Arriving, Some(to)) => *incoming.entry(to).or_default() += 1,
            _ => {}
        }
    }
    let roles = policy
        .roles
        .iter()
        .map(|(role, spec)| RolePreview {
            role: role.clone(),
            min: spec.min,
            members: members.get(role.as_str()).copied().unwrap_or(0),
            incoming: incoming.get(role.as_str()).copied().unwrap_or(0),
            wanted: decision.wanted.get(role).copied().unwrap_or(0).max(spec.min),
            cause: decision.wanted.cause(role).cloned(),
        })
        .collect();
    Preview {
        at,
        schedule: schedule::in_force(&policy.schedules, at).map(|(s, since)| (s.name.clone(), since)),
        live_hosts: decision.live_hosts,
        roles,
        events,
        then,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load_str;
    use crate::simulate::inventory_farm;
    use crate::simulate::time::parse_instant;

    const POLICY: &str = r#"
zone: lists.example.test
nameservers: [ns1.lists.example.test]
roles:
  smtp-out: { min: 2, records: [ { name: smtp-out, type: A } ] }
  web: { min: 1, records: [ { name: www, type: A } ] }
  spare: { min: 0 }
default_want: { smtp-out: 2, web: 2, spare: rest }
schedules:
  - name: bulge
    cron: "0 6 * * *"
    for: 3h
    timezone: America/Los_Angeles
    want: { smtp-out: all-but 1, web: 1 }
hosts:
  - { name: ns1, address: 192.0.2.1, static: true }
  - { name: a1, address: 192.0.2.11, role: smtp-out }
  - { name: a2, address: 192.0.2.12, role: smtp-out }
  - { name: a3, address: 192.0.2.13, role: web }
  - { name: a4, address: 192.0.2.14, role: web }
  - { name: a5, address: 192.0.2.15, role: spare }
"#;

    fn at(text: &str) -> Millis {
        let tz = crate::simulate::time::parse_zone("America/Los_Angeles").expect("zone");
        parse_instant(text, 0, &tz).expect("instant")
    }

    #[test]
    fn inside_the_window_the_schedule_sets_counts_and_moves_start() {
        let policy = load_str(std::path::Path::new("p.yaml"), POLICY).expect("policy loads");
        let now = at("2026-11-24T06:30");
        let farm = inventory_farm(&policy, now);
        let p = preview(&policy, &farm, |_| None, &AutoscaleState::new(), now);
        assert_eq!(p.schedule.as_ref().map(|(s, _)| s.as_str()), Some("bulge"));
        assert_eq!(p.live_hosts, 5);
        let out = &p.roles.iter().find(|r| r.role == "smtp-out").expect("smtp-out");
        assert_eq!((out.members, out.wanted), (2, 4));
        assert_eq!(out.cause.as_ref().map(|c| c.actor.as_str()), Some("bulge"));
        // The spare and one of web's two hosts (one drain out of a role at
        // a time); the order is the reconciler's business.
        let mut moves: Vec<(&str, Option<&str>, Option<&str>)> = p
            .events
            .iter()
            .map(|e| (e.kind.as_str(), e.host.as_deref(), e.to_role.as_deref()))
            .collect();
        moves.sort();
        assert_eq!(
            moves,
            [
                ("drain-start", Some("a3"), Some("smtp-out")),
                ("drain-start", Some("a5"), Some("smtp-out"))
            ]
        );
        assert!(p.events.iter().all(|e| e.actor == "bulge"));
        // Nothing changed in the farm given.
        assert_eq!(farm, inventory_farm(&policy, now));
    }

    #[test]
    fn outside_the_window_the_default_applies() {
        let policy = load_str(std::path::Path::new("p.yaml"), POLICY).expect("policy loads");
        let now = at("2026-11-24T12:00");
        let p = preview(
            &policy,
            &inventory_farm(&policy, now),
            |_| None,
            &AutoscaleState::new(),
            now,
        );
        assert_eq!(p.schedule, None);
        let wanted: Vec<(&str, u32)> = p.roles.iter().map(|r| (r.role.as_str(), r.wanted)).collect();
        assert_eq!(wanted, [("smtp-out", 2), ("spare", 1), ("web", 2)]);
        assert!(
            p.events.is_empty(),
            "the inventory already matches: {:?}",
            p.events
        );
        assert_eq!(
            p.roles[0].cause.as_ref().map(|c| c.actor.as_str()),
            Some(wanted::DEFAULT_WANT)
        );
    }
}
