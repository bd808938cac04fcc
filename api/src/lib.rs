//! muster's HTTP API: the only crate that knows HTTP and JSON shapes.
//!
//! Liveness and readiness, the zone as published, pools and the event log,
//! and the agents' heartbeat. Every error is JSON
//! `{"error": {"code", "message"}}`.

mod agents;
mod auth;
mod farm;
mod hosts;
mod wire;

use std::io;
use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use muster_controller::runner::ControllerHandle;
use muster_controller::store::Store;
use muster_dns::SharedSnapshot;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use agents::{HeartbeatBody, HeartbeatReply, ProbeResult, ProbeSpec};
pub use auth::{OperatorToken, Scope, Tokens};
pub use farm::{EventView, EventsQuery, MemberView, PoolView, PoolsView};
pub use hosts::{MoveAccepted, MoveBody, MoveQuery};
pub use wire::{ApiError, ErrorBody, RecordView, ZoneView};

/// What the handlers read.
#[derive(Clone)]
pub struct ApiState {
    /// The zone being served.
    pub zone: SharedSnapshot,
    /// The controller, when one runs.
    pub controller: Option<ControllerHandle>,
    /// The store, for the event log.
    pub store: Option<Store>,
    /// Agent and operator tokens.
    pub tokens: Tokens,
}

/// The router, for tests and for [`spawn_api`].
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/zone", get(zone))
        .route("/api/v1/pools", get(farm::pools))
        .route("/api/v1/events", get(farm::events))
        .route("/api/v1/agents/heartbeat", post(agents::heartbeat))
        .route("/api/v1/hosts/{name}/move", post(hosts::move_host))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .fallback(not_found)
        .with_state(state)
}

/// Binds `listen` and serves the API until `cancel` fires. Returns the bound
/// address and the serving task.
pub async fn spawn_api(
    listen: SocketAddr,
    state: ApiState,
    cancel: CancellationToken,
) -> io::Result<(SocketAddr, tokio::task::JoinHandle<io::Result<()>>)> {
    let listener = TcpListener::bind(listen).await?;
    let local = listener.local_addr()?;
    info!(%local, "API listening");
    let app = router(state);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await
    });
    Ok((local, task))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<ApiState>) -> Response {
    // The snapshot exists from the start; ready means a zone is published.
    let serial = state.zone.load().serial();
    (
        StatusCode::OK,
        Json(serde_json::json!({ "ready": true, "serial": serial })),
    )
        .into_response()
}

async fn zone(
    State(state): State<ApiState>,
    headers: axum::http::HeaderMap,
) -> Result<Json<ZoneView>, ApiError> {
    state.tokens.require_read(&headers)?;
    Ok(Json(ZoneView::from_snapshot(&state.zone.load())))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}
