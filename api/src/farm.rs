//! Reads of the farm: pools and the event log.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use muster_controller::engine::assignment_state;
use muster_controller::store::EventFilter;
use serde::{Deserialize, Serialize};

use crate::{ApiError, ApiState};

/// One pool.
#[derive(Debug, Serialize)]
pub struct PoolView {
    /// The role.
    pub role: String,
    /// Its `min`.
    pub min: u32,
    /// Published members.
    pub published: Vec<String>,
    /// Every host assigned to the role, with its state.
    pub members: Vec<MemberView>,
}

/// A host in a pool.
#[derive(Debug, Serialize)]
pub struct MemberView {
    /// Host name.
    pub host: String,
    /// `active`, `draining`, `dead`, …
    pub state: &'static str,
}

/// Pools and fail-static state.
#[derive(Debug, Serialize)]
pub struct PoolsView {
    /// Fail-static in force.
    pub panic: bool,
    /// Every role.
    pub pools: Vec<PoolView>,
}

pub(crate) async fn pools(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Json<PoolsView>, ApiError> {
    state.tokens.require_read(&headers)?;
    let controller = state.controller.as_ref().ok_or_else(no_controller)?;
    let view = controller.view();
    let mut members: BTreeMap<&str, Vec<MemberView>> = BTreeMap::new();
    for (name, a) in &view.farm.assignments {
        if let (Some(role), Some(host)) = (&a.role, view.farm.hosts.get(name)) {
            members.entry(role).or_default().push(MemberView {
                host: name.clone(),
                state: assignment_state(host, Some(a)),
            });
        }
    }
    let pools = view
        .policy
        .roles
        .iter()
        .map(|(role, spec)| PoolView {
            role: role.clone(),
            min: spec.min,
            published: view.membership.get(role).cloned().unwrap_or_default(),
            members: members.remove(role.as_str()).unwrap_or_default(),
        })
        .collect();
    Ok(Json(PoolsView {
        panic: view.farm.panic,
        pools,
    }))
}

/// Query of `GET /api/v1/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only this host.
    pub host: Option<String>,
    /// Only events at or after this time (ms since the epoch).
    pub since: Option<i64>,
    /// Only events after this id.
    pub after: Option<i64>,
    /// At most this many (the newest), default 100, at most 10,000.
    pub limit: Option<u32>,
}

/// One event.
#[derive(Debug, Serialize)]
pub struct EventView {
    /// Its id (increasing).
    pub id: i64,
    /// Milliseconds since the epoch.
    pub at: i64,
    /// Kind.
    pub kind: String,
    /// Host.
    pub host: Option<String>,
    /// Role before.
    pub from: Option<String>,
    /// Role after.
    pub to: Option<String>,
    /// Who.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// The zone serial it was published under.
    pub serial: Option<u32>,
}

pub(crate) async fn events(
    State(state): State<ApiState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    state.tokens.require_read(&headers)?;
    let Query(q) = query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))?;
    let store = state.store.as_ref().ok_or_else(no_controller)?;
    let filter = EventFilter {
        host: q.host,
        since: q.since,
        after_id: q.after,
        limit: q.limit.unwrap_or(100).min(10_000),
    };
    let events = store.events(&filter).await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            e.to_string(),
        )
    })?;
    Ok(Json(
        events
            .into_iter()
            .map(|s| EventView {
                id: s.id,
                at: s.event.at,
                kind: s.event.kind,
                host: s.event.host,
                from: s.event.from_role,
                to: s.event.to_role,
                actor: s.event.actor,
                reason: s.event.reason,
                serial: s.event.serial,
            })
            .collect(),
    ))
}

fn no_controller() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "no controller")
}
