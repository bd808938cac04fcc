//! Row types: how the domain types are laid out in tables, and back.
//!
//! Private to the store. Lists and label maps are JSON text; times are
//! milliseconds; a draining phase spreads over the `drain_*` columns, an
//! arriving one is `active` with `held` false. Names are absolute text
//! (`_dmarc.lists.example.test.`); record data is presentation format with
//! absolute names.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hickory_proto::rr::Name;
use muster_dns::RecordData;
use serde_json::Value;

use super::StoreError;
use super::events::StoredEvent;
use crate::farm::{Assignment, Event, EventKind, HostRecord, Millis, Phase};
use crate::policy::StaticRecord;

/// A `hosts` row.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct HostRow {
    pub(super) name: String,
    pub(super) addresses: String,
    pub(super) eligible: String,
    pub(super) labels: String,
    pub(super) is_static: bool,
    pub(super) pinned: bool,
    pub(super) cordoned: bool,
    pub(super) dead: bool,
    pub(super) token_hash: Option<String>,
}

impl HostRow {
    pub(super) fn from_domain(host: &HostRecord) -> Self {
        let addresses = host
            .addresses
            .iter()
            .map(|a| Value::String(a.to_string()))
            .collect();
        let eligible = host.eligible.iter().cloned().map(Value::String).collect();
        let labels = host
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        Self {
            name: host.name.clone(),
            addresses: Value::Array(addresses).to_string(),
            eligible: Value::Array(eligible).to_string(),
            labels: Value::Object(labels).to_string(),
            is_static: host.is_static,
            pinned: host.pinned,
            cordoned: host.cordoned,
            dead: host.dead,
            token_hash: host.token_hash.clone(),
        }
    }

    pub(super) fn into_domain(self) -> Result<HostRecord, StoreError> {
        let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("hosts", &self.name, e);
        let addresses: Vec<String> = serde_json::from_str(&self.addresses).map_err(|e| corrupt(&e))?;
        let addresses = addresses
            .iter()
            .map(|a| {
                a.parse::<IpAddr>()
                    .map_err(|e| corrupt(&format!("address {a:?}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let eligible = serde_json::from_str(&self.eligible).map_err(|e| corrupt(&e))?;
        let labels: BTreeMap<String, String> = serde_json::from_str(&self.labels).map_err(|e| corrupt(&e))?;
        Ok(HostRecord {
            name: self.name,
            addresses,
            eligible,
            labels,
            is_static: self.is_static,
            pinned: self.pinned,
            cordoned: self.cordoned,
            dead: self.dead,
            token_hash: self.token_hash,
        })
    }
}

/// An `assignments` row.
#[derive(Debug)]
pub(super) struct AssignmentRow {
    pub(super) host: String,
    pub(super) role: Option<String>,
    pub(super) phase: String,
    pub(super) drain_to: Option<String>,
    pub(super) drain_started_ms: Option<i64>,
    pub(super) drain_actor: Option<String>,
    pub(super) drain_reason: Option<String>,
    pub(super) since_ms: i64,
    pub(super) last_moved_ms: Option<i64>,
    /// With phase `active`: false while the host is arriving.
    pub(super) held: bool,
}

const ACTIVE: &str = "active";
const DRAINING: &str = "draining";

impl AssignmentRow {
    pub(super) fn from_domain(host: &str, a: &Assignment) -> Self {
        let mut row = Self {
            host: host.to_owned(),
            role: a.role.clone(),
            phase: ACTIVE.to_owned(),
            drain_to: None,
            drain_started_ms: None,
            drain_actor: None,
            drain_reason: None,
            since_ms: a.since,
            last_moved_ms: a.last_moved,
            held: a.phase != Phase::Arriving,
        };
        if let Phase::Draining {
            to,
            started,
            actor,
            reason,
        } = &a.phase
        {
            row.phase = DRAINING.to_owned();
            row.drain_to = to.clone();
            row.drain_started_ms = Some(*started);
            row.drain_actor = Some(actor.clone());
            row.drain_reason = Some(reason.clone());
        }
        row
    }

    pub(super) fn into_domain(self) -> Result<Assignment, StoreError> {
        let phase = match self.phase.as_str() {
            ACTIVE if self.held => Phase::Active,
            ACTIVE => Phase::Arriving,
            DRAINING => match (self.drain_started_ms, self.drain_actor, self.drain_reason) {
                (Some(started), Some(actor), Some(reason)) => Phase::Draining {
                    to: self.drain_to,
                    started,
                    actor,
                    reason,
                },
                _ => {
                    return Err(StoreError::corrupt(
                        "assignments",
                        &self.host,
                        "draining without drain_*",
                    ));
                }
            },
            other => {
                return Err(StoreError::corrupt(
                    "assignments",
                    &self.host,
                    format!("phase {other:?}"),
                ));
            }
        };
        Ok(Assignment {
            role: self.role,
            phase,
            since: self.since_ms,
            last_moved: self.last_moved_ms,
        })
    }
}

/// A host joined with its assignment, if it has one.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct FarmRow {
    #[sqlx(flatten)]
    pub(super) host: HostRow,
    pub(super) role: Option<String>,
    pub(super) phase: Option<String>,
    pub(super) drain_to: Option<String>,
    pub(super) drain_started_ms: Option<i64>,
    pub(super) drain_actor: Option<String>,
    pub(super) drain_reason: Option<String>,
    pub(super) since_ms: Option<i64>,
    pub(super) last_moved_ms: Option<i64>,
    pub(super) held: Option<bool>,
}

impl FarmRow {
    /// The host and its assignment (`Assignment::active(None, 0)` when it
    /// has none).
    pub(super) fn into_domain(self) -> Result<(HostRecord, Assignment), StoreError> {
        let assignment = match self.phase {
            None => Assignment::active(None, 0),
            Some(phase) => AssignmentRow {
                since_ms: self
                    .since_ms
                    .ok_or_else(|| StoreError::corrupt("assignments", &self.host.name, "no since_ms"))?,
                host: self.host.name.clone(),
                role: self.role,
                phase,
                drain_to: self.drain_to,
                drain_started_ms: self.drain_started_ms,
                drain_actor: self.drain_actor,
                drain_reason: self.drain_reason,
                last_moved_ms: self.last_moved_ms,
                held: self.held.unwrap_or(true),
            }
            .into_domain()?,
        };
        Ok((self.host.into_domain()?, assignment))
    }
}

/// An `events` row (`id` is assigned by the database on insert).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct EventRow {
    pub(super) id: i64,
    pub(super) at_ms: i64,
    pub(super) kind: String,
    pub(super) host: Option<String>,
    pub(super) from_role: Option<String>,
    pub(super) to_role: Option<String>,
    pub(super) actor: String,
    pub(super) reason: String,
    pub(super) serial: Option<i64>,
}

impl EventRow {
    /// The row for `event`, its serial defaulting to `zone_serial` (the
    /// serial of the zone committed with it).
    pub(super) fn from_domain(event: &Event, zone_serial: Option<u32>) -> Self {
        Self {
            id: 0,
            at_ms: event.at,
            kind: event.kind.as_str().to_owned(),
            host: event.host.clone(),
            from_role: event.from_role.clone(),
            to_role: event.to_role.clone(),
            actor: event.actor.clone(),
            reason: event.reason.clone(),
            serial: event.serial.or(zone_serial).map(i64::from),
        }
    }

    pub(super) fn into_domain(self) -> Result<StoredEvent, StoreError> {
        let serial = self
            .serial
            .map(u32::try_from)
            .transpose()
            .map_err(|e| StoreError::corrupt("events", &self.id.to_string(), e))?;
        let kind = EventKind::parse(&self.kind).ok_or_else(|| {
            StoreError::corrupt(
                "events",
                &self.id.to_string(),
                format!("unknown kind {:?}", self.kind),
            )
        })?;
        Ok(StoredEvent {
            id: self.id,
            event: Event {
                at: self.at_ms,
                kind,
                host: self.host,
                from_role: self.from_role,
                to_role: self.to_role,
                actor: self.actor,
                reason: self.reason,
                serial,
            },
        })
    }
}

/// An `api_records` row: a static record added through the API.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct RecordRow {
    pub(super) owner: String,
    pub(super) rtype: String,
    pub(super) ttl: i64,
    pub(super) data: String,
}

impl RecordRow {
    pub(super) fn from_domain(record: &StaticRecord) -> Self {
        Self {
            owner: record.owner.to_string(),
            rtype: record.data.type_presentation(),
            ttl: i64::from(record.ttl),
            data: record.data.to_presentation(),
        }
    }

    pub(super) fn into_domain(self) -> Result<StaticRecord, StoreError> {
        let key = format!("{} {} {}", self.owner, self.rtype, self.data);
        let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("api_records", &key, e);
        let owner = absolute_name(&self.owner).map_err(|e| corrupt(&e))?;
        // Names in the data are written absolute: the origin is never used.
        let data =
            RecordData::from_presentation(&self.rtype, &self.data, &Name::root()).map_err(|e| corrupt(&e))?;
        let ttl = u32::try_from(self.ttl).map_err(|e| corrupt(&e))?;
        Ok(StaticRecord { owner, ttl, data })
    }
}

/// An `aliases` row.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct AliasRow {
    pub(super) owner: String,
    pub(super) host: String,
}

impl AliasRow {
    pub(super) fn into_domain(self) -> Result<(Name, String), StoreError> {
        let owner = absolute_name(&self.owner).map_err(|e| StoreError::corrupt("aliases", &self.owner, e))?;
        Ok((owner, self.host))
    }
}

/// A `departures` row.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct DepartureRow {
    pub(super) host: String,
    pub(super) role: String,
    pub(super) left_ms: i64,
}

impl DepartureRow {
    pub(super) fn into_domain(self) -> ((String, String), Millis) {
        ((self.host, self.role), self.left_ms)
    }
}

/// An absolute name as the store writes it (`a.example.` — with its dot).
fn absolute_name(text: &str) -> Result<Name, String> {
    let name = Name::from_ascii(text).map_err(|e| format!("{text:?} is not a domain name: {e}"))?;
    if name.is_fqdn() {
        Ok(name)
    } else {
        Err(format!("{text:?} is not absolute"))
    }
}
