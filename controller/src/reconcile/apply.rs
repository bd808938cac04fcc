//! Applying a step to the farm: the one place a step becomes a change and
//! its event.

use crate::farm::{Assignment, Event, EventKind, Farm, Millis, Phase};

use super::{FAILURE_DETECTOR, RECONCILER, Step};

/// Applies one step to `farm` at `now` and returns its event (serial unset).
pub fn apply(farm: &mut Farm, step: &Step, now: Millis) -> Event {
    let role_of = |farm: &Farm, host: &str| farm.assignments.get(host).and_then(|a| a.role.clone());
    let event = |kind: EventKind,
                 host: Option<&str>,
                 from: Option<String>,
                 to: Option<String>,
                 actor: &str,
                 reason: &str| Event {
        at: now,
        kind,
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
            event(
                EventKind::Death,
                Some(host),
                role.clone(),
                role,
                FAILURE_DETECTOR,
                reason,
            )
        }
        Step::Revive { host } => {
            if let Some(h) = farm.hosts.get_mut(host) {
                h.dead = false;
            }
            let role = role_of(farm, host);
            event(
                EventKind::Revival,
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
                EventKind::Panic,
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
                EventKind::PanicEnd,
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
            event(
                EventKind::Assign,
                Some(host),
                None,
                Some(role.clone()),
                actor,
                reason,
            )
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
                EventKind::DrainStart,
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
            event(
                EventKind::Move,
                Some(host),
                Some(from.clone()),
                to.clone(),
                &actor,
                reason,
            )
        }
        Step::Arrive { host, role, reason } => {
            if let Some(a) = farm.assignments.get_mut(host) {
                a.phase = Phase::Active;
                a.since = now;
            }
            event(
                EventKind::Arrive,
                Some(host),
                None,
                Some(role.clone()),
                FAILURE_DETECTOR,
                reason,
            )
        }
    }
}
