//! Names that vanish when a pool is empty: a role with `min: 0` may have no
//! member at all (its hosts lent to another role, or all of them dead), and
//! then its records are gone. If nothing else lives at one of its owner
//! names, the name itself is gone: the answer is NXDOMAIN, which a sending
//! MTA takes as a permanent failure (the bounce address does not exist)
//! rather than a reason to retry.
//!
//! muster cannot publish an empty node instead (secondaries transfer
//! records, not names), so the fix is in the policy: a fallback record at
//! the name, or a `min` of at least 1. `muster check` warns, naming each
//! such name and the fix; `--strict` makes it an error.

use std::collections::BTreeSet;

use hickory_proto::rr::Name;

use super::locate::YamlPath;
use super::validate::Checker;
use super::{MemberRecord, Policy, Role};

pub(super) fn check(c: &mut Checker, policy: &Policy) {
    let always = always_present(policy);
    let roles_at = YamlPath::root().key("roles");
    for (name, role) in &policy.roles {
        if role.min > 0 || has_static_member(policy, name) {
            continue;
        }
        for owner in owners(role) {
            if covered(&always, owner) {
                continue;
            }
            let message = vanishes(policy, name, role, owner);
            c.warn_key(&roles_at, name, message);
        }
    }
}

/// Names something is published at whatever the pools hold: the apex, every
/// role's fallback records, every inventory host's own address, and the
/// records of roles with a `min` of at least 1.
fn always_present(policy: &Policy) -> BTreeSet<Name> {
    let mut names = BTreeSet::from([policy.zone.clone()]);
    names.extend(policy.hosts.iter().map(|h| h.fqdn.clone()));
    for role in policy.roles.values() {
        names.extend(role.fallback.iter().map(|r| r.owner.clone()));
        if role.min > 0 {
            names.extend(role.records.iter().map(|r| r.owner.clone()));
        }
    }
    names
}

/// A name exists if something is published at it or below it (an empty
/// non-terminal answers NODATA, not NXDOMAIN).
fn covered(always: &BTreeSet<Name>, owner: &Name) -> bool {
    always.iter().any(|name| owner.zone_of(name))
}

/// A static host in the role is always published there.
fn has_static_member(policy: &Policy, role: &str) -> bool {
    policy
        .hosts
        .iter()
        .any(|h| h.is_static && h.role.as_deref() == Some(role))
}

/// The role's owner names, each once, in the order written.
fn owners(role: &Role) -> Vec<&Name> {
    let mut seen = Vec::new();
    for record in &role.records {
        if !seen.contains(&&record.owner) {
            seen.push(&record.owner);
        }
    }
    seen
}

fn vanishes(policy: &Policy, name: &str, role: &Role, owner: &Name) -> String {
    let label = relative(owner, &policy.zone);
    let publishes_mx = role
        .records
        .iter()
        .any(|r| &r.owner == owner && matches!(r.kind, MemberRecord::Mx { .. }));
    let example = if publishes_mx {
        format!("{{ name: {label}, type: MX, priority: 20, target: <an in-zone static host> }}")
    } else {
        format!("{{ name: {label}, type: A, address: <a fixed address> }}")
    };
    format!(
        "role \"{name}\" has min 0 and no fallback at {owner}: whenever its pool is empty that name \
         does not exist (NXDOMAIN, a permanent failure for senders); add a fallback at {label}, \
         e.g. {example}, or raise min to 1"
    )
}

/// `owner` relative to `zone` as a policy writes it (`bounces`, `@`).
fn relative(owner: &Name, zone: &Name) -> String {
    let keep = usize::from(owner.num_labels().saturating_sub(zone.num_labels()));
    if keep == 0 {
        return "@".to_owned();
    }
    owner
        .iter()
        .take(keep)
        .map(|label| String::from_utf8_lossy(label).into_owned())
        .collect::<Vec<_>>()
        .join(".")
}
