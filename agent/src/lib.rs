//! muster's agent: runs on every box, reports health and load to the
//! controller in heartbeats, and runs the role-change hook when the
//! controller assigns the box a new role.
//!
//! One job per module:
//! - [`config`]: flags, environment and the YAML file, checked;
//! - [`client`]: the heartbeat endpoint over HTTP(S);
//! - [`probes`]: the health checks the controller asks for, each bounded;
//! - [`metrics`]: load, CPU, memory, disk and mail-queue figures;
//! - [`hook`]: the role-change command;
//! - [`roles`]: the pure rules for when to run it;
//! - [`state`]: the held role, remembered across restarts;
//! - [`backoff`]: exponential backoff with full jitter;
//! - [`run`]: the loop tying them together.
//!
//! The agent never decides a role: it reports what the box holds and takes
//! what the controller assigns, one hook run at a time.

#![warn(missing_docs)]

pub mod backoff;
pub mod client;
pub mod config;
mod error;
pub mod hook;
pub mod metrics;
pub mod probes;
pub mod roles;
pub mod run;
mod shell;
pub mod state;

pub use config::{AgentConfig, AgentFlags, Token};
pub use error::AgentError;
pub use run::run_agent;
