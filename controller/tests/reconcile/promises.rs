//! The promises of issue 12, each as it was broken: an operator's move
//! emptying a role, hosts published before their agents hold the role,
//! correlated deaths judged one by one, and a drained host handed back to
//! automation behind the operator's back.

use muster_controller::operator::{Operation, OperatorRequest, apply_operation};
use muster_controller::reconcile::membership;

use crate::fixture::{World, check, trim};
use crate::{NOW, POLICY};

/// Rule 2: a host on its way into a role does not serve it yet, so it is
/// no reason to drain the one that does.
#[test]
fn a_host_draining_towards_a_role_at_its_min_does_not_push_out_its_only_member() {
    let farm = format!(
        "
        smurf1 smtp-out drain>web@{}
        smurf2 smtp-out
        smurf3 web
        smurf4 smtp-in
        ",
        NOW - 1
    );
    let mut world = World::new(POLICY, &farm, NOW);
    // default_want: { smtp-out: 2, web: 1 }, as the operator who hit it had.
    world.wanted.insert("smtp-out".to_owned(), 2);
    world.wanted.insert("web".to_owned(), 1);
    // Before the fix: drain smurf3 web -> smtp-out, leaving www empty until
    // smurf1 finished its drain.
    assert_eq!(world.tick(), "");
    assert_eq!(world.members(), "smtp-in: smurf4\nsmtp-out: smurf2\nweb: smurf3");

    // smurf1 finishes its drain, then its agent reports holding web: only
    // now is web above its count, and smtp-out gets a host back from it.
    world.advance(60);
    world.beat_all_but(&[]);
    assert_eq!(world.tick(), "finish smurf1 smtp-out -> web [queue empty]");
    assert_eq!(world.members(), "smtp-in: smurf4\nsmtp-out: smurf2\nweb: smurf3");
    world.advance(1);
    world.beat_all_but(&[]);
    assert_eq!(
        world.tick(),
        trim(
            "
            arrive smurf1 -> web
            drain smurf3 web -> smtp-out [reconciler: smtp-out below its min of 2]
            "
        )
    );
    assert_eq!(world.members(), "smtp-in: smurf4\nsmtp-out: smurf2\nweb: smurf1");
}

/// A role gives only hosts that serve it: one still arriving (its hook
/// running) is not counted as strength to give from.
#[test]
fn an_arriving_host_is_not_strength_to_give_from() {
    check(
        POLICY,
        "
        smurf1 smtp-out
        smurf3 web
        smurf5 web arriving reports=-
        smurf4 smtp-in
        ",
        NOW,
        "",
    );
}

/// Rule 3: hosts killed together are one event though their staggered
/// heartbeats cross `dead_after` on different ticks. Before the fix the
/// first to cross left DNS alone, and fail-static engaged a tick later.
#[test]
fn hosts_killed_together_are_judged_together_before_any_death() {
    // Four of six killed at once: smurf1 has just crossed dead_after (3 s),
    // the other three have each missed their heartbeats (interval 1 s).
    let farm = "
        smurf1 smtp-out quiet=4
        smurf2 smtp-out quiet=3
        smurf3 smtp-out quiet=3
        smurf4 smtp-in quiet=3
        smurf5 web
        smurf6 web
    ";
    check(POLICY, farm, NOW, "panic [4 of 6 agents went silent at once]");
    // Nobody left DNS.
    let world = World::new(POLICY, farm, NOW);
    assert_eq!(
        world.members(),
        "smtp-in: smurf4\nsmtp-out: smurf1 smurf2 smurf3\nweb: smurf5 smurf6"
    );

    // One host that missed a beat beside one dead is not an event.
    check(
        POLICY,
        "
        smurf1 smtp-out quiet=4
        smurf2 smtp-out
        smurf3 smtp-out
        smurf4 smtp-in quiet=3
        smurf5 web
        smurf6 web
        ",
        NOW,
        "dead smurf1 [no heartbeat for 4.0s]",
    );
}

fn operate(world: &mut World, host: &str, operation: Operation) {
    let members = membership(&world.policy, &world.farm, &world.observed);
    let request = OperatorRequest {
        host: host.to_owned(),
        actor: "alice".to_owned(),
        operation,
    };
    let mut farm = world.farm.clone();
    apply_operation(&world.policy, &members, &mut farm, &request, world.now).expect("the operation");
    world.farm = farm;
}

/// Rule 5 as an operator reads it: a drained host stays out of its roles
/// until the operator gives it back.
#[test]
fn a_drained_host_stays_out_until_uncordoned() {
    let mut world = World::new(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-out
        smurf4 smtp-in
        smurf5 web
        ",
        NOW,
    );
    operate(&mut world, "smurf3", Operation::Drain { force: false });
    assert!(world.farm.hosts["smurf3"].cordoned);
    // The drain ends; an hour later (far past host_cooldown) smurf3 is
    // still in no role.
    world.advance(61);
    world.beat_all_but(&[]);
    assert_eq!(world.tick(), "finish smurf3 smtp-out -> - [queue empty]");
    for _ in 0..60 {
        world.advance(60);
        world.beat_all_but(&[]);
        assert_eq!(world.tick(), "");
    }
    assert_eq!(world.farm.assignments["smurf3"].role, None);

    // Uncordoned, it is automation's again: the first role short of hosts
    // (none here) or spare.
    operate(&mut world, "smurf3", Operation::Uncordon);
    world.wanted.insert("web".to_owned(), 2);
    world.advance(1);
    world.beat_all_but(&[]);
    assert_eq!(
        world.tick(),
        "assign smurf3 -> web [reconciler: web below its wanted count of 2]"
    );
}
