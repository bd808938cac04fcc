//! Checks on the names the zone publishes, shared by the policy's
//! `records:`/`aliases:` and the API's writes of records and aliases.
//!
//! Both go through [`claims::conflict`]: the policy checks each of its
//! records and aliases against everything muster publishes and the ones
//! written before it (so a pair is reported once, at the later one); the
//! API checks a new record or alias against the policy and the records and
//! aliases already in the store, and refuses it (422) with the reason and
//! the fix when it would break the zone.

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::rr::Name;

use super::claims::{self, Aspect, Claim, Publisher, Source};
use super::locate::{Spot, YamlPath};
use super::validate::Checker;
use super::{Enrolment, Policy, StaticRecord};

/// Why a record or alias cannot be added: the reason and how to fix it,
/// in one sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameConflict(pub String);

/// Checks `record`, to be added through the API, against the policy and
/// the records and aliases already in the store. Adding a record the store
/// already holds is no conflict.
pub fn check_api_record(
    policy: &Policy,
    records: &BTreeSet<StaticRecord>,
    aliases: &BTreeMap<Name, String>,
    record: &StaticRecord,
) -> Result<(), NameConflict> {
    if !policy.zone.zone_of(&record.owner) {
        return Err(NameConflict(format!(
            "{} is outside the zone {}; use a name that ends in {}",
            record.owner, policy.zone, policy.zone
        )));
    }
    if record.data.record_type() == hickory_proto::rr::RecordType::SOA {
        return Err(NameConflict(
            "the SOA record is muster's own; its fields are set under soa: in the policy".to_owned(),
        ));
    }
    let new = claims::record_claim(record, Source::Store);
    let others = records.iter().filter(|r| *r != record);
    let existing = existing(policy, others, aliases, None);
    first_conflict(policy, &new, &existing)
}

/// Checks an alias `owner` -> `host`, to be set through the API. The
/// alias's current target, if it has one, is replaced, not conflicted
/// with. Under `enrolment: inventory` the host must be in the inventory;
/// otherwise an agent may enrol it later, and the API knows its hosts.
pub fn check_api_alias(
    policy: &Policy,
    records: &BTreeSet<StaticRecord>,
    aliases: &BTreeMap<Name, String>,
    owner: &Name,
    host: &str,
) -> Result<(), NameConflict> {
    if !policy.zone.zone_of(owner) || *owner == policy.zone {
        return Err(NameConflict(format!(
            "{owner} is not a name below the zone {}; an alias is a CNAME, which cannot sit at the apex",
            policy.zone
        )));
    }
    if let Err(message) = host_known(policy, host) {
        return Err(NameConflict(message));
    }
    let new = Claim {
        owner: owner.clone(),
        by: Publisher::Alias {
            host: host.to_owned(),
            source: Source::Store,
        },
    };
    let existing = existing(policy, records.iter(), aliases, Some(owner));
    first_conflict(policy, &new, &existing)
}

/// What muster publishes plus the policy's records and aliases plus the
/// store's: the aliases are the store's (seeded from the policy), and the
/// policy's where the store has none at that name. `moving` is an alias
/// being set again, left out.
fn existing<'a>(
    policy: &Policy,
    records: impl Iterator<Item = &'a StaticRecord>,
    aliases: &BTreeMap<Name, String>,
    moving: Option<&Name>,
) -> Vec<Claim> {
    let mut claims = claims::fixed_claims(policy);
    claims.extend(
        policy
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| claims::record_claim(r, Source::Policy(format!("records[{i}]")))),
    );
    claims.extend(records.map(|r| claims::record_claim(r, Source::Store)));
    let store = aliases.iter().map(|(owner, host)| (owner, host, Source::Store));
    let from_policy = policy
        .aliases
        .iter()
        .filter(|a| !aliases.contains_key(&a.owner))
        .map(|a| (&a.owner, &a.host, Source::Policy(format!("aliases: {}", a.owner))));
    claims.extend(
        store
            .chain(from_policy)
            .filter(|(owner, _, _)| Some(*owner) != moving)
            .map(|(owner, host, source)| Claim {
                owner: owner.clone(),
                by: Publisher::Alias {
                    host: host.clone(),
                    source,
                },
            }),
    );
    claims
}

fn first_conflict(policy: &Policy, new: &Claim, existing: &[Claim]) -> Result<(), NameConflict> {
    match existing
        .iter()
        .find_map(|old| claims::conflict(&policy.zone, new, old))
    {
        Some((_, message)) => Err(NameConflict(message)),
        None => Ok(()),
    }
}

/// Under `enrolment: inventory` an alias's host must be in the inventory.
pub(super) fn host_known(policy: &Policy, host: &str) -> Result<(), String> {
    if policy.enrolment != Enrolment::Inventory || policy.hosts.iter().any(|h| h.name == host) {
        return Ok(());
    }
    Err(format!(
        "{}; under enrolment: inventory only the hosts listed there exist: add it to hosts: or point the alias at one of them",
        unknown_host(&policy.hosts, host)
    ))
}

/// `host "x" is not in the inventory (hosts: a, b)`.
pub(super) fn unknown_host(hosts: &[super::Host], host: &str) -> String {
    let known: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let known = if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    };
    let mut message = format!("host \"{host}\" is not in the inventory (hosts: {known})");
    if let Some(close) = known
        .split(", ")
        .find(|k| super::validate::edit_distance(k, host) <= 2)
    {
        message.push_str(&format!("; did you mean \"{close}\"?"));
    }
    message
}

/// Where each of the policy's records and aliases was written, to report
/// a conflict at its name or at its data.
pub(super) struct Written {
    /// Per record of [`Policy::records`]: its entry (`records[i]`).
    pub(super) records: Vec<YamlPath>,
    /// Per alias of [`Policy::aliases`]: its key as written.
    pub(super) aliases: Vec<String>,
}

/// Checks the policy's records and aliases against everything muster
/// publishes and against the ones written before them; each is reported
/// once, with its first conflict.
pub(super) fn check(c: &mut Checker, policy: &Policy, written: &Written) {
    let fixed = claims::fixed_claims(policy);
    let aliases_at = YamlPath::root().key("aliases");
    let mut checked: Vec<(Claim, Spot, Spot)> = Vec::new();
    for (record, at) in policy.records.iter().zip(&written.records) {
        let claim = claims::record_claim(record, Source::Policy(at.to_string()));
        checked.push((claim, Spot::Value(at.key("name")), Spot::Value(at.clone())));
    }
    for (alias, key) in policy.aliases.iter().zip(&written.aliases) {
        let claim = Claim {
            owner: alias.owner.clone(),
            by: Publisher::Alias {
                host: alias.host.clone(),
                source: Source::Policy(format!("aliases: {key}")),
            },
        };
        let spot = Spot::Key {
            map: aliases_at.clone(),
            key: key.clone(),
            nth: 0,
        };
        checked.push((claim, spot, Spot::Value(aliases_at.key(key.clone()))));
    }
    for (n, (new, owner_spot, data_spot)) in checked.iter().enumerate() {
        let earlier = checked[..n].iter().map(|(claim, _, _)| claim);
        // The first conflict only: one fix at a time, not one per record
        // of a pool at the same name.
        let found = fixed
            .iter()
            .chain(earlier)
            .find_map(|old| claims::conflict(&policy.zone, new, old));
        if let Some((aspect, message)) = found {
            let spot = match aspect {
                Aspect::Owner => owner_spot.clone(),
                Aspect::Data => data_spot.clone(),
            };
            c.report_at(spot, message);
        }
    }
}
