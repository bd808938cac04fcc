//! Checks across parts of a policy whose parts are each valid: mail
//! exchanges nothing gives an address (an error); mins the inventory cannot
//! fill (an error when the inventory is the whole farm, else a warning) and
//! schedule windows that overlap (warnings).
//!
//! Each check runs only when nothing was found in the parts it reads, so
//! its messages never follow from an earlier mistake, yet a mistake in
//! one part does not hide what is wrong with another.

use std::collections::BTreeSet;

use hickory_proto::rr::Name;
use jiff::Timestamp;

use super::locate::YamlPath;
use super::validate::Checker;
use super::{Enrolment, FixedData, MemberRecord, Policy};
use crate::schedule;

pub(super) fn check(c: &mut Checker, policy: &Policy) {
    if !c.has_problems_in(&["zone", "roles", "hosts", "enrolment"]) {
        mins_fit_the_inventory(c, policy);
    }
    if !c.has_problems_in(&["zone", "roles", "hosts"]) {
        exchanges_have_addresses(c, policy);
        super::empty_pools::check(c, policy);
    }
    if !c.has_problems_in(&["zone", "roles", "hosts", "spf"]) {
        super::spf::check(c, policy);
    }
    if !c.has_problems_in(&["hosts", "reverse"]) {
        super::reverse_zones::check(c, policy);
    }
    if !c.has_problems_in(&["schedules"]) {
        overlapping_windows(c, policy, Timestamp::now().as_millisecond());
    }
}

/// Every role's `min` should be reachable by the inventory's hosts that
/// may hold it, and all mins together by the hosts there are. With
/// `enrolment: inventory` the inventory is the whole farm and a min it
/// cannot fill is an error; with open enrolment agents may bring hosts the
/// inventory does not list, so it is a warning (`muster check --strict`
/// makes it an error).
fn mins_fit_the_inventory(c: &mut Checker, policy: &Policy) {
    let closed = policy.enrolment == Enrolment::Inventory;
    let note = |c: &mut Checker, at: &YamlPath, message: String| {
        if closed {
            c.report(at, message);
        } else {
            c.warn(at, message);
        }
    };
    let (unless, remedy) = if closed {
        (
            "",
            "; or set enrolment: open if agents will enrol hosts not listed here",
        )
    } else {
        ("unless agents enrol more, ", "")
    };
    let roles_at = YamlPath::root().key("roles");
    let total: u32 = policy.roles.values().map(|r| r.min).sum();
    if !closed && policy.hosts.iter().all(|h| h.is_static) {
        if total > 0 {
            c.warn(
                &roles_at,
                format!(
                    "no agent hosts in the inventory: the roles' mins add up to {total}, so agents must \
                     enrol at least that many hosts before every role has its min"
                ),
            );
        }
        return;
    }
    let holders = |role: &str| {
        policy
            .hosts
            .iter()
            .filter(|h| {
                if h.is_static {
                    h.role.as_deref() == Some(role)
                } else {
                    h.eligible.is_empty() || h.eligible.iter().any(|e| e == role)
                }
            })
            .count()
    };
    for (name, role) in &policy.roles {
        let can = holders(name);
        if (role.min as usize) > can {
            let message = format!(
                "min {} for role \"{name}\" but only {} in the inventory may hold it; \
                 {unless}lower the min or make more hosts eligible (roles: [...]){remedy}",
                role.min,
                hosts(can)
            );
            note(c, &roles_at.key(name).key("min"), message);
        }
    }
    let serving = policy
        .hosts
        .iter()
        .filter(|h| !h.is_static || h.role.is_some())
        .count();
    if total as usize > serving {
        let message = format!(
            "the roles' mins add up to {total} but the inventory has only {} that can \
             hold a role; {unless}lower some mins or add hosts{remedy}",
            hosts(serving)
        );
        note(c, &roles_at, message);
    }
}

/// `1 host`, `0 hosts`.
fn hosts(n: usize) -> String {
    if n == 1 {
        "1 host".to_owned()
    } else {
        format!("{n} hosts")
    }
}

/// An MX must point at a name with an address record (RFC 5321 5.1); for
/// a target inside the zone, muster must publish one.
fn exchanges_have_addresses(c: &mut Checker, policy: &Policy) {
    let mut addressed: BTreeSet<&Name> = policy.hosts.iter().map(|h| &h.fqdn).collect();
    for role in policy.roles.values() {
        addressed.extend(
            role.records
                .iter()
                .filter(|r| matches!(r.kind, MemberRecord::A | MemberRecord::Aaaa))
                .map(|r| &r.owner),
        );
        addressed.extend(
            role.fallback
                .iter()
                .filter(|r| matches!(r.data, FixedData::A(_) | FixedData::Aaaa(_)))
                .map(|r| &r.owner),
        );
    }
    for (name, role) in &policy.roles {
        for (i, record) in role.fallback.iter().enumerate() {
            let FixedData::Mx { exchange, .. } = &record.data else {
                continue;
            };
            if policy.zone.zone_of(exchange) && !addressed.contains(exchange) {
                let label = exchange
                    .iter()
                    .next()
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .unwrap_or_default();
                let message = format!(
                    "MX target {exchange} is in the zone but nothing publishes its address; add a host \
                     `{{ name: {label}, address: ..., static: true }}` to hosts"
                );
                let at = YamlPath::root()
                    .key("roles")
                    .key(name)
                    .key("fallback")
                    .index(i)
                    .key("target");
                c.report(&at, message);
            }
        }
    }
}

fn overlapping_windows(c: &mut Checker, policy: &Policy, now: i64) {
    for overlap in schedule::overlaps(&policy.schedules, now) {
        let (earlier, later) = (
            &policy.schedules[overlap.earlier],
            &policy.schedules[overlap.later],
        );
        let when = Timestamp::from_millisecond(overlap.at)
            .map(|t| {
                t.to_zoned(later.timezone.clone())
                    .strftime("%Y-%m-%d %H:%M %Z")
                    .to_string()
            })
            .unwrap_or_default();
        let message = format!(
            "the windows of \"{}\" and \"{}\" overlap (first at {when}); while both are open, \"{}\" \
             wins because it is listed later",
            earlier.name, later.name, later.name
        );
        c.warn(
            &YamlPath::root().key("schedules").index(overlap.later).key("cron"),
            message,
        );
    }
}
