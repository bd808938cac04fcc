//! How many hosts each role should have now, and why: the schedule in
//! force (or `default_want`), then the load rules on top.
//!
//! This is the only input schedules and load rules have into the
//! reconciler, which turns the counts into moves (drains first) and names
//! the [`Cause`] of each in its event.
//!
//! 1. **Schedule**: the window in force (the one listed last among those
//!    open), else `default_want`. Counts are resolved against the live
//!    hosts: `N`, `N%` (rounded down), `all-but N`, `rest` (what the other
//!    roles leave). A role the want does not name gets its `min`, and no
//!    role gets less than its `min`.
//! 2. **Load rules**: a rule asking for more than the schedule gives its
//!    role takes the difference from live hosts no role wants, then from
//!    its `borrow_from` roles in order, each down to its own `min` at most.
//!    When a rule's role then holds more hosts than wanted and the other
//!    roles' shortfalls do not take them all, the rest go to its
//!    `give_back_to` role.

use std::collections::BTreeMap;

use crate::autoscale::{self, AutoscaleState, Load};
use crate::farm::{Farm, Millis, Phase};
use crate::observed::Observed;
use crate::policy::{Policy, WantCount};
use crate::schedule;

/// The actor when no schedule window is open.
pub const DEFAULT_WANT: &str = "default-want";

/// Who set a role's count and why; the reconciler puts it in the events
/// of the moves it makes for that role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// A schedule's or a load rule's name, or `default-want`.
    pub actor: String,
    /// How the count came about.
    pub reason: String,
}

/// Wanted host count per role, each with its cause.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    counts: BTreeMap<String, u32>,
    causes: BTreeMap<String, Cause>,
}

impl Wanted {
    /// The count wanted for `role`.
    pub fn get(&self, role: &str) -> Option<&u32> {
        self.counts.get(role)
    }

    /// Sets `role`'s count without a cause (tests, tools).
    pub fn insert(&mut self, role: String, count: u32) {
        self.counts.insert(role, count);
    }

    /// Sets `role`'s count and why.
    pub fn set(&mut self, role: &str, count: u32, cause: Cause) {
        self.counts.insert(role.to_owned(), count);
        self.causes.insert(role.to_owned(), cause);
    }

    /// Why `role` has its count, when something set it.
    pub fn cause(&self, role: &str) -> Option<&Cause> {
        self.causes.get(role)
    }

    /// Roles and counts, in role order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.counts.iter().map(|(r, &n)| (r.as_str(), n))
    }
}

impl FromIterator<(String, u32)> for Wanted {
    fn from_iter<I: IntoIterator<Item = (String, u32)>>(iter: I) -> Self {
        Self {
            counts: iter.into_iter().collect(),
            causes: BTreeMap::new(),
        }
    }
}

/// What [`decide`] returns: the counts and the load rules' new state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// Wanted counts with their causes.
    pub wanted: Wanted,
    /// The load rules' state to pass to the next call.
    pub autoscale: AutoscaleState,
    /// The schedule in force (`None`: `default_want`).
    pub schedule: Option<String>,
    /// Hosts the counts were resolved against.
    pub live_hosts: u32,
}

/// What `decide` needs to know of the farm, from one walk over it.
struct Census<'f> {
    /// Hosts that count for percentages: alive, not cordoned, and able to
    /// serve a role (a static host without one only publishes its address).
    live: u32,
    /// Hosts per role now: active live members plus live hosts draining
    /// towards the role.
    held: BTreeMap<&'f str, u32>,
    /// Each load rule's pool metric (published members only), in rule order.
    loads: Vec<Load>,
}

fn census<'f>(policy: &Policy, farm: &'f Farm, observed: &Observed) -> Census<'f> {
    let mut live = 0u32;
    // A handful of roles: a list beats a map here (this runs every tick,
    // over every host).
    let mut held: Vec<(&'f str, u32)> = Vec::new();
    let mut loads = vec![Load::default(); policy.autoscale.len()];
    for (host, a) in farm.with_assignments() {
        if host.dead || host.cordoned {
            continue;
        }
        if !host.is_static || a.role.is_some() {
            live += 1;
        }
        let role = match &a.phase {
            Phase::Active | Phase::Arriving => a.role.as_deref(),
            Phase::Draining { to, .. } => to.as_deref(),
        };
        let Some(role) = role else { continue };
        match held.iter_mut().find(|(r, _)| *r == role) {
            Some((_, n)) => *n += 1,
            None => held.push((role, 1)),
        }
        if a.phase != Phase::Active {
            continue;
        }
        for (rule, load) in policy.autoscale.iter().zip(&mut loads) {
            if rule.role != role {
                continue;
            }
            load.members += 1;
            if let Some(value) = observed
                .get(&host.name)
                .and_then(|o| o.report.metrics.get(&rule.metric))
                .filter(|v| v.is_finite())
            {
                load.total += value;
                load.reporting += 1;
            }
        }
    }
    Census {
        live,
        held: held.into_iter().collect(),
        loads,
    }
}

/// The wanted counts at `now`, given the load rules' previous state.
pub fn decide(
    policy: &Policy,
    farm: &Farm,
    observed: &Observed,
    rules: &AutoscaleState,
    now: Millis,
) -> Decision {
    let Census { live, held, loads } = census(policy, farm, observed);
    let in_force = schedule::in_force(&policy.schedules, now);
    let (want, actor) = match in_force {
        Some((s, _)) => (&s.want, s.name.as_str()),
        None => (&policy.default_want, DEFAULT_WANT),
    };
    let mut wanted = Wanted::default();
    let min = |role: &str| policy.roles.get(role).map_or(0, |r| r.min);

    // The schedule: named counts first, then `rest` from what is left.
    let mut rest_role = None;
    for (role, r) in &policy.roles {
        let (count, reason) = match want.get(role) {
            None => (r.min, format!("{role}: its min of {}", r.min)),
            Some(WantCount::Rest) => {
                rest_role = Some(role);
                continue;
            }
            Some(&count) => {
                let n = match count {
                    WantCount::Hosts(n) => n,
                    WantCount::Percent(p) => live * u32::from(p) / 100,
                    WantCount::AllBut(n) => live.saturating_sub(n),
                    WantCount::Rest => 0,
                };
                (n, format!("{role}: {} of {live} live hosts = {n}", show(count)))
            }
        };
        wanted.set(
            role,
            count.max(r.min),
            Cause {
                actor: actor.to_owned(),
                reason,
            },
        );
    }
    if let Some(role) = rest_role {
        let taken: u32 = wanted.iter().map(|(_, n)| n).sum();
        let n = live.saturating_sub(taken);
        let reason = format!("{role}: the rest of {live} live hosts = {n}");
        let cause = Cause {
            actor: actor.to_owned(),
            reason,
        };
        wanted.set(role, n.max(min(role)), cause);
    }

    // Load rules on top.
    let mut states = AutoscaleState::new();
    for (rule, load) in policy.autoscale.iter().zip(loads) {
        let state = autoscale::step(rule, rules.get(&rule.role), load, now);
        let floor = wanted.get(&rule.role).copied().unwrap_or(0);
        if state.count > floor {
            borrow(policy, &mut wanted, rule, state.count - floor, live, &state);
        }
        give_back(policy, &mut wanted, rule, &held);
        states.insert(rule.role.clone(), state);
    }
    Decision {
        wanted,
        autoscale: states,
        schedule: in_force.map(|(s, _)| s.name.clone()),
        live_hosts: live,
    }
}

fn show(count: WantCount) -> String {
    match count {
        WantCount::Hosts(n) => n.to_string(),
        WantCount::Percent(p) => format!("{p}%"),
        WantCount::AllBut(n) => format!("all-but {n}"),
        WantCount::Rest => "rest".to_owned(),
    }
}

/// Gives `rule`'s role `extra` more hosts: unwanted live hosts first, then
/// from its lenders in order, each down to its `min`.
fn borrow(
    policy: &Policy,
    wanted: &mut Wanted,
    rule: &crate::policy::Autoscale,
    extra: u32,
    live: u32,
    state: &autoscale::RuleState,
) {
    let role = rule.role.as_str();
    let total: u32 = wanted.iter().map(|(_, n)| n).sum();
    let mut got = extra.min(live.saturating_sub(total));
    let mut lenders = Vec::new();
    for lender in &rule.borrow_from {
        if got >= extra {
            break;
        }
        let has = wanted.get(lender).copied().unwrap_or(0);
        let spare = has.saturating_sub(policy.roles.get(lender).map_or(0, |r| r.min));
        let take = spare.min(extra - got);
        if take == 0 {
            continue;
        }
        got += take;
        lenders.push(format!("{take} from {lender}"));
        let cause = Cause {
            actor: rule.name.clone(),
            reason: format!("{lender} lends {take} to {role} for its load"),
        };
        wanted.set(lender, has - take, cause);
    }
    let base = wanted.get(role).copied().unwrap_or(0);
    let mut reason = load_reason(rule, state);
    if got < extra {
        reason.push_str(&format!(" (only {got} more to be had)"));
    }
    if !lenders.is_empty() {
        reason.push_str(&format!("; borrowed {}", lenders.join(", ")));
    }
    let cause = Cause {
        actor: rule.name.clone(),
        reason,
    };
    wanted.set(role, base + got, cause);
}

/// Why a load rule asks for its count, for operators: the measurement,
/// the recommendation, and what held the count back from it (`step` per
/// `cooldown` going up, the `stabilization` window going down):
/// `smtp-out: queue_depth total 9000 over 3 members, target 2000/host →
/// recommends 5; up by at most step 1 per 2m → 4`.
fn load_reason(rule: &crate::policy::Autoscale, state: &autoscale::RuleState) -> String {
    let what = match rule.aggregate {
        crate::policy::Aggregate::Sum => "total",
        crate::policy::Aggregate::Mean => "mean",
    };
    let value = state.load.value(rule.aggregate);
    let mut reason = format!(
        "{}: {} {what} {} over {} members, target {}/host → recommends {}",
        rule.role,
        rule.metric,
        number(value),
        state.load.members,
        number(rule.target_per_host),
        state.recommended
    );
    if state.count < state.recommended {
        reason.push_str(&format!(
            "; up by at most step {} per {} → {}",
            rule.step.max(1),
            crate::simulate::time::human(crate::farm::millis(rule.cooldown)),
            state.count
        ));
    } else if state.count > state.recommended {
        reason.push_str(&format!(
            "; held for the {} stabilization window → {}",
            crate::simulate::time::human(crate::farm::millis(rule.stabilization)),
            state.count
        ));
    }
    reason
}

/// A measurement for people: whole numbers without decimals, else one.
fn number(v: f64) -> String {
    if v.fract() == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Sends the hosts `rule`'s role no longer wants, and no other role takes,
/// to its `give_back_to` role.
fn give_back(
    policy: &Policy,
    wanted: &mut Wanted,
    rule: &crate::policy::Autoscale,
    held: &BTreeMap<&str, u32>,
) {
    let Some(taker) = &rule.give_back_to else { return };
    let role = rule.role.as_str();
    let holds = |r: &str| held.get(r).copied().unwrap_or(0);
    let surplus = holds(role).saturating_sub(wanted.get(role).copied().unwrap_or(0));
    let shortfalls: u32 = policy
        .roles
        .keys()
        .filter(|r| r.as_str() != role)
        .map(|r| wanted.get(r).copied().unwrap_or(0).saturating_sub(holds(r)))
        .sum();
    let left = surplus.saturating_sub(shortfalls);
    if left == 0 {
        return;
    }
    let count = wanted.get(taker).copied().unwrap_or(0) + left;
    let cause = Cause {
        actor: rule.name.clone(),
        reason: format!("{taker} takes back {left} hosts {role} no longer needs"),
    };
    wanted.set(taker, count, cause);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::autoscale::Load;
    use crate::policy::{Aggregate, Autoscale};

    fn rule(step: u32) -> Autoscale {
        Autoscale {
            name: "autoscale-smtp-out".into(),
            role: "smtp-out".into(),
            metric: "queue_depth".into(),
            aggregate: Aggregate::Sum,
            target_per_host: 2000.0,
            min: 1,
            max: None,
            borrow_from: vec![],
            give_back_to: None,
            step,
            cooldown: Duration::from_secs(120),
            stabilization: Duration::from_secs(300),
        }
    }

    fn load(total: f64) -> Load {
        Load {
            total,
            reporting: 3,
            members: 3,
        }
    }

    #[test]
    fn the_reason_shows_the_recommendation_and_what_held_it_back() {
        let r = rule(1);
        let state = autoscale::step(&r, None, load(9000.0), 0);
        assert_eq!(
            load_reason(&r, &state),
            "smtp-out: queue_depth total 9000 over 3 members, target 2000/host → recommends 5; \
             up by at most step 1 per 2m → 4"
        );
        let r = rule(4);
        let state = autoscale::step(&r, None, load(9000.5), 0);
        assert_eq!(
            load_reason(&r, &state),
            "smtp-out: queue_depth total 9000 over 3 members, target 2000/host → recommends 5"
        );
        // Going down waits for the stabilization window.
        let low = autoscale::step(&r, Some(&state), load(100.0), 200_000);
        assert_eq!(
            load_reason(&r, &low),
            "smtp-out: queue_depth total 100 over 3 members, target 2000/host → recommends 1; \
             held for the 5m stabilization window → 5"
        );
    }
}
