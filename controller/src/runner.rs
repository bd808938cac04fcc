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

use crate::engine::{Engine, EngineError, SharedObserved, TickReport, assignment_state};
use crate::farm::{Event, EventKind, Farm, HostState, Millis, millis};
use crate::observed::{Observation, Report};
use crate::operator::names::{NameRequest, apply_name_change};
use crate::operator::{Operation, OperatorError, OperatorRequest, apply_operation, valid_label};
use crate::policy::{Enrolment, Policy, Probe};
use crate::stats::{ControllerStats, HeartbeatAges, ReloadOutcome, heartbeat_ages};
use crate::wanted::Decision;
use crate::zone_builder::Membership;

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> Millis {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, millis)
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
    /// Its state as the controller sees it.
    pub state: HostState,
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
    /// The policy accepts only the hosts its inventory lists
    /// (`enrolment: inventory`), and this one is not among them.
    #[error(
        "host {0:?} is not in the policy's inventory and the policy accepts no other hosts \
         (enrolment: inventory); add it under hosts and reload, or set enrolment: open"
    )]
    NotListed(String),
    /// The controller is shutting down or overloaded.
    #[error("the controller is busy; retry")]
    Busy,
}

/// Why a policy was not put in force; the one in force stays.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The engine refused it (an impossible zone) or could not record it.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The controller is not running.
    #[error("the controller is not running")]
    Stopped,
}

enum Command {
    Operate {
        request: OperatorRequest,
        reply: oneshot::Sender<Result<(), OperatorError>>,
    },
    Names {
        request: NameRequest,
        reply: oneshot::Sender<Result<(), OperatorError>>,
    },
    Enrol {
        name: String,
        addresses: Vec<IpAddr>,
        token_hash: Option<String>,
    },
    Reload {
        policy: Box<Policy>,
        actor: String,
        reply: oneshot::Sender<Result<TickReport, EngineError>>,
    },
    /// A policy file that did not load: only its `reload` event.
    Rejected {
        actor: String,
        message: String,
        reply: oneshot::Sender<()>,
    },
}

/// The API's way into the controller.
#[derive(Clone)]
pub struct ControllerHandle {
    observed: SharedObserved,
    view: Arc<ArcSwap<ControllerView>>,
    decision: Arc<ArcSwap<Decision>>,
    commands: mpsc::Sender<Command>,
    stats: ControllerStats,
}

impl ControllerHandle {
    /// The current view.
    pub fn view(&self) -> Arc<ControllerView> {
        self.view.load_full()
    }

    /// The latest tick's decision: each role's wanted count with its cause,
    /// and the load rules' memory. Fresher than [`Self::view`], which
    /// changes only with the farm: a wanted count can move on its own.
    pub fn decision(&self) -> Arc<Decision> {
        self.decision.load_full()
    }

    /// What each agent last reported (a copy, taken under the heartbeat
    /// lock only for the copy: the reports themselves are shared).
    pub fn observations(&self) -> crate::observed::Observed {
        self.observed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reconcile durations and moves started, for `/metrics`.
    pub fn stats(&self) -> &ControllerStats {
        &self.stats
    }

    /// How old the agents' heartbeats are at `now` (a summary, not one
    /// number per host); the heartbeat lock is held only to read the times.
    pub fn heartbeat_ages(&self, now: Millis) -> HeartbeatAges {
        let view = self.view.load();
        let observed = self.observed.lock().unwrap_or_else(PoisonError::into_inner);
        heartbeat_ages(&view.farm, &observed, now, view.policy.heartbeat.dead_after)
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
        // A token good for joining, from a name a closed farm does not list.
        if known.is_none() && view.policy.enrolment == Enrolment::Inventory {
            return Err(HeartbeatError::NotListed(hb.name));
        }
        let issued_token = if issue {
            Some(crate::tokens::new_token().map_err(|_| HeartbeatError::Busy)?)
        } else {
            None
        };
        let dead_after = millis(view.policy.heartbeat.dead_after);
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
            state: known.map_or(HostState::Unassigned, |h| assignment_state(h, assignment)),
            interval,
            probes,
            issued_token,
        })
    }

    /// The latest observation of `host`.
    pub fn observation(&self, host: &str) -> Option<Observation> {
        self.observed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(host)
            .cloned()
    }

    /// Carries out an operator's change (see [`Operation`]); when it
    /// returns `Ok`, the change is committed and [`Self::view`] shows it.
    pub async fn operate(&self, request: OperatorRequest) -> Result<(), OperatorError> {
        let removed = matches!(request.operation, Operation::Remove { .. }).then(|| request.host.clone());
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Operate { request, reply })
            .await
            .map_err(|_| OperatorError::Unavailable("the controller is not running".to_owned()))?;
        answer
            .await
            .map_err(|_| OperatorError::Unavailable("the controller stopped".to_owned()))??;
        if let Some(host) = removed {
            self.observed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .forget(&host);
        }
        Ok(())
    }

    /// Carries out an operator's change to the zone's records or aliases
    /// (see [`crate::operator::names::NameChange`]); when it returns `Ok`,
    /// the change is committed and [`Self::view`] shows it.
    pub async fn change_names(&self, request: NameRequest) -> Result<(), OperatorError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Names { request, reply })
            .await
            .map_err(|_| OperatorError::Unavailable("the controller is not running".to_owned()))?;
        answer
            .await
            .map_err(|_| OperatorError::Unavailable("the controller stopped".to_owned()))?
    }

    /// Puts `policy` in force for `actor` (an operator token's name, or
    /// `sighup`); returns what changed or why not. Either way the outcome
    /// is a `reload` event and the policy status of [`Self::stats`]. When
    /// it returns `Ok`, [`Self::view`] shows the new policy.
    pub async fn reload(&self, policy: Policy, actor: &str) -> Result<TickReport, ReloadError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Reload {
                policy: Box::new(policy),
                actor: actor.to_owned(),
                reply,
            })
            .await
            .map_err(|_| ReloadError::Stopped)?;
        Ok(answer.await.map_err(|_| ReloadError::Stopped)??)
    }

    /// Records a reload that `actor` asked for and that never reached the
    /// engine (the file did not load): a `reload` event with `message`,
    /// and the policy status. Nothing else changes.
    pub async fn reload_rejected(&self, actor: &str, message: &str) {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .commands
            .send(Command::Rejected {
                actor: actor.to_owned(),
                message: message.to_owned(),
                reply,
            })
            .await;
        if sent.is_ok() {
            let _ = answer.await;
        }
    }
}

/// Starts the engine's loop; returns the handle and the task.
pub fn spawn_controller(
    engine: Engine,
    observed: SharedObserved,
    cancel: CancellationToken,
) -> (ControllerHandle, tokio::task::JoinHandle<()>) {
    let view = Arc::new(ArcSwap::from_pointee(view_of(&engine)));
    let decision = Arc::new(ArcSwap::from_pointee(engine.decision().clone()));
    let (commands, receiver) = mpsc::channel(1024);
    let stats = ControllerStats::default();
    stats.record_policy_loaded(now_millis());
    let handle = ControllerHandle {
        observed,
        view: Arc::clone(&view),
        decision: Arc::clone(&decision),
        commands,
        stats: stats.clone(),
    };
    let published = Published { view, decision };
    let task = tokio::spawn(run(engine, receiver, published, stats, cancel));
    (handle, task)
}

fn view_of(engine: &Engine) -> ControllerView {
    ControllerView {
        farm: engine.farm().clone(),
        membership: engine.membership().clone(),
        policy: Arc::new(engine.policy().clone()),
    }
}

/// What the controller task shares with readers.
struct Published {
    /// Swapped after every committed change.
    view: Arc<ArcSwap<ControllerView>>,
    /// Swapped after every tick.
    decision: Arc<ArcSwap<Decision>>,
}

async fn run(
    mut engine: Engine,
    mut commands: mpsc::Receiver<Command>,
    published: Published,
    stats: ControllerStats,
    cancel: CancellationToken,
) {
    let Published { view, decision } = published;
    let mut failures = 0u32;
    loop {
        let interval = engine.policy().heartbeat.tick();
        // Back off while the store is away: DNS keeps the last snapshot.
        let wait = interval * 2u32.saturating_pow(failures.min(5));
        let changed = tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(wait) => {
                let ticked = stats.time(engine.tick(now_millis())).await;
                // The decision moves on every tick, even with the store away.
                decision.store(Arc::new(engine.decision().clone()));
                match ticked {
                    Ok(report) => {
                        stats.record_events(&report.events, engine.policy());
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
                }
            }
            Some(command) = commands.recv() => {
                handle(&mut engine, command, &view, &stats).await;
                false
            }
        };
        if changed {
            view.store(Arc::new(view_of(&engine)));
        }
    }
}

/// Carries out one command from the API. Every change is in the view
/// before its caller hears back, so a read after a write sees it.
async fn handle(
    engine: &mut Engine,
    command: Command,
    view: &ArcSwap<ControllerView>,
    stats: &ControllerStats,
) {
    let now = now_millis();
    let changed = match command {
        Command::Enrol {
            name,
            addresses,
            token_hash,
        } => {
            let result = engine
                .change(now, |farm| {
                    crate::operator::enrol(farm, &name, addresses, token_hash, now)
                })
                .await;
            if let Err(e) = &result {
                warn!(host = %name, error = %e, "enrolment not recorded; the agent will retry");
            }
            result.is_ok()
        }
        Command::Operate { request, reply } => {
            let result = operate(engine, &request, now).await;
            if let Ok(events) = &result {
                stats.record_operator_events(events, engine.policy());
                view.store(Arc::new(view_of(engine)));
            }
            let _ = reply.send(result.map(|_| ()));
            false
        }
        Command::Names { request, reply } => {
            let result = change_names(engine, &request, now).await;
            if result.is_ok() {
                view.store(Arc::new(view_of(engine)));
            }
            let _ = reply.send(result);
            false
        }
        Command::Reload { policy, actor, reply } => {
            let file = policy.source.display().to_string();
            let result = engine.apply_policy(*policy, now).await;
            if result.is_ok() {
                view.store(Arc::new(view_of(engine)));
            }
            let message = match &result {
                Ok(report) => match report.serial {
                    Some(serial) => format!("policy {file} put in force; zone serial {serial}"),
                    None => format!("policy {file} put in force; zone unchanged"),
                },
                Err(e) => format!("policy {file} not applied, the one in force stays: {e}"),
            };
            record_reload(engine, stats, actor, result.is_ok(), message, now).await;
            let _ = reply.send(result);
            false
        }
        Command::Rejected {
            actor,
            message,
            reply,
        } => {
            let message = format!("policy rejected, the one in force stays: {message}");
            record_reload(engine, stats, actor, false, message, now).await;
            let _ = reply.send(());
            false
        }
    };
    if changed {
        view.store(Arc::new(view_of(engine)));
    }
}

/// Records a reload as a `reload` event (through the engine's one commit
/// path; alone in its commit, it changes nothing else) and in the policy
/// status `/metrics` shows.
async fn record_reload(
    engine: &mut Engine,
    stats: &ControllerStats,
    actor: String,
    accepted: bool,
    message: String,
    now: Millis,
) {
    // Problems come one per line; an event's reason is one line.
    let reason = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let event = Event {
        at: now,
        kind: EventKind::Reload,
        host: None,
        from_role: None,
        to_role: None,
        actor: actor.clone(),
        reason: reason.clone(),
        serial: None,
    };
    if let Err(e) = engine.change(now, move |_| vec![event]).await {
        warn!(error = %e, "the reload event was not recorded");
    }
    stats.record_reload(ReloadOutcome {
        at: now,
        actor,
        accepted,
        message: reason,
    });
}

/// Checks and applies an operator's change through the engine's commit
/// path; returns its events.
async fn operate(
    engine: &mut Engine,
    request: &OperatorRequest,
    now: Millis,
) -> Result<Vec<Event>, OperatorError> {
    commit_edit(engine, now, |engine, farm| {
        apply_operation(engine.policy(), engine.membership(), farm, request, now)
    })
    .await
}

/// Checks and applies an operator's change to records or aliases through
/// the engine's commit path.
async fn change_names(engine: &mut Engine, request: &NameRequest, now: Millis) -> Result<(), OperatorError> {
    commit_edit(engine, now, |engine, farm| {
        apply_name_change(engine.policy(), farm, request, now)
    })
    .await
    .map(|_| ())
}

/// Runs `edit` (a pure change with its checks) on a copy of the farm and,
/// when it passes, commits the copy through [`Engine::change`]; returns
/// the edit's events.
async fn commit_edit(
    engine: &mut Engine,
    now: Millis,
    edit: impl FnOnce(&Engine, &mut Farm) -> Result<Vec<Event>, OperatorError>,
) -> Result<Vec<Event>, OperatorError> {
    let mut farm = engine.farm().clone();
    let events = edit(engine, &mut farm)?;
    let committed = events.clone();
    engine
        .change(now, move |current| {
            *current = farm;
            events
        })
        .await
        .map_err(|e| OperatorError::Unavailable(e.to_string()))?;
    Ok(committed)
}
