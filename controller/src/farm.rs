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

/// Every kind of change the event log records: the one list. The store
/// and the wire carry [`EventKind::as_str`]; the README's table of events
/// is checked against [`EventKind::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// A host entered its role's records.
    Publish,
    /// A host left its role's records.
    Unpublish,
    /// An unassigned host was given a role.
    Assign,
    /// A host's agent reports holding the role it was given (and for a
    /// sending role, the SPF has listed it for its TTL): it may be published.
    Arrive,
    /// A host started draining out of its role, towards another or none.
    DrainStart,
    /// A drain ended: the host changed role.
    Move,
    /// The failure detector declared a host dead.
    Death,
    /// A dead host earned its way back.
    Revival,
    /// Too many hosts went silent at once: fail static, nothing changes.
    Panic,
    /// Heartbeats are back: normal rules resume.
    PanicEnd,
    /// A host not seen before enrolled with its agent.
    Enrol,
    /// A host's agent reported new addresses or was bound to its own token.
    Update,
    /// An operator took a host out of DNS and automation.
    Cordon,
    /// An operator gave a cordoned host back.
    Uncordon,
    /// An operator pinned a host: automation never moves it.
    Pin,
    /// An operator unpinned a host.
    Unpin,
    /// An operator registered a static host.
    Register,
    /// An operator removed a host.
    Remove,
    /// A policy reload, accepted or rejected (the reason says which).
    Reload,
    /// A static record was added through the API.
    RecordAdd,
    /// A static record was removed through the API.
    RecordRemove,
    /// An alias was set or moved (host: the new one; the reason says from which).
    AliasSet,
    /// An alias was removed (host: the one it pointed at).
    AliasRemove,
    /// A host joined the SPF record.
    SpfList,
    /// A host left the SPF record.
    SpfUnlist,
}

impl EventKind {
    /// Every kind, in the order above.
    pub const ALL: [EventKind; 25] = [
        Self::Publish,
        Self::Unpublish,
        Self::Assign,
        Self::Arrive,
        Self::DrainStart,
        Self::Move,
        Self::Death,
        Self::Revival,
        Self::Panic,
        Self::PanicEnd,
        Self::Enrol,
        Self::Update,
        Self::Cordon,
        Self::Uncordon,
        Self::Pin,
        Self::Unpin,
        Self::Register,
        Self::Remove,
        Self::Reload,
        Self::RecordAdd,
        Self::RecordRemove,
        Self::AliasSet,
        Self::AliasRemove,
        Self::SpfList,
        Self::SpfUnlist,
    ];

    /// The name in the store, the API, the CLI and the logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "publish",
            Self::Unpublish => "unpublish",
            Self::Assign => "assign",
            Self::Arrive => "arrive",
            Self::DrainStart => "drain-start",
            Self::Move => "move",
            Self::Death => "death",
            Self::Revival => "revival",
            Self::Panic => "panic",
            Self::PanicEnd => "panic-end",
            Self::Enrol => "enrol",
            Self::Update => "update",
            Self::Cordon => "cordon",
            Self::Uncordon => "uncordon",
            Self::Pin => "pin",
            Self::Unpin => "unpin",
            Self::Register => "register",
            Self::Remove => "remove",
            Self::Reload => "reload",
            Self::RecordAdd => "record-add",
            Self::RecordRemove => "record-remove",
            Self::AliasSet => "alias-set",
            Self::AliasRemove => "alias-remove",
            Self::SpfList => "spf-list",
            Self::SpfUnlist => "spf-unlist",
        }
    }

    /// The kind named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// True for the steps that start a host's move: it is taken from its
    /// role (or from none) towards another. (A `move` ends a drain counted
    /// when it started.)
    pub fn starts_move(self) -> bool {
        matches!(self, Self::DrainStart | Self::Assign)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Compares with the name, so tests and views can say `kind == "move"`.
impl PartialEq<&str> for EventKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The state a host shows to agents and operators, derived from its record
/// and its assignment (see [`crate::engine::assignment_state`]). The API,
/// the heartbeat reply and `/metrics` carry [`HostState::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostState {
    /// Given a role; its agent has not yet reported holding it.
    Arriving,
    /// Holding its role (published unless something else says otherwise).
    Active,
    /// Leaving its role: out of DNS, finishing its work.
    Draining,
    /// Declared dead by the failure detector.
    Dead,
    /// Taken out of DNS and automation by an operator.
    Cordoned,
    /// Never moved by automation.
    Pinned,
    /// No role.
    Unassigned,
}

impl HostState {
    /// Every state, so each `/metrics` series exists even at zero.
    pub const ALL: [HostState; 7] = [
        Self::Arriving,
        Self::Active,
        Self::Draining,
        Self::Dead,
        Self::Cordoned,
        Self::Pinned,
        Self::Unassigned,
    ];

    /// The name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Arriving => "arriving",
            Self::Active => "active",
            Self::Draining => "draining",
            Self::Dead => "dead",
            Self::Cordoned => "cordoned",
            Self::Pinned => "pinned",
            Self::Unassigned => "unassigned",
        }
    }
}

impl std::fmt::Display for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// What happened, for the event log. Every change carries one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When.
    pub at: Millis,
    /// What kind of change.
    pub kind: EventKind,
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

#[cfg(test)]
mod event_kind_tests {
    use super::EventKind;

    /// The README's table of event kinds lists every kind, once, in the
    /// enum's order, and nothing else.
    #[test]
    fn the_readme_lists_every_event_kind() {
        let readme = include_str!("../../README.md");
        let table: Vec<&str> = readme
            .lines()
            .skip_while(|l| !l.starts_with("| Kind | What happened |"))
            .skip(2)
            .take_while(|l| l.starts_with("| `"))
            .filter_map(|l| l.split('`').nth(1))
            .collect();
        let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            table, kinds,
            "README.md's table of event kinds and EventKind::ALL differ"
        );
    }

    #[test]
    fn every_kind_parses_back_from_its_name() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(format!("{kind:<12}|"), format!("{:<12}|", kind.as_str()));
        }
        assert_eq!(EventKind::parse("drain-end"), None);
    }
}
