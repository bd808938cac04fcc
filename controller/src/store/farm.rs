//! Reading the farm back.

use super::rows::{AliasRow, DepartureRow, FarmRow, RecordRow};
use super::{Store, StoreError};
use crate::farm::Farm;

impl Store {
    /// Every host with its assignment (a host without one gets
    /// `Assignment::active(None, 0)`), the fail-static flag, the records
    /// and aliases written through the API, and the hosts' departures.
    pub async fn load_farm(&self) -> Result<Farm, StoreError> {
        // One statement for hosts and assignments, so they are consistent
        // with each other on every backend and isolation level; the other
        // tables in one read transaction with it.
        let (rows, panic, records, aliases, departures): (
            Vec<FarmRow>,
            bool,
            Vec<RecordRow>,
            Vec<AliasRow>,
            Vec<DepartureRow>,
        ) = with_pool!(self, pool => {
            let mut conn = pool.acquire().await?;
            let read: Result<_, StoreError> = async {
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let rows = sqlx::query_as(LOAD_FARM).fetch_all(&mut *tx).await?;
                let panic = sqlx::query_scalar("SELECT panic FROM farm_state WHERE id = 1")
                    .fetch_optional(&mut *tx)
                    .await?;
                let records = sqlx::query_as(LOAD_RECORDS).fetch_all(&mut *tx).await?;
                let aliases = sqlx::query_as(LOAD_ALIASES).fetch_all(&mut *tx).await?;
                let departures = sqlx::query_as(LOAD_DEPARTURES).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok((rows, panic.unwrap_or(false), records, aliases, departures))
            }
            .await;
            if read.is_err() {
                // As in `commit`: a connection whose transaction failed is not reused.
                conn.close_on_drop();
            }
            read?
        });
        let mut farm = Farm {
            panic,
            ..Farm::default()
        };
        for row in rows {
            let (host, assignment) = row.into_domain()?;
            farm.assignments.insert(host.name.clone(), assignment);
            farm.hosts.insert(host.name.clone(), host);
        }
        farm.records = records
            .into_iter()
            .map(RecordRow::into_domain)
            .collect::<Result<_, _>>()?;
        farm.aliases = aliases
            .into_iter()
            .map(AliasRow::into_domain)
            .collect::<Result<_, _>>()?;
        farm.departures = departures.into_iter().map(DepartureRow::into_domain).collect();
        Ok(farm)
    }
}

const LOAD_FARM: &str = "SELECT h.name, h.addresses, h.eligible, h.labels,
       h.is_static, h.pinned, h.cordoned, h.dead, h.token_hash,
       a.role, a.phase, a.drain_to, a.drain_started_ms, a.drain_actor,
       a.drain_reason, a.since_ms, a.last_moved_ms, a.held
     FROM hosts h LEFT JOIN assignments a ON a.host = h.name
     ORDER BY h.name";

const LOAD_RECORDS: &str = "SELECT owner, rtype, ttl, data FROM api_records ORDER BY owner, rtype, data";

const LOAD_ALIASES: &str = "SELECT owner, host FROM aliases ORDER BY owner";

const LOAD_DEPARTURES: &str = "SELECT host, role, left_ms FROM departures ORDER BY host, role";
