//! Runs the engine: a tick every heartbeat interval, commands from the API
//! in between, backoff while the store is away. The API talks to it only
//! through a [`ControllerHandle`].

use std::net::IpAddr;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::engine::{Engine, SharedObserved, TickReport, assignment_state};
use crate::farm::{Assignment, Event, Farm, HostRecord, Millis};
use crate::observed::Report;
use crate::policy::{Policy, Probe};
use crate::zone_builder::Membership;

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What readers (the API, heartbeat replies) see of the controller: a
/// consistent copy, swapped after every committed change.
#[derive(Clone, Debug)]
pub struct ControllerView {
    /// The farm as committed.
    pub farm: Farm,
    /// Who is published.
    pub membership: Membership,
    /// The policy in force.
    pub policy: Arc<Policy>,
}

/// A heartbeat from an agent, in domain terms.
#[derive(Clone, Debug, PartialEq)]
pub struct Heartbeat {
    /// The host's name (one DNS label).
    pub name: String,
    /// Its addresses.
    pub addresses: Vec<IpAddr>,
    /// What it reports.
    pub report: Report,
}

/// What the controller tells an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instructions {
    /// The role assigned (`None`: none yet).
    pub role: Option<String>,
    /// `active`, `draining`, `dead`, `cordoned`, `pinned`, `unassigned`.
    pub state: &'static str,
    /// How often to report.
    pub interval: Duration,
    /// The health checks to run for the assigned role.
    pub probes: Vec<Probe>,
    /// A per-host token issued at enrolment: the agent must use it from
    /// now on (it is shown once; the controller keeps only its hash).
    pub issued_token: Option<String>,
}

/// What the agent authenticated with (the API checks the secret itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentCredential {
    /// A token every agent may use (`--agent-token`): no per-host binding.
    Shared,
    /// An enrolment token: a host not yet bound gets its own token back.
    Enrolment,
    /// Any other token, by its hash: must be the one bound to the host.
    Token(String),
}

/// Why a heartbeat was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeartbeatError {
    /// The token is not known.
    #[error("the agent token is not valid")]
    Unauthorized,
    /// Another token holds this host name.
    #[error("host name {0:?} is held by another agent token")]
    NameTaken(String),
    /// The name cannot be a DNS label.
    #[error("host name {0:?} must be one DNS label: a-z, 0-9 and '-', at most 63 characters")]
    BadName(String),
    /// The controller is shutting down or overloaded.
    #[error("the controller is busy; retry")]
    Busy,
}

/// An operator's request to move a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveRequest {
    /// The host.
    pub host: String,
    /// The role it should hold.
    pub role: String,
    /// Who asks (the operator token's name).
    pub actor: String,
    /// Skip the drain (emergencies); said so in the event.
    pub now: bool,
    /// Move even if the old role drops below its `min`.
    pub force: bool,
}

/// Why a move was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoveError {
    /// No such host.
    #[error("no host named {0:?}")]
    UnknownHost(String),
    /// No such role in the policy.
    #[error("no role named {0:?} in the policy")]
    UnknownRole(String),
    /// The move breaks a rule; `force` overrides only the `min` rule.
    #[error("{0}")]
    Conflict(String),
    /// The store refused; nothing changed.
    #[error("not recorded: {0}")]
    Unavailable(String),
}

enum Command {
    Move {
        request: MoveRequest,
        reply: oneshot::Sender<Result<(), MoveError>>,
    },
    Enrol {
        name: String,
        addresses: Vec<IpAddr>,
        token_hash: Option<String>,
    },
    Reload {
        policy: Box<Policy>,
        reply: oneshot::Sender<Result<TickReport, String>>,
    },
}

/// The API's way into the controller.
#[derive(Clone)]
pub struct ControllerHandle {
    observed: SharedObserved,
    view: Arc<ArcSwap<ControllerView>>,
    commands: mpsc::Sender<Command>,
}

fn valid_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl ControllerHandle {
    /// The current view.
    pub fn view(&self) -> Arc<ControllerView> {
        self.view.load_full()
    }

    /// Takes a heartbeat: records it in memory (no store write) and answers
    /// with the host's assignment. An unknown host is enrolled; with an
    /// enrolment token it is also given its own token. A refused heartbeat
    /// records nothing.
    pub fn heartbeat(
        &self,
        hb: Heartbeat,
        credential: &AgentCredential,
        now: Millis,
    ) -> Result<Instructions, HeartbeatError> {
        if !valid_label(&hb.name) {
            return Err(HeartbeatError::BadName(hb.name));
        }
        let view = self.view.load();
        let known = view.farm.hosts.get(&hb.name);
        let bound = known.and_then(|h| h.token_hash.as_deref());
        let issue = match (credential, bound) {
            (AgentCredential::Token(hash), Some(held)) if hash == held => false,
            (_, Some(_)) => return Err(HeartbeatError::NameTaken(hb.name)),
            (AgentCredential::Token(_), None) => return Err(HeartbeatError::Unauthorized),
            (AgentCredential::Shared, None) => false,
            (AgentCredential::Enrolment, None) => true,
        };
        let issued_token = if issue {
            Some(crate::tokens::new_token().map_err(|_| HeartbeatError::Busy)?)
        } else {
            None
        };
        let dead_after = i64::try_from(view.policy.heartbeat.dead_after.as_millis()).unwrap_or(i64::MAX);
        let interval = view.policy.heartbeat.interval;
        let needs_enrol = issue
            || match known {
                None => true,
                Some(h) => !h.is_static && !hb.addresses.is_empty() && h.addresses != hb.addresses,
            };
        if needs_enrol {
            self.commands
                .try_send(Command::Enrol {
                    name: hb.name.clone(),
                    addresses: hb.addresses.clone(),
                    token_hash: issued_token.as_deref().map(crate::tokens::token_hash),
                })
                .map_err(|_| HeartbeatError::Busy)?;
        }
        self.observed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(&hb.name, hb.report, now, dead_after);
        let assignment = view.farm.assignments.get(&hb.name);
        let role = assignment.and_then(|a| a.role.clone());
        let probes = role
            .as_ref()
            .and_then(|r| view.policy.roles.get(r))
            .map(|r| r.probes.clone())
            .unwrap_or_default();
        Ok(Instructions {
            role,
            state: known.map_or("unassigned", |h| assignment_state(h, assignment)),
            interval,
            probes,
            issued_token,
        })
    }

    /// Moves a host for an operator: drain first unless `now`.
    pub async fn move_host(&self, request: MoveRequest) -> Result<(), MoveError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Move { request, reply })
            .await
            .map_err(|_| MoveError::Unavailable("the controller is not running".to_owned()))?;
        answer
            .await
            .map_err(|_| MoveError::Unavailable("the controller stopped".to_owned()))?
    }

    /// Puts `policy` in force; returns what changed or why not.
    pub async fn reload(&self, policy: Policy) -> Result<TickReport, String> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Reload {
                policy: Box::new(policy),
                reply,
            })
            .await
            .map_err(|_| "the controller is not running".to_owned())?;
        answer.await.map_err(|_| "the controller stopped".to_owned())?
    }
}

/// Starts the engine's loop; returns the handle and the task.
pub fn spawn_controller(
    engine: Engine,
    observed: SharedObserved,
    cancel: CancellationToken,
) -> (ControllerHandle, tokio::task::JoinHandle<()>) {
    let view = Arc::new(ArcSwap::from_pointee(view_of(&engine)));
    let (commands, receiver) = mpsc::channel(1024);
    let handle = ControllerHandle {
        observed,
        view: Arc::clone(&view),
        commands,
    };
    let task = tokio::spawn(run(engine, receiver, view, cancel));
    (handle, task)
}

fn view_of(engine: &Engine) -> ControllerView {
    ControllerView {
        farm: engine.farm().clone(),
        membership: engine.membership().clone(),
        policy: Arc::new(engine.policy().clone()),
    }
}

async fn run(
    mut engine: Engine,
    mut commands: mpsc::Receiver<Command>,
    view: Arc<ArcSwap<ControllerView>>,
    cancel: CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        // Twice per heartbeat interval (at most every 500 ms): a host is
        // declared dead at most half an interval after `dead_after`.
        let interval = (engine.policy().heartbeat.interval / 2)
            .clamp(Duration::from_millis(50), Duration::from_millis(500));
        // Back off while the store is away: DNS keeps the last snapshot.
        let wait = interval * 2u32.saturating_pow(failures.min(5));
        let changed = tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(wait) => match engine.tick(now_millis()).await {
                Ok(report) => {
                    if failures > 0 {
                        info!("store reachable again; reconciling");
                    }
                    failures = 0;
                    report.steps > 0 || report.serial.is_some()
                }
                Err(e) => {
                    failures += 1;
                    warn!(error = %e, retry_in = ?(interval * 2u32.saturating_pow(failures.min(5))), "reconcile failed; DNS keeps the last snapshot");
                    false
                }
            },
            Some(command) = commands.recv() => handle(&mut engine, command).await,
        };
        if changed {
            view.store(Arc::new(view_of(&engine)));
        }
    }
}

async fn handle(engine: &mut Engine, command: Command) -> bool {
    let now = now_millis();
    match command {
        Command::Enrol {
            name,
            addresses,
            token_hash,
        } => {
            let result = engine
                .change(now, |farm| enrol(farm, &name, addresses, token_hash, now))
                .await;
            match result {
                Ok(_) => true,
                Err(e) => {
                    warn!(host = %name, error = %e, "enrolment not recorded; the agent will retry");
                    false
                }
            }
        }
        Command::Move { request, reply } => {
            let checked = check_move(engine, &request);
            let result = match checked {
                Err(e) => Err(e),
                Ok(from) => engine
                    .change(now, |farm| operator_move(farm, &request, from, now))
                    .await
                    .map(|_| ())
                    .map_err(|e| MoveError::Unavailable(e.to_string())),
            };
            let ok = result.is_ok();
            let _ = reply.send(result);
            ok
        }
        Command::Reload { policy, reply } => {
            let result = engine.apply_policy(*policy, now).await.map_err(|e| e.to_string());
            let ok = result.is_ok();
            let _ = reply.send(result);
            ok
        }
    }
}

/// Checks a move against the rules; returns the role the host leaves.
fn check_move(engine: &Engine, req: &MoveRequest) -> Result<Option<String>, MoveError> {
    let farm = engine.farm();
    let policy = engine.policy();
    let host = farm
        .hosts
        .get(&req.host)
        .ok_or_else(|| MoveError::UnknownHost(req.host.clone()))?;
    if !policy.roles.contains_key(&req.role) {
        return Err(MoveError::UnknownRole(req.role.clone()));
    }
    if host.is_static {
        return Err(MoveError::Conflict(format!(
            "{} is static: it holds the role the policy gives it; change the policy",
            req.host
        )));
    }
    if !host.eligible.is_empty() && !host.eligible.contains(&req.role) {
        return Err(MoveError::Conflict(format!(
            "{} may hold only {}",
            req.host,
            host.eligible.join(", ")
        )));
    }
    let assignment = farm.assignments.get(&req.host);
    let from = assignment.and_then(|a| a.role.clone());
    if from.as_deref() == Some(req.role.as_str()) && !assignment.is_some_and(Assignment::is_draining) {
        return Err(MoveError::Conflict(format!(
            "{} already holds {}",
            req.host, req.role
        )));
    }
    if let Some(from) = &from
        && !req.force
    {
        let min = policy.roles.get(from).map_or(0, |r| r.min);
        let serving = engine.membership().get(from).map_or(0, Vec::len);
        let leaving = engine
            .membership()
            .get(from)
            .is_some_and(|m| m.contains(&req.host));
        if leaving && serving <= min as usize {
            return Err(MoveError::Conflict(format!(
                "moving {} would leave {from} with {} of its min {min}; use force to do it anyway",
                req.host,
                serving - 1
            )));
        }
    }
    Ok(from)
}

/// The operator's move: a drain (or, with `now`, an immediate change).
fn operator_move(farm: &mut Farm, req: &MoveRequest, from: Option<String>, now: Millis) -> Vec<Event> {
    use crate::reconcile::{Step, apply};
    let step = match (&from, req.now) {
        (None, _) => Step::Assign {
            host: req.host.clone(),
            role: req.role.clone(),
            actor: req.actor.clone(),
            reason: "operator move".to_owned(),
        },
        (Some(from), false) => Step::StartDrain {
            host: req.host.clone(),
            from: from.clone(),
            to: Some(req.role.clone()),
            actor: req.actor.clone(),
            reason: "operator move".to_owned(),
        },
        (Some(from), true) => Step::FinishDrain {
            host: req.host.clone(),
            from: from.clone(),
            to: Some(req.role.clone()),
            reason: "operator move with now=true: the drain was skipped".to_owned(),
        },
    };
    let mut event = apply(farm, &step, now);
    event.actor = req.actor.clone();
    vec![event]
}

/// Adds `name` to the farm, updates its addresses, or binds its token (a
/// name already bound keeps its token: the first enrolment wins). Returns
/// the events.
fn enrol(
    farm: &mut Farm,
    name: &str,
    addresses: Vec<std::net::IpAddr>,
    token_hash: Option<String>,
    now: Millis,
) -> Vec<Event> {
    let mut reasons = Vec::new();
    let kind = match farm.hosts.get_mut(name) {
        Some(host) => {
            if !addresses.is_empty() && host.addresses != addresses && !host.is_static {
                host.addresses = addresses;
                reasons.push("the agent reported new addresses");
            }
            if host.token_hash.is_none() && token_hash.is_some() {
                host.token_hash = token_hash;
                reasons.push("bound to its own agent token");
            }
            "update"
        }
        None => {
            farm.hosts.insert(
                name.to_owned(),
                HostRecord {
                    name: name.to_owned(),
                    addresses,
                    eligible: Vec::new(),
                    labels: Default::default(),
                    is_static: false,
                    pinned: false,
                    cordoned: false,
                    dead: false,
                    token_hash: token_hash.clone(),
                },
            );
            farm.assignments
                .insert(name.to_owned(), Assignment::active(None, now));
            reasons.push("first heartbeat from an unknown host");
            if token_hash.is_some() {
                reasons.push("bound to its own agent token");
            }
            "enrol"
        }
    };
    if reasons.is_empty() {
        return Vec::new();
    }
    vec![Event {
        at: now,
        kind: kind.to_owned(),
        host: Some(name.to_owned()),
        from_role: None,
        to_role: None,
        actor: "agent".to_owned(),
        reason: reasons.join("; "),
        serial: None,
    }]
}
