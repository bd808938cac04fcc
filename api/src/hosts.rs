//! Hosts: `GET /api/v1/hosts`, `GET /api/v1/hosts/{name}`, and the shape
//! every host write answers with.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use muster_controller::engine::assignment_state;
use muster_controller::farm::{Millis, Phase};
use muster_controller::observed::Observation;
use muster_controller::runner::{ControllerHandle, ControllerView, now_millis};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Reader;
use crate::extract::PathName;
use crate::wire::ErrorResponse;
use crate::{ApiError, ApiState};

/// One host, as the controller knows it and as its agent last reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HostView {
    /// Short name, one DNS label.
    pub name: String,
    /// Its addresses.
    #[schema(value_type = Vec<String>)]
    pub addresses: Vec<IpAddr>,
    /// The role it holds (while draining: the role it is leaving).
    pub role: Option<String>,
    /// `active`, `draining`, `dead`, `cordoned`, `pinned` or `unassigned`
    /// (the first that applies, in that order from `cordoned`).
    pub state: String,
    /// The drain in progress, if any.
    pub drain: Option<DrainView>,
    /// When its role or phase last changed (ms since the epoch).
    pub since: i64,
    /// In its role's pool now (membership; a role like `spare` that
    /// publishes no records still counts).
    pub published: bool,
    /// What DNS serves for it now: `pool` (its role's records name it),
    /// `own` (only its own address records), `none`.
    #[serde(default)]
    pub dns: DnsPresence,
    /// No agent: always healthy, never moved automatically.
    #[serde(rename = "static")]
    pub is_static: bool,
    /// Automation never moves it.
    pub pinned: bool,
    /// Out of automation and out of DNS.
    pub cordoned: bool,
    /// Declared dead by the failure detector.
    pub dead: bool,
    /// Defined in the policy file's inventory (remove it there).
    pub in_policy: bool,
    /// Roles it may hold; empty means any.
    pub eligible: Vec<String>,
    /// Free-form labels.
    pub labels: BTreeMap<String, String>,
    /// Milliseconds since its last heartbeat (none for static hosts; at
    /// start the controller counts from its own start).
    pub heartbeat_age_ms: Option<i64>,
    /// The role its agent says it holds.
    pub reported_role: Option<String>,
    /// The latest metrics its agent reported (`queue_depth`, `load1`, …).
    pub metrics: BTreeMap<String, f64>,
    /// Its role's failing probes, with reasons.
    pub failing_probes: Vec<String>,
    /// The last role-change hook's failure, if it failed.
    pub hook_failure: Option<String>,
    /// The aliases that follow it (absolute names): CNAMEs to its own
    /// name. They stay while it is dead or cordoned; `muster hosts` flags
    /// them then.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// What DNS serves for a host: the answer to "is it in DNS?".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DnsPresence {
    /// Its role's records (MX, A, …) name it: it takes the role's traffic.
    Pool,
    /// Only its own address records (`HOST.zone`): every host with an
    /// address has them; no pool sends it anything.
    Own,
    /// Nothing (no address).
    #[default]
    None,
}

impl DnsPresence {
    /// Its word in tables: `pool`, `own` or `no`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Pool => "pool",
            Self::Own => "own",
            Self::None => "no",
        }
    }
}

/// What DNS serves for host `name` in `view`, `published` (a member of
/// `role`'s pool) or not: the zone builder publishes every host's own
/// addresses, and its role's records only for the published members of a
/// role that has records.
pub(crate) fn dns_presence(
    view: &ControllerView,
    name: &str,
    role: Option<&str>,
    published: bool,
) -> DnsPresence {
    let in_pool = published
        && role.is_some_and(|r| {
            view.policy
                .roles
                .get(r)
                .is_some_and(|spec| !spec.records.is_empty())
        });
    let has_address = view.farm.hosts.get(name).is_some_and(|h| !h.addresses.is_empty());
    if in_pool {
        DnsPresence::Pool
    } else if has_address {
        DnsPresence::Own
    } else {
        DnsPresence::None
    }
}

/// A drain in progress: the host is out of DNS, finishing its role's work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DrainView {
    /// The role it will hold next (`null`: none, it leaves its role).
    pub to: Option<String>,
    /// When the drain started (ms since the epoch).
    pub started: i64,
    /// Who asked.
    pub actor: String,
    /// Why.
    pub reason: String,
}

/// The view of host `name`, if the farm has it.
pub(crate) fn host_view(
    view: &ControllerView,
    observation: Option<&Observation>,
    name: &str,
    now: Millis,
) -> Option<HostView> {
    let host = view.farm.hosts.get(name)?;
    let assignment = view.farm.assignments.get(name);
    let role = assignment.and_then(|a| a.role.clone());
    let drain = assignment.and_then(|a| match &a.phase {
        Phase::Active | Phase::Arriving => None,
        Phase::Draining {
            to,
            started,
            actor,
            reason,
        } => Some(DrainView {
            to: to.clone(),
            started: *started,
            actor: actor.clone(),
            reason: reason.clone(),
        }),
    });
    let report = observation.map(|o| o.report.as_ref());
    let published = role
        .as_ref()
        .and_then(|r| view.membership.get(r))
        .is_some_and(|m| m.iter().any(|h| h == name));
    Some(HostView {
        name: name.to_owned(),
        addresses: host.addresses.clone(),
        published,
        dns: dns_presence(view, name, role.as_deref(), published),
        role,
        state: assignment_state(host, assignment).as_str().to_owned(),
        drain,
        since: assignment.map_or(0, |a| a.since),
        is_static: host.is_static,
        pinned: host.pinned,
        cordoned: host.cordoned,
        dead: host.dead,
        in_policy: view.policy.hosts.iter().any(|h| h.name == name),
        eligible: host.eligible.clone(),
        labels: host.labels.clone(),
        heartbeat_age_ms: observation
            .filter(|_| !host.is_static)
            .map(|o| (now - o.last_heartbeat).max(0)),
        reported_role: report.and_then(|r| r.role.clone()),
        metrics: report.map(|r| r.metrics.clone()).unwrap_or_default(),
        failing_probes: report.map(|r| r.probe_failures.clone()).unwrap_or_default(),
        hook_failure: report.and_then(|r| r.hook_failure.clone()),
        aliases: crate::aliases::aliases_of(view, name),
    })
}

/// Host `name` as committed now, or 404.
pub(crate) fn current(controller: &ControllerHandle, name: &str) -> Result<HostView, ApiError> {
    let observation = controller.observation(name);
    host_view(&controller.view(), observation.as_ref(), name, now_millis())
        .ok_or_else(|| ApiError::no_host(name))
}

/// Every host, by name.
#[utoipa::path(
    get,
    path = "/api/v1/hosts",
    tag = "hosts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every host, by name", body = Vec<HostView>),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 503, description = "No controller", body = ErrorResponse),
    )
)]
pub(crate) async fn list_hosts(
    State(state): State<ApiState>,
    _: Reader,
) -> Result<Json<Vec<HostView>>, ApiError> {
    let controller = &state.controller;
    let view = controller.view();
    let observed = controller.observations();
    let now = now_millis();
    Ok(Json(
        view.farm
            .hosts
            .keys()
            .filter_map(|name| host_view(&view, observed.get(name), name, now))
            .collect(),
    ))
}

/// One host.
#[utoipa::path(
    get,
    path = "/api/v1/hosts/{name}",
    tag = "hosts",
    params(("name" = String, Path, description = "Host name")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The host", body = HostView),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 404, description = "No such host", body = ErrorResponse),
        (status = 503, description = "No controller", body = ErrorResponse),
    )
)]
pub(crate) async fn get_host(
    State(state): State<ApiState>,
    _: Reader,
    PathName(name): PathName,
) -> Result<Json<HostView>, ApiError> {
    Ok(Json(current(&state.controller, &name)?))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use muster_controller::policy;
    use muster_controller::simulate::inventory_farm;
    use muster_controller::zone_builder::initial_membership;

    use super::*;

    #[test]
    fn dns_says_what_the_zone_serves_for_a_host() {
        let policy = policy::load_str(
            Path::new("t.yaml"),
            r#"
zone: lists.example.test
nameservers: [ns1.lists.example.test]
roles:
  web: { min: 0, records: [ { name: www, type: A } ] }
  spare: { min: 0, records: [] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: smurf1, address: 127.0.1.1, role: web }
  - { name: smurf2, address: 127.0.1.2, role: spare }
"#,
        )
        .expect("policy");
        let view = ControllerView {
            farm: inventory_farm(&policy, 0),
            membership: initial_membership(&policy),
            policy: Arc::new(policy),
        };
        let dns = |name: &str| host_view(&view, None, name, 0).expect("host").dns;
        assert_eq!(dns("smurf1"), DnsPresence::Pool, "web publishes www A");
        assert_eq!(dns("smurf2"), DnsPresence::Own, "spare publishes nothing");
        assert_eq!(dns("ns1"), DnsPresence::Own, "no role: its own A record");
        assert_eq!(
            serde_json::to_value(DnsPresence::Own).expect("json"),
            serde_json::json!("own")
        );
    }
}
