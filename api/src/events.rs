//! The event log: `GET /api/v1/events` with filters, and
//! `GET /api/v1/events/stream`, a Server-Sent Events follow.
//!
//! The stream polls the store by event id (every [`POLL`]): events are
//! committed by the controller in the same transaction as the zone, so the
//! log is the one source of truth and a follower sees exactly what a list
//! would. It ends when the client goes or the server shuts down.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use muster_controller::store::{EventFilter, Store, StoredEvent};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::debug;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Reader;
use crate::extract::Params;
use crate::wire::ErrorResponse;
use crate::{ApiError, ApiState};

/// How often the stream looks for new events.
const POLL: Duration = Duration::from_millis(250);

/// Most events a list (or a stream's replay) returns.
const MAX_LIMIT: u32 = 10_000;

/// Cancelled when the server shuts down: open streams end then.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shutdown(pub(crate) CancellationToken);

/// Query of `GET /api/v1/events`.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events about this host.
    pub host: Option<String>,
    /// Only events at or after this time (milliseconds since the epoch).
    pub since: Option<i64>,
    /// Only events with a greater id (paging, resuming).
    pub after: Option<i64>,
    /// At most this many, the newest of those matching (default 100, at
    /// most 10000).
    pub limit: Option<u32>,
}

/// Query of `GET /api/v1/events/stream`.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Only events about this host.
    pub host: Option<String>,
    /// First replay the events at or after this time (milliseconds since
    /// the epoch; the newest 10000 at most), then follow.
    pub since: Option<i64>,
    /// First replay the events with a greater id, then follow (the
    /// `Last-Event-ID` header does the same for reconnecting clients).
    pub after: Option<i64>,
}

/// One event of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// Its id, increasing with every event logged.
    pub id: i64,
    /// When, in milliseconds since the epoch.
    pub at: i64,
    /// What happened: `assign`, `drain-start`, `move`, `publish`,
    /// `unpublish`, `death`, `revival`, `panic`, `panic-end`, `enrol`,
    /// `update`, `cordon`, `uncordon`, `pin`, `unpin`, `register`, `remove`.
    pub kind: String,
    /// The host concerned, if one.
    pub host: Option<String>,
    /// Role before.
    pub from: Option<String>,
    /// Role after.
    pub to: Option<String>,
    /// Who: an operator token's name, a schedule or load rule,
    /// `reconciler`, `failure-detector`, `agent`.
    pub actor: String,
    /// Why, for people.
    pub reason: String,
    /// The zone serial it was published under.
    pub serial: Option<u32>,
}

impl From<StoredEvent> for EventView {
    fn from(s: StoredEvent) -> Self {
        Self {
            id: s.id,
            at: s.event.at,
            kind: s.event.kind.as_str().to_owned(),
            host: s.event.host,
            from: s.event.from_role,
            to: s.event.to_role,
            actor: s.event.actor,
            reason: s.event.reason,
            serial: s.event.serial,
        }
    }
}

fn store_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        e.to_string(),
    )
}

/// The event log, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(EventsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Matching events, oldest first", body = Vec<EventView>),
        (status = 400, description = "Unknown or malformed query parameter", body = ErrorResponse),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 503, description = "The store is unreachable", body = ErrorResponse),
    )
)]
pub(crate) async fn events(
    State(state): State<ApiState>,
    _: Reader,
    Params(q): Params<EventsQuery>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let filter = EventFilter {
        host: q.host,
        since: q.since,
        after_id: q.after,
        limit: q.limit.unwrap_or(100).clamp(1, MAX_LIMIT),
    };
    let events = state.store.events(&filter).await.map_err(store_error)?;
    Ok(Json(events.into_iter().map(EventView::from).collect()))
}

/// Follows the event log as Server-Sent Events: one `data:` line of
/// [`EventView`] JSON per event, with the event's id as the SSE `id`.
#[utoipa::path(
    get,
    path = "/api/v1/events/stream",
    tag = "events",
    params(StreamQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`text/event-stream`: each `data:` is one EventView as JSON",
            content_type = "text/event-stream", body = String),
        (status = 400, description = "Unknown or malformed query parameter", body = ErrorResponse),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 503, description = "The store is unreachable", body = ErrorResponse),
    )
)]
pub(crate) async fn stream(
    State(state): State<ApiState>,
    _: Reader,
    Params(q): Params<StreamQuery>,
    headers: HeaderMap,
    shutdown: Option<Extension<Shutdown>>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let store = state.store.clone();
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let after = resume.or(q.after);
    // Where to start: replay what was asked for, else only what comes next.
    let (last, pending) = if after.is_some() || q.since.is_some() {
        let filter = EventFilter {
            host: q.host.clone(),
            since: q.since,
            after_id: after,
            limit: MAX_LIMIT,
        };
        let replay: VecDeque<StoredEvent> = store.events(&filter).await.map_err(store_error)?.into();
        let last = replay.back().map(|e| e.id).or(after).unwrap_or(0);
        (last, replay)
    } else {
        let newest = EventFilter {
            limit: 1,
            ..EventFilter::default()
        };
        let last = store
            .events(&newest)
            .await
            .map_err(store_error)?
            .last()
            .map_or(0, |e| e.id);
        (last, VecDeque::new())
    };
    let follow = Follow {
        store,
        host: q.host,
        last,
        pending,
        shutdown: shutdown.map(|Extension(s)| s.0).unwrap_or_default(),
    };
    let events = futures_util::stream::unfold(follow, |mut f| async move {
        let next = f.next().await?;
        Some((Ok(next), f))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(10))))
}

/// A follower's place in the log.
struct Follow {
    store: Store,
    host: Option<String>,
    /// The id of the last event sent (or skipped as older than the start).
    last: i64,
    pending: VecDeque<StoredEvent>,
    shutdown: CancellationToken,
}

impl Follow {
    /// The next event to send, waiting for one; `None` at shutdown.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if self.shutdown.is_cancelled() {
                return None;
            }
            if let Some(event) = self.pending.pop_front() {
                self.last = event.id;
                let id = event.id.to_string();
                let view = EventView::from(event);
                return match SseEvent::default().id(id).json_data(&view) {
                    Ok(sse) => Some(sse),
                    Err(e) => {
                        debug!(error = %e, "event not serializable; skipped");
                        continue;
                    }
                };
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                () = tokio::time::sleep(POLL) => {}
            }
            let filter = EventFilter {
                host: self.host.clone(),
                since: None,
                after_id: Some(self.last),
                limit: 0,
            };
            match self.store.events(&filter).await {
                Ok(events) => self.pending.extend(events),
                // The store comes back; the follower waits for it.
                Err(e) => debug!(error = %e, "event stream: store unreachable; retrying"),
            }
        }
    }
}
