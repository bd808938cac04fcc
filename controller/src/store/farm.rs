//! Reading the farm back.

use super::rows::FarmRow;
use super::{Store, StoreError};
use crate::farm::Farm;

impl Store {
    /// Every host with its assignment (a host without one gets
    /// `Assignment::active(None, 0)`), and the fail-static flag.
    pub async fn load_farm(&self) -> Result<Farm, StoreError> {
        // One statement for hosts and assignments, so they are consistent
        // with each other on every backend and isolation level.
        let (rows, panic): (Vec<FarmRow>, bool) = with_pool!(self, pool => {
            let rows = sqlx::query_as(LOAD_FARM).fetch_all(pool).await?;
            let panic = sqlx::query_scalar("SELECT panic FROM farm_state WHERE id = 1")
                .fetch_optional(pool)
                .await?;
            (rows, panic.unwrap_or(false))
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
        Ok(farm)
    }
}

const LOAD_FARM: &str = "SELECT h.name, h.addresses, h.eligible, h.labels,
       h.is_static, h.pinned, h.cordoned, h.dead, h.token_hash,
       a.role, a.phase, a.drain_to, a.drain_started_ms, a.drain_actor,
       a.drain_reason, a.since_ms, a.last_moved_ms, a.held
     FROM hosts h LEFT JOIN assignments a ON a.host = h.name
     ORDER BY h.name";
