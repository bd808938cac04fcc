//! The simulated farm of the property tests: builds it from a [`Setup`],
//! runs a [`Tick`] (heartbeats, plan, apply, checks) and keeps a log for
//! failure messages. The checks themselves are in `checks.rs`.

use std::collections::BTreeMap;

use hickory_proto::rr::Name;
use muster_controller::engine::assignment_state;
use muster_controller::farm::{Assignment, Farm, HostRecord, HostState, Millis, Phase};
use muster_controller::observed::{Observed, Report};
use muster_controller::operator::names::{NameChange, NameRequest, apply_name_change};
use muster_controller::operator::{Operation, OperatorRequest, apply_operation, enrol};
use muster_controller::policy::{Policy, Spf, SpfAll, StaticRecord};
use muster_controller::reconcile::{Step, Wanted, apply, membership, plan};
use muster_controller::spf::{senders, track_departures};
use muster_dns::RecordData;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::fixture::{policy, render};
use crate::props::{Beat, Op, OpKind, Setup, Tick, Weather};

pub(crate) const DEAD_AFTER: Millis = 3_000;
const START: Millis = 1_700_000_000_000;

fn role_name(i: usize) -> String {
    format!("r{i}")
}

fn host_name(i: usize) -> String {
    format!("h{i:02}")
}

fn address(i: usize) -> std::net::IpAddr {
    std::net::IpAddr::from([127, 0, 1, u8::try_from(i + 1).expect("few hosts")])
}

/// What `muster agent` does with its role, in the small: a hook that takes
/// `hook_ms` (and, when flaky, fails the first time for each new role,
/// then is retried after a backoff while the assignment is in force or the
/// host is dead).
#[derive(Clone, Debug)]
pub(crate) struct Agent {
    pub(crate) holds: Option<String>,
    /// The hook under way: (role, done at).
    hook: Option<(String, Millis)>,
    /// The last failure: (role, retry at).
    failure: Option<(String, Millis)>,
    failed_for: Option<String>,
    hook_ms: Millis,
    flaky: bool,
    /// The role it said it held in its last heartbeat (`None`: never sent).
    pub(crate) reported: Option<Option<String>>,
}

impl Agent {
    fn new(holds: Option<String>, hook_s: u8, flaky: bool) -> Agent {
        Agent {
            holds,
            hook: None,
            failure: None,
            failed_for: None,
            hook_ms: Millis::from(hook_s) * 1000,
            flaky,
            reported: None,
        }
    }

    fn act(&mut self, role: Option<&str>, state: &str, now: Millis) {
        self.finish_hook(now);
        if self.hook.is_some() {
            return;
        }
        let Some(role) = role else {
            self.failure = None;
            return;
        };
        if self.holds.as_deref() == Some(role) {
            self.failure = None;
            return;
        }
        let in_force = matches!(state, "arriving" | "active" | "pinned");
        let may = match &self.failure {
            Some((to, retry_at)) if to == role => (in_force || state == "dead") && now >= *retry_at,
            Some(_) => {
                self.failure = None;
                in_force
            }
            None => in_force,
        };
        if may {
            self.hook = Some((role.to_owned(), now + self.hook_ms));
            self.finish_hook(now);
        }
    }

    fn finish_hook(&mut self, now: Millis) {
        let Some((to, done_at)) = self.hook.clone() else {
            return;
        };
        if now < done_at {
            return;
        }
        self.hook = None;
        if self.flaky && self.failed_for.as_deref() != Some(to.as_str()) {
            self.failed_for = Some(to.clone());
            self.failure = Some((to, now + 5_000));
        } else {
            self.holds = Some(to);
            self.failure = None;
        }
    }
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
        let fallback = match (r.ttl, r.fallback) {
            (Some(_), true) => format!("[ {{ name: {name}, type: A, address: 127.0.0.250 }} ]"),
            _ => "[]".to_owned(),
        };
        yaml.push_str(&format!(
            "  {name}: {{ min: {}, records: {records}, fallback: {fallback}, drain: {{ until: {}, timeout: {}s }} }}\n",
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
    /// Each agent host's agent, which outlives controller restarts.
    pub(crate) agents: BTreeMap<String, Agent>,
    /// What each tick heard and did, for failure messages.
    pub(crate) log: Vec<String>,
    /// Since when the SPF has listed each host it lists (as receivers
    /// could have cached it).
    pub(crate) listed_since: BTreeMap<String, Millis>,
}

impl Sim {
    pub(crate) fn new(s: &Setup) -> Sim {
        let mut policy = policy(&policy_yaml(s));
        policy.spf = s.spf_ttl.map(|ttl| Spf {
            owner: policy.zone.clone(),
            roles: vec![role_name(0)],
            include: Vec::new(),
            keep_after_leave: std::time::Duration::from_secs(20),
            all: SpfAll::Fail,
            ttl,
        });
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
            agents: BTreeMap::new(),
            log: Vec::new(),
            listed_since: BTreeMap::new(),
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
                    addresses: vec![address(i)],
                    eligible,
                    labels: BTreeMap::new(),
                    is_static: h.is_static,
                    pinned: h.pinned,
                    cordoned: h.cordoned,
                    dead: h.dead,
                    token_hash: None,
                },
            );
            // Hosts start in their role, published (their agents hold it),
            // or still on their way (their agents hold nothing yet).
            let role = h.role.map(role_name);
            let assignment = match (h.is_static || h.holds, role) {
                (true, role) => Assignment::active(role, START),
                (false, role) => Assignment::arriving(role, START),
            };
            sim.farm.assignments.insert(name.clone(), assignment);
            if !h.is_static {
                let holds = if h.holds { h.role.map(role_name) } else { None };
                let mut agent = Agent::new(holds.clone(), h.hook_s, h.flaky);
                // A host held in its role was published on its agent's word,
                // before this controller started.
                if h.holds && holds.is_some() {
                    agent.reported = Some(holds);
                }
                sim.agents.insert(name.clone(), agent);
                if h.heard {
                    sim.beat(&name, Beat::Good(0));
                }
            }
        }
        // Hosts serving a sending role before this controller started were
        // listed by the SPF it published then.
        if let Some(spf) = &sim.policy.spf {
            for host in senders(spf, &sim.farm, START) {
                sim.listed_since.insert(host, START - 1_000_000);
            }
        }
        sim
    }

    /// A heartbeat from `host`'s agent: it first acts on the assignment
    /// the controller gave it (as `muster agent` does with the reply).
    pub(crate) fn beat(&mut self, host: &str, beat: Beat) {
        if matches!(beat, Beat::Silent) {
            return;
        }
        let (role, state) = match (self.farm.hosts.get(host), self.farm.assignments.get(host)) {
            (Some(h), a) => (a.and_then(|a| a.role.clone()), assignment_state(h, a)),
            (None, _) => (None, HostState::Unassigned),
        };
        let now = self.now;
        let Some(agent) = self.agents.get_mut(host) else {
            return;
        };
        agent.act(role.as_deref(), state.as_str(), now);
        agent.reported = Some(agent.holds.clone());
        let mut report = Report {
            role: agent.holds.clone(),
            hook_failure: agent
                .failure
                .as_ref()
                .map(|(to, _)| format!("hook for {to} failed")),
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
        } else if a.is_arriving() {
            "arriving"
        } else if a.role.as_deref() == Some(role) {
            "already there"
        } else if let Some(from) = a.role.as_deref()
            && !self.published_in(farm, from).contains(&host.to_owned())
        {
            "not serving in its role"
        } else {
            return Ok(());
        };
        Err(format!("{host} given to {role} but it is {problem}"))
    }

    /// Live members, serving or arriving, plus live hosts draining towards
    /// `role`.
    pub(crate) fn supply(farm: &Farm, role: &str) -> u32 {
        let count = farm.assignments.iter().filter(|(name, a)| {
            let h = &farm.hosts[name.as_str()];
            let alive = h.is_static || !h.dead;
            alive
                && match &a.phase {
                    Phase::Active | Phase::Arriving => a.role.as_deref() == Some(role) && !h.cordoned,
                    Phase::Draining { to, .. } => to.as_deref() == Some(role),
                }
        });
        u32::try_from(count.count()).expect("few hosts")
    }

    /// Who `membership` publishes in `role` on `farm`.
    pub(crate) fn published_in(&self, farm: &Farm, role: &str) -> Vec<String> {
        membership(&self.policy, farm, &self.observed)
            .get(role)
            .cloned()
            .unwrap_or_default()
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
                self.published_in(farm, from).len() > self.want(from) as usize
                    && Self::outgoing(farm, from) < self.policy.limits.moves_per_role
            });
            gives.then(|| name.clone())
        })
    }

    pub(crate) fn run(&mut self, t: &Tick) -> Result<(), TestCaseError> {
        self.now += t.advance_ms;
        if let Some(op) = &t.op {
            let before = self.farm.clone();
            self.operate(op)?;
            track_departures(self.policy.spf.as_ref(), &before, &mut self.farm, self.now);
            self.check_spf()?;
        }
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
        let published_before = membership(&self.policy, &self.farm, &self.observed);
        // An operator's move at this instant uses the planner's budget too.
        let made_by_operators = before
            .assignments
            .values()
            .filter(|a| match &a.phase {
                Phase::Draining { started, .. } => *started == self.now,
                _ => a.last_moved == Some(self.now),
            })
            .count();
        let made_by_operators = u32::try_from(made_by_operators).expect("few hosts");
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
            moves + made_by_operators <= self.policy.limits.moves_per_tick.max(made_by_operators),
            "{moves} moves:\n{shown}"
        );
        let moves = moves + made_by_operators;

        let again = plan(&self.policy, &self.farm, &self.observed, &self.wanted, self.now);
        prop_assert!(
            again.is_empty(),
            "not idempotent; first:\n{shown}\nthen:\n{}",
            render(&again)
        );
        track_departures(self.policy.spf.as_ref(), &before, &mut self.farm, self.now);
        self.check_spf()?;
        self.check_roles_changed_by_steps(&before, &steps)?;
        self.check_pools()?;
        self.check_never_below_min(&published_before, &steps, &shown)?;
        if !self.farm.panic {
            self.check_supply(moves, &gave, &shown)?;
        }
        Ok(())
    }

    /// An operator's change, an enrolment or a controller restart, as the
    /// runner and `Engine::start` carry them out.
    fn operate(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let names: Vec<String> = self.farm.hosts.keys().cloned().collect();
        let host = names[op.host % names.len()].clone();
        let role = role_name(op.role % self.policy.roles.len());
        let operation = match op.kind {
            OpKind::Restart => {
                // A new controller process: the farm from the store, no
                // observations, every live agent given `dead_after`.
                self.observed = Observed::default();
                for h in self.farm.hosts.values().filter(|h| !h.dead) {
                    self.observed.assume_alive(&h.name, self.now);
                }
                self.log.push(format!("t+{}ms restart", self.now - START));
                return Ok(());
            }
            OpKind::Enrol => {
                let i = self.farm.hosts.len();
                if i >= crate::props::MAX_HOSTS {
                    return Ok(());
                }
                let name = host_name(i);
                enrol(&mut self.farm, &name, vec![address(i)], None, self.now);
                self.agents
                    .insert(name.clone(), Agent::new(None, op.hook_s, false));
                self.log.push(format!("t+{}ms enrol {name}", self.now - START));
                return Ok(());
            }
            OpKind::Alias | OpKind::Unalias | OpKind::Record => {
                return self.change_names(op, &host);
            }
            OpKind::Move => Operation::Move {
                role: role.clone(),
                now: false,
                force: op.force,
            },
            OpKind::MoveNow => Operation::Move {
                role: role.clone(),
                now: true,
                force: op.force,
            },
            OpKind::Drain => Operation::Drain { force: op.force },
            OpKind::Cordon => Operation::Cordon { force: op.force },
            OpKind::Uncordon => Operation::Uncordon,
            OpKind::Pin => Operation::Pin {
                role: Some(role.clone()),
                force: op.force,
            },
            OpKind::Unpin => Operation::Unpin,
        };
        let members = membership(&self.policy, &self.farm, &self.observed);
        let request = OperatorRequest {
            host: host.clone(),
            actor: "alice".to_owned(),
            operation: operation.clone(),
        };
        let mut farm = self.farm.clone();
        let Ok(events) = apply_operation(&self.policy, &members, &mut farm, &request, self.now) else {
            return Ok(());
        };
        self.log.push(format!(
            "t+{}ms operator {host} {operation:?}: {}",
            self.now - START,
            events
                .iter()
                .map(|e| e.kind.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        self.farm = farm;
        // As `Engine::change` does for hosts new to it.
        for h in self.farm.hosts.values().filter(|h| !h.is_static && !h.dead) {
            self.observed.assume_alive(&h.name, self.now);
        }
        // Drains the operator started or cut short are the host's drains now.
        self.drains.remove(&host);
        if let (Some(from), Phase::Draining { started, .. }) = (
            &self.farm.assignments[&host].role,
            &self.farm.assignments[&host].phase,
        ) {
            self.drains.insert(host.clone(), (from.clone(), *started));
        }
        // The pools are checked after this tick's plan (freshness is the
        // planner's to enforce).
        let shown = self.log.join("\n");
        if !op.force {
            for (role, hosts) in &members {
                let after = self.published_in(&self.farm, role).len();
                let min = self.min(role) as usize;
                prop_assert!(
                    !(hosts.contains(&host) && after < min && after < hosts.len()),
                    "an operator took {host} out of {role}, leaving {after} of its min {min}\n{shown}"
                );
            }
        }
        Ok(())
    }

    /// An operator's change to the zone's own names, as the API makes it.
    /// It must never fail to build into the zone (checked after the tick).
    fn change_names(&mut self, op: &Op, host: &str) -> Result<(), TestCaseError> {
        let name = |label: String| {
            Name::from_ascii(label)
                .and_then(|n| n.append_domain(&self.policy.zone))
                .expect("a name in the zone")
        };
        let change = match op.kind {
            OpKind::Alias => NameChange::SetAlias {
                owner: name(format!("mail{}", op.role)),
                host: host.to_owned(),
            },
            OpKind::Unalias => NameChange::RemoveAlias {
                owner: name(format!("mail{}", op.role)),
            },
            _ => {
                let owner = name(format!("note{}", op.role));
                let exists = self.farm.records.iter().any(|r| r.owner == owner);
                if exists {
                    NameChange::RemoveRecords {
                        owner,
                        rtype: "TXT".to_owned(),
                        data: None,
                    }
                } else {
                    NameChange::AddRecord(StaticRecord {
                        owner,
                        ttl: 30,
                        data: RecordData::txt("v=spf1 -all"),
                    })
                }
            }
        };
        let request = NameRequest {
            actor: "alice".to_owned(),
            change: change.clone(),
        };
        let before = self.farm.clone();
        let outcome = apply_name_change(&self.policy, &mut self.farm, &request, self.now);
        self.log.push(format!(
            "t+{}ms operator {change:?}: {}",
            self.now - START,
            outcome.as_ref().map_or_else(
                |e| format!("refused: {e}"),
                |events| format!("{} events", events.len())
            )
        ));
        // Names never move hosts.
        prop_assert_eq!(&before.assignments, &self.farm.assignments);
        prop_assert_eq!(&before.hosts, &self.farm.hosts);
        Ok(())
    }

    /// The SPF lists every host holding a sending role (arriving, serving or
    /// draining out), and a host is published in a sending role's pool only
    /// once the SPF has listed it for the record's TTL.
    fn check_spf(&mut self) -> Result<(), TestCaseError> {
        let Some(spf) = self.policy.spf.clone() else {
            return Ok(());
        };
        let listed = senders(&spf, &self.farm, self.now);
        self.listed_since.retain(|host, _| listed.contains(host));
        for host in &listed {
            self.listed_since.entry(host.clone()).or_insert(self.now);
        }
        let shown = || format!("{}\nfarm:\n{}", self.log.join("\n"), show_farm(&self.farm));
        for (host, a) in &self.farm.assignments {
            if a.role.as_ref().is_some_and(|r| spf.roles.contains(r)) {
                prop_assert!(
                    listed.contains(host),
                    "{host} holds a sending role, unlisted\n{}",
                    shown()
                );
            }
        }
        for role in &spf.roles {
            for host in self.published_in(&self.farm, role) {
                let since = self.listed_since.get(&host).copied().unwrap_or(self.now);
                prop_assert!(
                    self.now - since >= i64::from(spf.ttl) * 1000,
                    "{host} published in {role} {} ms after the SPF listed it (TTL {} s)\n{}",
                    self.now - since,
                    spf.ttl,
                    shown()
                );
            }
        }
        Ok(())
    }

    /// Rule 2: a role below its `min` published lost no host this tick
    /// but to death. (Drains are only ever started from a role published
    /// above its count; a host on its way in is no reason to take one
    /// that serves.)
    fn check_never_below_min(
        &self,
        before: &muster_controller::zone_builder::Membership,
        steps: &[Step],
        shown: &str,
    ) -> Result<(), TestCaseError> {
        for (role, hosts) in before {
            let Some(spec) = self.policy.roles.get(role) else {
                continue;
            };
            let after = self.published_in(&self.farm, role);
            if after.len() >= spec.min as usize {
                continue;
            }
            for host in hosts.iter().filter(|h| !after.contains(h)) {
                let died = steps
                    .iter()
                    .any(|s| matches!(s, Step::MarkDead { host: h, .. } if h == host));
                prop_assert!(
                    died,
                    "{role} is at {} of its min {} published, yet {host} left it alive\n{shown}",
                    after.len(),
                    spec.min
                );
            }
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
