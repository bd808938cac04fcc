//! muster's HTTP API: the only crate that knows HTTP and JSON shapes.
//!
//! So far it serves what the DNS side can show: liveness, readiness and the
//! zone as published. Every error is JSON `{"error": {"code", "message"}}`.

mod wire;

use std::io;
use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use muster_dns::SharedSnapshot;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use wire::{ApiError, ErrorBody, RecordView, ZoneView};

/// What the handlers read.
#[derive(Clone)]
pub struct ApiState {
    /// The zone being served.
    pub zone: SharedSnapshot,
}

/// The router, for tests and for [`spawn_api`].
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/zone", get(zone))
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

async fn zone(State(state): State<ApiState>) -> Json<ZoneView> {
    Json(ZoneView::from_snapshot(&state.zone.load()))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}
