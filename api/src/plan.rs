//! `GET /api/v1/plan?at=`: what the first reconcile at a moment would do
//! to the live farm under the policy in force, and the reconciles after it
//! until every role has its count. Changes nothing.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use muster_controller::farm::Event;
use muster_controller::farm::Millis;
use muster_controller::policy::Policy;
use muster_controller::runner::now_millis;
use muster_controller::simulate::time::{default_zone, parse_instant, rfc3339, zone_name};
use muster_controller::simulate::{self, Outcome, Preview};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Reader;
use crate::extract::Params;
use crate::wire::ErrorResponse;
use crate::{ApiError, ApiState};

/// Query of `GET /api/v1/plan`.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// The moment: `now` (the default), relative (`+2h`, `-30m`, `+1d`),
    /// RFC 3339 (`2026-11-24T06:30:00-08:00`), or a local date and time
    /// (`2026-11-24T06:30`) in the timezone of the policy's first
    /// schedule (UTC without one).
    pub at: Option<String>,
}

/// The first reconcile at a moment: wanted counts and the moves it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanView {
    /// The moment, RFC 3339 in the policy's timezone (its first
    /// schedule's, else UTC).
    pub at: String,
    /// The same, in milliseconds since the epoch.
    pub at_ms: i64,
    /// The timezone `at` is shown in.
    pub timezone: String,
    /// The policy file planned with.
    pub policy: String,
    /// What the plan ran against: `live` (the farm the controller holds)
    /// or `inventory` (the policy's hosts, all alive in their `role:`).
    pub against: String,
    /// The schedule in force then; `null`: the policy's `default_want`.
    pub schedule: Option<PlanSchedule>,
    /// Live hosts the counts were resolved against (percentages,
    /// `all-but`, `rest`).
    pub live_hosts: u32,
    /// Every role, by name.
    pub roles: Vec<PlanRole>,
    /// What the reconcile would do, in order, as the events it would log
    /// (`drain-start`, `assign`, `move` for a finished drain, `death`, …).
    pub steps: Vec<PlanStep>,
    /// The reconciles after the first, until every role has its count:
    /// each step with the time it would be taken.
    pub then: Vec<PlanTimedStep>,
    /// How those reconciles end.
    pub settles: PlanSettles,
    /// At most this many moves start per reconcile.
    pub moves_per_tick: u32,
    /// At most this many hosts drain out of one role at once.
    pub moves_per_role: u32,
    /// What the plan does not show.
    pub note: String,
}

/// The schedule window in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanSchedule {
    /// The schedule's name.
    pub name: String,
    /// When its window opened, RFC 3339 in the schedule's timezone.
    pub opened: String,
    /// The schedule's timezone.
    pub timezone: String,
}

/// One role in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanRole {
    /// The role.
    pub role: String,
    /// Its `min`.
    pub min: u32,
    /// Live hosts serving it now (not draining).
    pub members: u32,
    /// Live hosts draining towards it now.
    pub incoming: u32,
    /// The count wanted at the moment planned.
    pub wanted: u32,
    /// Who set the count: a schedule, a load rule, `default-want`.
    pub wanted_by: Option<String>,
    /// How the count came about.
    pub reason: Option<String>,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanStep {
    /// `drain-start`, `assign`, `move`, `death`, `revival`, `panic`, `panic-end`.
    pub kind: String,
    /// The host, if one.
    pub host: Option<String>,
    /// The role it leaves.
    pub from: Option<String>,
    /// The role it goes to.
    pub to: Option<String>,
    /// Who decided: a schedule or load rule, `reconciler`, `failure-detector`.
    pub actor: String,
    /// Why.
    pub reason: String,
}

/// A step of a later reconcile, with its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanTimedStep {
    /// When the reconcile taking it would run, RFC 3339 in the plan's
    /// timezone.
    pub at: String,
    /// The same, in milliseconds since the epoch.
    pub at_ms: i64,
    /// The step.
    #[serde(flatten)]
    pub step: PlanStep,
}

/// How the reconciles after the first end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanSettles {
    /// `settled` (every role has its count), `short` (nothing more can
    /// move and some roles stay below their count), `unfinished` (not
    /// settled after 500 moves or a day) or `frozen` (fail-static is in
    /// force: automation moves nothing).
    pub outcome: String,
    /// When the last step is taken (`settled`, `short`) or where looking
    /// stopped (`unfinished`), RFC 3339; `null` when `frozen`.
    pub at: Option<String>,
    /// The same, in milliseconds since the epoch.
    pub at_ms: Option<i64>,
    /// The roles that stay short of their count.
    pub short: Vec<PlanShortRole>,
}

/// A role that stays below its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanShortRole {
    /// The role.
    pub role: String,
    /// Live hosts serving it.
    pub members: u32,
    /// The count wanted.
    pub wanted: u32,
}

/// What every plan leaves out.
const NOTE: &str = "moves_per_tick, moves_per_role, host cooldowns and drain-before-move apply \
     to every reconcile. The later reconciles keep the counts of that moment (no window opens or \
     closes, no load rule changes its mind) and assume agents keep reporting as they do now \
     (queues included: a drain that waits for an empty queue waits for its timeout if the queue \
     is not empty now) and take each new role at once. Load rules continue from the running \
     controller's memory (cooldown, stabilization) in the server's own plan and start from the \
     pools as they are in a plan of another policy file. Nothing was changed.";

impl PlanView {
    /// The view of `preview`, planned with `policy` against `against`
    /// (`live` or `inventory`).
    pub fn from_preview(policy: &Policy, preview: &Preview, against: &str) -> Self {
        let tz = default_zone(policy);
        let schedule = preview.schedule.as_ref().map(|(name, opened)| {
            let zone = policy
                .schedules
                .iter()
                .find(|s| &s.name == name)
                .map_or_else(|| tz.clone(), |s| s.timezone.clone());
            PlanSchedule {
                name: name.clone(),
                opened: rfc3339(*opened, &zone),
                timezone: zone_name(&zone),
            }
        });
        Self {
            at: rfc3339(preview.at, &tz),
            at_ms: preview.at,
            timezone: zone_name(&tz),
            policy: policy.source.display().to_string(),
            against: against.to_owned(),
            schedule,
            live_hosts: preview.live_hosts,
            roles: preview
                .roles
                .iter()
                .map(|r| PlanRole {
                    role: r.role.clone(),
                    min: r.min,
                    members: r.members,
                    incoming: r.incoming,
                    wanted: r.wanted,
                    wanted_by: r.cause.as_ref().map(|c| c.actor.clone()),
                    reason: r.cause.as_ref().map(|c| c.reason.clone()),
                })
                .collect(),
            steps: preview.events.iter().map(PlanStep::from).collect(),
            then: preview
                .then
                .events
                .iter()
                .map(|e| PlanTimedStep {
                    at: rfc3339(e.at, &tz),
                    at_ms: e.at,
                    step: PlanStep::from(e),
                })
                .collect(),
            settles: PlanSettles::new(&preview.then.outcome, |at| rfc3339(at, &tz)),
            moves_per_tick: policy.limits.moves_per_tick,
            moves_per_role: policy.limits.moves_per_role,
            note: NOTE.to_owned(),
        }
    }
}

impl From<&Event> for PlanStep {
    fn from(e: &Event) -> Self {
        Self {
            kind: e.kind.as_str().to_owned(),
            host: e.host.clone(),
            from: e.from_role.clone(),
            to: e.to_role.clone(),
            actor: e.actor.clone(),
            reason: e.reason.clone(),
        }
    }
}

impl PlanSettles {
    /// `outcome`, with times shown by `show`.
    fn new(outcome: &Outcome, show: impl Fn(Millis) -> String) -> Self {
        let (name, at, short) = match outcome {
            Outcome::Settled { at } => ("settled", Some(*at), Vec::new()),
            Outcome::Short { at, roles } => ("short", Some(*at), roles.clone()),
            Outcome::Unfinished { at } => ("unfinished", Some(*at), Vec::new()),
            Outcome::Frozen => ("frozen", None, Vec::new()),
        };
        Self {
            outcome: name.to_owned(),
            at: at.map(show),
            at_ms: at,
            short: short
                .into_iter()
                .map(|(role, members, wanted)| PlanShortRole {
                    role,
                    members,
                    wanted,
                })
                .collect(),
        }
    }
}

/// What the first reconcile at `at` would do to the live farm.
#[utoipa::path(
    get,
    path = "/api/v1/plan",
    tag = "policy",
    params(PlanQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The wanted counts and the steps the reconcile would take", body = PlanView),
        (status = 400, description = "`at` is not a time", body = ErrorResponse),
        (status = 401, description = "No valid operator token", body = ErrorResponse),
        (status = 503, description = "No controller", body = ErrorResponse),
    )
)]
pub(crate) async fn plan(
    State(state): State<ApiState>,
    _: Reader,
    Params(query): Params<PlanQuery>,
) -> Result<Json<PlanView>, ApiError> {
    let controller = &state.controller;
    let view = controller.view();
    let now = now_millis();
    let at: Millis = match &query.at {
        None => now,
        Some(text) => parse_instant(text, now, &default_zone(&view.policy))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", format!("at: {e}")))?,
    };
    let observed = controller.observations();
    // The running load rules' memory: a rule that scaled up a minute ago
    // still waits out its stabilization window in the preview.
    let decision = controller.decision();
    // A farm of thousands takes milliseconds to plan: off the runtime.
    let planned = tokio::task::spawn_blocking(move || {
        let preview = simulate::preview(
            &view.policy,
            &view.farm,
            |host| observed.get(host).map(|o| o.report.as_ref()),
            &decision.autoscale,
            at,
        );
        PlanView::from_preview(&view.policy, &preview, "live")
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(Json(planned))
}
