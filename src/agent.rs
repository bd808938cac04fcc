//! `muster agent`: parses the flags and hands off to muster-agent, which does
//! everything else. SIGTERM and Ctrl-C stop it cleanly. Exit status 2 means
//! bad configuration, 3 that the controller refuses this agent for good
//! (409: its name belongs to another agent), 1 anything else.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use muster_agent::{AgentConfig, AgentError, AgentFlags, Token, run_agent};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::info;

/// Arguments of `muster agent`.
#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 stopped by SIGTERM/SIGINT; 2 bad configuration; \
    3 refused for good by the controller (409: the name belongs to another agent); 1 other errors.\n\
    A 401 or an unreachable controller is retried with backoff, never fatal."
)]
pub(crate) struct AgentArgs {
    /// The controller's API, e.g. `http://10.0.0.1:8700`.
    #[arg(long, env = "MUSTER_CONTROLLER", value_name = "URL")]
    controller: String,
    /// This host's name (one DNS label, e.g. `smurf7`).
    #[arg(long, env = "MUSTER_AGENT_NAME", value_name = "NAME")]
    name: String,
    /// This host's address as published; repeat (or separate with commas)
    /// for several.
    #[arg(
        long = "address",
        env = "MUSTER_AGENT_ADDRESS",
        value_name = "IP",
        value_delimiter = ',',
        required = true
    )]
    addresses: Vec<IpAddr>,
    /// The agent token the controller expects.
    #[arg(long, env = "MUSTER_AGENT_TOKEN", hide_env_values = true, value_name = "T")]
    token: Option<String>,
    /// A command run with `sh -c` when the controller assigns a new role,
    /// with MUSTER_ROLE, MUSTER_PREVIOUS_ROLE and MUSTER_HOST set.
    #[arg(long = "on-role-change", env = "MUSTER_ON_ROLE_CHANGE", value_name = "CMD")]
    on_role_change: Option<String>,
    /// A YAML file with the rest: state_dir, hook_timeout, queue_command,
    /// spool, ca_file, max_backoff.
    #[arg(long, env = "MUSTER_AGENT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

// Written by hand so the token never shows.
impl std::fmt::Debug for AgentArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentArgs")
            .field("controller", &self.controller)
            .field("name", &self.name)
            .field("addresses", &self.addresses)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("on_role_change", &self.on_role_change)
            .field("config", &self.config)
            .finish()
    }
}

pub(crate) fn run(args: AgentArgs) -> ExitCode {
    let flags = AgentFlags {
        controller: args.controller,
        name: args.name,
        addresses: args.addresses,
        token: args.token.map(Token::new),
        on_role_change: args.on_role_change,
        config: args.config,
    };
    let config = match AgentConfig::try_new(flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("muster agent: {e}");
            return exit_code(&e);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("muster agent: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let cancel = CancellationToken::new();
        let stop = stop_on_signals(cancel.clone());
        let result = run_agent(config, cancel.clone()).await;
        cancel.cancel();
        let _ = stop.await;
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("muster agent: {e}");
                exit_code(&e)
            }
        }
    })
}

/// 2: fix the configuration; 3: the controller refuses this agent for good
/// (a restart cannot help, so the systemd unit does not restart on either);
/// 1: anything else.
fn exit_code(e: &AgentError) -> ExitCode {
    match e {
        AgentError::Config(_) | AgentError::ConfigFile { .. } | AgentError::Client(_) => ExitCode::from(2),
        AgentError::NameTaken { .. } | AgentError::Rejected { .. } => ExitCode::from(3),
        _ => ExitCode::FAILURE,
    }
}

/// Cancels `cancel` on SIGTERM or SIGINT; ends when `cancel` fires.
fn stop_on_signals(cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
        else {
            eprintln!("muster agent: cannot watch for signals; stop it with SIGKILL");
            return;
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = term.recv() => info!("SIGTERM: stopping"),
            _ = int.recv() => info!("SIGINT: stopping"),
        }
        cancel.cancel();
    })
}
