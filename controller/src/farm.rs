//! The farm as the controller knows it: hosts and their assignments.
//!
//! These are domain types: no SQL, no JSON. The store persists them, the
//! reconciler reads them, the executor changes them by applying steps.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use hickory_proto::rr::Name;

use crate::policy::StaticRecord;

/// Milliseconds since the Unix epoch. Pure code takes time as this value.
pub type Millis = i64;

/// A span as [`Millis`], saturating (a span past `i64::MAX` ms is forever).
pub fn millis(d: std::time::Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One box of the farm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRecord {
    /// Short name, one DNS label (`smurf7`).
    pub name: String,
    /// Its addresses, as last reported or configured.
    pub addresses: Vec<IpAddr>,
    /// Roles it may hold; empty means any.
    pub eligible: Vec<String>,
    /// Free-form labels.
    pub labels: BTreeMap<String, String>,
    /// No agent; always healthy; never moved automatically.
    pub is_static: bool,
    /// An operator fixed its role: automation never moves it.
    pub pinned: bool,
    /// An operator took it out of automation and out of DNS.
    pub cordoned: bool,
    /// The failure detector declared it dead (persisted so a restart keeps it
    /// out of DNS until it earns its way back).
    pub dead: bool,
    /// Hash of its agent token, when it enrolled with one.
    pub token_hash: Option<String>,
}

impl HostRecord {
    /// A host with an agent, eligible for any role, with no labels and no
    /// flag set; struct update syntax sets the rest.
    pub fn new(name: impl Into<String>, addresses: Vec<IpAddr>) -> Self {
        Self {
            name: name.into(),
            addresses,
            eligible: Vec::new(),
            labels: BTreeMap::new(),
            is_static: false,
            pinned: false,
            cordoned: false,
            dead: false,
            token_hash: None,
        }
    }
}

/// Where a host is in its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Given its role, not yet published: waiting for its agent to report
    /// holding it (its role-change hook runs meanwhile). Only an agent's
    /// report moves it on to `Active`; a host never heard from in its role
    /// is never published in it.
    Arriving,
    /// Serving its role (published when alive): its agent reported holding
    /// it, or it is static.
    Active,
    /// Unpublished, finishing its role's work before moving to `to`
    /// (`None`: leaving the role for no other).
    Draining {
        /// The role it will hold next.
        to: Option<String>,
        /// When the drain started (when it left DNS).
        started: Millis,
        /// Who asked (schedule, rule, operator token name, `reconciler`).
        actor: String,
        /// Why.
        reason: String,
    },
}

/// A host's assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The role held, if any.
    pub role: Option<String>,
    /// Active or draining.
    pub phase: Phase,
    /// When role or phase last changed.
    pub since: Millis,
    /// When the host last changed role (for the per-host cooldown).
    pub last_moved: Option<Millis>,
}

impl Assignment {
    /// A host holding `role` from `now`, not yet moved: static hosts, and
    /// agents whose report of holding it is already in.
    pub fn active(role: Option<String>, now: Millis) -> Self {
        Self {
            role,
            phase: Phase::Active,
            since: now,
            last_moved: None,
        }
    }

    /// A host given `role` at `now` whose agent has yet to report holding
    /// it (see [`Phase::Arriving`]); with no role there is nothing to wait
    /// for, so it is active in none.
    pub fn arriving(role: Option<String>, now: Millis) -> Self {
        let phase = if role.is_some() {
            Phase::Arriving
        } else {
            Phase::Active
        };
        Self {
            role,
            phase,
            since: now,
            last_moved: None,
        }
    }

    /// True while draining.
    pub fn is_draining(&self) -> bool {
        matches!(self.phase, Phase::Draining { .. })
    }

    /// True while waiting for the agent to report holding the role.
    pub fn is_arriving(&self) -> bool {
        self.phase == Phase::Arriving
    }
}

/// The state the store keeps and the reconciler reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Farm {
    /// Hosts by name.
    pub hosts: BTreeMap<String, HostRecord>,
    /// Assignments by host name; every host has one.
    pub assignments: BTreeMap<String, Assignment>,
    /// Fail-static is in force (persisted: a restart in panic stays in panic).
    pub panic: bool,
    /// Static records added through the API (the policy's are in the policy).
    pub records: BTreeSet<StaticRecord>,
    /// Aliases: owner name (absolute) to host name. Seeded from the
    /// policy, moved through the API.
    pub aliases: BTreeMap<Name, String>,
    /// When each host last left each role it held: (host, role) -> time.
    /// The SPF keeps listing a host for `keep_after_leave` after it left a
    /// sending role; entries older than that are forgotten.
    pub departures: BTreeMap<(String, String), Millis>,
}

/// What happened, for the event log. Every change carries one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When.
    pub at: Millis,
    /// What kind of change (`publish`, `unpublish`, `assign`, `arrive`,
    /// `drain-start`, `move`, `death`, `revival`, `panic`, `panic-end`,
    /// `enrol`, `update`, `cordon`, `uncordon`, `pin`, `unpin`, `register`,
    /// `remove`, `reload`, and for the zone's own names `record-add`,
    /// `record-remove`, `alias-set` (host: the new one; the reason says
    /// from which), `alias-remove` (host: the one it pointed at)).
    pub kind: String,
    /// The host concerned, if one.
    pub host: Option<String>,
    /// Role before.
    pub from_role: Option<String>,
    /// Role after.
    pub to_role: Option<String>,
    /// Who: `failure-detector`, a schedule or rule name, an operator token name.
    pub actor: String,
    /// Why, for people.
    pub reason: String,
    /// The zone serial this change was published under (set at commit).
    pub serial: Option<u32>,
}

impl Farm {
    /// Every host with its assignment, walking both name-ordered maps
    /// together (no lookup by name per host): the reconciler and the
    /// wanted counts read every host on every tick.
    pub fn with_assignments(&self) -> impl Iterator<Item = (&HostRecord, &Assignment)> {
        self.with_assignments_indexed().map(|(_, host, a)| (host, a))
    }

    /// [`Farm::with_assignments`] with each host's position in `hosts`, so
    /// per-host facts computed over `hosts.values()` can be read by index.
    pub fn with_assignments_indexed(&self) -> impl Iterator<Item = (usize, &HostRecord, &Assignment)> {
        let mut assignments = self.assignments.iter().peekable();
        self.hosts
            .iter()
            .enumerate()
            .filter_map(move |(i, (name, host))| {
                while let Some((a_name, _)) = assignments.peek() {
                    match a_name.as_str().cmp(name.as_str()) {
                        std::cmp::Ordering::Less => {
                            assignments.next();
                        }
                        std::cmp::Ordering::Equal => return assignments.next().map(|(_, a)| (i, host, a)),
                        std::cmp::Ordering::Greater => return None,
                    }
                }
                None
            })
    }
}
