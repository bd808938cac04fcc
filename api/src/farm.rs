//! `GET /api/v1/pools`: every role with its members, their state and load.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use muster_controller::engine::assignment_state;
use muster_controller::observed::Observed;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Reader;
use crate::hosts::{DnsPresence, dns_presence};
use crate::wire::ErrorResponse;
use crate::{ApiError, ApiState};

/// Pools and fail-static state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PoolsView {
    /// Fail-static is in force: too many hosts went silent at once, so
    /// nothing is declared dead and nothing moves until they are back.
    pub panic: bool,
    /// Every role of the policy, by name.
    pub pools: Vec<PoolView>,
}

/// One role and its hosts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PoolView {
    /// The role.
    pub role: String,
    /// The policy's `min`: never fewer published hosts, unless forced.
    pub min: u32,
    /// How many hosts the role should have now (schedules and load rules;
    /// never below `min`).
    pub wanted: u32,
    /// Who set `wanted` (a schedule, a load rule, `default-want`), when
    /// something did.
    pub wanted_by: Option<String>,
    /// Why, for people.
    pub wanted_reason: Option<String>,
    /// The hosts in DNS for this role, by name.
    pub published: Vec<String>,
    /// Every host holding the role (draining ones included), by name.
    pub members: Vec<MemberView>,
}

/// A host in a pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    /// Host name.
    pub host: String,
    /// `active`, `draining`, `dead`, `cordoned`, `pinned` or `unassigned`.
    pub state: String,
    /// Published in this pool now (a role like `spare` that publishes no
    /// records still counts).
    pub published: bool,
    /// What DNS serves for it now: `pool`, `own` or `none`.
    #[serde(default)]
    pub dns: DnsPresence,
    /// The mail queue's depth, when the agent reports it.
    pub queue_depth: Option<f64>,
    /// The one-minute load average, when reported.
    pub load1: Option<f64>,
    /// CPU use, when reported.
    pub cpu: Option<f64>,
}

/// The metric `name` of `host`, when its agent reports it.
pub(crate) fn metric(observed: &Observed, host: &str, name: &str) -> Option<f64> {
    observed.get(host)?.report.metrics.get(name).copied()
}

/// Every role with its members, state and load.
#[utoipa::path(
    get,
    path = "/api/v1/pools",
    tag = "farm",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every role of the policy", body = PoolsView),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 503, description = "No controller", body = ErrorResponse),
    )
)]
pub(crate) async fn pools(State(state): State<ApiState>, _: Reader) -> Result<Json<PoolsView>, ApiError> {
    let controller = &state.controller;
    let view = controller.view();
    let decision = controller.decision();
    let observed = controller.observations();
    let mut members: BTreeMap<&str, Vec<MemberView>> = BTreeMap::new();
    for (name, a) in &view.farm.assignments {
        if let (Some(role), Some(host)) = (&a.role, view.farm.hosts.get(name)) {
            let published = view.membership.get(role).is_some_and(|m| m.contains(name));
            members.entry(role).or_default().push(MemberView {
                host: name.clone(),
                state: assignment_state(host, Some(a)).as_str().to_owned(),
                published,
                dns: dns_presence(&view, name, Some(role), published),
                queue_depth: metric(&observed, name, "queue_depth"),
                load1: metric(&observed, name, "load1"),
                cpu: metric(&observed, name, "cpu"),
            });
        }
    }
    let pools = view
        .policy
        .roles
        .iter()
        .map(|(role, spec)| {
            let cause = decision.wanted.cause(role);
            PoolView {
                role: role.clone(),
                min: spec.min,
                wanted: decision.wanted.get(role).copied().unwrap_or(0).max(spec.min),
                wanted_by: cause.map(|c| c.actor.clone()),
                wanted_reason: cause.map(|c| c.reason.clone()),
                published: view.membership.get(role).cloned().unwrap_or_default(),
                members: members.remove(role.as_str()).unwrap_or_default(),
            }
        })
        .collect();
    Ok(Json(PoolsView {
        panic: view.farm.panic,
        pools,
    }))
}
