//! Operators' changes to hosts: move, drain, cordon, pin, register, remove;
//! and to the zone's own names ([`names`]): records and aliases.
//!
//! Each operation is a pure function that checks the request against the
//! policy and who is published, edits a copy of the farm and returns the
//! events; the runner commits the result through `Engine::change`, the same
//! path as a tick. Every event carries the operator token's name as actor.

pub mod names;

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::farm::{Assignment, Event, EventKind, Farm, HostRecord, Millis};
use crate::policy::Policy;
use crate::reconcile::{Step, apply};
use crate::zone_builder::Membership;

/// An operator's change to one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorRequest {
    /// The host.
    pub host: String,
    /// Who asks (the operator token's name): the events' actor.
    pub actor: String,
    /// What to do.
    pub operation: Operation,
}

/// What an operator can do to a host. `force` lets a host leave DNS even
/// when its role drops below its `min`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Move to `role`: drain first, unless `now` (emergencies).
    Move {
        /// The role to hold.
        role: String,
        /// Skip the drain; said so in the event.
        now: bool,
        /// Allow the old role below its `min`.
        force: bool,
    },
    /// Leave its role through a drain towards no role and stay out of
    /// automation (cordoned) until an operator uncordons it: maintenance.
    /// (`Move` is the way to hand a host to another role.)
    Drain {
        /// Allow the role below its `min`.
        force: bool,
    },
    /// Out of automation and out of DNS.
    Cordon {
        /// Allow the role below its `min`.
        force: bool,
    },
    /// Back into automation (and DNS).
    Uncordon,
    /// Fixed in `role` (its current role when `None`): automation never
    /// moves it. Pinning in another role moves it there first.
    Pin {
        /// The role to pin it in.
        role: Option<String>,
        /// Allow the old role below its `min` when it moves.
        force: bool,
    },
    /// Back under automation.
    Unpin,
    /// Add a static host (no agent: always published in its role).
    Register(NewHost),
    /// Forget a host that the policy's inventory does not define.
    Remove {
        /// Allow the role below its `min`.
        force: bool,
    },
}

/// A static host to register.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewHost {
    /// Its addresses (at least one).
    pub addresses: Vec<IpAddr>,
    /// The role it holds, if any.
    pub role: Option<String>,
    /// Free-form labels.
    pub labels: BTreeMap<String, String>,
}

/// Why an operation was refused; nothing changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OperatorError {
    /// No such host.
    #[error("no host named {0:?}")]
    UnknownHost(String),
    /// No such role in the policy.
    #[error("no role named {0:?} in the policy")]
    UnknownRole(String),
    /// The request itself is wrong (a bad name or address, a role the
    /// policy lacks in a new host).
    #[error("{0}")]
    Invalid(String),
    /// What the request names does not exist (a record or alias to
    /// remove).
    #[error("{0}")]
    NotFound(String),
    /// The operation breaks a rule or the host's state forbids it; `force`
    /// overrides only the `min` rule.
    #[error("{0}")]
    Conflict(String),
    /// The store refused or the controller is not running; nothing changed.
    #[error("not recorded: {0}")]
    Unavailable(String),
}

/// Applies `request` to `farm` (a copy: on error it may be half-edited and
/// must be dropped). `membership` is who is published now.
pub fn apply_operation(
    policy: &Policy,
    membership: &Membership,
    farm: &mut Farm,
    request: &OperatorRequest,
    now: Millis,
) -> Result<Vec<Event>, OperatorError> {
    let ctx = Ctx {
        policy,
        membership,
        host: &request.host,
        actor: &request.actor,
        now,
    };
    match &request.operation {
        Operation::Move {
            role,
            now: skip,
            force,
        } => move_to(&ctx, farm, role, *skip, *force),
        Operation::Drain { force } => drain(&ctx, farm, *force),
        Operation::Cordon { force } => cordon(&ctx, farm, *force),
        Operation::Uncordon => uncordon(&ctx, farm),
        Operation::Pin { role, force } => pin(&ctx, farm, role.as_deref(), *force),
        Operation::Unpin => unpin(&ctx, farm),
        Operation::Register(new) => register(&ctx, farm, new),
        Operation::Remove { force } => remove(&ctx, farm, *force),
    }
}

/// True when `name` can be a host name: one lowercase DNS label.
pub fn valid_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What every operation is checked against.
struct Ctx<'a> {
    policy: &'a Policy,
    membership: &'a Membership,
    host: &'a str,
    actor: &'a str,
    now: Millis,
}

impl Ctx<'_> {
    fn event(&self, kind: EventKind, from: Option<String>, to: Option<String>, reason: &str) -> Event {
        Event {
            at: self.now,
            kind,
            host: Some(self.host.to_owned()),
            from_role: from,
            to_role: to,
            actor: self.actor.to_owned(),
            reason: reason.to_owned(),
            serial: None,
        }
    }

    fn conflict(&self, what: impl std::fmt::Display) -> OperatorError {
        OperatorError::Conflict(format!("{} {what}", self.host))
    }

    /// Refuses to take the host out of DNS when that leaves `role` below
    /// its `min`, unless forced. `doing` names the operation (`draining`).
    fn keeps_min(&self, role: &str, force: bool, doing: &str) -> Result<(), OperatorError> {
        if force {
            return Ok(());
        }
        let min = self.policy.roles.get(role).map_or(0, |r| r.min) as usize;
        let members = self.membership.get(role);
        let serving = members.map_or(0, Vec::len);
        let leaving = members.is_some_and(|m| m.iter().any(|h| h == self.host));
        if leaving && serving <= min {
            return Err(OperatorError::Conflict(format!(
                "{doing} {} would leave {role} with {} of its min {min}; use force to do it anyway",
                self.host,
                serving - 1
            )));
        }
        Ok(())
    }
}

fn host_mut<'f>(ctx: &Ctx<'_>, farm: &'f mut Farm) -> Result<&'f mut HostRecord, OperatorError> {
    farm.hosts
        .get_mut(ctx.host)
        .ok_or_else(|| OperatorError::UnknownHost(ctx.host.to_owned()))
}

fn role_of(farm: &Farm, host: &str) -> Option<String> {
    farm.assignments.get(host).and_then(|a| a.role.clone())
}

/// Move: a drain towards `role` (or, with `now`, an immediate change).
fn move_to(
    ctx: &Ctx<'_>,
    farm: &mut Farm,
    role: &str,
    now: bool,
    force: bool,
) -> Result<Vec<Event>, OperatorError> {
    let host = host_mut(ctx, farm)?.clone();
    if !ctx.policy.roles.contains_key(role) {
        return Err(OperatorError::UnknownRole(role.to_owned()));
    }
    if host.is_static {
        return Err(ctx.conflict("is static: it holds the role the policy gives it; change the policy"));
    }
    if !host.eligible.is_empty() && !host.eligible.iter().any(|e| e == role) {
        return Err(ctx.conflict(format_args!("may hold only {}", host.eligible.join(", "))));
    }
    let assignment = farm.assignments.get(ctx.host);
    let from = assignment.and_then(|a| a.role.clone());
    if from.as_deref() == Some(role) && !assignment.is_some_and(Assignment::is_draining) {
        return Err(ctx.conflict(format_args!("already holds {role}")));
    }
    if let Some(from) = &from {
        ctx.keeps_min(from, force, "moving")?;
    }
    let never_published = assignment.is_some_and(Assignment::is_arriving);
    // Placing a cordoned (or drained) host puts it back in service.
    let uncordoned = std::mem::replace(&mut host_mut(ctx, farm)?.cordoned, false);
    let (host, actor, to) = (ctx.host.to_owned(), ctx.actor.to_owned(), Some(role.to_owned()));
    let step = match (from, now || never_published) {
        (None, _) => Step::Assign {
            host,
            role: role.to_owned(),
            actor,
            reason: "operator move".to_owned(),
        },
        (Some(from), false) => Step::StartDrain {
            host,
            from,
            to,
            actor,
            reason: "operator move".to_owned(),
        },
        (Some(from), true) => Step::FinishDrain {
            host,
            from,
            to,
            reason: if now {
                "operator move with now=true: the drain was skipped".to_owned()
            } else {
                "operator move; never published in its old role, so nothing to drain".to_owned()
            },
        },
    };
    let mut event = apply(farm, &step, ctx.now);
    event.actor = ctx.actor.to_owned();
    let mut events = vec![event];
    if uncordoned {
        events.push(ctx.event(
            EventKind::Uncordon,
            None,
            Some(role.to_owned()),
            "placed by an operator: back in service",
        ));
    }
    Ok(events)
}

/// Drain: leave the role through a drain towards no role.
fn drain(ctx: &Ctx<'_>, farm: &mut Farm, force: bool) -> Result<Vec<Event>, OperatorError> {
    if host_mut(ctx, farm)?.is_static {
        return Err(ctx.conflict("is static: it holds the role the policy gives it; change the policy"));
    }
    let Some(assignment) = farm.assignments.get(ctx.host) else {
        return Err(ctx.conflict("holds no role"));
    };
    let Some(from) = assignment.role.clone() else {
        return Err(ctx.conflict("holds no role"));
    };
    if assignment.is_draining() {
        return Err(ctx.conflict(format_args!("is already draining from {from}")));
    }
    ctx.keeps_min(&from, force, "draining")?;
    let step = Step::StartDrain {
        host: ctx.host.to_owned(),
        from: from.clone(),
        to: None,
        actor: ctx.actor.to_owned(),
        reason: "operator drain".to_owned(),
    };
    let drained = apply(farm, &step, ctx.now);
    // Automation would hand an unassigned host to the first role short of
    // hosts: a drained host stays out until an operator says otherwise.
    host_mut(ctx, farm)?.cordoned = true;
    Ok(vec![
        drained,
        ctx.event(
            EventKind::Cordon,
            Some(from),
            None,
            "drained by an operator: out of automation until uncordoned",
        ),
    ])
}

/// Cordon: out of automation and out of DNS.
fn cordon(ctx: &Ctx<'_>, farm: &mut Farm, force: bool) -> Result<Vec<Event>, OperatorError> {
    if host_mut(ctx, farm)?.cordoned {
        return Err(ctx.conflict("is already cordoned"));
    }
    let role = role_of(farm, ctx.host);
    if let Some(role) = &role {
        ctx.keeps_min(role, force, "cordoning")?;
    }
    host_mut(ctx, farm)?.cordoned = true;
    Ok(vec![ctx.event(
        EventKind::Cordon,
        role.clone(),
        role,
        "taken out of automation and out of DNS by an operator",
    )])
}

/// Uncordon: back into automation and DNS.
fn uncordon(ctx: &Ctx<'_>, farm: &mut Farm) -> Result<Vec<Event>, OperatorError> {
    let host = host_mut(ctx, farm)?;
    if !host.cordoned {
        return Err(ctx.conflict("is not cordoned"));
    }
    host.cordoned = false;
    let role = role_of(farm, ctx.host);
    Ok(vec![ctx.event(
        EventKind::Uncordon,
        role.clone(),
        role,
        "given back to automation by an operator",
    )])
}

/// Pin in `role` (its current one when `None`), moving it there first
/// when it holds another.
fn pin(ctx: &Ctx<'_>, farm: &mut Farm, role: Option<&str>, force: bool) -> Result<Vec<Event>, OperatorError> {
    let pinned = host_mut(ctx, farm)?.pinned;
    let assignment = farm.assignments.get(ctx.host);
    let current = assignment.and_then(|a| a.role.clone());
    let settled = !assignment.is_some_and(Assignment::is_draining);
    let Some(role) = role.map(str::to_owned).or_else(|| current.clone()) else {
        return Err(ctx.conflict("holds no role; name the role to pin it in"));
    };
    if !ctx.policy.roles.contains_key(&role) {
        return Err(OperatorError::UnknownRole(role));
    }
    let stays = current.as_deref() == Some(role.as_str()) && settled;
    if pinned && stays {
        return Err(ctx.conflict(format_args!("is already pinned in {role}")));
    }
    let mut events = if stays {
        Vec::new()
    } else {
        move_to(ctx, farm, &role, false, force)?
    };
    host_mut(ctx, farm)?.pinned = true;
    events.push(ctx.event(
        EventKind::Pin,
        current,
        Some(role),
        "pinned by an operator: automation will not move it",
    ));
    Ok(events)
}

/// Unpin: automation may move it again.
fn unpin(ctx: &Ctx<'_>, farm: &mut Farm) -> Result<Vec<Event>, OperatorError> {
    let host = host_mut(ctx, farm)?;
    if !host.pinned {
        return Err(ctx.conflict("is not pinned"));
    }
    host.pinned = false;
    let role = role_of(farm, ctx.host);
    Ok(vec![ctx.event(
        EventKind::Unpin,
        role.clone(),
        role,
        "unpinned by an operator: automation may move it",
    )])
}

/// Register a static host.
fn register(ctx: &Ctx<'_>, farm: &mut Farm, new: &NewHost) -> Result<Vec<Event>, OperatorError> {
    if !valid_label(ctx.host) {
        return Err(OperatorError::Invalid(format!(
            "host name {:?} must be one DNS label: a-z, 0-9 and '-', at most 63 characters",
            ctx.host
        )));
    }
    if farm.hosts.contains_key(ctx.host) {
        return Err(ctx.conflict("already exists"));
    }
    if new.addresses.is_empty() {
        return Err(OperatorError::Invalid(
            "a static host needs at least one address".to_owned(),
        ));
    }
    if let Some(role) = &new.role
        && !ctx.policy.roles.contains_key(role)
    {
        return Err(OperatorError::Invalid(format!(
            "no role named {role:?} in the policy"
        )));
    }
    farm.hosts.insert(
        ctx.host.to_owned(),
        HostRecord {
            labels: new.labels.clone(),
            is_static: true,
            ..HostRecord::new(ctx.host, new.addresses.clone())
        },
    );
    // A static host holds its role at once, unless the SPF must list it
    // for its TTL first.
    let assignment = if crate::spf::sends(ctx.policy, new.role.as_deref()) {
        Assignment::arriving(new.role.clone(), ctx.now)
    } else {
        Assignment::active(new.role.clone(), ctx.now)
    };
    farm.assignments.insert(ctx.host.to_owned(), assignment);
    // The SPF must still fit with the new sender in it.
    if let Some(spf) = ctx.policy.spf.as_ref()
        && crate::spf::sends(ctx.policy, new.role.as_deref())
        && let Err(too_big) = spf.records(&ctx.policy.zone, crate::spf::sender_addresses(spf, farm, ctx.now))
    {
        return Err(OperatorError::Invalid(format!(
            "with {} the SPF cannot list every sender: {too_big}",
            ctx.host
        )));
    }
    Ok(vec![ctx.event(
        EventKind::Register,
        None,
        new.role.clone(),
        "static host registered by an operator",
    )])
}

/// Remove a host the policy's inventory does not define.
fn remove(ctx: &Ctx<'_>, farm: &mut Farm, force: bool) -> Result<Vec<Event>, OperatorError> {
    host_mut(ctx, farm)?;
    if ctx.policy.hosts.iter().any(|h| h.name == ctx.host) {
        return Err(ctx.conflict("is defined in the policy file; remove it there"));
    }
    let role = role_of(farm, ctx.host);
    if let Some(role) = &role {
        ctx.keeps_min(role, force, "removing")?;
    }
    farm.hosts.remove(ctx.host);
    farm.assignments.remove(ctx.host);
    Ok(vec![ctx.event(
        EventKind::Remove,
        role,
        None,
        "removed by an operator",
    )])
}

/// An agent's first heartbeat, or one with news: adds `name` to the farm
/// (in no role: automation gives it one), updates its addresses, or binds its token (a
/// name already bound keeps its token: the first enrolment wins). Returns
/// the events.
pub fn enrol(
    farm: &mut Farm,
    name: &str,
    addresses: Vec<std::net::IpAddr>,
    token_hash: Option<String>,
    now: Millis,
) -> Vec<Event> {
    let mut reasons = Vec::new();
    let kind = match farm.hosts.get_mut(name) {
        Some(host) => {
            if !addresses.is_empty() && host.addresses != addresses && !host.is_static {
                host.addresses = addresses;
                reasons.push("the agent reported new addresses");
            }
            if host.token_hash.is_none() && token_hash.is_some() {
                host.token_hash = token_hash;
                reasons.push("bound to its own agent token");
            }
            EventKind::Update
        }
        None => {
            farm.hosts.insert(
                name.to_owned(),
                HostRecord {
                    token_hash: token_hash.clone(),
                    ..HostRecord::new(name, addresses)
                },
            );
            farm.assignments
                .insert(name.to_owned(), Assignment::active(None, now));
            reasons.push("first heartbeat from an unknown host");
            if token_hash.is_some() {
                reasons.push("bound to its own agent token");
            }
            EventKind::Enrol
        }
    };
    if reasons.is_empty() {
        return Vec::new();
    }
    vec![Event {
        at: now,
        kind,
        host: Some(name.to_owned()),
        from_role: None,
        to_role: None,
        actor: "agent".to_owned(),
        reason: reasons.join("; "),
        serial: None,
    }]
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::farm::Phase;

    const POLICY: &str = "
zone: lists.example.test
nameservers: [ns1.lists.example.test]
soa: { rname: hostmaster@lists.example.test }
roles:
  mx:
    min: 2
    records: [{ name: '@', type: MX, priority: 10 }]
  web:
    min: 0
    records: [{ name: www, type: A }]
hosts:
  - { name: ns1, address: 192.0.2.53, static: true }
  - { name: a, address: 192.0.2.1, role: mx }
  - { name: b, address: 192.0.2.2, role: mx }
";

    fn policy() -> Policy {
        crate::policy::load_str(Path::new("test.yaml"), POLICY).expect("test policy")
    }

    /// The farm the policy describes plus an agent `c` in mx; `a`, `b`
    /// and `c` published in mx.
    fn farm() -> (Farm, Membership) {
        let mut farm = Farm::default();
        for (name, role, is_static) in [
            ("ns1", None, true),
            ("a", Some("mx"), false),
            ("b", Some("mx"), false),
            ("c", Some("mx"), false),
        ] {
            farm.hosts.insert(
                name.to_owned(),
                HostRecord {
                    is_static,
                    ..HostRecord::new(name, vec![IpAddr::from([192, 0, 2, 9])])
                },
            );
            farm.assignments
                .insert(name.to_owned(), Assignment::active(role.map(str::to_owned), 0));
        }
        let membership = Membership::from([("mx".to_owned(), vec!["a".into(), "b".into(), "c".into()])]);
        (farm, membership)
    }

    fn run(
        farm: &mut Farm,
        membership: &Membership,
        host: &str,
        op: Operation,
    ) -> Result<Vec<Event>, OperatorError> {
        let request = OperatorRequest {
            host: host.to_owned(),
            actor: "alice".to_owned(),
            operation: op,
        };
        apply_operation(&policy(), membership, farm, &request, 1000)
    }

    #[test]
    fn drain_starts_a_drain_towards_no_role_and_keeps_the_min() {
        let (mut farm, mut members) = farm();
        let events = run(&mut farm, &members, "c", Operation::Drain { force: false }).expect("drain");
        assert_eq!(events[0].kind, "drain-start");
        assert_eq!(events[0].actor, "alice");
        assert!(matches!(
            &farm.assignments["c"].phase,
            Phase::Draining { to: None, .. }
        ));
        assert_eq!(
            run(&mut farm, &members, "c", Operation::Drain { force: false }),
            Err(OperatorError::Conflict("c is already draining from mx".into()))
        );
        members.insert("mx".into(), vec!["a".into(), "b".into()]);
        let err = run(&mut farm, &members, "b", Operation::Drain { force: false }).expect_err("below min");
        assert!(err.to_string().contains("leave mx with 1 of its min 2"), "{err}");
        run(&mut farm, &members, "b", Operation::Drain { force: true }).expect("forced");
    }

    #[test]
    fn cordon_and_uncordon_toggle_once() {
        let (mut farm, members) = farm();
        let events = run(&mut farm, &members, "c", Operation::Cordon { force: false }).expect("cordon");
        assert_eq!(
            (events[0].kind.as_str(), events[0].actor.as_str()),
            ("cordon", "alice")
        );
        assert!(farm.hosts["c"].cordoned);
        assert!(matches!(
            run(&mut farm, &members, "c", Operation::Cordon { force: false }),
            Err(OperatorError::Conflict(_))
        ));
        run(&mut farm, &members, "c", Operation::Uncordon).expect("uncordon");
        assert!(!farm.hosts["c"].cordoned);
        assert!(matches!(
            run(&mut farm, &members, "c", Operation::Uncordon),
            Err(OperatorError::Conflict(_))
        ));
        assert_eq!(
            run(&mut farm, &members, "zz", Operation::Uncordon),
            Err(OperatorError::UnknownHost("zz".into()))
        );
    }

    #[test]
    fn pin_in_another_role_moves_it_there() {
        let (mut farm, members) = farm();
        let pin = |role: Option<&str>| Operation::Pin {
            role: role.map(str::to_owned),
            force: false,
        };
        let events = run(&mut farm, &members, "c", pin(Some("web"))).expect("pin");
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["drain-start", "pin"]);
        assert!(farm.hosts["c"].pinned);
        assert_eq!(
            run(&mut farm, &members, "c", pin(Some("nope"))),
            Err(OperatorError::UnknownRole("nope".into()))
        );
        let events = run(&mut farm, &members, "a", pin(None)).expect("pin in place");
        assert_eq!(events.len(), 1);
        assert!(matches!(
            run(&mut farm, &members, "a", pin(None)),
            Err(OperatorError::Conflict(_))
        ));
        run(&mut farm, &members, "a", Operation::Unpin).expect("unpin");
        assert!(!farm.hosts["a"].pinned);
    }

    #[test]
    fn registering_a_sender_the_spf_cannot_list_is_refused() {
        let mut policy = policy();
        // Nine includes of the operator's leave room for one part.
        policy.spf = Some(crate::policy::Spf {
            owner: policy.zone.clone(),
            roles: vec!["web".to_owned()],
            include: (0..9)
                .map(|i| hickory_proto::rr::Name::from_ascii(format!("_spf.example{i}.net.")).expect("name"))
                .collect(),
            keep_after_leave: std::time::Duration::from_secs(60),
            all: crate::policy::SpfAll::Fail,
            ttl: 60,
        });
        let (mut farm, members) = farm();
        let mut refused = None;
        for i in 0..200u8 {
            let request = OperatorRequest {
                host: format!("s{i}"),
                actor: "alice".to_owned(),
                operation: Operation::Register(NewHost {
                    addresses: vec![IpAddr::from([127, 0, i, 1])],
                    role: Some("web".into()),
                    labels: BTreeMap::new(),
                }),
            };
            let mut attempt = farm.clone();
            match apply_operation(&policy, &members, &mut attempt, &request, 1000) {
                Ok(_) => farm = attempt,
                Err(e) => {
                    refused = Some((i, e));
                    break;
                }
            }
        }
        let (i, err) = refused.expect("the SPF fills up");
        assert!(i > 10, "refused after {i} senders: {err}");
        assert!(matches!(err, OperatorError::Invalid(_)), "{err:?}");
        assert!(
            err.to_string().contains("the SPF cannot list every sender"),
            "{err}"
        );
    }

    #[test]
    fn register_and_remove_respect_the_policy() {
        let (mut farm, members) = farm();
        let new = NewHost {
            addresses: vec![IpAddr::from([192, 0, 2, 7])],
            role: Some("web".into()),
            labels: BTreeMap::new(),
        };
        run(&mut farm, &members, "extra", Operation::Register(new.clone())).expect("register");
        assert!(farm.hosts["extra"].is_static);
        assert!(matches!(
            run(&mut farm, &members, "extra", Operation::Register(new.clone())),
            Err(OperatorError::Conflict(_))
        ));
        assert!(matches!(
            run(&mut farm, &members, "Bad_Name", Operation::Register(new.clone())),
            Err(OperatorError::Invalid(_))
        ));
        let nowhere = NewHost {
            role: Some("nope".into()),
            ..new
        };
        assert!(matches!(
            run(&mut farm, &members, "other", Operation::Register(nowhere)),
            Err(OperatorError::Invalid(_))
        ));
        run(&mut farm, &members, "extra", Operation::Remove { force: false }).expect("remove");
        assert!(!farm.hosts.contains_key("extra") && !farm.assignments.contains_key("extra"));
        let err =
            run(&mut farm, &members, "a", Operation::Remove { force: true }).expect_err("in the policy");
        assert!(err.to_string().contains("defined in the policy file"), "{err}");
    }

    #[test]
    fn move_checks_static_and_unknown_role() {
        let (mut farm, members) = farm();
        let to = |role: &str| Operation::Move {
            role: role.to_owned(),
            now: false,
            force: false,
        };
        assert!(matches!(
            run(&mut farm, &members, "ns1", to("web")),
            Err(OperatorError::Conflict(_))
        ));
        assert_eq!(
            run(&mut farm, &members, "c", to("x")),
            Err(OperatorError::UnknownRole("x".into()))
        );
        assert!(matches!(
            run(&mut farm, &members, "c", to("mx")),
            Err(OperatorError::Conflict(_))
        ));
        let events = run(&mut farm, &members, "c", to("web")).expect("move");
        assert_eq!(
            (events[0].kind.as_str(), events[0].actor.as_str()),
            ("drain-start", "alice")
        );
    }
}
