//! A small world for planner tests: a policy, a farm written as text, what
//! the agents said, and a clock. Steps and pools render as text so a test
//! reads as `check(input, expect)`.
//!
//! A farm fixture has one host per line, `name role flag…` (`-` for no
//! role). Times are whole seconds on the test clock.
//!
//! | flag | meaning |
//! |---|---|
//! | `static`, `pinned`, `cordoned`, `dead` | the host's flags |
//! | `roles=a,b` | the roles it may hold (default: any) |
//! | `drain>ROLE@T` | draining towards `ROLE` (`-`: none) since `T` |
//! | `arriving` | given its role, its agent not yet reported holding it |
//! | `moved@T` | last changed role at `T` |
//! | `q=N` | its agent reports `queue_depth` N |
//! | `quiet=S` | its last heartbeat was `S` seconds before now (default 0) |
//! | `never` | its agent never reported |
//! | `fail=WHY` | its last report fails a probe (`_` reads as a space) |
//! | `hook=WHY` | its last report says the role-change hook failed |
//! | `streak=N` | exactly `N` good heartbeats in a row (default 10) |
//! | `reports=ROLE` | its agent reports holding `ROLE` (default: its role) |
//!
//! Static hosts never report, whatever their flags say. A line `panic`
//! starts the farm in fail-static.

use std::path::Path;

use muster_controller::farm::{Assignment, Farm, HostRecord, Millis, Phase};
use muster_controller::observed::{Observed, Report};
use muster_controller::policy::{Policy, load_str};
use muster_controller::reconcile::{Step, Wanted, apply, membership, plan, wanted_from_policy};

/// Milliseconds of `secs` seconds.
pub(crate) fn ms(secs: i64) -> Millis {
    secs * 1000
}

/// Loads a policy from YAML, panicking with the problems.
pub(crate) fn policy(yaml: &str) -> Policy {
    match load_str(Path::new("test.yaml"), yaml) {
        Ok(policy) => policy,
        Err(err) => panic!("test policy does not load:\n{err}"),
    }
}

/// A policy, a farm, the observations and a clock.
pub(crate) struct World {
    pub(crate) policy: Policy,
    pub(crate) farm: Farm,
    pub(crate) observed: Observed,
    pub(crate) wanted: Wanted,
    pub(crate) now: Millis,
}

impl World {
    /// The world `farm` describes at `now_s` seconds.
    pub(crate) fn new(policy_yaml: &str, farm: &str, now_s: i64) -> World {
        let policy = policy(policy_yaml);
        let wanted = wanted_from_policy(&policy);
        let mut world = World {
            policy,
            farm: Farm::default(),
            observed: Observed::default(),
            wanted,
            now: ms(now_s),
        };
        for line in farm.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if line == "panic" {
                world.farm.panic = true;
            } else {
                world.add_host(line);
            }
        }
        world
    }

    fn dead_after(&self) -> Millis {
        Millis::try_from(self.policy.heartbeat.dead_after.as_millis()).expect("dead_after fits")
    }

    fn add_host(&mut self, line: &str) {
        let mut words = line.split_whitespace();
        let name = words.next().expect("a host name").to_owned();
        let role = role_word(words.next().unwrap_or_else(|| panic!("{line}: no role")));
        let mut host = HostRecord::new(name.clone(), Vec::new());
        let mut assignment = Assignment::active(role.clone(), 0);
        let mut report = Report {
            role: role.clone(),
            ..Report::default()
        };
        let (mut quiet, mut streak, mut never) = (0, 10, false);
        for flag in words {
            let (key, value) = flag.split_once(['=', '>', '@']).unwrap_or((flag, ""));
            match key {
                "static" => host.is_static = true,
                "pinned" => host.pinned = true,
                "cordoned" => host.cordoned = true,
                "dead" => host.dead = true,
                "never" => never = true,
                "arriving" => assignment.phase = Phase::Arriving,
                "roles" => host.eligible = value.split(',').map(str::to_owned).collect(),
                "moved" => assignment.last_moved = Some(ms(number(flag, value))),
                "drain" => {
                    let (to, since) = value
                        .split_once('@')
                        .unwrap_or_else(|| panic!("{flag}: drain>ROLE@T"));
                    let started = ms(number(flag, since));
                    assignment.phase = Phase::Draining {
                        to: role_word(to),
                        started,
                        actor: "fixture".to_owned(),
                        reason: "written so".to_owned(),
                    };
                    assignment.since = started;
                }
                "q" => {
                    report
                        .metrics
                        .insert("queue_depth".to_owned(), number(flag, value) as f64);
                }
                "quiet" => quiet = number(flag, value),
                "fail" => report.probe_failures.push(value.replace('_', " ")),
                "hook" => report.hook_failure = Some(value.replace('_', " ")),
                "streak" => streak = number(flag, value),
                "reports" => report.role = role_word(value),
                _ => panic!("{line}: unknown flag {flag}"),
            }
        }
        if !host.is_static && !never {
            self.heartbeats(&name, report, self.now - ms(quiet), streak);
        }
        self.farm.hosts.insert(name.clone(), host);
        self.farm.assignments.insert(name, assignment);
    }

    /// Records heartbeats ending at `last` so that the host's good streak is
    /// exactly `streak` (or 0 when `report` fails): one failing heartbeat,
    /// then good ones a second apart, `report` last.
    fn heartbeats(&mut self, host: &str, report: Report, last: Millis, streak: i64) {
        let dead_after = self.dead_after();
        let failing = Report {
            probe_failures: vec!["earlier".to_owned()],
            ..report.clone()
        };
        let good = Report {
            probe_failures: Vec::new(),
            hook_failure: None,
            ..report.clone()
        };
        let first = last - ms(streak.max(1));
        self.observed.record(host, failing, first, dead_after);
        for i in 1..streak {
            self.observed
                .record(host, good.clone(), first + ms(i), dead_after);
        }
        self.observed.record(host, report, last, dead_after);
    }

    /// Moves the clock on.
    pub(crate) fn advance(&mut self, secs: i64) {
        self.now += ms(secs);
    }

    /// A heartbeat from `host` now, reporting the role the farm gives it.
    pub(crate) fn beat(&mut self, host: &str, queue: Option<f64>, failure: Option<&str>) {
        let role = self.farm.assignments.get(host).and_then(|a| a.role.clone());
        let mut report = Report {
            role,
            probe_failures: failure.into_iter().map(str::to_owned).collect(),
            ..Report::default()
        };
        if let Some(q) = queue {
            report.metrics.insert("queue_depth".to_owned(), q);
        }
        let dead_after = self.dead_after();
        self.observed.record(host, report, self.now, dead_after);
    }

    /// A good heartbeat, queue empty, from every host with an agent except
    /// those in `silent`.
    pub(crate) fn beat_all_but(&mut self, silent: &[&str]) {
        let agents: Vec<String> = self
            .farm
            .hosts
            .values()
            .filter(|h| !h.is_static && !silent.contains(&h.name.as_str()))
            .map(|h| h.name.clone())
            .collect();
        for host in agents {
            self.beat(&host, Some(0.0), None);
        }
    }

    /// The steps planned now.
    pub(crate) fn plan(&self) -> Vec<Step> {
        plan(&self.policy, &self.farm, &self.observed, &self.wanted, self.now)
    }

    /// Plans, applies every step, checks that planning again at the same
    /// instant yields nothing, and returns the steps as text.
    #[track_caller]
    pub(crate) fn tick(&mut self) -> String {
        let steps = self.plan();
        for step in &steps {
            apply(&mut self.farm, step, self.now);
        }
        let again = self.plan();
        assert!(
            again.is_empty(),
            "planning again at the same instant is not idempotent.\nfirst:\n{}\nthen:\n{}",
            render(&steps),
            render(&again)
        );
        render(&steps)
    }

    /// Who is published, one role a line: `web: smurf3 smurf4`.
    pub(crate) fn members(&self) -> String {
        membership(&self.policy, &self.farm, &self.observed)
            .iter()
            .map(|(role, hosts)| format!("{role}: {}", hosts.join(" ")))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn role_word(word: &str) -> Option<String> {
    (word != "-").then(|| word.to_owned())
}

fn number(flag: &str, text: &str) -> i64 {
    text.parse()
        .unwrap_or_else(|_| panic!("{flag}: {text:?} is not a number"))
}

/// Steps as text, one a line.
pub(crate) fn render(steps: &[Step]) -> String {
    steps.iter().map(render_step).collect::<Vec<_>>().join("\n")
}

fn render_step(step: &Step) -> String {
    let role = |r: &Option<String>| r.clone().unwrap_or_else(|| "-".to_owned());
    match step {
        Step::MarkDead { host, reason } => format!("dead {host} [{reason}]"),
        Step::Revive { host } => format!("revive {host}"),
        Step::EnterPanic { reason } => format!("panic [{reason}]"),
        Step::LeavePanic => "calm".to_owned(),
        Step::Arrive { host, role, .. } => format!("arrive {host} -> {role}"),
        Step::Assign {
            host,
            role,
            actor,
            reason,
        } => format!("assign {host} -> {role} [{actor}: {reason}]"),
        Step::StartDrain {
            host,
            from,
            to,
            actor,
            reason,
        } => {
            format!("drain {host} {from} -> {} [{actor}: {reason}]", role(to))
        }
        Step::FinishDrain {
            host,
            from,
            to,
            reason,
        } => format!("finish {host} {from} -> {} [{reason}]", role(to)),
    }
}

/// Trims each line of an expectation and drops blank ones.
pub(crate) fn trim(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Plans once on the world `farm` describes at `now_s` and compares the
/// steps with `expect` (planning again after applying them must yield
/// nothing).
#[track_caller]
pub(crate) fn check(policy_yaml: &str, farm: &str, now_s: i64, expect: &str) {
    let mut world = World::new(policy_yaml, farm, now_s);
    let got = world.tick();
    assert_eq!(got, trim(expect), "\nfarm:\n{}\n", trim(farm));
}
