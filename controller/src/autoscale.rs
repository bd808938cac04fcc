//! Load rules: how many hosts a role should have for the load it carries.
//!
//! Each reconcile a rule measures its pool (the role's published members)
//! and *recommends* a count: the pool's metric divided by the target per
//! host, rounded up, within the rule's `min` and `max`. The count the rule
//! asks for then follows the recommendation with hysteresis:
//!
//! - **Up** at once, by at most `step` hosts, then again each `cooldown`
//!   while the recommendation stays higher.
//! - **Down** only to the *largest* recommendation of the last
//!   `stabilization` window, and not within `cooldown` of the last change.
//!   A pool therefore shrinks only after the load has stayed low for the
//!   whole window, and a noisy metric cannot make it flap.
//!
//! This is a pure state machine: [`RuleState`] lives in the controller's
//! memory (a restarted controller starts from the pool as it is) and in
//! `muster simulate`'s loop.

use std::collections::{BTreeMap, VecDeque};

use crate::farm::{Millis, millis};
use crate::policy::{Aggregate, Autoscale};

/// What one rule remembers between reconciles.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleState {
    /// The count the rule asks for.
    pub count: u32,
    /// When `count` last changed.
    pub changed_at: Millis,
    /// The latest measurement.
    pub load: Load,
    /// The latest recommendation.
    pub recommended: u32,
    /// Recommendations within the stabilization window, oldest first.
    recent: VecDeque<(Millis, u32)>,
}

/// Rule states by role.
pub type AutoscaleState = BTreeMap<String, RuleState>;

/// A pool's metric, as measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Load {
    /// The metric summed over the members that report it.
    pub total: f64,
    /// Members that reported the metric.
    pub reporting: u32,
    /// Members of the pool.
    pub members: u32,
}

impl Load {
    /// The value compared with the target: the total (sum) or the mean.
    pub fn value(&self, aggregate: Aggregate) -> f64 {
        match aggregate {
            Aggregate::Sum => self.total,
            Aggregate::Mean if self.reporting == 0 => 0.0,
            Aggregate::Mean => self.total / f64::from(self.reporting),
        }
    }
}

/// The count the load calls for, within the rule's bounds.
pub fn recommend(rule: &Autoscale, load: &Load) -> u32 {
    // Sum: the hosts needed to carry the total at the target each. Mean:
    // the hosts needed to bring the mean down to the target (Kubernetes'
    // `ceil(current × value / target)`).
    let hosts = match rule.aggregate {
        Aggregate::Sum => load.total / rule.target_per_host,
        Aggregate::Mean => f64::from(load.members) * load.value(Aggregate::Mean) / rule.target_per_host,
    };
    // A hair below an integer is that integer (float noise, not load).
    let hosts = (hosts - 1e-9).ceil().clamp(0.0, f64::from(u32::MAX));
    // Truncation is exact: the value is a non-negative integer in range.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let hosts = hosts as u32;
    hosts.max(rule.min).min(rule.max.unwrap_or(u32::MAX))
}

/// The rule's state after measuring `load` at `now`. `previous` is `None`
/// the first time: the rule then starts from the pool as it is.
pub fn step(rule: &Autoscale, previous: Option<&RuleState>, load: Load, now: Millis) -> RuleState {
    let recommended = recommend(rule, &load);
    let mut state = previous.cloned().unwrap_or_else(|| RuleState {
        count: load.members.max(rule.min).min(rule.max.unwrap_or(u32::MAX)),
        changed_at: Millis::MIN,
        load,
        recommended,
        recent: VecDeque::new(),
    });
    state.load = load;
    state.recommended = recommended;
    let window = millis(rule.stabilization);
    while state.recent.front().is_some_and(|&(at, _)| at <= now - window) {
        state.recent.pop_front();
    }
    state.recent.push_back((now, recommended));
    // Bounds may have changed with a reload.
    state.count = state.count.max(rule.min).min(rule.max.unwrap_or(u32::MAX));

    let cooled = now.saturating_sub(state.changed_at) >= millis(rule.cooldown);
    if recommended > state.count && cooled {
        state.count = recommended.min(state.count.saturating_add(rule.step.max(1)));
        state.changed_at = now;
    } else if recommended < state.count && cooled {
        let stable = state.recent.iter().map(|&(_, n)| n).max().unwrap_or(recommended);
        if stable < state.count {
            state.count = stable;
            state.changed_at = now;
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn rule() -> Autoscale {
        Autoscale {
            name: "autoscale-smtp-out".into(),
            role: "smtp-out".into(),
            metric: "queue_depth".into(),
            aggregate: Aggregate::Sum,
            target_per_host: 1000.0,
            min: 2,
            max: Some(8),
            borrow_from: vec![],
            give_back_to: None,
            step: 2,
            cooldown: Duration::from_secs(60),
            stabilization: Duration::from_secs(300),
        }
    }

    fn load(total: f64, members: u32) -> Load {
        Load {
            total,
            reporting: members,
            members,
        }
    }

    #[test]
    fn recommendation_is_the_load_over_the_target_within_bounds() {
        let r = rule();
        assert_eq!(recommend(&r, &load(0.0, 2)), 2, "never below min");
        assert_eq!(recommend(&r, &load(3000.0, 2)), 3);
        assert_eq!(recommend(&r, &load(3000.5, 2)), 4);
        assert_eq!(recommend(&r, &load(1e12, 2)), 8, "never above max");
        let mean = Autoscale {
            aggregate: Aggregate::Mean,
            target_per_host: 0.7,
            min: 1,
            max: None,
            ..rule()
        };
        // Four members at a mean load of 1.4: eight would bring it to 0.7.
        assert_eq!(recommend(&mean, &load(5.6, 4)), 8);
    }

    #[test]
    fn up_by_steps_each_cooldown_and_down_after_the_window() {
        let r = rule();
        let s = step(&r, None, load(7000.0, 2), 0);
        assert_eq!(s.count, 4, "one step of 2 at once");
        let s = step(&r, Some(&s), load(7000.0, 4), 30_000);
        assert_eq!(s.count, 4, "not again within the cooldown");
        let s = step(&r, Some(&s), load(7000.0, 4), 60_000);
        assert_eq!(s.count, 6);
        let s = step(&r, Some(&s), load(7000.0, 6), 120_000);
        assert_eq!(s.count, 7, "up to the recommendation, not past it");
        // The load is gone, but 7 was asked for within the last 5 minutes.
        let mut s = s;
        for t in (150..420).step_by(30) {
            s = step(&r, Some(&s), load(0.0, 7), t * 1000);
            assert_eq!(s.count, 7, "still 7 at {t} s");
        }
        let s = step(&r, Some(&s), load(0.0, 7), 420_000);
        assert_eq!(s.count, 2, "the window has passed: down to what it asked since");
    }
}
