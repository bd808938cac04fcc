//! `muster`: the one binary. Subcommands parse their flags here and hand
//! off to the crates; nothing below this file knows about the command line.

mod agent;
mod check;
mod demo;
mod ops;
mod plan;
mod serve;
mod simulate;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A DNS-driven control plane for a farm of small servers.
#[derive(Debug, Parser)]
#[command(name = "muster", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the zone (DNS on UDP+TCP) and the API from a policy.
    Serve(serve::ServeArgs),
    /// Validate policy files without running anything.
    Check(check::CheckArgs),
    /// Run on a box: heartbeats, probes, metrics and role-change hooks.
    Agent(agent::AgentArgs),
    /// What the first reconcile at a moment would do, and why (changes nothing).
    Plan(plan::PlanArgs),
    /// Replay a day through the reconciler with a mail backlog; chart it.
    Simulate(simulate::SimulateArgs),
    #[command(flatten)]
    Ops(ops::OpsCommand),
    /// The whole system on one machine: embedded policy, simulated agents, a delivery bulge.
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own story; its logs would drown it.
    let default_log = if matches!(cli.command, Command::Demo(_)) {
        "warn"
    } else {
        "info"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MUSTER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log)),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never into a log file
        // or the journal.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Serve(args) => serve::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Plan(args) => plan::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Ops(command) => ops::run(command),
        Command::Demo(args) => demo::run(&args),
    }
}
