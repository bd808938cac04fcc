//! The agent's loop: a heartbeat every interval the controller asks for,
//! the role-change hook beside it, backoff while the controller is away,
//! and a clean stop when the cancellation token fires.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use muster_api::{HeartbeatBody, HeartbeatReply, ProbeSpec};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::AgentError;
use crate::backoff::Backoff;
use crate::client::{ControllerClient, http_client};
use crate::config::{AgentConfig, Token};
use crate::hook::{RoleChange, run_hook};
use crate::metrics::Metrics;
use crate::probes::run_probes;
use crate::roles::{Decision, RoleKeeper};
use crate::state::StateDir;

/// Bounds on the interval a reply may ask for.
const MIN_INTERVAL: Duration = Duration::from_millis(100);
const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// The first retry wait's ceiling after a failed heartbeat.
const RETRY_BASE: Duration = Duration::from_millis(500);

type HookRun<'a> = Pin<Box<dyn Future<Output = (RoleChange, Result<(), String>)> + Send + 'a>>;

/// Runs the agent until `cancel` fires (`Ok`) or a fatal error (`Err`).
pub async fn run_agent(config: AgentConfig, cancel: CancellationToken) -> Result<(), AgentError> {
    let mut client = ControllerClient::try_new(&config)?;
    let probe_http = http_client(config.ca_file.as_deref(), false)?;
    let state = StateDir::try_new(&config.state_dir)?;
    let held = state.load_role()?;
    let issued = state.load_token()?;
    if let Some(token) = issued.clone() {
        info!(path = %state.token_path().display(), "using the host token the controller issued");
        client.set_token(token);
    }
    info!(
        controller = %config.controller,
        name = %config.name,
        role = held.as_deref().unwrap_or("(none)"),
        hook = config.on_role_change.is_some(),
        "muster agent starting"
    );
    let mut agent = Agent {
        keeper: RoleKeeper::new(held, config.on_role_change.is_some()),
        metrics: Metrics::new(
            config.proc_root.clone(),
            config.spool.clone(),
            config.queue.clone(),
        ),
        last: None,
        config: &config,
        state,
        has_issued_token: issued.is_some(),
    };
    let mut backoff = Backoff::new(RETRY_BASE, config.max_backoff);
    let mut hook: Option<HookRun<'_>> = None;
    let mut next_beat = Instant::now();
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            (change, result) = finished(&mut hook) => {
                hook = None;
                match result {
                    Ok(()) => agent.take(change.to),
                    Err(failure) => agent.keeper.failed(change, failure, Instant::now()),
                }
                // Tell the controller at once.
                next_beat = Instant::now();
            }
            () = sleep_until(next_beat) => {
                let started = Instant::now();
                let sent = tokio::select! {
                    () = cancel.cancelled() => break,
                    sent = agent.beat(&client, &probe_http) => sent,
                };
                match sent {
                    Ok(mut reply) => {
                        if backoff.failures() > 0 {
                            info!(failures = backoff.failures(), "the controller answers again");
                        }
                        backoff.reset();
                        let interval = Duration::from_millis(reply.interval_ms).clamp(MIN_INTERVAL, MAX_INTERVAL);
                        next_beat = started + interval;
                        if let Some(secret) = reply.token.take() {
                            agent.keep_token(&mut client, Token::new(secret));
                        }
                        match agent.decide(reply) {
                            Decision::Nothing => {}
                            Decision::Adopt(role) => {
                                agent.take(role);
                                next_beat = Instant::now();
                            }
                            Decision::RunHook(change) => {
                                let command = config.on_role_change.as_deref().unwrap_or("true");
                                let (name, timeout) = (config.name.as_str(), config.hook_timeout);
                                hook = Some(Box::pin(async move {
                                    let result = run_hook(command, name, &change, timeout).await;
                                    (change, result)
                                }));
                            }
                        }
                    }
                    Err(e) if e.is_retryable() => {
                        let wait = backoff.fail_random();
                        warn!(error = %e, failures = backoff.failures(), retry_in = ?wait, "heartbeat failed; keeping the role");
                        if matches!(e, AgentError::Unauthorized(_)) && agent.has_issued_token {
                            warn!(
                                path = %agent.state.token_path().display(),
                                "the host token the controller issued was refused; if the controller lost it, \
                                 remove this file to enrol again with --token"
                            );
                        }
                        next_beat = Instant::now() + wait;
                    }
                    Err(e) => {
                        error!(error = %e, "giving up");
                        return Err(e);
                    }
                }
            }
        }
    }
    if hook.is_some() {
        warn!("stopping while the role-change hook runs: it is killed and runs again at the next start");
    }
    info!("muster agent stopped");
    Ok(())
}

/// The loop's state between heartbeats.
struct Agent<'a> {
    keeper: RoleKeeper,
    metrics: Metrics,
    /// The last reply: its role, state and probes.
    last: Option<HeartbeatReply>,
    config: &'a AgentConfig,
    state: StateDir,
    /// The client presents a token the controller issued (not `--token`).
    has_issued_token: bool,
}

impl Agent<'_> {
    /// Measures, probes and reports once.
    async fn beat(
        &mut self,
        client: &ControllerClient,
        probe_http: &reqwest::Client,
    ) -> Result<HeartbeatReply, AgentError> {
        let held = self.keeper.held().unwrap_or("");
        let probes = probes_due(self.last.as_ref(), self.keeper.held());
        let env = [("MUSTER_HOST", self.config.name.as_str()), ("MUSTER_ROLE", held)];
        let (metrics, probes) = tokio::join!(self.metrics.sample(), run_probes(probes, probe_http, &env));
        let body = HeartbeatBody {
            name: self.config.name.clone(),
            addresses: self.config.addresses.clone(),
            role: self.keeper.held().map(str::to_owned),
            probes,
            metrics,
            hook_failure: self.keeper.hook_failure().map(str::to_owned),
        };
        debug!(role = ?body.role, probes = body.probes.len(), hook_failure = ?body.hook_failure, "heartbeat");
        client.heartbeat(&body).await
    }

    fn decide(&mut self, reply: HeartbeatReply) -> Decision {
        let previous = self.last.as_ref().map(|r| (r.role.clone(), r.state.clone()));
        if previous.as_ref() != Some(&(reply.role.clone(), reply.state.clone())) {
            info!(role = ?reply.role, state = %reply.state, held = ?self.keeper.held(), "assignment");
        }
        let decision = self
            .keeper
            .decide(reply.role.as_deref(), &reply.state, Instant::now());
        self.last = Some(reply);
        decision
    }

    /// The controller issued the host's own token: keep it, use it.
    fn keep_token(&mut self, client: &mut ControllerClient, token: Token) {
        match self.state.store_token(&token) {
            Ok(()) => {
                info!(path = %self.state.token_path().display(), "the controller issued this host's token; stored")
            }
            // Used for this run; a restart would present the enrolment
            // token again and be refused (409).
            Err(e) => error!(error = %e, "cannot store the host token the controller issued"),
        }
        client.set_token(token);
        self.has_issued_token = true;
    }

    /// The box holds `role` now: remember it, then report it.
    fn take(&mut self, role: String) {
        if let Err(e) = self.state.store_role(&role) {
            // The box did change; only a restart would run the hook again.
            error!(error = %e, "cannot remember the new role");
        }
        info!(role = %role, "holding the new role");
        self.keeper.took(role);
    }
}

/// The probes of the last reply, when they are for the role the box holds
/// and it is not draining (a box gets its new role's probes only once its
/// hook has made it that role).
fn probes_due<'r>(last: Option<&'r HeartbeatReply>, held: Option<&str>) -> &'r [ProbeSpec] {
    match last {
        Some(r) if r.state != "draining" && r.role.is_some() && r.role.as_deref() == held => &r.probes,
        _ => &[],
    }
}

/// The running hook's result; pending forever when none runs.
async fn finished(hook: &mut Option<HookRun<'_>>) -> (RoleChange, Result<(), String>) {
    match hook {
        Some(run) => run.await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(role: Option<&str>, state: &str) -> HeartbeatReply {
        HeartbeatReply {
            role: role.map(str::to_owned),
            state: state.to_owned(),
            interval_ms: 1000,
            probes: vec![ProbeSpec::Command {
                name: "flag".into(),
                run: "true".into(),
                timeout_ms: 500,
            }],
            token: None,
        }
    }

    #[test]
    fn probes_run_only_for_the_role_held_and_never_while_draining() {
        assert!(probes_due(None, Some("web")).is_empty(), "nothing asked yet");
        let active = reply(Some("web"), "active");
        assert_eq!(probes_due(Some(&active), Some("web")).len(), 1);
        assert!(
            probes_due(Some(&active), Some("smtp-out")).is_empty(),
            "hook not run yet"
        );
        assert!(probes_due(Some(&active), None).is_empty());
        let draining = reply(Some("web"), "draining");
        assert!(probes_due(Some(&draining), Some("web")).is_empty());
        let dead = reply(Some("web"), "dead");
        assert_eq!(
            probes_due(Some(&dead), Some("web")).len(),
            1,
            "a dead host proves itself"
        );
    }
}
