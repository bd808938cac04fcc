//! Aliases: names published as a CNAME to a host's own name, moved between
//! hosts by operators (`GET /api/v1/aliases`, `PUT` and `DELETE
//! /api/v1/aliases/{name}`). A move is an `alias-set` event whose actor is
//! the admin token's name. An alias to a host that is dead or cordoned
//! stays (it is a mapping, not a pool) and is flagged here, in the hosts'
//! views and on the status page.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hickory_proto::rr::Name;
use muster_controller::operator::names::{NameChange, NameRequest};
use muster_controller::runner::ControllerView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Admin, Reader};
use crate::extract::{Body, PathName};
use crate::records::{NameSource, resolve_name};
use crate::wire::ErrorResponse;
use crate::{ApiError, ApiState};

/// One alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AliasView {
    /// The alias, absolute (`john.pop.lists.example.test.`).
    pub name: String,
    /// The host it follows; DNS answers a CNAME to the host's own name.
    pub host: String,
    /// `policy` (set by the policy's `aliases:`, not moved since) or `api`.
    pub source: NameSource,
    /// Why the alias deserves a look, when it does: its host is `dead`,
    /// `cordoned`, or `missing` (not in the farm). The alias stays either
    /// way; `muster alias set` moves it.
    pub flag: Option<String>,
}

/// Body of `PUT /api/v1/aliases/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AliasBody {
    /// The host the alias follows (its short name).
    pub host: String,
}

/// Why an alias to `host` deserves a look: `dead`, `cordoned`, `missing`.
pub(crate) fn alias_flag(view: &ControllerView, host: &str) -> Option<&'static str> {
    match view.farm.hosts.get(host) {
        None => Some("missing"),
        Some(h) if h.dead => Some("dead"),
        Some(h) if h.cordoned => Some("cordoned"),
        Some(_) => None,
    }
}

/// The aliases pointing at `host`, by name.
pub(crate) fn aliases_of(view: &ControllerView, host: &str) -> Vec<String> {
    view.farm
        .aliases
        .iter()
        .filter(|(_, h)| *h == host)
        .map(|(owner, _)| owner.to_string())
        .collect()
}

fn alias_view(view: &ControllerView, owner: &Name, host: &str) -> AliasView {
    let from_policy = view
        .policy
        .aliases
        .iter()
        .any(|a| a.owner == *owner && a.host == host);
    AliasView {
        name: owner.to_string(),
        host: host.to_owned(),
        source: if from_policy {
            NameSource::Policy
        } else {
            NameSource::Api
        },
        flag: alias_flag(view, host).map(str::to_owned),
    }
}

/// Every alias, by name.
pub(crate) fn alias_views(view: &ControllerView) -> Vec<AliasView> {
    view.farm
        .aliases
        .iter()
        .map(|(owner, host)| alias_view(view, owner, host))
        .collect()
}

/// Every alias, by name, with the host it follows.
#[utoipa::path(
    get,
    path = "/api/v1/aliases",
    tag = "zone",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every alias, by name", body = Vec<AliasView>),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 503, description = "No controller", body = ErrorResponse),
    )
)]
pub(crate) async fn list_aliases(
    State(state): State<ApiState>,
    _: Reader,
) -> Result<Json<Vec<AliasView>>, ApiError> {
    Ok(Json(alias_views(&state.controller.view())))
}

/// Points an alias at a host: a new alias, or a move (an audited change).
#[utoipa::path(
    put,
    path = "/api/v1/aliases/{name}",
    tag = "zone",
    params(("name" = String, Path, description = "The alias: relative to the zone or absolute")),
    request_body = AliasBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Moved (or already there)", body = AliasView),
        (status = 201, description = "Set", body = AliasView),
        (status = 400, description = "Not JSON", body = ErrorResponse),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 422, description = "No such host, or a name the zone cannot alias (the apex, a name with other data, outside the zone): the message says why", body = ErrorResponse),
        (status = 503, description = "No controller, or the store refused", body = ErrorResponse),
    )
)]
pub(crate) async fn set_alias(
    State(state): State<ApiState>,
    Admin(actor): Admin,
    PathName(name): PathName,
    Body(body): Body<AliasBody>,
) -> Result<(StatusCode, Json<AliasView>), ApiError> {
    let controller = &state.controller;
    let owner = resolve_name(&name, &controller.view().policy.zone)?;
    let existed = controller.view().farm.aliases.contains_key(&owner);
    let host = body.host.trim().to_owned();
    controller
        .change_names(NameRequest {
            actor,
            change: NameChange::SetAlias {
                owner: owner.clone(),
                host: host.clone(),
            },
        })
        .await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(alias_view(&controller.view(), &owner, &host))))
}

/// Removes an alias set through the API (the policy's are removed there).
#[utoipa::path(
    delete,
    path = "/api/v1/aliases/{name}",
    tag = "zone",
    params(("name" = String, Path, description = "The alias: relative to the zone or absolute")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 403, description = "A read token", body = ErrorResponse),
        (status = 404, description = "No such alias", body = ErrorResponse),
        (status = 409, description = "Set by the policy file: remove it there", body = ErrorResponse),
        (status = 422, description = "Not a domain name", body = ErrorResponse),
        (status = 503, description = "No controller, or the store refused", body = ErrorResponse),
    )
)]
pub(crate) async fn remove_alias(
    State(state): State<ApiState>,
    Admin(actor): Admin,
    PathName(name): PathName,
) -> Result<StatusCode, ApiError> {
    let controller = &state.controller;
    let owner = resolve_name(&name, &controller.view().policy.zone)?;
    controller
        .change_names(NameRequest {
            actor,
            change: NameChange::RemoveAlias { owner },
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
