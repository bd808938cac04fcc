//! Writing the farm: one transaction per [`Commit`].

use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::rr::Name;

use super::rows::{AssignmentRow, EventRow, HostRow, RecordRow};
use super::{SAVE_ZONE_STATE, Store, StoreError, ZoneState};
use crate::farm::{Assignment, Event, EventKind, Farm, HostRecord, Millis};
use crate::policy::StaticRecord;

/// Changes that land together or not at all.
///
/// Applied in this order: `remove_hosts` (with their assignments), then
/// `upsert_hosts`, `assignments` (each host must exist by then), the
/// records, aliases and departures (removals before upserts, so a record
/// whose TTL changed is removed and added back), `panic`, `zone`, and last
/// `events`. An event without a serial gets the serial of `zone` when the
/// commit carries one.
///
/// [`Commit::names_between`] fills the record, alias and departure fields
/// from two farms, so a caller that diffs hosts itself writes
/// `Commit { upsert_hosts, …, ..Commit::names_between(&old, &new) }`.
#[derive(Clone, Debug, Default)]
pub struct Commit<'a> {
    /// Hosts to insert or replace (not their assignments).
    pub upsert_hosts: Vec<&'a HostRecord>,
    /// Hosts to delete, with their assignments. Their events stay.
    pub remove_hosts: Vec<&'a str>,
    /// Assignments to insert or replace, by host name.
    pub assignments: Vec<(&'a str, &'a Assignment)>,
    /// The new fail-static flag, if it changes.
    pub panic: Option<bool>,
    /// Events to append to the log.
    pub events: &'a [Event],
    /// The zone published with these changes: origin and state. Events
    /// without a serial get its serial.
    pub zone: Option<(&'a str, &'a ZoneState)>,
    /// Other zones published with these changes (the reverse zones).
    pub other_zones: Vec<(&'a str, &'a ZoneState)>,
    /// Records added through the API to insert (a row per owner, type and
    /// data; the TTL of an existing row is replaced).
    pub upsert_records: Vec<&'a StaticRecord>,
    /// Records added through the API to delete (by owner, type and data).
    pub remove_records: Vec<&'a StaticRecord>,
    /// Aliases to set or move: owner (absolute) and host. The row keeps
    /// when it was set and by whom, from an `alias-set` event for that
    /// host in `events` when there is one.
    pub upsert_aliases: Vec<(&'a Name, &'a str)>,
    /// Aliases to delete, by owner.
    pub remove_aliases: Vec<&'a Name>,
    /// When hosts left roles: (host, role) and the time, inserted or
    /// replaced.
    pub upsert_departures: Vec<(&'a (String, String), Millis)>,
    /// Departures to forget.
    pub remove_departures: Vec<&'a (String, String)>,
}

impl<'a> Commit<'a> {
    /// A commit of what differs between `before` and `after` in records,
    /// aliases and departures, and nothing else.
    pub fn names_between(before: &'a Farm, after: &'a Farm) -> Self {
        Self {
            upsert_records: after.records.difference(&before.records).collect(),
            remove_records: before.records.difference(&after.records).collect(),
            upsert_aliases: after
                .aliases
                .iter()
                .filter(|(owner, host)| before.aliases.get(*owner) != Some(*host))
                .map(|(owner, host)| (owner, host.as_str()))
                .collect(),
            remove_aliases: before
                .aliases
                .keys()
                .filter(|owner| !after.aliases.contains_key(*owner))
                .collect(),
            upsert_departures: after
                .departures
                .iter()
                .filter(|(key, at)| before.departures.get(*key) != Some(*at))
                .map(|(key, at)| (key, *at))
                .collect(),
            remove_departures: before
                .departures
                .keys()
                .filter(|key| !after.departures.contains_key(*key))
                .collect(),
            ..Self::default()
        }
    }
}

impl Store {
    /// Applies `commit` in one transaction and returns the ids given to its
    /// events, in order. On error nothing has changed.
    pub async fn commit(&self, commit: &Commit<'_>) -> Result<Vec<i64>, StoreError> {
        let hosts: Vec<HostRow> = commit
            .upsert_hosts
            .iter()
            .map(|h| HostRow::from_domain(h))
            .collect();
        let assignments: Vec<AssignmentRow> = commit
            .assignments
            .iter()
            .map(|(host, a)| AssignmentRow::from_domain(host, a))
            .collect();
        let zone_serial = commit.zone.map(|(_, state)| state.serial);
        let events: Vec<EventRow> = commit
            .events
            .iter()
            .map(|e| EventRow::from_domain(e, zone_serial))
            .collect();
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let removed_records: Vec<RecordRow> = commit
            .remove_records
            .iter()
            .map(|r| RecordRow::from_domain(r))
            .collect();
        let records: Vec<RecordRow> = commit
            .upsert_records
            .iter()
            .map(|r| RecordRow::from_domain(r))
            .collect();
        let aliases: Vec<(String, &str, Option<Millis>, Option<&str>)> = commit
            .upsert_aliases
            .iter()
            .map(|(owner, host)| {
                let set = commit
                    .events
                    .iter()
                    .rev()
                    .find(|e| e.kind == EventKind::AliasSet && e.host.as_deref() == Some(*host));
                (
                    owner.to_string(),
                    *host,
                    set.map(|e| e.at),
                    set.map(|e| e.actor.as_str()),
                )
            })
            .collect();

        with_pool!(self, pool => {
            let mut conn = pool.acquire().await?;
            let written: Result<Vec<i64>, StoreError> = async {
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                for name in &commit.remove_hosts {
                    // The foreign key cascades too; deleting explicitly does not
                    // depend on it being enforced.
                    sqlx::query("DELETE FROM assignments WHERE host = $1")
                        .bind(*name)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM hosts WHERE name = $1")
                        .bind(*name)
                        .execute(&mut *tx)
                        .await?;
                }
                for h in &hosts {
                    sqlx::query(UPSERT_HOST)
                        .bind(&h.name)
                        .bind(&h.addresses)
                        .bind(&h.eligible)
                        .bind(&h.labels)
                        .bind(h.is_static)
                        .bind(h.pinned)
                        .bind(h.cordoned)
                        .bind(h.dead)
                        .bind(&h.token_hash)
                        .execute(&mut *tx)
                        .await?;
                }
                for a in &assignments {
                    sqlx::query(UPSERT_ASSIGNMENT)
                        .bind(&a.host)
                        .bind(&a.role)
                        .bind(&a.phase)
                        .bind(&a.drain_to)
                        .bind(a.drain_started_ms)
                        .bind(&a.drain_actor)
                        .bind(&a.drain_reason)
                        .bind(a.since_ms)
                        .bind(a.last_moved_ms)
                        .bind(a.held)
                        .execute(&mut *tx)
                        .await?;
                }
                for r in &removed_records {
                    sqlx::query("DELETE FROM api_records WHERE owner = $1 AND rtype = $2 AND data = $3")
                        .bind(&r.owner)
                        .bind(&r.rtype)
                        .bind(&r.data)
                        .execute(&mut *tx)
                        .await?;
                }
                for r in &records {
                    sqlx::query(UPSERT_RECORD)
                        .bind(&r.owner)
                        .bind(&r.rtype)
                        .bind(r.ttl)
                        .bind(&r.data)
                        .execute(&mut *tx)
                        .await?;
                }
                for owner in &commit.remove_aliases {
                    sqlx::query("DELETE FROM aliases WHERE owner = $1")
                        .bind(owner.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                for (owner, host, set_at, actor) in &aliases {
                    sqlx::query(UPSERT_ALIAS)
                        .bind(owner)
                        .bind(*host)
                        .bind(*set_at)
                        .bind(*actor)
                        .execute(&mut *tx)
                        .await?;
                }
                for (host, role) in &commit.remove_departures {
                    sqlx::query("DELETE FROM departures WHERE host = $1 AND role = $2")
                        .bind(host)
                        .bind(role)
                        .execute(&mut *tx)
                        .await?;
                }
                for ((host, role), left) in &commit.upsert_departures {
                    sqlx::query(UPSERT_DEPARTURE)
                        .bind(host)
                        .bind(role)
                        .bind(*left)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(panic) = commit.panic {
                    sqlx::query("UPDATE farm_state SET panic = $1 WHERE id = 1")
                        .bind(panic)
                        .execute(&mut *tx)
                        .await?;
                }
                for (zone, state) in commit.zone.iter().chain(&commit.other_zones) {
                    sqlx::query(SAVE_ZONE_STATE)
                        .bind(zone)
                        .bind(i64::from(state.serial))
                        .bind(&state.content)
                        .bind(now_unix)
                        .execute(&mut *tx)
                        .await?;
                }
                let mut ids = Vec::with_capacity(events.len());
                for e in &events {
                    let id: i64 = sqlx::query_scalar(INSERT_EVENT)
                        .bind(e.at_ms)
                        .bind(&e.kind)
                        .bind(&e.host)
                        .bind(&e.from_role)
                        .bind(&e.to_role)
                        .bind(&e.actor)
                        .bind(&e.reason)
                        .bind(e.serial)
                        .fetch_one(&mut *tx)
                        .await?;
                    ids.push(id);
                }
                tx.commit().await?;
                Ok(ids)
            }
            .await;
            if written.is_err() {
                // A transaction that failed part-way (a full disk, a lost
                // server) leaves the connection in a state sqlx may not know:
                // SQLite can end the transaction itself, or keep it open with
                // the write lock. Never hand that connection back to the
                // pool, where later commits would vanish into it.
                conn.close_on_drop();
            }
            written
        })
    }
}

const UPSERT_HOST: &str = "INSERT INTO hosts
       (name, addresses, eligible, labels, is_static, pinned, cordoned, dead, token_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (name) DO UPDATE SET addresses = excluded.addresses,
       eligible = excluded.eligible, labels = excluded.labels,
       is_static = excluded.is_static, pinned = excluded.pinned,
       cordoned = excluded.cordoned, dead = excluded.dead,
       token_hash = excluded.token_hash";

const UPSERT_ASSIGNMENT: &str = "INSERT INTO assignments
       (host, role, phase, drain_to, drain_started_ms, drain_actor, drain_reason,
        since_ms, last_moved_ms, held)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (host) DO UPDATE SET role = excluded.role, phase = excluded.phase,
       drain_to = excluded.drain_to, drain_started_ms = excluded.drain_started_ms,
       drain_actor = excluded.drain_actor, drain_reason = excluded.drain_reason,
       since_ms = excluded.since_ms, last_moved_ms = excluded.last_moved_ms,
       held = excluded.held";

const UPSERT_RECORD: &str = "INSERT INTO api_records (owner, rtype, ttl, data)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (owner, rtype, data) DO UPDATE SET ttl = excluded.ttl";

const UPSERT_ALIAS: &str = "INSERT INTO aliases (owner, host, set_at, actor)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (owner) DO UPDATE SET host = excluded.host,
       set_at = excluded.set_at, actor = excluded.actor";

const UPSERT_DEPARTURE: &str = "INSERT INTO departures (host, role, left_ms)
     VALUES ($1, $2, $3)
     ON CONFLICT (host, role) DO UPDATE SET left_ms = excluded.left_ms";

const INSERT_EVENT: &str = "INSERT INTO events
       (at_ms, kind, host, from_role, to_role, actor, reason, serial)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     RETURNING id";
