//! `POST /api/v1/agents/heartbeat`: agents report, the controller instructs.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use muster_controller::observed::Report;
use muster_controller::policy::{Probe, ProbeCheck};
use muster_controller::runner::{Heartbeat, HeartbeatError, now_millis};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::Body;
use crate::wire::ErrorResponse;
use crate::{ApiError, ApiState};

/// A heartbeat as agents send it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatBody {
    /// The host's name.
    pub name: String,
    /// Its addresses.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub addresses: Vec<IpAddr>,
    /// The role it holds now.
    #[serde(default)]
    pub role: Option<String>,
    /// Probe results for its role.
    #[serde(default)]
    pub probes: Vec<ProbeResult>,
    /// Metrics (`queue_depth`, `load1`, …).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// The last role-change hook, when it failed.
    #[serde(default)]
    pub hook_failure: Option<String>,
}

/// One probe's outcome.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeResult {
    /// The probe's name.
    pub name: String,
    /// Passed?
    pub ok: bool,
    /// Why not.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The controller's answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HeartbeatReply {
    /// The role assigned.
    pub role: Option<String>,
    /// The assignment's state (`active`, `draining`, `dead`, `cordoned`,
    /// `pinned`, `unassigned`).
    pub state: String,
    /// Report again after this many milliseconds.
    pub interval_ms: u64,
    /// The probes to run for the assigned role.
    #[serde(default)]
    pub probes: Vec<ProbeSpec>,
    /// Given once, at enrolment with an enrolment token: the host's own
    /// token, to use from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A probe the agent runs, as the policy defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ProbeSpec {
    /// TCP connect to 127.0.0.1:port.
    Tcp {
        /// Name in reports.
        name: String,
        /// Port.
        port: u16,
        /// Timeout in milliseconds.
        timeout_ms: u64,
    },
    /// SMTP greeting `220` from 127.0.0.1:port.
    Smtp {
        /// Name in reports.
        name: String,
        /// Port.
        port: u16,
        /// Timeout in milliseconds.
        timeout_ms: u64,
    },
    /// HTTP GET answering `expect`.
    Http {
        /// Name in reports.
        name: String,
        /// URL.
        url: String,
        /// Expected status.
        expect: u16,
        /// Timeout in milliseconds.
        timeout_ms: u64,
    },
    /// `sh -c run` exiting 0.
    Command {
        /// Name in reports.
        name: String,
        /// Command line.
        run: String,
        /// Timeout in milliseconds.
        timeout_ms: u64,
    },
}

impl From<&Probe> for ProbeSpec {
    fn from(p: &Probe) -> Self {
        let name = p.name.clone();
        let timeout_ms = u64::try_from(p.timeout.as_millis()).unwrap_or(u64::MAX);
        match &p.check {
            ProbeCheck::Tcp { port } => Self::Tcp {
                name,
                port: *port,
                timeout_ms,
            },
            ProbeCheck::Smtp { port } => Self::Smtp {
                name,
                port: *port,
                timeout_ms,
            },
            ProbeCheck::Http { url, expect } => Self::Http {
                name,
                url: url.clone(),
                expect: *expect,
                timeout_ms,
            },
            ProbeCheck::Command { run } => Self::Command {
                name,
                run: run.clone(),
                timeout_ms,
            },
        }
    }
}

/// An agent reports; the controller answers with its role and probes.
/// Only agent tokens are accepted here (shared, enrolment or per-host).
#[utoipa::path(
    post,
    path = "/api/v1/agents/heartbeat",
    tag = "agents",
    request_body = HeartbeatBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The host's assignment", body = HeartbeatReply),
        (status = 400, description = "Not JSON", body = ErrorResponse),
        (status = 401, description = "No valid agent token", body = ErrorResponse),
        (status = 403, description = "The policy accepts only its inventory's hosts (enrolment: inventory) and this name is not listed", body = ErrorResponse),
        (status = 409, description = "The name is held by another agent token", body = ErrorResponse),
        (status = 413, description = "Body over 64 KiB", body = ErrorResponse),
        (status = 422, description = "Unknown field, wrong type, or a bad host name", body = ErrorResponse),
        (status = 503, description = "The controller is busy or not running", body = ErrorResponse),
    )
)]
pub(crate) async fn heartbeat(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Body<HeartbeatBody>, ApiError>,
) -> Result<Json<HeartbeatReply>, ApiError> {
    // The token is checked before the body, so a bad token gets 401 first.
    let credential = state.tokens.agent_credential(&headers)?;
    let Body(body) = body?;
    let controller = &state.controller;
    let report = Report {
        role: body.role,
        probe_failures: body
            .probes
            .iter()
            .filter(|p| !p.ok)
            .map(|p| format!("{}: {}", p.name, p.reason.as_deref().unwrap_or("failed")))
            .collect(),
        metrics: body.metrics,
        hook_failure: body.hook_failure,
    };
    let heartbeat = Heartbeat {
        name: body.name,
        addresses: body.addresses,
        report,
    };
    match controller.heartbeat(heartbeat, &credential, now_millis()) {
        Ok(i) => Ok(Json(HeartbeatReply {
            role: i.role,
            state: i.state.as_str().to_owned(),
            interval_ms: u64::try_from(i.interval.as_millis()).unwrap_or(u64::MAX),
            probes: i.probes.iter().map(ProbeSpec::from).collect(),
            token: i.issued_token,
        })),
        Err(e @ HeartbeatError::Unauthorized) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            e.to_string(),
        )),
        Err(e @ HeartbeatError::NameTaken(_)) => {
            Err(ApiError::new(StatusCode::CONFLICT, "name_taken", e.to_string()))
        }
        Err(e @ HeartbeatError::BadName(_)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_name",
            e.to_string(),
        )),
        Err(e @ HeartbeatError::NotListed(_)) => {
            Err(ApiError::new(StatusCode::FORBIDDEN, "not_listed", e.to_string()))
        }
        Err(e @ HeartbeatError::Busy) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            e.to_string(),
        )),
    }
}
