//! Drain before move: who gives a host to a role below min, and when the
//! host may change role.

use crate::fixture::{World, check};
use crate::{NOW, POLICY};

#[test]
fn a_role_below_min_takes_an_unassigned_host_first() {
    check(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-out
        smurf4 smtp-in
        smurf9 -
        ",
        NOW,
        "assign smurf9 -> web [reconciler: web below its min of 1]",
    );
}

#[test]
fn otherwise_it_drains_a_host_from_a_role_above_its_min() {
    check(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-out
        smurf4 smtp-in
        ",
        NOW,
        "drain smurf1 smtp-out -> web [reconciler: web below its min of 1]",
    );
}

#[test]
fn never_from_a_role_at_its_min() {
    check(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf4 smtp-in
        ",
        NOW,
        "",
    );
}

#[test]
fn a_drain_waits_for_the_ttl_then_the_queue() {
    // smtp-out's MX has TTL 60 and the role waits for an empty queue.
    let farm = |q: u32| {
        format!(
            "
            smurf1 smtp-out
            smurf2 smtp-out
            smurf3 smtp-out drain>web@{NOW} q={q}
            smurf4 smtp-in
            "
        )
    };
    let cases = [
        (59, 0, ""),
        (60, 0, "finish smurf3 smtp-out -> web [queue empty]"),
        (60, 3, ""),
        (599, 3, ""),
        (
            600,
            3,
            "finish smurf3 smtp-out -> web [drain timeout (600s) reached]",
        ),
    ];
    for (after, q, expect) in cases {
        check(POLICY, &farm(q), NOW + after, expect);
    }
    // No queue reported: wait for the timeout.
    let unknown = farm(0).replace(" q=0", "");
    check(POLICY, &unknown, NOW + 60, "");
}

#[test]
fn each_drain_kind_waits_for_its_own_end() {
    let cases = [
        // web: the TTL only (the policy's 30 s).
        ("smurf5 web drain>smtp-out@0", 29, ""),
        (
            "smurf5 web drain>smtp-out@0",
            30,
            "finish smurf5 web -> smtp-out [records' TTL passed]",
        ),
        // smtp-in: the policy TTL, then the queue.
        ("smurf5 smtp-in drain>web@0 q=0", 29, ""),
        (
            "smurf5 smtp-in drain>web@0 q=0",
            30,
            "finish smurf5 smtp-in -> web [queue empty]",
        ),
        // bounce: the full timeout, whatever the queue says.
        ("smurf5 bounce drain>web@0 q=0", 119, ""),
        (
            "smurf5 bounce drain>web@0 q=0",
            120,
            "finish smurf5 bounce -> web [drain timeout (120s) reached]",
        ),
        // spare publishes nothing; its TTL is the policy's.
        (
            "smurf5 spare drain>web@0",
            30,
            "finish smurf5 spare -> web [records' TTL passed]",
        ),
        // Leaving for no role.
        (
            "smurf5 spare drain>-@0",
            30,
            "finish smurf5 spare -> - [records' TTL passed]",
        ),
    ];
    for (line, at, expect) in cases {
        let farm = format!(
            "
            smurf1 smtp-out
            smurf2 smtp-out
            smurf4 smtp-in
            smurf6 web
            {line}
            "
        );
        check(POLICY, &farm, at, expect);
    }
}

#[test]
fn a_dead_host_draining_a_queue_waits_only_for_the_ttl() {
    check(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-out dead drain>spare@0 q=7 quiet=50
        smurf4 smtp-in
        smurf5 web
        ",
        59,
        "",
    );
    check(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-out dead drain>spare@0 q=7 quiet=50
        smurf4 smtp-in
        smurf5 web
        ",
        60,
        "finish smurf3 smtp-out -> spare [host is dead; nothing left to wait for]",
    );
}

#[test]
fn a_draining_host_leaves_dns_at_once_and_changes_role_after() {
    let mut world = World::new(
        POLICY,
        "
        smurf1 smtp-out q=4
        smurf2 smtp-out q=2
        smurf3 smtp-out q=9
        smurf4 smtp-in
        ",
        NOW,
    );
    assert_eq!(world.members(), "smtp-in: smurf4\nsmtp-out: smurf1 smurf2 smurf3");
    assert_eq!(
        world.tick(),
        "drain smurf2 smtp-out -> web [reconciler: web below its min of 1]"
    );
    assert_eq!(world.members(), "smtp-in: smurf4\nsmtp-out: smurf1 smurf3");

    let mut finished = None;
    for second in 1..=120 {
        world.advance(1);
        world.beat_all_but(&[]);
        let queue = if second < 90 { 2.0 } else { 0.0 };
        world.beat("smurf2", Some(queue), None);
        let steps = world.tick();
        if !steps.is_empty() {
            finished = Some((second, steps));
            break;
        }
        assert_eq!(world.members(), "smtp-in: smurf4\nsmtp-out: smurf1 smurf3");
    }
    assert_eq!(
        finished,
        Some((90, "finish smurf2 smtp-out -> web [queue empty]".to_owned()))
    );
    // Published in web once its agent reports the new role.
    assert_eq!(world.members(), "smtp-in: smurf4\nsmtp-out: smurf1 smurf3");
    world.advance(1);
    world.beat_all_but(&[]);
    assert_eq!(world.tick(), "arrive smurf2 -> web");
    assert_eq!(
        world.members(),
        "smtp-in: smurf4\nsmtp-out: smurf1 smurf3\nweb: smurf2"
    );
}

#[test]
fn a_dead_host_on_its_way_to_a_role_does_not_count_for_it() {
    // Found by the property tests: the role waited for a host that would
    // never serve it.
    check(
        POLICY,
        &format!(
            "
            smurf1 smtp-out
            smurf4 smtp-in
            smurf5 web drain>smtp-out@{} quiet=10
            smurf6 web
            smurf9 -
            ",
            NOW - 10
        ),
        NOW,
        "
        dead smurf5 [no heartbeat for 10.0s]
        assign smurf9 -> smtp-out [reconciler: smtp-out below its min of 2]
        ",
    );
}

#[test]
fn a_drain_finishing_frees_its_roles_drain_slot_in_the_same_plan() {
    // Found by the property tests: the slot was freed only by the next
    // plan, so planning again at the same instant found a move.
    check(
        POLICY,
        &format!(
            "
            smurf1 smtp-out
            smurf2 smtp-out
            smurf3 smtp-out drain>web@{} q=0
            smurf4 smtp-out
            ",
            NOW - 60
        ),
        NOW,
        "
        finish smurf3 smtp-out -> web [queue empty]
        drain smurf1 smtp-out -> smtp-in [reconciler: smtp-in below its min of 1]
        ",
    );
}
