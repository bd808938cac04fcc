//! The simulated farm of the property tests: builds it from a [`Setup`],
//! runs a [`Tick`] (heartbeats, plan, apply, checks) and keeps a log for
//! failure messages. The checks themselves are in `checks.rs`.

use std::collections::BTreeMap;

use muster_controller::farm::{Assignment, Farm, HostRecord, Millis, Phase};
use muster_controller::observed::{Observed, Report};
use muster_controller::policy::Policy;
use muster_controller::reconcile::{Step, Wanted, apply, plan};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::fixture::{policy, render};
use crate::props::{Beat, Setup, Tick, Weather};

pub(crate) const DEAD_AFTER: Millis = 3_000;
const START: Millis = 1_700_000_000_000;

fn role_name(i: usize) -> String {
    format!("r{i}")
}

fn host_name(i: usize) -> String {
    format!("h{i:02}")
}

fn policy_yaml(s: &Setup) -> String {
    let mut yaml = format!(
        "zone: lists.example.test\n\
         ttl: {}\n\
         nameservers: [ns1.example.net.]\n\
         heartbeat: {{ interval: 1s, dead_after: 3s, revive_after: {}, panic_threshold: {}% }}\n\
         limits: {{ moves_per_tick: {}, moves_per_role: {}, host_cooldown: {}s }}\n\
         roles:\n",
        s.ttl, s.revive_after, s.panic_percent, s.moves_per_tick, s.moves_per_role, s.cooldown_s
    );
    for (i, r) in s.roles.iter().enumerate() {
        let name = role_name(i);
        let records = match r.ttl {
            Some(ttl) => format!("[ {{ name: {name}, type: A, ttl: {ttl} }} ]"),
            None => "[]".to_owned(),
        };
        yaml.push_str(&format!(
            "  {name}: {{ min: {}, records: {records}, drain: {{ until: {}, timeout: {}s }} }}\n",
            r.min, r.until, r.timeout_s
        ));
    }
    yaml
}

/// The farm, the agents and the clock, with what the checks remember.
pub(crate) struct Sim {
    pub(crate) policy: Policy,
    pub(crate) farm: Farm,
    pub(crate) observed: Observed,
    pub(crate) wanted: Wanted,
    pub(crate) now: Millis,
    /// Drains the planner started: host -> (role left, when).
    pub(crate) drains: BTreeMap<String, (String, Millis)>,
    /// What each tick heard and did, for failure messages.
    pub(crate) log: Vec<String>,
}

impl Sim {
    pub(crate) fn new(s: &Setup) -> Sim {
        let policy = policy(&policy_yaml(s));
        let wanted = s
            .roles
            .iter()
            .enumerate()
            .map(|(i, r)| (role_name(i), r.min + if s.wanted_above_min { r.extra } else { 0 }))
            .collect();
        let mut sim = Sim {
            policy,
            farm: Farm::default(),
            observed: Observed::default(),
            wanted,
            now: START,
            drains: BTreeMap::new(),
            log: Vec::new(),
        };
        for (i, h) in s.hosts.iter().enumerate() {
            let name = host_name(i);
            let mut eligible = h.eligible;
            if let (Some(role), true) = (h.role, eligible != 0) {
                eligible |= 1 << role;
            }
            let eligible = (0..s.roles.len())
                .filter(|r| eligible & (1 << r) != 0)
                .map(role_name)
                .collect();
            sim.farm.hosts.insert(
                name.clone(),
                HostRecord {
                    name: name.clone(),
                    addresses: Vec::new(),
                    eligible,
                    labels: BTreeMap::new(),
                    is_static: h.is_static,
                    pinned: h.pinned,
                    cordoned: h.cordoned,
                    dead: h.dead,
                    token_hash: None,
                },
            );
            sim.farm
                .assignments
                .insert(name.clone(), Assignment::active(h.role.map(role_name), START));
            if h.heard && !h.is_static {
                sim.beat(&name, Beat::Good(0));
            }
        }
        sim
    }

    pub(crate) fn beat(&mut self, host: &str, beat: Beat) {
        let mut report = Report {
            role: self.farm.assignments.get(host).and_then(|a| a.role.clone()),
            ..Report::default()
        };
        match beat {
            Beat::Silent => return,
            Beat::Failing => report.probe_failures.push("probe failed".to_owned()),
            Beat::Good(q) => {
                report.metrics.insert("queue_depth".to_owned(), f64::from(q));
            }
        }
        self.observed.record(host, report, self.now, DEAD_AFTER);
    }

    pub(crate) fn min(&self, role: &str) -> u32 {
        self.policy.roles[role].min
    }

    pub(crate) fn want(&self, role: &str) -> u32 {
        self.wanted.get(role).copied().unwrap_or(0).max(self.min(role))
    }

    pub(crate) fn ttl_ms(&self, role: &str) -> Millis {
        let r = &self.policy.roles[role];
        let ttl = r.records.iter().map(|t| t.ttl).max().unwrap_or(self.policy.ttl);
        Millis::from(ttl) * 1000
    }

    pub(crate) fn timeout_ms(&self, role: &str) -> Millis {
        Millis::try_from(self.policy.roles[role].drain.timeout.as_millis()).expect("timeout fits")
    }

    pub(crate) fn cooldown_ms(&self) -> Millis {
        Millis::try_from(self.policy.limits.host_cooldown.as_millis()).expect("cooldown fits")
    }

    /// Heard from within `dead_after`, every probe passing.
    pub(crate) fn fresh(&self, host: &str) -> bool {
        self.observed
            .get(host)
            .is_some_and(|o| self.now - o.last_heartbeat <= DEAD_AFTER && o.healthy())
    }

    pub(crate) fn queue(&self, host: &str) -> Option<f64> {
        self.observed.get(host).and_then(|o| o.queue_depth())
    }

    pub(crate) fn eligible(h: &HostRecord, role: &str) -> bool {
        h.eligible.is_empty() || h.eligible.iter().any(|e| e == role)
    }

    /// Out of its cooldown; never at the instant it was moved, even with no
    /// cooldown (planning again at one instant moves nothing new).
    pub(crate) fn cooled(&self, a: &Assignment) -> bool {
        a.last_moved
            .is_none_or(|t| self.now - t >= self.cooldown_ms().max(1))
    }

    /// Whether automation may give `host` to `role` (on `farm` as it is).
    pub(crate) fn movable(&self, farm: &Farm, host: &str, role: &str) -> Result<(), String> {
        let h = &farm.hosts[host];
        let a = &farm.assignments[host];
        let problem = if h.is_static {
            "static"
        } else if h.pinned {
            "pinned"
        } else if h.cordoned {
            "cordoned"
        } else if h.dead {
            "dead"
        } else if !Self::eligible(h, role) {
            "not eligible"
        } else if !self.cooled(a) {
            "cooling down"
        } else if a.is_draining() {
            "draining"
        } else if a.role.as_deref() == Some(role) {
            "already there"
        } else {
            return Ok(());
        };
        Err(format!("{host} given to {role} but it is {problem}"))
    }

    /// Live active members plus live hosts draining towards `role`.
    pub(crate) fn supply(farm: &Farm, role: &str) -> u32 {
        let count = farm.assignments.iter().filter(|(name, a)| {
            let h = &farm.hosts[name.as_str()];
            let alive = h.is_static || !h.dead;
            alive
                && match &a.phase {
                    Phase::Active => a.role.as_deref() == Some(role) && !h.cordoned,
                    Phase::Draining { to, .. } => to.as_deref() == Some(role),
                }
        });
        u32::try_from(count.count()).expect("few hosts")
    }

    pub(crate) fn outgoing(farm: &Farm, role: &str) -> u32 {
        let count = farm
            .assignments
            .values()
            .filter(|a| a.is_draining() && a.role.as_deref() == Some(role));
        u32::try_from(count.count()).expect("few hosts")
    }

    /// A host the rules would let `role` take now, if any.
    pub(crate) fn donor_for(&self, role: &str) -> Option<String> {
        let farm = &self.farm;
        farm.hosts.keys().find_map(|name| {
            self.movable(farm, name, role).ok()?;
            let from = farm.assignments[name].role.as_deref();
            let gives = from.is_none_or(|from| {
                Self::supply(farm, from) > self.want(from)
                    && Self::outgoing(farm, from) < self.policy.limits.moves_per_role
            });
            gives.then(|| name.clone())
        })
    }

    pub(crate) fn run(&mut self, t: &Tick) -> Result<(), TestCaseError> {
        self.now += t.advance_ms;
        let agents: Vec<(usize, String)> = self
            .farm
            .hosts
            .values()
            .filter(|h| !h.is_static)
            .map(|h| (h.name[1..].parse().expect("hNN"), h.name.clone()))
            .collect();
        for (i, name) in agents {
            let beat = match (t.weather, t.beats[i]) {
                (Weather::Blackout, _) => Beat::Silent,
                (Weather::Calm, Beat::Silent | Beat::Failing) => Beat::Good(0),
                (_, beat) => beat,
            };
            self.beat(&name, beat);
        }

        let before = self.farm.clone();
        let steps = plan(&self.policy, &self.farm, &self.observed, &self.wanted, self.now);
        self.log.push(format!(
            "t+{}ms {:?}\n{}",
            self.now - START,
            t.weather,
            render(&steps)
        ));
        let shown = format!("{}\nfarm before:\n{}", self.log.join("\n"), show_farm(&before));
        if before.panic {
            let leaves = matches!(steps.first(), Some(Step::LeavePanic));
            prop_assert!(leaves || steps.is_empty(), "in panic, yet:\n{shown}");
        }
        let mut moves = 0;
        let mut gave = Vec::new();
        for step in &steps {
            self.check_step(step, &steps, &mut moves, &mut gave)
                .map_err(|e| TestCaseError::fail(format!("{e}\nsteps:\n{shown}")))?;
            apply(&mut self.farm, step, self.now);
        }
        prop_assert!(
            moves <= self.policy.limits.moves_per_tick,
            "{moves} moves:\n{shown}"
        );

        let again = plan(&self.policy, &self.farm, &self.observed, &self.wanted, self.now);
        prop_assert!(
            again.is_empty(),
            "not idempotent; first:\n{shown}\nthen:\n{}",
            render(&again)
        );
        self.check_roles_changed_by_steps(&before, &steps)?;
        self.check_pools()?;
        if !self.farm.panic {
            self.check_supply(moves, &gave, &shown)?;
        }
        Ok(())
    }
}

fn show_farm(farm: &Farm) -> String {
    let mut lines = Vec::new();
    for (name, h) in &farm.hosts {
        let a = &farm.assignments[name];
        let flags = [
            (h.is_static, "static"),
            (h.pinned, "pinned"),
            (h.cordoned, "cordoned"),
            (h.dead, "dead"),
        ];
        let flags: Vec<&str> = flags.iter().filter(|f| f.0).map(|f| f.1).collect();
        lines.push(format!(
            "  {name} {:?} {:?} moved={:?} roles={:?} {}",
            a.role,
            a.phase,
            a.last_moved.map(|t| t - START),
            h.eligible,
            flags.join(" ")
        ));
    }
    lines.join("\n")
}
