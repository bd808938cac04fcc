//! Writing the farm: one transaction per [`Commit`].

use std::time::{SystemTime, UNIX_EPOCH};

use super::rows::{AssignmentRow, EventRow, HostRow};
use super::{SAVE_ZONE_STATE, Store, StoreError, ZoneState};
use crate::farm::{Assignment, Event, HostRecord};

/// Changes that land together or not at all.
///
/// Applied in this order: `remove_hosts` (with their assignments), then
/// `upsert_hosts`, `assignments` (each host must exist by then), `panic`,
/// `zone`, and last `events`. An event without a serial gets the serial of
/// `zone` when the commit carries one.
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
    /// The zone published with these changes: origin and state.
    pub zone: Option<(&'a str, &'a ZoneState)>,
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

        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
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
            if let Some(panic) = commit.panic {
                sqlx::query("UPDATE farm_state SET panic = $1 WHERE id = 1")
                    .bind(panic)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some((zone, state)) = commit.zone {
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

const INSERT_EVENT: &str = "INSERT INTO events
       (at_ms, kind, host, from_role, to_role, actor, reason, serial)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     RETURNING id";
