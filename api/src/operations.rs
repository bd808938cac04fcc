//! Operator writes on hosts: register, remove, move, drain, cordon,
//! uncordon, pin, unpin. Each needs an admin token, whose name becomes the
//! actor of the events it causes; each answers with the host as committed
//! (a read right after sees the change).
//!
//! A change that takes a published host out of DNS while its role is at
//! its `min` gets 409 unless `force` is set.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use muster_controller::operator::{NewHost, Operation, OperatorRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Admin;
use crate::extract::{Body, Params, PathName};
use crate::hosts::{HostView, current};
use crate::wire::ErrorResponse;
use crate::{ApiError, ApiState};

/// Body of `POST /api/v1/hosts`: a static host (no agent; always
/// published in its role).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHostBody {
    /// Short name, one DNS label (`a-z`, `0-9`, `-`).
    pub name: String,
    /// At least one address.
    #[schema(value_type = Vec<String>)]
    pub addresses: Vec<IpAddr>,
    /// The role it holds, if any.
    #[serde(default)]
    pub role: Option<String>,
    /// Free-form labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Body of `POST /api/v1/hosts/{name}/move`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// The role to move to.
    pub role: String,
    /// Move even if the old role drops below its `min` (as `?force=true`).
    #[serde(default)]
    pub force: bool,
}

/// Query of the move endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MoveQuery {
    /// Skip the drain (emergencies); the event says so.
    #[serde(default)]
    pub now: bool,
    /// Move even if the old role drops below its `min`.
    #[serde(default)]
    pub force: bool,
}

/// What a move started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MoveAccepted {
    /// The host.
    pub host: String,
    /// The role it is going to.
    pub role: String,
    /// Whether the drain was skipped.
    pub now: bool,
}

/// Query of the writes that may take a host out of DNS.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ForceQuery {
    /// Do it even if the host's role drops below its `min`.
    #[serde(default)]
    pub force: bool,
}

/// Body of `POST /api/v1/hosts/{name}/pin` (optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinBody {
    /// The role to pin it in; without it, the role it holds. Another role
    /// than its own moves it there first (drain before move).
    #[serde(default)]
    pub role: Option<String>,
}

/// Carries out `operation` on `host` for `actor`; the host as committed.
async fn operate(
    state: &ApiState,
    host: &str,
    Admin(actor): Admin,
    operation: Operation,
) -> Result<Json<HostView>, ApiError> {
    let controller = &state.controller;
    controller
        .operate(OperatorRequest {
            host: host.to_owned(),
            actor,
            operation,
        })
        .await?;
    Ok(Json(current(controller, host)?))
}

/// Registers a static host.
#[utoipa::path(
    post,
    path = "/api/v1/hosts",
    tag = "hosts",
    request_body = NewHostBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered; `Location` names it", body = HostView),
        (status = 400, description = "Not JSON", body = ErrorResponse),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 409, description = "The name exists", body = ErrorResponse),
        (status = 422, description = "Unknown field, bad name or address, or a role the policy lacks", body = ErrorResponse),
    )
)]
pub(crate) async fn register(
    State(state): State<ApiState>,
    admin: Admin,
    Body(body): Body<NewHostBody>,
) -> Result<(StatusCode, HeaderMap, Json<HostView>), ApiError> {
    let new = NewHost {
        addresses: body.addresses,
        role: body.role,
        labels: body.labels,
    };
    let host = operate(&state, &body.name, admin, Operation::Register(new)).await?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/hosts/{}", body.name)) {
        headers.insert(LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, host))
}

/// Removes a host the policy file does not define (a registered static
/// host, or an agent's; a running agent enrols again).
#[utoipa::path(
    delete,
    path = "/api/v1/hosts/{name}",
    tag = "hosts",
    params(("name" = String, Path, description = "Host name"), ForceQuery),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 404, description = "No such host", body = ErrorResponse),
        (status = 409, description = "Defined in the policy file, or its role would drop below `min`", body = ErrorResponse),
    )
)]
pub(crate) async fn remove(
    State(state): State<ApiState>,
    Admin(actor): Admin,
    PathName(name): PathName,
    Params(q): Params<ForceQuery>,
) -> Result<StatusCode, ApiError> {
    state
        .controller
        .operate(OperatorRequest {
            host: name,
            actor,
            operation: Operation::Remove { force: q.force },
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moves a host to a role: drain first (unpublished, its work finished),
/// then the new role; `?now=true` skips the drain.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/{name}/move",
    tag = "hosts",
    params(("name" = String, Path, description = "Host name"), MoveQuery),
    request_body = MoveBody,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "The move started", body = MoveAccepted),
        (status = 400, description = "Not JSON, or a bad query", body = ErrorResponse),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 404, description = "No such host or role", body = ErrorResponse),
        (status = 409, description = "Static, ineligible, already there, or below `min`", body = ErrorResponse),
        (status = 422, description = "Unknown field or wrong type", body = ErrorResponse),
    )
)]
pub(crate) async fn move_host(
    State(state): State<ApiState>,
    admin: Admin,
    PathName(name): PathName,
    Params(q): Params<MoveQuery>,
    Body(body): Body<MoveBody>,
) -> Result<(StatusCode, Json<MoveAccepted>), ApiError> {
    let operation = Operation::Move {
        role: body.role.clone(),
        now: q.now,
        force: body.force || q.force,
    };
    let _ = operate(&state, &name, admin, operation).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MoveAccepted {
            host: name,
            role: body.role,
            now: q.now,
        }),
    ))
}

/// Takes a host out of its role through a drain towards no role.
/// Automation may give it another role afterwards unless it is cordoned
/// or pinned.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/{name}/drain",
    tag = "hosts",
    params(("name" = String, Path, description = "Host name"), ForceQuery),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "The drain started", body = HostView),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 404, description = "No such host", body = ErrorResponse),
        (status = 409, description = "Static, no role, already draining, or below `min`", body = ErrorResponse),
    )
)]
pub(crate) async fn drain(
    State(state): State<ApiState>,
    admin: Admin,
    PathName(name): PathName,
    Params(q): Params<ForceQuery>,
) -> Result<(StatusCode, Json<HostView>), ApiError> {
    let host = operate(&state, &name, admin, Operation::Drain { force: q.force }).await?;
    Ok((StatusCode::ACCEPTED, host))
}

/// Takes a host out of automation and out of DNS: it is never published
/// nor chosen for a role until uncordoned.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/{name}/cordon",
    tag = "hosts",
    params(("name" = String, Path, description = "Host name"), ForceQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Cordoned", body = HostView),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 404, description = "No such host", body = ErrorResponse),
        (status = 409, description = "Already cordoned, or its role would drop below `min`", body = ErrorResponse),
    )
)]
pub(crate) async fn cordon(
    State(state): State<ApiState>,
    admin: Admin,
    PathName(name): PathName,
    Params(q): Params<ForceQuery>,
) -> Result<Json<HostView>, ApiError> {
    operate(&state, &name, admin, Operation::Cordon { force: q.force }).await
}

/// Gives a cordoned host back to automation (and DNS, when it is alive
/// in its role).
#[utoipa::path(
    post,
    path = "/api/v1/hosts/{name}/uncordon",
    tag = "hosts",
    params(("name" = String, Path, description = "Host name")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Uncordoned", body = HostView),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 404, description = "No such host", body = ErrorResponse),
        (status = 409, description = "Not cordoned", body = ErrorResponse),
    )
)]
pub(crate) async fn uncordon(
    State(state): State<ApiState>,
    admin: Admin,
    PathName(name): PathName,
) -> Result<Json<HostView>, ApiError> {
    operate(&state, &name, admin, Operation::Uncordon).await
}

/// Pins a host in a role (its own without a body): automation never moves
/// it. Another role than its own moves it there first.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/{name}/pin",
    tag = "hosts",
    params(("name" = String, Path, description = "Host name"), ForceQuery),
    request_body(content = Option<PinBody>, description = "Optional: the role to pin it in"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Pinned", body = HostView),
        (status = 400, description = "Not JSON", body = ErrorResponse),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 404, description = "No such host or role", body = ErrorResponse),
        (status = 409, description = "Already pinned there, no role to pin in, or the move is refused", body = ErrorResponse),
        (status = 422, description = "Unknown field or wrong type", body = ErrorResponse),
    )
)]
pub(crate) async fn pin(
    State(state): State<ApiState>,
    admin: Admin,
    PathName(name): PathName,
    Params(q): Params<ForceQuery>,
    body: Option<Body<PinBody>>,
) -> Result<Json<HostView>, ApiError> {
    let role = body.and_then(|Body(b)| b.role);
    operate(&state, &name, admin, Operation::Pin { role, force: q.force }).await
}

/// Gives a pinned host back to automation.
#[utoipa::path(
    post,
    path = "/api/v1/hosts/{name}/unpin",
    tag = "hosts",
    params(("name" = String, Path, description = "Host name")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Unpinned", body = HostView),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 404, description = "No such host", body = ErrorResponse),
        (status = 409, description = "Not pinned", body = ErrorResponse),
    )
)]
pub(crate) async fn unpin(
    State(state): State<ApiState>,
    admin: Admin,
    PathName(name): PathName,
) -> Result<Json<HostView>, ApiError> {
    operate(&state, &name, admin, Operation::Unpin).await
}
