//! Property tests: random farms (5–30 hosts, 3–5 roles with mins and
//! fallbacks, random static, pinned, cordoned and eligibility flags, random
//! initial roles — held, or still arriving — and liveness) run through
//! random ticks (time moving 0.2 s to 2 min, each agent sending a good
//! heartbeat with a random queue depth, a failing one or nothing; now and
//! then every agent silent at once). Agents act as `muster agent` does:
//! each runs a role-change hook that takes 0–6 s and, on flaky hosts,
//! fails the first time. Before a tick, now and then, an operator moves
//! (with or without a drain, forced or not), drains, cordons, uncordons,
//! pins or unpins a host, sets, moves or removes an alias, adds or removes
//! a static record, a new agent enrols, or the controller restarts
//! (observations lost, every agent given `dead_after`). Each tick applies
//! every planned step and checks the rules:
//!
//! - **steps are allowed**: deaths only of silent or failing hosts, revivals
//!   only after `revive_after` good heartbeats, nothing at all in panic
//!   (but leaving it); `Assign` only for a host with no role; every host
//!   chosen is neither static, pinned, cordoned nor dead, is eligible and out
//!   of its cooldown; at most `moves_per_tick` moves a tick and at most
//!   `moves_per_role` hosts draining out of a role at once;
//! - **drain before move**: a host's role changes only by `Assign` (no role
//!   before) or `FinishDrain`; each `FinishDrain` follows this host's
//!   `StartDrain` by at least the TTL of the role it leaves, and then only
//!   once its queue is empty, it is dead or the drain timed out (per the
//!   role's `until`); no drain outlives both TTL and timeout;
//! - **pools**: `membership` lists each host at most once across roles,
//!   only active, uncordoned members of that role, never a dead host,
//!   outside panic only hosts whose agent is fresh and healthy, and never
//!   an agent's host in a role its agent has not reported holding (the
//!   last heartbeat it sent, whatever the controller remembers);
//! - **names**: a role with a fallback keeps its name in the zone, empty
//!   pool or not (no NXDOMAIN);
//! - **never below min published**: a role below its `min` published lost
//!   no host this tick but to death; an operator's change that is not
//!   forced never takes a role below its `min`;
//! - **never below min** (outside panic): a role's *supply* is its live
//!   active members plus the live hosts draining towards it — a drain takes
//!   at least the TTL, so a role cannot be refilled within one tick and the
//!   host on its way is what the planner owes it. Whenever a role's supply
//!   is below its `min`, no host could have been given to it under the
//!   rules: no live, movable, eligible, cooled-down active host that is
//!   unassigned or in a role above its wanted count with fewer than
//!   `moves_per_role` already draining out — unless this tick already
//!   spent `moves_per_tick`. A role that gave a host this tick keeps at
//!   least its `min`;
//! - **idempotence**: planning again at the same instant yields nothing;
//! - **names**: an alias or record change never moves a host, every alias
//!   is a CNAME to its host's own name and every API record is in the zone;
//! - **SPF first** (when the case has an SPF over the first role): every
//!   host holding the role in any phase is listed, and a host is published
//!   in its pool only once the SPF has listed it for the record's TTL.

use std::fmt;

use proptest::collection::vec;
use proptest::prelude::*;

use crate::sim::Sim;

/// At most this many hosts (each tick carries a beat for each).
pub(crate) const MAX_HOSTS: usize = 30;

#[derive(Clone, Debug)]
pub(crate) struct RoleSpec {
    pub(crate) min: u32,
    /// `None`: the role publishes no record (its TTL is the policy's).
    pub(crate) ttl: Option<u32>,
    pub(crate) until: &'static str,
    pub(crate) timeout_s: u32,
    /// Wanted above `min`, when the case uses wanted counts.
    pub(crate) extra: u32,
    /// A fallback A record at the role's name.
    pub(crate) fallback: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct HostSpec {
    pub(crate) role: Option<usize>,
    pub(crate) is_static: bool,
    pub(crate) pinned: bool,
    pub(crate) cordoned: bool,
    /// Bit per role; 0 means any role.
    pub(crate) eligible: u8,
    pub(crate) dead: bool,
    pub(crate) heard: bool,
    /// Its agent holds its role already (else it is arriving).
    pub(crate) holds: bool,
    /// How long its role-change hook takes.
    pub(crate) hook_s: u8,
    /// Its hook fails the first time for each role.
    pub(crate) flaky: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Setup {
    pub(crate) ttl: u32,
    pub(crate) roles: Vec<RoleSpec>,
    pub(crate) hosts: Vec<HostSpec>,
    pub(crate) moves_per_tick: u32,
    pub(crate) moves_per_role: u32,
    pub(crate) cooldown_s: u32,
    pub(crate) revive_after: u32,
    pub(crate) panic_percent: u32,
    pub(crate) wanted_above_min: bool,
    /// An SPF over the first role, with this TTL.
    pub(crate) spf_ttl: Option<u32>,
}

/// What one agent does in a tick.
#[derive(Clone, Copy)]
pub(crate) enum Beat {
    /// A good heartbeat reporting this queue depth.
    Good(u8),
    /// A heartbeat with a failing probe.
    Failing,
    /// Nothing.
    Silent,
}

/// Short, so a failing case with many ticks stays readable: `G2`, `F`, `S`.
impl fmt::Debug for Beat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Beat::Good(q) => write!(f, "G{q}"),
            Beat::Failing => f.write_str("F"),
            Beat::Silent => f.write_str("S"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Weather {
    /// Every agent sends a good heartbeat (silences read as good).
    Calm,
    /// Each agent does as its beat says.
    Mixed,
    /// Every agent is silent (our network, say).
    Blackout,
}

/// What happens to the farm besides heartbeats.
#[derive(Clone, Copy, Debug)]
pub(crate) enum OpKind {
    Move,
    MoveNow,
    Drain,
    Cordon,
    Uncordon,
    Pin,
    Unpin,
    Enrol,
    Restart,
    /// Point the alias `mail<role>` at the host (set or move).
    Alias,
    /// Forget the alias `mail<role>`.
    Unalias,
    /// Add a TXT record at `note<role>` (or remove it, when it is there).
    Record,
}

/// An operator's change to host number `host` (modulo the farm), towards
/// role number `role`; an enrolment (with its hook time); a restart.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Op {
    pub(crate) kind: OpKind,
    pub(crate) host: usize,
    pub(crate) role: usize,
    pub(crate) force: bool,
    pub(crate) hook_s: u8,
}

/// Time passing, maybe a change, then every agent's heartbeat (by host
/// index).
#[derive(Clone)]
pub(crate) struct Tick {
    pub(crate) advance_ms: i64,
    pub(crate) op: Option<Op>,
    pub(crate) weather: Weather,
    pub(crate) beats: Vec<Beat>,
}

/// One line a tick: `+1200ms Some(Op…) Mixed [G0 S F G3 …]`.
impl fmt::Debug for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "+{}ms {:?} {:?} {:?}",
            self.advance_ms, self.op, self.weather, self.beats
        )
    }
}

fn role_spec() -> impl Strategy<Value = RoleSpec> {
    (
        0u32..=3,
        prop::option::weighted(0.8, 1u32..=60),
        prop_oneof![Just("ttl"), Just("queue_empty"), Just("timeout")],
        5u32..=120,
        0u32..=3,
        any::<bool>(),
    )
        .prop_map(|(min, ttl, until, timeout_s, extra, fallback)| RoleSpec {
            min,
            ttl,
            until,
            timeout_s,
            extra,
            fallback,
        })
}

fn host_spec(roles: usize) -> impl Strategy<Value = HostSpec> {
    let all = (1u16 << roles) as u8;
    (
        prop::option::weighted(0.8, 0..roles),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        prop_oneof![3 => Just(0u8), 1 => 1u8..all],
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.9),
        prop::bool::weighted(0.8),
        prop_oneof![3 => Just(0u8), 2 => 1u8..=6],
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(role, is_static, pinned, cordoned, eligible, dead, heard, holds, hook_s, flaky)| HostSpec {
                role,
                is_static,
                pinned,
                cordoned,
                eligible,
                dead: dead && !is_static,
                heard,
                holds,
                hook_s,
                flaky,
            },
        )
}

fn setup() -> impl Strategy<Value = Setup> {
    (3usize..=5).prop_flat_map(|roles| {
        (
            1u32..=60,
            vec(role_spec(), roles),
            vec(host_spec(roles), 5..=MAX_HOSTS - 5),
            1u32..=4,
            1u32..=3,
            prop_oneof![Just(0u32), 1u32..=120],
            1u32..=4,
            30u32..=90,
            any::<bool>(),
            prop_oneof![Just(None), (1u32..=20).prop_map(Some)],
        )
            .prop_map(
                |(
                    ttl,
                    roles,
                    hosts,
                    moves_per_tick,
                    moves_per_role,
                    cooldown_s,
                    revive_after,
                    panic_percent,
                    wanted_above_min,
                    spf_ttl,
                )| {
                    Setup {
                        ttl,
                        roles,
                        hosts,
                        moves_per_tick,
                        moves_per_role,
                        cooldown_s,
                        revive_after,
                        panic_percent,
                        wanted_above_min,
                        spf_ttl,
                    }
                },
            )
    })
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![
        3 => Just(OpKind::Move),
        1 => Just(OpKind::MoveNow),
        2 => Just(OpKind::Drain),
        1 => Just(OpKind::Cordon),
        2 => Just(OpKind::Uncordon),
        1 => Just(OpKind::Pin),
        1 => Just(OpKind::Unpin),
        2 => Just(OpKind::Enrol),
        1 => Just(OpKind::Restart),
        1 => Just(OpKind::Alias),
        1 => Just(OpKind::Unalias),
        1 => Just(OpKind::Record),
    ];
    (
        kind,
        0usize..MAX_HOSTS,
        0usize..5,
        prop::bool::weighted(0.2),
        0u8..=4,
    )
        .prop_map(|(kind, host, role, force, hook_s)| Op {
            kind,
            host,
            role,
            force,
            hook_s,
        })
}

fn tick() -> impl Strategy<Value = Tick> {
    let beat = prop_oneof![
        6 => Just(Beat::Good(0)),
        3 => (1u8..5).prop_map(Beat::Good),
        2 => Just(Beat::Silent),
        1 => Just(Beat::Failing),
    ];
    (
        prop_oneof![6 => 200i64..2_000, 3 => 2_000i64..5_000, 1 => 5_000i64..120_000],
        prop::option::weighted(0.25, op()),
        prop_oneof![5 => Just(Weather::Calm), 4 => Just(Weather::Mixed), 1 => Just(Weather::Blackout)],
        vec(beat, MAX_HOSTS),
    )
        .prop_map(|(advance_ms, op, weather, beats)| Tick {
            advance_ms,
            op,
            weather,
            beats,
        })
}

proptest! {
    // Failures found are kept as table tests (`drain.rs`), not in a file.
    // 256 cases unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_rules_hold_after_every_tick(setup in setup(), ticks in vec(tick(), 10..60)) {
        let mut sim = Sim::new(&setup);
        for t in &ticks {
            sim.run(t)?;
        }
    }
}
