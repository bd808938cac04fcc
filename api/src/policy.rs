//! `POST /api/v1/policy/reload`: reads the policy file again and puts it
//! in force, as SIGHUP does, but answers with the outcome.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use muster_controller::engine::EngineError;
use muster_controller::policy::{self, PolicyError};
use muster_controller::runner::ReloadError;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};
use utoipa::ToSchema;

use crate::auth::Admin;
use crate::wire::ErrorResponse;
use crate::{ApiError, ApiState};

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReloadView {
    /// The policy file read.
    pub policy: String,
    /// The zone's new serial; `null` when the zone did not change.
    pub serial: Option<u32>,
}

/// Reloads the policy from the file the server was started with. A policy
/// that does not load gets 422 with every problem (`file:line:column:
/// message`, one per line) and the one in force stays.
#[utoipa::path(
    post,
    path = "/api/v1/policy/reload",
    tag = "policy",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "In force", body = ReloadView),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 422, description = "The policy is invalid; the one in force stays", body = ErrorResponse),
        (status = 500, description = "The policy file cannot be read", body = ErrorResponse),
        (status = 503, description = "The store is unreachable; the policy in force stays", body = ErrorResponse),
    )
)]
pub(crate) async fn reload(
    State(state): State<ApiState>,
    Admin(actor): Admin,
) -> Result<Json<ReloadView>, ApiError> {
    let controller = &state.controller;
    let path = controller.view().policy.source.clone();
    info!(policy = %path.display(), %actor, "reloading policy");
    let file = path.clone();
    let loaded = tokio::task::spawn_blocking(move || policy::load_file(&file))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let policy = match loaded {
        Ok(policy) => policy,
        Err(e) => {
            warn!("policy rejected, keeping the one in force:\n{e}");
            controller.reload_rejected(&actor, &e.to_string()).await;
            return Err(rejected(e));
        }
    };
    let report = controller.reload(policy, &actor).await.map_err(|e| {
        warn!(error = %e, "policy not applied, keeping the one in force");
        match e {
            ReloadError::Engine(EngineError::Zone(_) | EngineError::Publish(_)) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy", e.to_string())
            }
            _ => ApiError::unavailable(format!("{e}; the policy in force stays")),
        }
    })?;
    Ok(Json(ReloadView {
        policy: path.display().to_string(),
        serial: report.serial,
    }))
}

/// The answer to a policy file that does not load.
fn rejected(e: PolicyError) -> ApiError {
    match e {
        PolicyError::Io { .. } => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "policy_unreadable",
            e.to_string(),
        ),
        PolicyError::Invalid(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_policy",
            format!("{e}\nthe policy in force stays"),
        ),
    }
}
