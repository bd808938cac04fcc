//! Reading the event log.

use super::rows::EventRow;
use super::{Store, StoreError};
use crate::farm::{Event, Millis};

/// Which events to read. `Default` reads them all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only those about this host.
    pub host: Option<String>,
    /// Only those at or after this time.
    pub since: Option<Millis>,
    /// Only those with a greater id (for paging and tailing).
    pub after_id: Option<i64>,
    /// At most this many, the newest of those matching; 0 means no limit.
    pub limit: u32,
}

/// An event as logged, with the id the store gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Grows with every event logged.
    pub id: i64,
    /// The event.
    pub event: Event,
}

impl Store {
    /// The events matching `filter`, oldest first.
    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<StoredEvent>, StoreError> {
        let limit = if filter.limit == 0 {
            i64::MAX
        } else {
            i64::from(filter.limit)
        };
        let rows: Vec<EventRow> = with_pool!(self, pool => {
            sqlx::query_as(SELECT_EVENTS)
                .bind(&filter.host)
                .bind(filter.since)
                .bind(filter.after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        // Newest first from the database (so the limit keeps the newest);
        // oldest first to the caller.
        rows.into_iter().rev().map(EventRow::into_domain).collect()
    }
}

const SELECT_EVENTS: &str = "SELECT id, at_ms, kind, host, from_role, to_role, actor, reason, serial
     FROM events
     WHERE ($1 IS NULL OR host = $1)
       AND ($2 IS NULL OR at_ms >= $2)
       AND ($3 IS NULL OR id > $3)
     ORDER BY id DESC
     LIMIT $4";
