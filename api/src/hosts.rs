//! Operator writes on hosts.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use muster_controller::runner::{MoveError, MoveRequest};
use serde::{Deserialize, Serialize};

use crate::{ApiError, ApiState};

/// Body of `POST /api/v1/hosts/{name}/move`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// The role to move to.
    pub role: String,
    /// Move even if the old role drops below its `min`.
    #[serde(default)]
    pub force: bool,
}

/// Query of the move endpoint.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveQuery {
    /// Skip the drain (emergencies).
    #[serde(default)]
    pub now: bool,
}

/// What a move started.
#[derive(Debug, Serialize, Deserialize)]
pub struct MoveAccepted {
    /// The host.
    pub host: String,
    /// The role it is going to.
    pub role: String,
    /// Whether the drain was skipped.
    pub now: bool,
}

pub(crate) async fn move_host(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(host): Path<String>,
    query: Result<Query<MoveQuery>, QueryRejection>,
    body: Result<Json<MoveBody>, JsonRejection>,
) -> Result<(StatusCode, Json<MoveAccepted>), ApiError> {
    let actor = state.tokens.require_admin(&headers)?;
    let Query(query) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))?;
    let Json(body) = body.map_err(ApiError::from_json)?;
    let controller = state
        .controller
        .as_ref()
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "no controller"))?;
    let request = MoveRequest {
        host: host.clone(),
        role: body.role.clone(),
        actor,
        now: query.now,
        force: body.force,
    };
    controller.move_host(request).await.map_err(|e| {
        let (status, code) = match &e {
            MoveError::UnknownHost(_) | MoveError::UnknownRole(_) => (StatusCode::NOT_FOUND, "not_found"),
            MoveError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            MoveError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        };
        ApiError::new(status, code, e.to_string())
    })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MoveAccepted {
            host,
            role: body.role,
            now: query.now,
        }),
    ))
}
