//! The rules the property tests check after each step and each tick (see
//! `props.rs` for the list and why).

use std::collections::BTreeMap;

use hickory_proto::rr::RecordType;
use muster_controller::farm::{Farm, Phase};
use muster_controller::policy::DrainUntil;
use muster_controller::reconcile::{Step, membership, membership_is};
use muster_controller::zone_builder::{Membership, build_zone};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::sim::Sim;

impl Sim {
    pub(crate) fn check_step(
        &mut self,
        step: &Step,
        steps: &[Step],
        moves: &mut u32,
        gave: &mut Vec<String>,
    ) -> Result<(), String> {
        let farm = &self.farm;
        match step {
            Step::MarkDead { host, .. } => {
                let h = &farm.hosts[host];
                if h.is_static || h.dead || self.fresh(host) || farm.panic {
                    return Err(format!("{host} declared dead: {h:?}"));
                }
            }
            Step::Revive { host } => {
                let streak = self.observed.get(host).map_or(0, |o| o.good_streak);
                if !farm.hosts[host].dead || !self.fresh(host) || streak < self.policy.heartbeat.revive_after
                {
                    return Err(format!("{host} revived after {streak} good heartbeats"));
                }
            }
            Step::EnterPanic { .. } => {
                if farm.panic || steps.len() != 1 {
                    return Err("panic entered with other steps, or twice".to_owned());
                }
            }
            Step::LeavePanic => {
                if !farm.panic {
                    return Err("left a panic never entered".to_owned());
                }
            }
            Step::Arrive { host, role, .. } => {
                let a = &farm.assignments[host];
                if a.phase != Phase::Arriving || a.role.as_deref() != Some(role) {
                    return Err(format!("{host} arrived in {role} from {a:?}"));
                }
                let reported = self.observed.get(host).and_then(|o| o.reported_role());
                if reported != Some(Some(role.as_str())) {
                    return Err(format!(
                        "{host} arrived in {role} though its agent reports {reported:?}"
                    ));
                }
            }
            Step::Assign { host, role, .. } => {
                self.movable(farm, host, role)?;
                if farm.assignments[host].role.is_some() {
                    return Err(format!("{host} assigned though it holds a role"));
                }
                *moves += 1;
            }
            Step::StartDrain { host, from, to, .. } => {
                let to = to.as_deref().ok_or("the planner drained towards no role")?;
                self.movable(farm, host, to)?;
                if farm.assignments[host].role.as_deref() != Some(from) {
                    return Err(format!("{host} drained from {from}, a role it does not hold"));
                }
                // Operators may drain more; the planner adds none then.
                let out = Self::outgoing(farm, from);
                if out >= self.policy.limits.moves_per_role {
                    return Err(format!(
                        "{host} drained from {from} with {out} draining out already"
                    ));
                }
                self.drains.insert(host.clone(), (from.clone(), self.now));
                gave.push(from.clone());
                *moves += 1;
            }
            Step::FinishDrain {
                host,
                from,
                to,
                reason,
            } => {
                let a = &farm.assignments[host];
                let Phase::Draining {
                    to: going, started, ..
                } = &a.phase
                else {
                    return Err(format!("{host} finished a drain it was not in"));
                };
                if a.role.as_deref() != Some(from) || going != to {
                    return Err(format!("{host} finished the wrong drain: {a:?}"));
                }
                if self.drains.remove(host) != Some((from.clone(), *started)) {
                    return Err(format!("{host} finished a drain nobody started"));
                }
                let elapsed = self.now - started;
                if elapsed < self.ttl_ms(from) {
                    return Err(format!("{host} left {from} after {elapsed} ms, inside the TTL"));
                }
                let timed_out = elapsed >= self.timeout_ms(from);
                let done = match self.policy.roles[from].drain.until {
                    DrainUntil::Ttl => true,
                    DrainUntil::QueueEmpty => {
                        timed_out || farm.hosts[host].dead || self.queue(host) == Some(0.0)
                    }
                    DrainUntil::Timeout => timed_out,
                };
                if !done {
                    return Err(format!("{host} left {from} too early ({reason})"));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn check_roles_changed_by_steps(
        &self,
        before: &Farm,
        steps: &[Step],
    ) -> Result<(), TestCaseError> {
        for (host, a) in &self.farm.assignments {
            let was = &before.assignments[host].role;
            if &a.role != was {
                let explained = steps.iter().any(|s| match s {
                    Step::Assign { host: h, .. } | Step::FinishDrain { host: h, .. } => h == host,
                    _ => false,
                });
                prop_assert!(
                    explained,
                    "{host} went from {was:?} to {:?} without a move",
                    a.role
                );
            }
        }
        Ok(())
    }

    pub(crate) fn check_pools(&self) -> Result<(), TestCaseError> {
        let members = membership(&self.policy, &self.farm, &self.observed);
        // The engine's cheap comparison agrees with building it anew.
        prop_assert!(membership_is(&self.policy, &self.farm, &self.observed, &members));
        let mut other = members.clone();
        match other.iter_mut().find(|(_, hosts)| !hosts.is_empty()) {
            Some((_, hosts)) => {
                hosts.pop();
            }
            None => {
                other.insert("r0".to_owned(), vec!["nobody".to_owned()]);
            }
        }
        prop_assert!(!membership_is(&self.policy, &self.farm, &self.observed, &other));
        let mut seen = BTreeMap::new();
        for (role, hosts) in &members {
            for host in hosts {
                prop_assert!(
                    seen.insert(host, role).is_none(),
                    "{host} published twice: {members:?}"
                );
                let h = &self.farm.hosts[host];
                let a = &self.farm.assignments[host];
                prop_assert!(
                    a.role.as_ref() == Some(role) && a.phase == Phase::Active && !h.cordoned,
                    "{host} published in {role}: {a:?} {h:?}"
                );
                if !h.is_static {
                    let reported = self.agents.get(host).and_then(|a| a.reported.clone());
                    prop_assert!(
                        reported == Some(Some(role.clone())),
                        "{host} published in {role}, but its agent last reported {reported:?}\n{}",
                        self.log.join("\n")
                    );
                }
                prop_assert!(h.is_static || !h.dead, "dead {host} published");
                if !self.farm.panic {
                    prop_assert!(
                        h.is_static || self.fresh(host),
                        "{host} published, silent or failing\n{}",
                        self.log.join("\n")
                    );
                }
            }
        }
        self.check_names(&members)?;
        if !self.farm.panic {
            for (host, a) in &self.farm.assignments {
                if let (Some(from), Phase::Draining { started, .. }) = (&a.role, &a.phase) {
                    let limit = self.ttl_ms(from).max(self.timeout_ms(from));
                    prop_assert!(self.now - started <= limit, "{host} still draining out of {from}");
                }
            }
        }
        Ok(())
    }

    /// No NXDOMAIN for a role's name: a role with a fallback keeps it in
    /// the zone however empty its pool, and one with members publishes it.
    fn check_names(&self, members: &Membership) -> Result<(), TestCaseError> {
        let zone = build_zone(&self.policy, &self.farm, members, 0, 1, None)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (name, role) in &self.policy.roles {
            let Some(record) = role.records.first() else {
                continue;
            };
            let published = members.get(name).is_some_and(|m| !m.is_empty());
            if !role.fallback.is_empty() || published {
                prop_assert!(
                    zone.get(&record.owner, RecordType::A).is_some(),
                    "{} missing from the zone ({name}: {:?})",
                    record.owner,
                    members.get(name)
                );
            }
        }
        // Every alias is a CNAME to its host's own name, whatever the host does.
        for (alias, host) in &self.farm.aliases {
            let target = format!("{host}.{}", self.policy.zone);
            let cname = zone.get(alias, RecordType::CNAME);
            prop_assert!(
                cname.is_some_and(|set| set.data.iter().any(|d| d.to_presentation() == target)),
                "{alias} is not a CNAME to {target}: {cname:?}"
            );
        }
        for record in &self.farm.records {
            prop_assert!(zone.get(&record.owner, record.data.record_type()).is_some());
        }
        Ok(())
    }

    pub(crate) fn check_supply(&self, moves: u32, gave: &[String], shown: &str) -> Result<(), TestCaseError> {
        for role in self.policy.roles.keys() {
            let supply = Self::supply(&self.farm, role);
            if supply >= self.min(role) || moves >= self.policy.limits.moves_per_tick {
                continue;
            }
            if let Some(donor) = self.donor_for(role) {
                return Err(TestCaseError::fail(format!(
                    "{role} has {supply} of min {} but {donor} could go: {:?}\nsteps:\n{shown}",
                    self.min(role),
                    self.farm.assignments[&donor]
                )));
            }
        }
        for from in gave {
            let supply = Self::supply(&self.farm, from);
            prop_assert!(
                supply >= self.min(from),
                "{from} gave a host and is now at {supply}\n{shown}"
            );
        }
        Ok(())
    }
}
