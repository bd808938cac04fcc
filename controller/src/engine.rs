//! The executor around the pure reconciler: the one writer of the farm and
//! the zone.
//!
//! Each tick it plans, applies the steps to a copy of the farm, works out
//! who is published, builds the zone, and commits assignments, events and
//! the zone's serial to the store in one transaction — and only then swaps
//! the new snapshot in. When the store is unreachable nothing is applied:
//! DNS keeps serving the last snapshot and the next tick tries again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use hickory_proto::rr::Name;
use muster_dns::{Catalog, PublishError, SharedCatalog, Zone, ZoneError, ZonePublisher, serial};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::bounded::{self, Choices};
use crate::farm::{Assignment, Event, EventKind, Farm, HostRecord, HostState, Millis, Phase};
use crate::observed::Observed;
use crate::policy::Policy;
use crate::reconcile;
use crate::spf::{self, Senders};
use crate::store::{Commit, Store, StoreError, ZoneState};
use crate::wanted::{self, Decision};
use crate::zone_builder::{Membership, build_reverse_zones, build_zone};

/// Why a tick or a start could not complete. What was in force stays.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The policy produced an impossible zone.
    #[error("building the zone: {0}")]
    Zone(#[from] ZoneError),
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The publisher refused the zone.
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// Heartbeat observations, shared with the API's heartbeat path. Locked
/// only for short, synchronous work; never across an await.
pub type SharedObserved = Arc<Mutex<Observed>>;

/// The serial for `candidate` given what the store last published: the same
/// serial when the content is unchanged, otherwise the next one (RFC 1982),
/// preferring the clock so serials read as Unix times.
pub fn choose_serial(previous: Option<&ZoneState>, candidate: &Zone, now_unix: u32) -> u32 {
    match previous {
        None => now_unix.max(1),
        Some(prev) => {
            let mut same = candidate.clone();
            same.set_serial(prev.serial);
            if same.to_zone_file() == prev.content {
                prev.serial
            } else {
                serial::next(prev.serial, now_unix)
            }
        }
    }
}

/// What a tick did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Steps applied.
    pub steps: usize,
    /// The serial published, when the zone changed.
    pub serial: Option<u32>,
    /// The events committed (for the metrics' move counts).
    pub events: Vec<Event>,
}

/// The controller's state and its one writer.
pub struct Engine {
    policy: Policy,
    farm: Farm,
    observed: SharedObserved,
    store: Store,
    publisher: ZonePublisher,
    membership: Membership,
    /// The latest wanted counts and the load rules' memory.
    decision: Decision,
    /// The hosts the published SPF lists.
    senders: Senders,
    /// When each `publish_max` role last swapped a member.
    choices: Choices,
    /// When the next departure the SPF keeps expires: the SPF changes then
    /// even if nothing else does.
    spf_expiry: Option<Millis>,
}

fn unix_secs(now: Millis) -> u32 {
    u32::try_from(now / 1000).unwrap_or(u32::MAX)
}

/// Merges the policy's inventory into `farm`: inventory hosts take the
/// policy's addresses, roles and flags; new ones start in their `role:`.
/// On a reload, static hosts the `previous` policy listed and this one does
/// not leave. Static hosts registered through the API are in no policy and
/// stay; so do agents (they enrolled themselves): both leave through the
/// API. Returns the names of hosts added, changed or removed.
pub(crate) fn merge_inventory(
    policy: &Policy,
    previous: Option<&Policy>,
    farm: &mut Farm,
    now: Millis,
) -> Vec<String> {
    let mut changed = Vec::new();
    let listed: BTreeSet<&str> = policy.hosts.iter().map(|h| h.name.as_str()).collect();
    let gone: Vec<String> = previous
        .map(|p| p.hosts.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|h| h.is_static && !listed.contains(h.name.as_str()))
        .filter(|h| farm.hosts.get(&h.name).is_some_and(|known| known.is_static))
        .map(|h| h.name.clone())
        .collect();
    for name in gone {
        farm.hosts.remove(&name);
        farm.assignments.remove(&name);
        changed.push(name);
    }
    for host in &policy.hosts {
        let existing = farm.hosts.get(&host.name);
        let record = HostRecord {
            name: host.name.clone(),
            addresses: host.addresses.clone(),
            eligible: host.eligible.clone(),
            labels: host.labels.clone(),
            is_static: host.is_static,
            pinned: existing.is_some_and(|h| h.pinned),
            cordoned: existing.is_some_and(|h| h.cordoned),
            dead: existing.is_some_and(|h| h.dead) && !host.is_static,
            token_hash: existing.and_then(|h| h.token_hash.clone()),
        };
        if existing != Some(&record) {
            changed.push(host.name.clone());
            farm.hosts.insert(host.name.clone(), record);
        }
        if !farm.assignments.contains_key(&host.name) {
            // A static host holds its role from the start (unless the SPF
            // must list it first); an agent's host is published only once
            // its agent reports holding it.
            let assignment = if host.is_static && !spf::sends(policy, host.role.as_deref()) {
                Assignment::active(host.role.clone(), now)
            } else {
                Assignment::arriving(host.role.clone(), now)
            };
            farm.assignments.insert(host.name.clone(), assignment);
            if !changed.contains(&host.name) {
                changed.push(host.name.clone());
            }
        }
        // A static host is never moved automatically: the policy's role is its role.
        if host.is_static
            && let Some(a) = farm.assignments.get_mut(&host.name)
            && a.role != host.role
        {
            *a = Assignment::active(host.role.clone(), now);
            if !changed.contains(&host.name) {
                changed.push(host.name.clone());
            }
        }
    }
    merge_aliases(policy, previous, farm);
    changed
}

/// The policy's aliases seed the farm's: a new one is set, one the policy
/// now points elsewhere follows it, one the policy dropped leaves. An
/// alias an operator moved since keeps the operator's host until the
/// policy itself changes that alias.
fn merge_aliases(policy: &Policy, previous: Option<&Policy>, farm: &mut Farm) {
    let before: BTreeMap<&Name, &str> = previous
        .map(|p| p.aliases.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|a| (&a.owner, a.host.as_str()))
        .collect();
    for alias in &policy.aliases {
        let policy_changed = before.get(&alias.owner).is_some_and(|host| *host != alias.host);
        if policy_changed || !farm.aliases.contains_key(&alias.owner) {
            farm.aliases.insert(alias.owner.clone(), alias.host.clone());
        }
    }
    for (owner, host) in before {
        if !policy.aliases.iter().any(|a| &a.owner == owner)
            && farm.aliases.get(owner).is_some_and(|h| h == host)
        {
            farm.aliases.remove(owner);
        }
    }
}

impl Engine {
    /// Loads the farm from the store, merges the policy's inventory, gives
    /// every agent `dead_after` to report (fail static across restarts) and
    /// publishes the zone.
    pub async fn start(
        policy: Policy,
        store: Store,
        observed: SharedObserved,
        now: Millis,
    ) -> Result<Self, EngineError> {
        let stored = store.load_farm().await?;
        let mut farm = stored.clone();
        let changed = merge_inventory(&policy, None, &mut farm, now);
        {
            let mut obs = observed.lock().unwrap_or_else(PoisonError::into_inner);
            for host in farm.hosts.values().filter(|h| !h.dead) {
                obs.assume_alive(&host.name, now);
            }
        }
        let mut choices = Choices::new();
        let membership = {
            let obs = observed.lock().unwrap_or_else(PoisonError::into_inner);
            let candidates = reconcile::membership(&policy, &farm, &obs);
            bounded::bound(&policy, candidates, &Membership::new(), &mut choices, &obs, now)
        };
        let senders = listed(&policy, &farm, now);
        let spf_expiry = policy.spf.as_ref().and_then(|s| spf::next_expiry(s, &farm, now));
        // Each zone keeps the serial the store has for it when its content
        // is unchanged, and moves on when it changed.
        let mut zones = vec![build_zone(&policy, &farm, &membership, now, 0, None)?];
        zones.extend(build_reverse_zones(&policy, &farm)?);
        let mut states: Vec<(String, ZoneState)> = Vec::new();
        for zone in &mut zones {
            let origin = zone.origin().to_string();
            let previous = store.zone_state(&origin).await?;
            zone.set_serial(choose_serial(previous.as_ref(), zone, unix_secs(now)));
            let state = ZoneState {
                serial: zone.serial(),
                content: zone.to_zone_file(),
            };
            if previous.as_ref() != Some(&state) {
                states.push((origin, state));
            }
        }
        let forward = policy.zone.to_string();
        let hosts: Vec<&HostRecord> = changed.iter().filter_map(|n| farm.hosts.get(n)).collect();
        let assignments: Vec<(&str, &Assignment)> = changed
            .iter()
            .filter_map(|n| farm.assignments.get(n).map(|a| (n.as_str(), a)))
            .collect();
        store
            .commit(&Commit {
                upsert_hosts: hosts,
                remove_hosts: changed
                    .iter()
                    .filter(|n| !farm.hosts.contains_key(*n))
                    .map(String::as_str)
                    .collect(),
                assignments,
                panic: None,
                events: &[],
                zone: states
                    .iter()
                    .find(|(origin, _)| *origin == forward)
                    .map(|(origin, state)| (origin.as_str(), state)),
                other_zones: states
                    .iter()
                    .filter(|(origin, _)| *origin != forward)
                    .map(|(origin, state)| (origin.as_str(), state))
                    .collect(),
                // The policy's aliases merged in.
                ..Commit::names_between(&stored, &farm)
            })
            .await?;
        for zone in &zones {
            info!(zone = %zone.origin(), serial = zone.serial(), hosts = farm.hosts.len(), "zone published");
        }
        let publisher = ZonePublisher::try_new(zones)?;
        Ok(Self {
            policy,
            farm,
            observed,
            store,
            publisher,
            membership,
            decision: Decision::default(),
            senders,
            spf_expiry,
            choices,
        })
    }

    /// The catalog handle DNS servers read.
    pub fn shared(&self) -> SharedCatalog {
        self.publisher.shared()
    }

    /// Told of every catalog published (new serials, for NOTIFY).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Catalog>> {
        self.publisher.subscribe()
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The farm as last committed.
    pub fn farm(&self) -> &Farm {
        &self.farm
    }

    /// Who is published now.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The wanted counts of the latest tick, with their causes, and the
    /// load rules' state.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// One reconcile: decide the wanted counts (schedules, load rules),
    /// plan, apply, commit, publish.
    pub async fn tick(&mut self, now: Millis) -> Result<TickReport, EngineError> {
        // Copy the observations and let heartbeats go on while we plan: the
        // lock is held for a copy (reports are shared, not deep-copied),
        // never for the reconcile.
        let obs = self
            .observed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        // The load rules' memory moves on even when the store is away.
        self.decision = wanted::decide(&self.policy, &self.farm, &obs, &self.decision.autoscale, now);
        let steps = reconcile::plan(&self.policy, &self.farm, &obs, &self.decision.wanted, now);
        let spf_due = self.spf_expiry.is_some_and(|at| now >= at);
        // A role with publish_max publishes fewer than its pool: the
        // bounded set is worked out on the full path.
        let bounded = self.policy.roles.values().any(|r| r.publish_max.is_some());
        if steps.is_empty()
            && !spf_due
            && !bounded
            && reconcile::membership_is(&self.policy, &self.farm, &obs, &self.membership)
        {
            // The common tick: nothing to apply, nobody to (un)publish, so
            // nothing to copy and no zone to rebuild.
            return Ok(TickReport::default());
        }
        let mut farm = self.farm.clone();
        let mut events: Vec<Event> = steps
            .iter()
            .map(|s| reconcile::apply(&mut farm, s, now))
            .collect();
        let membership = self.published(&farm, &obs, now);
        events.extend(publication_events(&self.membership, &membership, &events, now));
        self.commit_and_publish(farm, membership, events, steps.len(), now)
            .await
    }

    /// Who `farm` publishes now: each role's pool, bounded by its
    /// `publish_max` (keeping the members published so far where it can).
    fn published(&mut self, farm: &Farm, obs: &Observed, now: Millis) -> Membership {
        let candidates = reconcile::membership(&self.policy, farm, obs);
        bounded::bound(
            &self.policy,
            candidates,
            &self.membership,
            &mut self.choices,
            obs,
            now,
        )
    }

    /// Applies an operator's or an enrolment's change to the farm through
    /// the same commit path as a tick.
    pub async fn change(
        &mut self,
        now: Millis,
        edit: impl FnOnce(&mut Farm) -> Vec<Event>,
    ) -> Result<TickReport, EngineError> {
        let mut farm = self.farm.clone();
        let mut events = edit(&mut farm);
        let observed = Arc::clone(&self.observed);
        let membership = {
            let mut obs = observed.lock().unwrap_or_else(PoisonError::into_inner);
            // Hosts new to the farm (a reload's inventory) get `dead_after`
            // to report before anyone calls them silent.
            for host in farm.hosts.values().filter(|h| !h.is_static && !h.dead) {
                obs.assume_alive(&host.name, now);
            }
            self.published(&farm, &obs, now)
        };
        events.extend(publication_events(&self.membership, &membership, &events, now));
        let count = events.len();
        self.commit_and_publish(farm, membership, events, count, now)
            .await
    }

    /// Puts a new policy in force; on error nothing changes.
    pub async fn apply_policy(&mut self, policy: Policy, now: Millis) -> Result<TickReport, EngineError> {
        let old = std::mem::replace(&mut self.policy, policy.clone());
        let merged = self
            .change(now, |farm| {
                merge_inventory(&policy, Some(&old), farm, now);
                Vec::new()
            })
            .await;
        match merged {
            Ok(report) => Ok(report),
            Err(e) => {
                self.policy = old;
                Err(e)
            }
        }
    }

    /// Every zone for `farm`: the forward zone first, then the reverse
    /// zones, each with the serial it is published under — the one served
    /// when its content is unchanged, the next one (RFC 1982, preferring
    /// the clock) when it changed, the clock for a zone not served yet.
    fn next_zones(
        &self,
        catalog: &Catalog,
        farm: &Farm,
        membership: &Membership,
        now: Millis,
    ) -> Result<Vec<Zone>, EngineError> {
        let served = |origin: &Name| catalog.zone(origin).map(|s| s.zone());
        // After a reload that renames the zone, the zone served so far.
        let forward_served = served(&self.policy.zone).or_else(|| catalog.iter().next().map(|s| s.zone()));
        let mut zones = vec![build_zone(
            &self.policy,
            farm,
            membership,
            now,
            0,
            forward_served,
        )?];
        zones.extend(build_reverse_zones(&self.policy, farm)?);
        for (i, zone) in zones.iter_mut().enumerate() {
            let current = if i == 0 {
                forward_served
            } else {
                served(zone.origin())
            };
            let serial = match current {
                Some(current) if zone.same_content(current) && zone.origin() == current.origin() => {
                    current.serial()
                }
                Some(current) => serial::next(current.serial(), unix_secs(now)),
                None => unix_secs(now).max(1),
            };
            zone.set_serial(serial);
        }
        Ok(zones)
    }

    async fn commit_and_publish(
        &mut self,
        mut farm: Farm,
        membership: Membership,
        mut events: Vec<Event>,
        steps: usize,
        now: Millis,
    ) -> Result<TickReport, EngineError> {
        spf::track_departures(self.policy.spf.as_ref(), &self.farm, &mut farm, now);
        let senders = listed(&self.policy, &farm, now);
        events.extend(spf_events(&self.policy, &self.senders, &senders, &farm, now));
        let catalog = self.publisher.current();
        let zones = self.next_zones(&catalog, &farm, &membership, now)?;
        let Some(forward) = zones.first() else {
            unreachable!("next_zones gives the forward zone first");
        };
        let changed: Vec<&Zone> = zones
            .iter()
            .filter(|zone| {
                catalog
                    .zone(zone.origin())
                    .is_none_or(|s| s.serial() != zone.serial())
            })
            .collect();
        // Zones added or dropped by a reload, or new secondaries: publish
        // even when no content changed.
        let served_differs = catalog.len() != zones.len()
            || zones.iter().any(|zone| {
                catalog
                    .zone(zone.origin())
                    .is_none_or(|s| s.zone().secondaries() != zone.secondaries())
            });
        if events.is_empty() && changed.is_empty() && farm == self.farm {
            if served_differs {
                self.publisher.publish(zones)?;
            }
            return Ok(TickReport::default());
        }
        let serial = forward.serial();
        let forward_changed = changed.first().is_some_and(|z| z.origin() == forward.origin());
        for event in &mut events {
            event.serial = Some(serial);
        }
        let changed_hosts: Vec<&HostRecord> = farm
            .hosts
            .values()
            .filter(|h| self.farm.hosts.get(&h.name) != Some(*h))
            .collect();
        let removed: Vec<&str> = self
            .farm
            .hosts
            .keys()
            .filter(|n| !farm.hosts.contains_key(*n))
            .map(String::as_str)
            .collect();
        let assignments: Vec<(&str, &Assignment)> = farm
            .assignments
            .iter()
            .filter(|(n, a)| self.farm.assignments.get(*n) != Some(*a))
            .map(|(n, a)| (n.as_str(), a))
            .collect();
        let states: Vec<(String, ZoneState)> = changed
            .iter()
            .map(|zone| {
                let state = ZoneState {
                    serial: zone.serial(),
                    content: zone.to_zone_file(),
                };
                (zone.origin().to_string(), state)
            })
            .collect();
        let (forward_state, other_states) = match states.split_first() {
            Some((first, rest)) if forward_changed => (Some((first.0.as_str(), &first.1)), rest),
            _ => (None, states.as_slice()),
        };
        self.store
            .commit(&Commit {
                upsert_hosts: changed_hosts,
                remove_hosts: removed,
                assignments,
                panic: (farm.panic != self.farm.panic).then_some(farm.panic),
                events: &events,
                zone: forward_state,
                other_zones: other_states
                    .iter()
                    .map(|(name, state)| (name.as_str(), state))
                    .collect(),
                ..Commit::names_between(&self.farm, &farm)
            })
            .await?;
        for e in &events {
            info!(
                kind = %e.kind,
                host = e.host.as_deref().unwrap_or("-"),
                from = e.from_role.as_deref().unwrap_or("-"),
                to = e.to_role.as_deref().unwrap_or("-"),
                actor = %e.actor,
                reason = %e.reason,
                serial,
                "change"
            );
            if e.kind == EventKind::Panic {
                warn!(reason = %e.reason, "fail-static: keeping the last good set published");
            }
        }
        if !changed.is_empty() || served_differs {
            self.publisher.publish(zones)?;
        }
        self.spf_expiry = self
            .policy
            .spf
            .as_ref()
            .and_then(|s| spf::next_expiry(s, &farm, now));
        self.senders = senders;
        self.farm = farm;
        self.membership = membership;
        Ok(TickReport {
            steps,
            serial: forward_changed.then_some(serial),
            events,
        })
    }
}

/// The hosts the SPF lists at `now` (none without an SPF).
fn listed(policy: &Policy, farm: &Farm, now: Millis) -> Senders {
    policy
        .spf
        .as_ref()
        .map(|spf| spf::senders(spf, farm, now))
        .unwrap_or_default()
}

/// An event for each host the SPF starts or stops listing, with why.
fn spf_events(policy: &Policy, before: &Senders, after: &Senders, farm: &Farm, now: Millis) -> Vec<Event> {
    let role_of = |host: &str| farm.assignments.get(host).and_then(|a| a.role.clone());
    let event = |kind: EventKind, host: &str, from_role, to_role, reason: String| Event {
        at: now,
        kind,
        host: Some(host.to_owned()),
        from_role,
        to_role,
        actor: reconcile::RECONCILER.to_owned(),
        reason,
        serial: None,
    };
    let Some(spf) = &policy.spf else {
        return before
            .iter()
            .map(|h| {
                event(
                    EventKind::SpfUnlist,
                    h,
                    None,
                    None,
                    "the policy has no spf: any more".to_owned(),
                )
            })
            .collect();
    };
    let sends = |role: &Option<String>| role.as_ref().is_some_and(|r| spf.roles.contains(r));
    let mut events: Vec<Event> = after
        .difference(before)
        .map(|host| {
            let role = role_of(host);
            let reason = if sends(&role) {
                format!(
                    "may send mail as the domain in {}; published in its pool once listed for the SPF's TTL ({} s)",
                    role.as_deref().unwrap_or("-"),
                    spf.ttl
                )
            } else {
                format!(
                    "left a sending role less than keep_after_leave ({}) ago: its queue may still deliver",
                    crate::simulate::time::human(crate::farm::millis(spf.keep_after_leave))
                )
            };
            let to = role.filter(|r| spf.roles.contains(r));
            event(EventKind::SpfList, host, None, to, reason)
        })
        .collect();
    events.extend(before.difference(after).map(|host| {
        let reason = if !farm.hosts.contains_key(host) {
            "removed from the farm".to_owned()
        } else {
            format!(
                "left its sending role more than keep_after_leave ({}) ago",
                crate::simulate::time::human(crate::farm::millis(spf.keep_after_leave))
            )
        };
        event(EventKind::SpfUnlist, host, None, None, reason)
    }));
    events
}

/// Publish and unpublish events from the change in membership, each with
/// the actor and reason of the change's own event for that host (a step's,
/// an operator's, an enrolment's) when there is one.
fn publication_events(before: &Membership, after: &Membership, causes: &[Event], now: Millis) -> Vec<Event> {
    let pairs = |m: &Membership| -> BTreeSet<(String, String)> {
        m.iter()
            .flat_map(|(role, hosts)| hosts.iter().map(move |h| (h.clone(), role.clone())))
            .collect()
    };
    let (old, new) = (pairs(before), pairs(after));
    // The last event about a host is the one that left it where it is.
    let cause: BTreeMap<&str, &Event> = causes
        .iter()
        .filter_map(|e| Some((e.host.as_deref()?, e)))
        .collect();
    let event = |kind: EventKind, host: &str, role: &str| {
        let (actor, reason) = match cause.get(host) {
            Some(e) => (e.actor.as_str(), format!("{}: {}", e.kind, e.reason)),
            None => (reconcile::RECONCILER, "role in place".to_owned()),
        };
        Event {
            at: now,
            kind,
            host: Some(host.to_owned()),
            from_role: (kind == EventKind::Unpublish).then(|| role.to_owned()),
            to_role: (kind == EventKind::Publish).then(|| role.to_owned()),
            actor: actor.to_owned(),
            reason,
            serial: None,
        }
    };
    let mut events: Vec<Event> = old
        .difference(&new)
        .map(|(h, r)| event(EventKind::Unpublish, h, r))
        .collect();
    events.extend(new.difference(&old).map(|(h, r)| event(EventKind::Publish, h, r)));
    events
}

/// The state a host's assignment shows to agents and operators.
pub fn assignment_state(host: &HostRecord, assignment: Option<&Assignment>) -> HostState {
    match (host, assignment) {
        // A drained host is cordoned from the start of its drain: it shows
        // the drain until it is over.
        (
            _,
            Some(Assignment {
                phase: Phase::Draining { .. },
                ..
            }),
        ) if !host.dead => HostState::Draining,
        (h, _) if h.cordoned => HostState::Cordoned,
        (h, _) if h.dead => HostState::Dead,
        (h, _) if h.pinned => HostState::Pinned,
        (
            _,
            Some(Assignment {
                phase: Phase::Draining { .. },
                ..
            }),
        ) => HostState::Draining,
        (
            _,
            Some(Assignment {
                phase: Phase::Arriving,
                ..
            }),
        ) => HostState::Arriving,
        (_, Some(Assignment { role: Some(_), .. })) => HostState::Active,
        _ => HostState::Unassigned,
    }
}
