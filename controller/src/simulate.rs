//! Previewing a policy without running it: what the first reconcile at a
//! given moment would do (`muster plan`, `GET /api/v1/plan`), and a replay
//! of a day through the same decisions with a simple mail-delivery model
//! (`muster simulate`).
//!
//! Both go through exactly the functions a running controller uses, in
//! the order [`crate::engine::Engine::tick`] uses them:
//! [`wanted::decide`] (schedules, then load rules), [`reconcile::plan`],
//! [`reconcile::apply`], [`reconcile::membership`]. Nothing here decides
//! anything on its own; it only builds the inputs (a farm, the agents'
//! reports) and reads the outputs.
//!
//! - [`preview`]: one moment, against a farm (the live one, or the
//!   policy's inventory).
//! - [`replay`]: a span of time in steps, with a mail backlog.
//! - [`trace`]: the CSV of arriving mail; [`time`]: instants and steps as
//!   people type them.
//!
//! [`wanted::decide`]: crate::wanted::decide
//! [`reconcile::plan`]: crate::reconcile::plan
//! [`reconcile::apply`]: crate::reconcile::apply
//! [`reconcile::membership`]: crate::reconcile::membership

pub mod preview;
pub mod replay;
pub mod time;
pub mod trace;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

pub use preview::{Preview, RolePreview, preview};
pub use replay::{Model, Replay, Sample, Summary, replay};
pub use trace::Trace;

use crate::autoscale::AutoscaleState;
use crate::farm::{Assignment, Farm, HostRecord, Millis};
use crate::observed::{Observed, Report};
use crate::policy::Policy;
use crate::wanted;

/// What a preview or a replay could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulateError {
    /// An instant, a step or a timezone.
    #[error("`{text}`: {reason}")]
    Time {
        /// What was given.
        text: String,
        /// What is wrong, and the forms accepted.
        reason: String,
    },
    /// A line of the load trace.
    #[error("line {line}: {message}")]
    Trace {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The options do not make sense together.
    #[error("{0}")]
    Options(String),
}

/// The farm a controller would start with from `policy` alone: every
/// inventory host, alive, in its `role:` (as the engine merges the
/// inventory into an empty store).
pub fn inventory_farm(policy: &Policy, now: Millis) -> Farm {
    let mut farm = Farm::default();
    for host in &policy.hosts {
        farm.hosts.insert(
            host.name.clone(),
            HostRecord {
                name: host.name.clone(),
                addresses: host.addresses.clone(),
                eligible: host.eligible.clone(),
                labels: host.labels.clone(),
                is_static: host.is_static,
                pinned: false,
                cordoned: false,
                dead: false,
                token_hash: None,
            },
        );
        farm.assignments
            .insert(host.name.clone(), Assignment::active(host.role.clone(), now));
    }
    farm
}

/// A farm of `count` synthetic agent hosts, `smurf1`…`smurfN` (addresses
/// from 10.0.0.1 on), each eligible for every role, plus the policy's
/// static hosts. The agents start where the wanted counts at `now` put
/// them, as if the farm had been running: roles in name order, each
/// filled to its count; any left over stay unassigned.
pub fn synthetic_farm(policy: &Policy, count: u32, now: Millis) -> Farm {
    let mut farm = inventory_farm(policy, now);
    farm.hosts.retain(|_, h| h.is_static);
    farm.assignments.retain(|name, _| farm.hosts.contains_key(name));
    let names: Vec<String> = (1..=count).map(|i| format!("smurf{i}")).collect();
    for (i, name) in (1u32..).zip(&names) {
        let [_, b, c, d] = i.to_be_bytes();
        farm.hosts.insert(
            name.clone(),
            HostRecord {
                name: name.clone(),
                addresses: vec![IpAddr::V4(Ipv4Addr::new(10, b, c, d))],
                eligible: Vec::new(),
                labels: BTreeMap::new(),
                is_static: false,
                pinned: false,
                cordoned: false,
                dead: false,
                token_hash: None,
            },
        );
        farm.assignments.insert(name.clone(), Assignment::active(None, now));
    }
    let observed = reporting(&farm, |_| None, now, policy);
    let decision = wanted::decide(policy, &farm, &observed, &AutoscaleState::new(), now);
    let mut free = names.iter();
    for (role, count) in decision.wanted.iter() {
        let held = farm
            .assignments
            .values()
            .filter(|a| a.role.as_deref() == Some(role))
            .count();
        let need = usize::try_from(count).unwrap_or(usize::MAX).saturating_sub(held);
        for name in free.by_ref().take(need) {
            farm.assignments
                .insert(name.clone(), Assignment::active(Some(role.to_owned()), now));
        }
    }
    farm
}

/// Observations in which every agent host the farm does not count dead
/// reports at `now`: its report from `reports`, or else a healthy one
/// holding its assigned role. Dead hosts stay silent (and so stay dead).
pub fn reporting<'r>(
    farm: &Farm,
    reports: impl Fn(&str) -> Option<&'r Report>,
    now: Millis,
    policy: &Policy,
) -> Observed {
    let dead_after = i64::try_from(policy.heartbeat.dead_after.as_millis()).unwrap_or(i64::MAX);
    let mut observed = Observed::default();
    for host in farm.hosts.values().filter(|h| !h.is_static && !h.dead) {
        let report = reports(&host.name).cloned().unwrap_or_else(|| Report {
            role: farm.assignments.get(&host.name).and_then(|a| a.role.clone()),
            ..Report::default()
        });
        observed.record(&host.name, report, now, dead_after);
    }
    observed
}
