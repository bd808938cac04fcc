//! muster's HTTP API: the only crate that knows HTTP and JSON shapes.
//!
//! Liveness and readiness, the zone as published, pools, hosts and the
//! operators' changes to them, the static records and aliases operators
//! write, the event log (listed and streamed), policy reload, and the
//! agents' heartbeat. Every `/api/v1` route is registered
//! together with its OpenAPI description ([`openapi_document`], served at
//! `/api/v1/openapi.json`). Every error is JSON
//! `{"error": {"code", "message"}}`.

mod agents;
mod aliases;
mod auth;
pub mod client;
mod events;
mod extract;
mod farm;
mod hosts;
mod listener;
mod metrics;
mod openapi;
mod operations;
mod plan;
mod policy;
mod records;
mod status;
mod throttle;
mod tls;
mod wire;

use std::io;
use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use muster_controller::runner::ControllerHandle;
use muster_controller::store::Store;
use muster_dns::{DnsStats, SharedCatalog};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use agents::{HeartbeatBody, HeartbeatReply, ProbeResult, ProbeSpec};
pub use aliases::{AliasBody, AliasView};
pub use auth::{OperatorToken, Scope, Tokens};
pub use events::{EventView, EventsQuery, StreamQuery};
pub use farm::{MemberView, PoolView, PoolsView};
pub use hosts::{DnsPresence, DrainView, HostView};
pub use listener::ConnectionLimits;
pub use operations::{ForceQuery, MoveAccepted, MoveBody, MoveQuery, NewHostBody, PinBody};
pub use plan::{
    PlanQuery, PlanRole, PlanSchedule, PlanSettles, PlanShortRole, PlanStep, PlanTimedStep, PlanView,
};
pub use policy::ReloadView;
pub use records::{NameSource, NewRecordBody, RecordQuery, RecordsRemoved, StaticRecordView};
pub use status::{History, Sample};
pub use throttle::PeerAddr;
pub use tls::{TlsConfig, TlsError};
pub use wire::{ApiError, ErrorBody, ErrorResponse, RecordView, ZoneView};

/// What the handlers read.
#[derive(Clone)]
pub struct ApiState {
    /// The zones being served; the first is the forward zone.
    pub zone: SharedCatalog,
    /// The controller: every write and most reads go through it.
    pub controller: ControllerHandle,
    /// The store, for the event log and readiness.
    pub store: Store,
    /// Agent and operator tokens.
    pub tokens: Tokens,
    /// The DNS listeners' counters, for `/metrics`.
    pub dns_stats: DnsStats,
    /// Pool sizes over the last hour, for the status page; [`spawn_api`]
    /// keeps it filled.
    pub history: History,
}

/// The router, for tests and for [`spawn_api`].
pub fn router(state: ApiState) -> Router {
    let (documented, _) = documented_routes().split_for_parts();
    documented
        .route("/", get(status::page))
        .route("/metrics", get(metrics::metrics))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            throttle::AuthThrottle::default(),
            throttle::slow_failed_auth,
        ))
}

/// Every documented route, each registered with its OpenAPI description:
/// all of `/api/v1`, `/healthz` and `/readyz`.
fn documented_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(<openapi::ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(zone))
        .routes(routes!(zones))
        .routes(routes!(farm::pools))
        .routes(routes!(hosts::list_hosts, operations::register))
        .routes(routes!(hosts::get_host, operations::remove))
        .routes(routes!(operations::move_host))
        .routes(routes!(operations::drain))
        .routes(routes!(operations::cordon))
        .routes(routes!(operations::uncordon))
        .routes(routes!(operations::pin))
        .routes(routes!(operations::unpin))
        .routes(routes!(
            records::list_records,
            records::add_record,
            records::remove_records
        ))
        .routes(routes!(aliases::list_aliases))
        .routes(routes!(aliases::set_alias, aliases::remove_alias))
        .routes(routes!(events::events))
        .routes(routes!(events::stream))
        .routes(routes!(policy::reload))
        .routes(routes!(plan::plan))
        .routes(routes!(agents::heartbeat))
}

/// The OpenAPI 3 document of every documented route.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    documented_routes().split_for_parts().1
}

/// Binds `listen` and serves the API until `cancel` fires, over HTTPS when
/// `tls` is given, each connection within `limits`. Returns the bound
/// address and the serving task.
pub async fn spawn_api(
    listen: SocketAddr,
    state: ApiState,
    tls: Option<TlsConfig>,
    limits: ConnectionLimits,
    cancel: CancellationToken,
) -> io::Result<(SocketAddr, tokio::task::JoinHandle<io::Result<()>>)> {
    let listener = TcpListener::bind(listen).await?;
    let local = listener.local_addr()?;
    info!(%local, tls = tls.is_some(), "API listening");
    // The status page's history, sampled while the API serves.
    let sampling = cancel.child_token();
    let sampler = status::spawn_sampler(state.history.clone(), state.controller.clone(), sampling.clone());
    // Open event streams end at shutdown.
    let app = router(state).layer(Extension(events::Shutdown(cancel.clone())));
    let acceptor = tls.as_ref().map(TlsConfig::acceptor);
    let task = tokio::spawn(listener::serve(listener, app, acceptor, limits, cancel));
    let task = tokio::spawn(async move {
        let served = task.await.unwrap_or_else(|e| Err(io::Error::other(e)));
        sampling.cancel();
        let _ = sampler.await;
        served
    });
    Ok((local, task))
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "`ok`", content_type = "text/plain", body = String))
)]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready to serve: a zone is published and the store answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "`{\"ready\": true, \"serial\": N, \"store\": \"ok\"}`", body = Object),
        (status = 503, description = "the store does not answer (DNS keeps serving the last snapshot)", body = Object)
    )
)]
async fn readyz(State(state): State<ApiState>) -> Response {
    // A zone is published from the start (the snapshot exists before the
    // API listens); ready also means the store answers, within a second.
    let serial = state.zone.load().iter().next().map(|s| s.serial());
    let store = match tokio::time::timeout(std::time::Duration::from_secs(1), state.store.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 1 s".to_owned()),
    };
    match store {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "ready": true, "serial": serial, "store": "ok" })),
        )
            .into_response(),
        // DNS keeps serving the last snapshot; the controller cannot commit.
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "ready": false, "serial": serial, "store": why })),
        )
            .into_response(),
    }
}

/// The forward zone as published, with its serial; with `?name=`, any
/// zone muster serves (a reverse zone).
#[utoipa::path(
    get,
    path = "/api/v1/zone",
    tag = "zone",
    security(("bearer" = [])),
    params(ZoneQuery),
    responses(
        (status = 200, description = "The zone DNS serves now", body = ZoneView),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 404, description = "No such zone is served", body = ErrorResponse),
    )
)]
async fn zone(
    State(state): State<ApiState>,
    _: auth::Reader,
    Query(query): Query<ZoneQuery>,
) -> Result<Json<ZoneView>, ApiError> {
    let catalog = state.zone.load();
    let found = match &query.name {
        None => catalog.iter().next(),
        Some(name) => {
            let origin = hickory_proto::rr::Name::from_ascii(name)
                .map(|n| {
                    let mut n = n.to_lowercase();
                    n.set_fqdn(true);
                    n
                })
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid",
                        format!("{name:?}: {e}"),
                    )
                })?;
            catalog.zone(&origin)
        }
    };
    let zone =
        found.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such zone is served"))?;
    Ok(Json(ZoneView::from_snapshot(zone)))
}

/// Which zone `GET /api/v1/zone` shows.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
pub struct ZoneQuery {
    /// The zone's origin (`10.0.127.in-addr.arpa`); the forward zone when absent.
    pub name: Option<String>,
}

/// Every zone muster serves: the forward zone first, then the reverse
/// zones, each with its own serial and records.
#[utoipa::path(
    get,
    path = "/api/v1/zones",
    tag = "zone",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every zone DNS serves now", body = Vec<ZoneView>),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
    )
)]
async fn zones(State(state): State<ApiState>, _: auth::Reader) -> Json<Vec<ZoneView>> {
    let catalog = state.zone.load();
    Json(catalog.iter().map(|s| ZoneView::from_snapshot(s)).collect())
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this endpoint does not take {method} (see /api/v1/openapi.json)"),
    )
}
