//! The reconciler: a pure function from (policy, farm, observations, wanted
//! counts, now) to the steps that bring the farm where the rules say.
//!
//! It does no I/O and is not told why it runs. The executor applies the
//! steps with [`apply`], records their events and republishes the zone;
//! planning again right after yields nothing (tested).
//!
//! The rules, in the order they are decided:
//! 1. **Fail static**: when more than the panic threshold of a pool (or of
//!    all agents) went silent at once, nothing more is declared dead and
//!    nothing moves until the silent hosts are heard from again. Silences
//!    are judged together before any death is published: when a host
//!    crosses `dead_after`, the hosts that have missed a heartbeat and
//!    fell quiet within the same detection window (overdue by more than
//!    `dead_after` less one interval), and those already dead of a silence
//!    that began within `dead_after` of it, count with it. So hosts killed
//!    together are one event even though their staggered heartbeats make
//!    them cross `dead_after` on different ticks, and none of them leaves
//!    DNS before the panic holds. Only hosts heard from count: a host whose
//!    agent never reported is not protected (nor published).
//! 2. **Liveness**: a host silent for `dead_after`, or failing its probes,
//!    is dead; a dead host revives after `revive_after` good heartbeats.
//! 3. **Arrival**: a host given a role is published in it only once its
//!    agent reports holding it (its role-change hook ran); static hosts
//!    hold their role from the start.
//! 4. **Drains finish** once the records' TTL has passed and the role's
//!    work is done (`queue_depth` 0) or the drain timed out; only then does
//!    the host change role (drain before move).
//! 5. **Counts**, on the farm as rules 1–4 leave it: a role below its
//!    wanted count (its live members, published or arriving, plus live
//!    hosts draining towards it) takes hosts that are eligible and carry
//!    the role's `labels` — unassigned ones first, then spares (hosts in a
//!    role that publishes nothing or that the policy dropped), then from
//!    roles whose *published* strength is above their own wanted count
//!    (largest surplus first), the least loaded, by name — within the
//!    per-tick (per instant: moves already made at `now` count) and
//!    per-role caps, never static, pinned, cordoned, dead, arriving or
//!    cooling-down hosts. A host on its way into a role is owed to it but
//!    does not serve yet: it is never a reason to take one that does, so
//!    no role drops below its wanted count (or its `min`) published.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

/// Host names, hashed (foldhash): the reconciler looks every host up.
type NameSet<'a> = HashSet<&'a str, foldhash::fast::RandomState>;

use crate::farm::{Assignment, Event, Farm, HostRecord, Millis, Phase, millis};
use crate::observed::{Observation, Observed};
use crate::policy::{DrainUntil, Policy, Role};
use crate::zone_builder::Membership;

/// How many hosts each role should have now, and why. Schedules and load
/// rules only change this input (see [`crate::wanted`]).
pub use crate::wanted::Wanted;

/// The actor recorded for the failure detector's decisions.
pub const FAILURE_DETECTOR: &str = "failure-detector";
/// The actor recorded for the reconciler's own decisions.
pub const RECONCILER: &str = "reconciler";

/// One change to the farm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The host stops counting as alive and leaves DNS.
    MarkDead {
        /// Host name.
        host: String,
        /// Why (silence, failing probe).
        reason: String,
    },
    /// The host earned its way back.
    Revive {
        /// Host name.
        host: String,
    },
    /// Too many hosts went silent at once: suspect ourselves, freeze.
    EnterPanic {
        /// What was seen.
        reason: String,
    },
    /// Heartbeats are back: normal rules resume.
    LeavePanic,
    /// The host's agent reports holding the role it was given: it may be
    /// published.
    Arrive {
        /// Host name.
        host: String,
        /// The role it now holds.
        role: String,
        /// Why now: its agent's report, and for a sending role the time
        /// the SPF has listed it.
        reason: String,
    },
    /// An unassigned host takes a role (nothing to drain).
    Assign {
        /// Host name.
        host: String,
        /// The role it takes.
        role: String,
        /// Who decided.
        actor: String,
        /// Why.
        reason: String,
    },
    /// The host leaves DNS for `from` and starts draining towards `to`.
    StartDrain {
        /// Host name.
        host: String,
        /// The role it leaves.
        from: String,
        /// The role it will take.
        to: Option<String>,
        /// Who decided.
        actor: String,
        /// Why.
        reason: String,
    },
    /// The drain is over: the host changes role.
    FinishDrain {
        /// Host name.
        host: String,
        /// The role it left.
        from: String,
        /// The role it takes.
        to: Option<String>,
        /// What ended the drain.
        reason: String,
    },
}

/// Each role's `min`: what is wanted when no schedule or rule says more.
pub fn wanted_from_policy(policy: &Policy) -> Wanted {
    policy
        .roles
        .iter()
        .map(|(name, role)| (name.clone(), role.min))
        .collect()
}

/// How a host looks to the failure detector at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Health {
    Fresh,
    Silent,
    Failing(String),
}

fn health(obs: Option<&Observation>, now: Millis, dead_after: Millis) -> Health {
    match obs {
        None => Health::Silent,
        Some(o) if now - o.last_heartbeat > dead_after => Health::Silent,
        Some(o) if !o.healthy() => {
            let mut reasons = o.report.probe_failures.clone();
            reasons.extend(
                o.report
                    .hook_failure
                    .iter()
                    .map(|h| format!("role change failed: {h}")),
            );
            Health::Failing(reasons.join("; "))
        }
        Some(_) => Health::Fresh,
    }
}

/// One host as the counts see it, after the liveness and drain rules.
struct Row<'f> {
    host: &'f HostRecord,
    /// Borrowed from the farm, or the assignment a drain that finished in
    /// this plan leaves (so planning needs no copy of the farm).
    assignment: Cow<'f, Assignment>,
    alive: bool,
    /// Its observation, looked up once per plan.
    obs: Option<&'f Observation>,
}

/// How each host looks to the failure detector at `now`.
struct Look<'o> {
    obs: Option<&'o Observation>,
    health: Health,
    /// Heard from: its agent reported since the controller started, or it
    /// held a role before (published once). Fail-static protects only
    /// these: a host never heard from was never published.
    known: bool,
    /// Quiet for longer than a missed heartbeat allows, not yet `dead_after`.
    overdue: bool,
}

/// Plans the steps for `now`.
pub fn plan(policy: &Policy, farm: &Farm, observed: &Observed, wanted: &Wanted, now: Millis) -> Vec<Step> {
    let dead_after = millis(policy.heartbeat.dead_after);
    let interval = millis(policy.heartbeat.interval);
    // A host killed together with one that crosses `dead_after` now has
    // been quiet at least `dead_after` less one interval (heartbeats are
    // staggered over an interval); and a host quiet for less than an
    // interval has missed nothing.
    let overdue_after = (dead_after - interval).max(interval);
    let mut steps = Vec::new();

    // One look at each host's observation, in host order: every rule below
    // reads it.
    let mut looks: Vec<Look<'_>> = farm
        .hosts
        .values()
        .map(|h| {
            let obs = observed.get(&h.name);
            let health = if h.is_static {
                Health::Fresh
            } else {
                health(obs, now, dead_after)
            };
            let overdue =
                health != Health::Silent && obs.is_some_and(|o| now - o.last_heartbeat > overdue_after);
            Look {
                obs,
                health,
                known: obs.is_some_and(|o| o.heard),
                overdue,
            }
        })
        .collect();
    for (i, _, a) in farm.with_assignments_indexed() {
        if a.role.is_some() && a.phase != Phase::Arriving {
            looks[i].known = true;
        }
    }
    let hosts = || farm.hosts.values().zip(&looks);

    // 1. Fail static. Heartbeats are staggered over an interval and ticks
    // are shorter, so hosts that fall silent together cross `dead_after` on
    // different ticks. They are judged together: hosts overdue now, and
    // hosts already dead of a silence that began within `dead_after` of a
    // host falling silent now, belong to the same event and count with it.
    let agent = |h: &HostRecord, look: &Look<'_>| !h.is_static && !h.cordoned && look.known;
    let falling: Vec<(&HostRecord, Option<Millis>)> = hosts()
        .filter(|(h, look)| !h.dead && agent(h, look) && look.health == Health::Silent)
        .map(|(h, look)| (h, look.obs.map(|o| o.last_heartbeat)))
        .collect();
    // Only a host falling silent now can start or keep a panic: planning
    // again after its death at the same instant must not (idempotence), and
    // once every silent host is heard from again the panic is over.
    let alarm = if falling.is_empty() {
        None
    } else {
        let overdue: Vec<(&HostRecord, Option<Millis>)> = hosts()
            .filter(|(h, look)| !h.dead && agent(h, look) && look.overdue)
            .map(|(h, look)| (h, look.obs.map(|o| o.last_heartbeat)))
            .collect();
        let span = falling
            .iter()
            .chain(&overdue)
            .filter_map(|&(_, heard)| heard)
            .fold(None, |acc: Option<(Millis, Millis)>, t| {
                Some(acc.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))))
            });
        let recently_dead: NameSet<'_> = match span {
            None => NameSet::default(),
            Some((earliest, latest)) => hosts()
                .filter(|(h, look)| h.dead && agent(h, look) && look.health == Health::Silent)
                .filter(|(_, look)| {
                    look.obs.is_some_and(|o| {
                        o.last_heartbeat >= earliest - dead_after && o.last_heartbeat <= latest + dead_after
                    })
                })
                .map(|(h, _)| h.name.as_str())
                .collect(),
        };
        let silent: NameSet<'_> = falling
            .iter()
            .chain(&overdue)
            .map(|(h, _)| h.name.as_str())
            .chain(recently_dead.iter().copied())
            .collect();
        let known: Vec<bool> = looks.iter().map(|l| l.known).collect();
        panic_reason(policy, farm, &known, &silent, &recently_dead)
    };
    match (&alarm, farm.panic) {
        (Some(reason), false) => {
            steps.push(Step::EnterPanic {
                reason: reason.clone(),
            });
            return steps;
        }
        (Some(_), true) => return steps,
        (None, true) => steps.push(Step::LeavePanic),
        (None, false) => {}
    }

    // 2. Liveness, one flag per host in host order.
    let mut alive = Vec::with_capacity(looks.len());
    for (host, Look { obs, health, .. }) in hosts() {
        let lives = match (host.dead, health) {
            (false, Health::Silent) => {
                steps.push(Step::MarkDead {
                    host: host.name.clone(),
                    reason: match obs {
                        None => "never reported".to_owned(),
                        Some(o) if !o.heard => format!(
                            "never reported in {:.1}s",
                            (now - o.last_heartbeat) as f64 / 1000.0
                        ),
                        Some(o) => format!(
                            "no heartbeat for {:.1}s",
                            (now - o.last_heartbeat) as f64 / 1000.0
                        ),
                    },
                });
                false
            }
            (false, Health::Failing(reason)) => {
                steps.push(Step::MarkDead {
                    host: host.name.clone(),
                    reason: reason.clone(),
                });
                false
            }
            (false, Health::Fresh) => true,
            (true, Health::Fresh) => {
                let revives =
                    host.is_static || obs.map_or(0, |o| o.good_streak) >= policy.heartbeat.revive_after;
                if revives && !host.is_static {
                    steps.push(Step::Revive {
                        host: host.name.clone(),
                    });
                }
                revives
            }
            (true, _) => false,
        };
        alive.push(lives);
    }

    // 3. Arrivals and 4. drains that are over. The counts below see the
    // farm as these steps leave it: a finished drain is owed to its new
    // role and no longer counts against its old role's drains, and an
    // arrival serves, so planning again after applying finds nothing more
    // to do.
    let mut rows: Vec<Row<'_>> = farm
        .with_assignments_indexed()
        .map(|(i, host, assignment)| Row {
            host,
            assignment: Cow::Borrowed(assignment),
            alive: alive.get(i).copied().unwrap_or(false),
            obs: looks.get(i).and_then(|look| look.obs),
        })
        .collect();
    for row in &mut rows {
        let Row {
            host,
            assignment,
            alive,
            obs,
        } = row;
        let obs = *obs;
        if let (Some(from), Phase::Draining { to, started, .. }) = (&assignment.role, &assignment.phase)
            && let Some(reason) = drain_over(policy, from, *started, obs, *alive, now)
        {
            steps.push(Step::FinishDrain {
                host: host.name.clone(),
                from: from.clone(),
                to: to.clone(),
                reason,
            });
            *assignment = Cow::Owned(Assignment {
                last_moved: Some(now),
                ..Assignment::arriving(to.clone(), now)
            });
        }
        if let (Some(role), Phase::Arriving) = (&assignment.role, &assignment.phase)
            && (host.is_static || holds(obs, role))
            && let Some(reason) = arrival(policy, role, assignment.since, now, host.is_static)
        {
            steps.push(Step::Arrive {
                host: host.name.clone(),
                role: role.clone(),
                reason,
            });
            *assignment = Cow::Owned(Assignment {
                phase: Phase::Active,
                since: now,
                ..assignment.as_ref().clone()
            });
        }
    }

    // 5. Counts. Moves already made at this instant (by a plan for the
    // same `now`, applied) use up its budget, for the same reason.
    let budget = policy
        .limits
        .moves_per_tick
        .saturating_sub(moves_made_at(farm, now));
    let moves = fill_roles(policy, &rows, wanted, budget, now);
    // A host given a role its agent already holds has arrived at once
    // (unless the role sends mail: then the SPF must list it first).
    let arrivals: Vec<Step> = moves
        .iter()
        .filter_map(|step| match step {
            Step::Assign { host, role, .. }
            | Step::FinishDrain {
                host, to: Some(role), ..
            } if holds(observed.get(host), role) => Some(Step::Arrive {
                host: host.clone(),
                role: role.clone(),
                reason: arrival(policy, role, now, now, false)?,
            }),
            _ => None,
        })
        .collect();
    steps.extend(moves);
    steps.extend(arrivals);
    steps
}

/// Why a host given `role` at `since`, whose agent holds it, may be
/// published at `now`; `None` while it must wait. A host joining a role
/// the SPF lists waits until the SPF has listed it for the record's TTL,
/// so no receiver holds a cached SPF without it when its first mail
/// arrives: the join waits like a drain does.
fn arrival(policy: &Policy, role: &str, since: Millis, now: Millis, is_static: bool) -> Option<String> {
    let holds = if is_static {
        "static, it holds the role"
    } else {
        "its agent reports holding the role"
    };
    match &policy.spf {
        Some(spf) if spf.roles.iter().any(|r| r == role) => {
            let ttl = spf.ttl;
            (now - since >= i64::from(ttl) * 1000)
                .then(|| format!("{holds}, and the SPF has listed it for its TTL ({ttl} s)"))
        }
        _ => Some(holds.to_owned()),
    }
}

/// True when the host's agent reported holding `role`.
fn holds(obs: Option<&Observation>, role: &str) -> bool {
    obs.and_then(Observation::reported_role) == Some(Some(role))
}

/// True unless the host's agent reported holding another role than
/// `role`: an agent not heard from since the controller started is taken
/// to hold what it held when it was published.
fn not_contradicted(obs: Option<&Observation>, role: &str) -> bool {
    obs.and_then(Observation::reported_role)
        .is_none_or(|reported| reported == Some(role))
}

/// Hosts that started a drain or changed role at `now`.
fn moves_made_at(farm: &Farm, now: Millis) -> u32 {
    let made = farm.assignments.values().filter(|a| match &a.phase {
        Phase::Draining { started, .. } => *started == now,
        Phase::Active | Phase::Arriving => a.last_moved == Some(now),
    });
    u32::try_from(made.count()).unwrap_or(u32::MAX)
}

/// Why fail-static should be in force, if it should.
/// `known` has a flag per host in host order: heard from (see [`Look`]).
fn panic_reason(
    policy: &Policy,
    farm: &Farm,
    known: &[bool],
    silent: &NameSet<'_>,
    recently_dead: &NameSet<'_>,
) -> Option<String> {
    if silent.len() < 2 {
        return None;
    }
    let threshold = u64::from(policy.heartbeat.panic_threshold_percent);
    let over = |count: usize, total: usize| total > 0 && (count as u64) * 100 > threshold * total as u64;
    let counted = |i: usize, h: &HostRecord| {
        known.get(i).copied().unwrap_or(false)
            && !h.is_static
            && !h.cordoned
            && (!h.dead || recently_dead.contains(h.name.as_str()))
    };
    let agents: Vec<&HostRecord> = farm
        .hosts
        .values()
        .enumerate()
        .filter(|&(i, h)| counted(i, h))
        .map(|(_, h)| h)
        .collect();
    if over(silent.len(), agents.len()) {
        return Some(format!(
            "{} of {} agents went silent at once",
            silent.len(),
            agents.len()
        ));
    }
    // (pool size, silent in the pool) per role, in one pass.
    let mut pools: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, h, a) in farm.with_assignments_indexed() {
        if !counted(i, h) {
            continue;
        }
        if let Some(role) = a.role.as_deref() {
            let pool = pools.entry(role).or_default();
            pool.0 += 1;
            pool.1 += usize::from(silent.contains(h.name.as_str()));
        }
    }
    for role in policy.roles.keys() {
        let (size, quiet) = pools.get(role.as_str()).copied().unwrap_or_default();
        if quiet >= 2 && over(quiet, size) {
            return Some(format!("{quiet} of {size} hosts in {role} went silent at once"));
        }
    }
    None
}

/// Why a host leaves a role the policy no longer has without waiting.
fn dropped_role(role: &str) -> String {
    format!("role {role} is no longer in the policy")
}

/// The reason a drain from `from` started at `started` is over, if it is.
fn drain_over(
    policy: &Policy,
    from: &str,
    started: Millis,
    obs: Option<&Observation>,
    alive: bool,
    now: Millis,
) -> Option<String> {
    let elapsed = now - started;
    let Some(role) = policy.roles.get(from) else {
        return Some(dropped_role(from));
    };
    if elapsed < records_ttl(policy, role) {
        return None;
    }
    let timed_out = elapsed >= millis(role.drain.timeout);
    match role.drain.until {
        DrainUntil::Ttl => Some("records' TTL passed".to_owned()),
        DrainUntil::QueueEmpty if obs.and_then(Observation::queue_depth) == Some(0.0) && alive => {
            Some("queue empty".to_owned())
        }
        DrainUntil::QueueEmpty if !alive => Some("host is dead; nothing left to wait for".to_owned()),
        DrainUntil::QueueEmpty | DrainUntil::Timeout if timed_out => Some(format!(
            "drain timeout ({}s) reached",
            role.drain.timeout.as_secs()
        )),
        DrainUntil::QueueEmpty | DrainUntil::Timeout => None,
    }
}

/// How long a host that left `role`'s records may still be sent work: the
/// longest TTL among them. No drain ends sooner.
pub(crate) fn records_ttl(policy: &Policy, role: &Role) -> Millis {
    let ttl = role.records.iter().map(|r| r.ttl).max().unwrap_or(policy.ttl);
    i64::from(ttl) * 1000
}

/// How long after a move a host may not move again. Never less than a
/// millisecond, even with no cooldown: what was chosen at one instant
/// stays chosen when planning again at that instant.
pub(crate) fn move_cooldown(policy: &Policy) -> Millis {
    millis(policy.limits.host_cooldown).max(1)
}

/// Roles by number for one plan: the policy's, in its order, then any role
/// a host still holds that the policy no longer declares (its hosts may be
/// taken by the roles that are).
struct RoleIds<'a> {
    names: Vec<&'a str>,
}

impl<'a> RoleIds<'a> {
    fn id(&mut self, name: &'a str) -> usize {
        match self.names.iter().position(|n| *n == name) {
            Some(id) => id,
            None => {
                self.names.push(name);
                self.names.len() - 1
            }
        }
    }
}

/// A host that may move this plan.
struct Candidate<'r> {
    row: &'r Row<'r>,
    /// Its role's number, if it holds one.
    role: Option<usize>,
    /// See [`rank`].
    rank: u8,
    load: f64,
}

/// The hosts that may move in one plan, and which of them are taken.
///
/// The best host for a role is the first by (unassigned, then spares, then
/// others; the largest surplus of the role it leaves; the least loaded;
/// name). Within the hosts of one role all but load and name are the same,
/// so each role's hosts are kept sorted by load, then name, and a cursor
/// per (role held, role wanted) skips those already taken or not fit for
/// the wanted role: both last for the whole plan, so a plan looks at each
/// host once per wanted role rather than once per move.
struct Movable<'r> {
    list: Vec<Candidate<'r>>,
    taken: Vec<bool>,
    /// Indices into `list` by the role held (0: none, 1 + the role's
    /// number), each sorted by load, then name.
    by_role: Vec<Vec<usize>>,
    /// Per (role held, role wanted): how far into `by_role` every host
    /// is taken or unfit.
    cursors: Vec<usize>,
    /// How many roles can be wanted (the declared ones).
    wanted_roles: usize,
}

impl<'r> Movable<'r> {
    /// `list` in name order; `held_roles` roles may be held, the first
    /// `wanted_roles` of them may be wanted.
    fn new(list: Vec<Candidate<'r>>, held_roles: usize, wanted_roles: usize) -> Self {
        let mut by_role = vec![Vec::new(); held_roles + 1];
        for (i, c) in list.iter().enumerate() {
            by_role[c.role.map_or(0, |r| r + 1)].push(i);
        }
        for group in &mut by_role {
            // Stable: equal loads keep name order.
            group.sort_by(|&a, &b| list[a].load.total_cmp(&list[b].load));
        }
        Self {
            taken: vec![false; list.len()],
            cursors: vec![0; by_role.len() * wanted_roles],
            list,
            by_role,
            wanted_roles,
        }
    }

    /// Takes the best host for `role` among those that `fit` it and hold
    /// no role or one whose `surplus` is `Some`.
    fn choose(
        &mut self,
        role: usize,
        fits: impl Fn(&Candidate<'r>) -> bool,
        surplus: impl Fn(usize) -> Option<i64>,
    ) -> Option<&Candidate<'r>> {
        let mut best: Option<(usize, i64)> = None;
        for (group, members) in self.by_role.iter().enumerate() {
            let held = group.checked_sub(1);
            if held == Some(role) {
                continue;
            }
            let Some(surplus) = held.map_or(Some(0), &surplus) else {
                continue;
            };
            let cursor = &mut self.cursors[group * self.wanted_roles + role];
            while let Some(&i) = members.get(*cursor) {
                if !self.taken[i] && fits(&self.list[i]) {
                    break;
                }
                *cursor += 1;
            }
            let Some(&i) = members.get(*cursor) else { continue };
            let better = best.is_none_or(|(b, best_surplus)| {
                let (x, y) = (&self.list[i], &self.list[b]);
                x.rank
                    .cmp(&y.rank)
                    .then(best_surplus.cmp(&surplus))
                    .then(x.load.total_cmp(&y.load))
                    .then(i.cmp(&b))
                    .is_lt()
            });
            if better {
                best = Some((i, surplus));
            }
        }
        let (i, _) = best?;
        self.taken[i] = true;
        Some(&self.list[i])
    }
}

/// Moves hosts into roles below their wanted count.
fn fill_roles<'r>(
    policy: &Policy,
    rows: &'r [Row<'r>],
    wanted: &Wanted,
    mut budget: u32,
    now: Millis,
) -> Vec<Step> {
    let mut roles = RoleIds {
        names: policy.roles.keys().map(String::as_str).collect(),
    };
    // Each host's role and the role it drains towards, by number.
    let held: Vec<(Option<usize>, Option<usize>)> = rows
        .iter()
        .map(|row| {
            let to = match &row.assignment.phase {
                Phase::Draining { to, .. } => to.as_deref(),
                Phase::Active | Phase::Arriving => None,
            };
            (
                row.assignment.role.as_deref().map(|r| roles.id(r)),
                to.map(|r| roles.id(r)),
            )
        })
        .collect();
    let declared = policy.roles.len();
    let names = roles.names;
    let mins: Vec<u32> = names
        .iter()
        .map(|name| policy.roles.get(*name).map_or(0, |r| r.min))
        .collect();
    let wants: Vec<u32> = names
        .iter()
        .zip(&mins)
        .map(|(name, &min)| wanted.get(name).copied().unwrap_or(0).max(min))
        .collect();
    let ranks: Vec<u8> = names.iter().map(|name| rank(policy, Some(name))).collect();

    // Each role's supply: its live members, serving or arriving, plus live
    // hosts draining towards it (a dead one will not serve it: the role
    // needs another). And its published strength: the members that serve
    // now. A role takes hosts while its supply is short of the target; it
    // gives one only while its strength is above the target, and only a
    // host that serves: a host on its way in is owed to the role, not a
    // reason to take one that serves (rule 2: never below min published).
    let serves: Vec<bool> = rows.iter().map(|row| serving(policy, row)).collect();
    let mut supply = vec![0u32; names.len()];
    let mut strength = vec![0u32; names.len()];
    let mut outgoing = vec![0u32; names.len()];
    for ((row, &(role, to)), &serves) in rows.iter().zip(&held).zip(&serves) {
        match row.assignment.phase {
            Phase::Active | Phase::Arriving => {
                if let Some(role) = role
                    && row.alive
                    && !row.host.cordoned
                {
                    supply[role] += 1;
                    strength[role] += u32::from(serves);
                }
            }
            Phase::Draining { .. } => {
                if let Some(to) = to
                    && row.alive
                {
                    supply[to] += 1;
                }
                if let Some(from) = role {
                    outgoing[from] += 1;
                }
            }
        }
    }

    let cooldown = move_cooldown(policy);
    let mut movable: Option<Movable<'r>> = None;
    let mut steps = Vec::new();
    // Every role to its min first, taking from roles above their own min;
    // then to its wanted count, taking only from roles above theirs; then to
    // its min again, since filling wanted counts with unassigned hosts can
    // leave a role above its min that the first pass could not take from.
    // So a raised wanted count never keeps another role below its min, and
    // planning again finds nothing new.
    let passes: [(&[u32], &str); 3] = [(&mins, "min"), (&wants, WANTED), (&mins, "min")];
    for (target, what) in passes {
        for (role, name) in policy.roles.iter().enumerate().map(|(id, (name, _))| (id, name)) {
            while supply[role] < target[role] && budget > 0 {
                // The hosts that could move at all, in name order, with
                // their load: once per plan, not once per move.
                let movable = movable.get_or_insert_with(|| {
                    let list = rows
                        .iter()
                        .zip(&held)
                        .zip(&serves)
                        .filter(|((row, _), _)| {
                            let h = row.host;
                            row.alive && !h.is_static && !h.pinned && !h.cordoned
                        })
                        // Unassigned, or serving its role: not arriving,
                        // not draining.
                        .filter(|((row, _), serves)| match row.assignment.role {
                            None => row.assignment.phase == Phase::Active,
                            Some(_) => **serves,
                        })
                        .filter(|((row, _), _)| row.assignment.last_moved.is_none_or(|t| now - t >= cooldown))
                        .map(|((row, &(role, _)), _)| Candidate {
                            row,
                            role,
                            rank: role.map_or(0, |r| ranks[r]),
                            load: row.obs.and_then(Observation::queue_depth).unwrap_or(0.0),
                        })
                        .collect();
                    Movable::new(list, names.len(), declared)
                });
                // A role may give a host now if it is above its target and
                // not already draining as many as it may at once; the one
                // with the largest surplus over its wanted count gives first.
                let surplus = |from: usize| {
                    (strength[from] > target[from] && outgoing[from] < policy.limits.moves_per_role)
                        .then(|| i64::from(strength[from]) - i64::from(wants[from]))
                };
                // Eligible for the role and carrying its labels.
                let needs = policy.roles.get(name).map(|r| &r.labels);
                let fits = |c: &Candidate<'_>| {
                    let h = c.row.host;
                    (h.eligible.is_empty() || h.eligible.iter().any(|e| e == name))
                        && needs.is_none_or(|n| n.iter().all(|(k, v)| h.labels.get(k) == Some(v)))
                };
                let Some(candidate) = movable.choose(role, fits, surplus) else {
                    break;
                };
                budget -= 1;
                supply[role] += 1;
                let (actor, reason) = match wanted.cause(name) {
                    Some(cause) if what == WANTED && target[role] > mins[role] => (
                        cause.actor.clone(),
                        format!(
                            "{name} below its wanted count of {}: {}",
                            target[role], cause.reason
                        ),
                    ),
                    _ => (
                        RECONCILER.to_owned(),
                        format!("{name} below its {what} of {}", target[role]),
                    ),
                };
                let host = candidate.row.host.name.clone();
                match candidate.role {
                    None => steps.push(Step::Assign {
                        host,
                        role: name.clone(),
                        actor,
                        reason,
                    }),
                    Some(from) => {
                        supply[from] = supply[from].saturating_sub(1);
                        strength[from] = strength[from].saturating_sub(1);
                        outgoing[from] += 1;
                        steps.push(Step::StartDrain {
                            host: host.clone(),
                            from: names[from].to_owned(),
                            to: Some(name.clone()),
                            actor,
                            reason,
                        });
                        // A role the policy dropped publishes nothing:
                        // there is nothing to drain, and the next plan
                        // would finish it at once.
                        if from >= declared {
                            steps.push(Step::FinishDrain {
                                host,
                                from: names[from].to_owned(),
                                to: Some(name.clone()),
                                reason: dropped_role(names[from]),
                            });
                        }
                    }
                }
            }
        }
    }
    steps
}

/// Which hosts a growing role takes first: unassigned ones (0), then
/// spares — hosts in a role that publishes nothing, or in one the policy
/// no longer has (1) — then hosts serving elsewhere (2).
fn rank(policy: &Policy, role: Option<&str>) -> u8 {
    let Some(role) = role else { return 0 };
    match policy.roles.get(role) {
        None => 1,
        Some(r) if r.records.is_empty() && r.fallback.is_empty() => 1,
        Some(_) => 2,
    }
}

/// True when the row's host serves its role now: alive, uncordoned and
/// published in it — or, in a role the policy dropped (which publishes
/// nothing), holding it at all, so that role can give it away.
fn serving(policy: &Policy, row: &Row<'_>) -> bool {
    let Some(role) = row.assignment.role.as_deref() else {
        return false;
    };
    if !row.alive {
        return false;
    }
    if policy.roles.contains_key(role) {
        in_pool(policy, row.host, &row.assignment, row.obs).is_some()
    } else {
        !row.host.cordoned && !row.assignment.is_draining()
    }
}

/// What the second pass of [`fill_roles`] fills to.
const WANTED: &str = "wanted count";

/// Applies one step to `farm` at `now` and returns its event (serial unset).
pub fn apply(farm: &mut Farm, step: &Step, now: Millis) -> Event {
    let role_of = |farm: &Farm, host: &str| farm.assignments.get(host).and_then(|a| a.role.clone());
    let event = |kind: &str,
                 host: Option<&str>,
                 from: Option<String>,
                 to: Option<String>,
                 actor: &str,
                 reason: &str| Event {
        at: now,
        kind: kind.to_owned(),
        host: host.map(str::to_owned),
        from_role: from,
        to_role: to,
        actor: actor.to_owned(),
        reason: reason.to_owned(),
        serial: None,
    };
    match step {
        Step::MarkDead { host, reason } => {
            if let Some(h) = farm.hosts.get_mut(host) {
                h.dead = true;
            }
            let role = role_of(farm, host);
            event("death", Some(host), role.clone(), role, FAILURE_DETECTOR, reason)
        }
        Step::Revive { host } => {
            if let Some(h) = farm.hosts.get_mut(host) {
                h.dead = false;
            }
            let role = role_of(farm, host);
            event(
                "revival",
                Some(host),
                role.clone(),
                role,
                FAILURE_DETECTOR,
                "enough good heartbeats in a row",
            )
        }
        Step::EnterPanic { reason } => {
            farm.panic = true;
            event(
                "panic",
                None,
                None,
                None,
                FAILURE_DETECTOR,
                &format!("{reason}; keeping the last good set published"),
            )
        }
        Step::LeavePanic => {
            farm.panic = false;
            event(
                "panic-end",
                None,
                None,
                None,
                FAILURE_DETECTOR,
                "heartbeats are back",
            )
        }
        Step::Assign {
            host,
            role,
            actor,
            reason,
        } => {
            farm.assignments.insert(
                host.clone(),
                Assignment {
                    last_moved: Some(now),
                    ..Assignment::arriving(Some(role.clone()), now)
                },
            );
            event("assign", Some(host), None, Some(role.clone()), actor, reason)
        }
        Step::StartDrain {
            host,
            from,
            to,
            actor,
            reason,
        } => {
            if let Some(a) = farm.assignments.get_mut(host) {
                a.phase = Phase::Draining {
                    to: to.clone(),
                    started: now,
                    actor: actor.clone(),
                    reason: reason.clone(),
                };
                a.since = now;
            }
            event(
                "drain-start",
                Some(host),
                Some(from.clone()),
                to.clone(),
                actor,
                reason,
            )
        }
        Step::FinishDrain {
            host,
            from,
            to,
            reason,
        } => {
            let actor = match farm.assignments.get(host).map(|a| &a.phase) {
                Some(Phase::Draining { actor, .. }) => actor.clone(),
                _ => RECONCILER.to_owned(),
            };
            farm.assignments.insert(
                host.clone(),
                Assignment {
                    last_moved: Some(now),
                    ..Assignment::arriving(to.clone(), now)
                },
            );
            event("move", Some(host), Some(from.clone()), to.clone(), &actor, reason)
        }
        Step::Arrive { host, role, reason } => {
            if let Some(a) = farm.assignments.get_mut(host) {
                a.phase = Phase::Active;
                a.since = now;
            }
            event(
                "arrive",
                Some(host),
                None,
                Some(role.clone()),
                FAILURE_DETECTOR,
                reason,
            )
        }
    }
}

/// Every (host, role) published, in host order: in its role's pool (see
/// [`in_pool`]) and static or alive.
fn published<'f>(
    policy: &'f Policy,
    farm: &'f Farm,
    observed: &'f Observed,
) -> impl Iterator<Item = (&'f String, &'f String)> {
    farm.with_assignments().filter_map(move |(host, a)| {
        let role = in_pool(policy, host, a, observed.get(&host.name))?;
        (host.is_static || !host.dead).then_some((&host.name, role))
    })
}

/// The one rule for who is in a pool, liveness aside (the planner judges
/// that for this tick, [`published`] from the farm): the role the host
/// holds when it is active in a declared role, not cordoned, and static or
/// with the role in place (an agent that now reports another role is
/// switching and stays out of DNS).
fn in_pool<'a>(
    policy: &Policy,
    host: &HostRecord,
    a: &'a Assignment,
    obs: Option<&Observation>,
) -> Option<&'a String> {
    let (Some(role), Phase::Active) = (&a.role, &a.phase) else {
        return None;
    };
    let in_place = host.is_static || not_contradicted(obs, role);
    (!host.cordoned && policy.roles.contains_key(role) && in_place).then_some(role)
}

/// True when [`membership`] would return `current`, without building it.
pub fn membership_is(policy: &Policy, farm: &Farm, observed: &Observed, current: &Membership) -> bool {
    // Each role of `current`, its members, and how many of them were met:
    // a handful of roles, so a list (this runs on every tick).
    let mut roles: Vec<(&str, &[String], usize)> = current
        .iter()
        .map(|(role, members)| (role.as_str(), members.as_slice(), 0))
        .collect();
    for (name, role) in published(policy, farm, observed) {
        let Some((_, members, met)) = roles.iter_mut().find(|(r, _, _)| *r == role.as_str()) else {
            return false;
        };
        if members.get(*met) != Some(name) {
            return false;
        }
        *met += 1;
    }
    roles
        .iter()
        .all(|(_, members, met)| !members.is_empty() && *met == members.len())
}

/// Who is published in each role (see [`published`] for the rule).
pub fn membership(policy: &Policy, farm: &Farm, observed: &Observed) -> Membership {
    let mut members = Membership::new();
    for (name, role) in published(policy, farm, observed) {
        match members.get_mut(role) {
            Some(list) => list.push(name.clone()),
            None => {
                members.insert(role.clone(), vec![name.clone()]);
            }
        }
    }
    members
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use proptest::prelude::*;

    use super::{Candidate, Movable, Row};
    use crate::farm::{Assignment, HostRecord};

    /// Roles that can be wanted; one more (number 3) is held but no
    /// longer declared.
    const WANTED_ROLES: usize = 3;
    const HELD_ROLES: usize = 4;

    fn host(i: usize) -> HostRecord {
        HostRecord::new(format!("h{i:03}"), Vec::new())
    }

    /// Host `i`: the role it holds, its load, and the wanted roles it fits
    /// (a bit each).
    type Spec = (Option<usize>, u8, u8);

    fn spec() -> impl Strategy<Value = Spec> {
        (proptest::option::of(0..HELD_ROLES), 0u8..3, 0u8..8)
    }

    /// One move: the wanted role and each held role's surplus (`None`: may
    /// not give a host now).
    fn request() -> impl Strategy<Value = (usize, Vec<Option<i64>>)> {
        (
            0..WANTED_ROLES,
            proptest::collection::vec(proptest::option::of(-2i64..3), HELD_ROLES),
        )
    }

    /// The rule `Movable::choose` implements, by looking at every host.
    fn by_looking_at_every_host(
        list: &[Candidate<'_>],
        taken: &[bool],
        fits: &dyn Fn(usize) -> bool,
        role: usize,
        surplus: &[Option<i64>],
    ) -> Option<usize> {
        list.iter()
            .enumerate()
            .filter(|(i, c)| !taken[*i] && c.role != Some(role) && fits(*i))
            .filter_map(|(i, c)| {
                let s = match c.role {
                    None => 0,
                    Some(from) => surplus[from]?,
                };
                Some((i, c, s))
            })
            .min_by(|x, y| {
                x.1.rank
                    .cmp(&y.1.rank)
                    .then(y.2.cmp(&x.2))
                    .then(x.1.load.total_cmp(&y.1.load))
            })
            .map(|(i, _, _)| i)
    }

    proptest! {
        #[test]
        fn choose_takes_the_host_a_full_scan_would(
            specs in proptest::collection::vec(spec(), 0..40),
            requests in proptest::collection::vec(request(), 1..30),
        ) {
            let hosts: Vec<HostRecord> = (0..specs.len()).map(host).collect();
            let rows: Vec<Row<'_>> = hosts
                .iter()
                .map(|h| Row { host: h, assignment: Cow::Owned(Assignment::active(None, 0)), alive: true, obs: None })
                .collect();
            let candidates = || -> Vec<Candidate<'_>> {
                rows.iter()
                    .zip(&specs)
                    .map(|(row, &(role, load, _))| Candidate {
                        row,
                        role,
                        rank: role.map_or(0, |r| if r == 1 { 1 } else { 2 }),
                        load: f64::from(load),
                    })
                    .collect()
            };
            let reference = candidates();
            let mut taken = vec![false; reference.len()];
            let fits_index = |i: usize, role: usize| specs[i].2 & (1 << role) != 0;
            let mut movable = Movable::new(candidates(), HELD_ROLES, WANTED_ROLES);
            for (role, surplus) in requests {
                let expected = by_looking_at_every_host(&reference, &taken, &|i| fits_index(i, role), role, &surplus);
                let fits = |c: &Candidate<'_>| {
                    let i = hosts.iter().position(|h| std::ptr::eq(h, c.row.host)).expect("a listed host");
                    fits_index(i, role)
                };
                let got = movable
                    .choose(role, fits, |from| surplus[from])
                    .map(|c| hosts.iter().position(|h| std::ptr::eq(h, c.row.host)).expect("a listed host"));
                prop_assert_eq!(got, expected);
                if let Some(i) = expected {
                    taken[i] = true;
                }
            }
        }
    }
}
