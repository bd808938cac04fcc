//! Host choice (rule 5): roles below their wanted count take hosts —
//! unassigned first, then spares, then from roles with the largest surplus,
//! the least loaded — within the per-tick and per-role caps.

use crate::farm::{Farm, Millis, Phase};
use crate::observed::Observation;
use crate::policy::Policy;

use super::drain::{dropped_role, move_cooldown};
use super::membership::in_pool;
use super::{RECONCILER, Row, Step, Wanted};

/// Hosts that started a drain or changed role at `now`.
pub(super) fn moves_made_at(farm: &Farm, now: Millis) -> u32 {
    let made = farm.assignments.values().filter(|a| match &a.phase {
        Phase::Draining { started, .. } => *started == now,
        Phase::Active | Phase::Arriving => a.last_moved == Some(now),
    });
    u32::try_from(made.count()).unwrap_or(u32::MAX)
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
pub(super) struct Candidate<'r> {
    pub(super) row: &'r Row<'r>,
    /// Its role's number, if it holds one.
    pub(super) role: Option<usize>,
    /// See [`rank`].
    pub(super) rank: u8,
    pub(super) load: f64,
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
pub(super) struct Movable<'r> {
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
    pub(super) fn new(list: Vec<Candidate<'r>>, held_roles: usize, wanted_roles: usize) -> Self {
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
    pub(super) fn choose(
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
pub(super) fn fill_roles<'r>(
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
