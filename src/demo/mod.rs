//! `muster demo`: the whole system on one machine with embedded defaults —
//! the server `muster serve` runs (SQLite in a temp dir, removed at exit),
//! `policies/demo.yaml`, and a dozen simulated agents inside the process
//! that report over HTTP a mail queue following a time-compressed delivery
//! bulge. It prints what runs where, then a line per change from the event
//! log. `muster serve --demo-agents N` runs the same agents
//! ([`spawn_simulation`]) against one's own policy.
//!
//! - [`bulge`]: the load curve, a pure function of simulated time;
//! - [`mail`]: queues, and a sender that follows muster's MX answers;
//! - [`agents`]: the simulated agents (the real agent's HTTP client);
//! - [`simulation`]: which agents, where their mail goes, their tasks;
//! - [`banner`]: what runs where, and what to try;
//! - [`progress`]: the lines printed as things change.

mod agents;
mod banner;
mod bulge;
mod mail;
mod progress;
mod simulation;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use muster_api::Tokens;
use muster_controller::policy;
use muster_dns::server::DnsConfig;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::serve::{Server, ServerConfig, start_server};
pub(crate) use simulation::spawn_simulation;

/// The demo's policy, built into the binary.
pub(crate) const DEMO_POLICY: &str = include_str!("../../policies/demo.yaml");
/// The name it is reported under.
const DEMO_POLICY_NAME: &str = "policies/demo.yaml";
/// Agents when the policy lists no host to simulate.
const DEFAULT_AGENTS: usize = 12;

/// Arguments of `muster demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// DNS address (UDP and TCP).
    #[arg(long = "dns-listen", default_value = "127.0.0.1:5300", value_name = "ADDR")]
    dns_listen: SocketAddr,
    /// API address; the status page is its `/`.
    #[arg(long = "api-listen", default_value = "127.0.0.1:8700", value_name = "ADDR")]
    api_listen: SocketAddr,
    /// Replay the simulated mail this many times faster (0.1 to 100). The
    /// policy's own timings — schedule windows, TTLs, drains, cooldowns —
    /// stay in real time.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed, value_name = "X")]
    speed: f64,
    /// Run this policy instead of the embedded policies/demo.yaml; its hosts
    /// without `static: true` become the simulated agents.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

fn parse_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text.parse().map_err(|_| format!("{text:?} is not a number"))?;
    if (0.1..=100.0).contains(&speed) {
        Ok(speed)
    } else {
        Err(format!("{speed} is outside 0.1 to 100"))
    }
}

pub(crate) fn run(args: &DemoArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("muster: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(demo(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("muster demo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    // Signals first, so a Ctrl-C during start-up is not lost.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let (policy, source) = match &args.policy {
        Some(path) => (policy::load_file(path)?, path.display().to_string()),
        None => (
            policy::load_str(Path::new(DEMO_POLICY_NAME), DEMO_POLICY)?,
            format!("{DEMO_POLICY_NAME} (built in)"),
        ),
    };
    let agents = match policy.hosts.iter().filter(|h| !h.is_static).count() {
        0 => DEFAULT_AGENTS,
        n => n,
    };
    let dir = tempfile::Builder::new()
        .prefix("muster-demo-")
        .tempdir()
        .context("creating a temp dir for the database")?;
    let token = new_agent_token()?;
    let cancel = CancellationToken::new();
    let config = ServerConfig {
        policy,
        db: format!("sqlite://{}", dir.path().join("muster.db").display()),
        dns: DnsConfig {
            listen: vec![args.dns_listen],
            ..DnsConfig::default()
        },
        notify_sources: crate::serve::notify_sources(&[], &[args.dns_listen])?,
        api_listen: args.api_listen,
        api_limits: muster_api::ConnectionLimits::default(),
        tls: None,
        tokens: Tokens {
            agent: vec![token.clone()],
            ..Tokens::default()
        },
    };
    let server = start_server(config, cancel.clone()).await.context(
        "is another muster (or muster demo) running? --dns-listen and --api-listen pick other addresses",
    )?;
    let simulation = spawn_simulation(&server, token, agents, args.speed, cancel.child_token())?;
    print!(
        "{}",
        banner::banner(&server, &simulation, &source, dir.path(), args.speed)
    );
    let printer = cancel.child_token();
    let progress = progress::spawn_progress(
        server.store.clone(),
        simulation
            .mail_role
            .clone()
            .map(|role| (simulation.mail.clone(), role)),
        printer.clone(),
    );

    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => reload(&server, args.policy.as_deref()).await,
        }
    }
    simulation.stop().await;
    // The last events are printed before the store closes.
    printer.cancel();
    let _ = progress.await;
    server.shutdown().await;
    let shown = dir.path().display().to_string();
    dir.close().with_context(|| format!("removing {shown}"))?;
    progress::print_line(&format!("muster demo: stopped; removed {shown}"));
    Ok(())
}

/// SIGHUP: reloads the `--policy` file, saying how that went.
async fn reload(server: &Server, path: Option<&Path>) {
    let Some(path) = path else {
        progress::print_line(
            "muster demo: SIGHUP ignored: the built-in policy cannot change (run with --policy FILE)",
        );
        return;
    };
    let file = path.display();
    let said = match policy::load_file(path) {
        Err(e) => {
            server.controller.reload_rejected("sighup", &e.to_string()).await;
            format!("muster demo: {file} rejected, the policy in force stays:\n{e}")
        }
        Ok(policy) => match server.controller.reload(policy, "sighup").await {
            Ok(report) => match report.serial {
                Some(serial) => format!("muster demo: {file} reloaded; zone serial {serial}"),
                None => format!("muster demo: {file} reloaded; zone unchanged"),
            },
            Err(e) => format!("muster demo: {file} not applied, the policy in force stays: {e}"),
        },
    };
    progress::print_line(&said);
}

/// A fresh agent token for the simulated agents.
pub(crate) fn new_agent_token() -> anyhow::Result<String> {
    muster_controller::tokens::new_token().map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_are_bounded() {
        assert_eq!(parse_speed("4"), Ok(4.0));
        assert!(parse_speed("0").is_err());
        assert!(parse_speed("1000").is_err());
        assert!(parse_speed("fast").is_err());
    }
}
