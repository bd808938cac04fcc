//! Idempotence: planning again after applying yields nothing.

use muster_controller::reconcile::apply;

use crate::fixture::{World, check};
use crate::{NOW, POLICY, with_limits};

#[test]
fn planning_again_after_applying_yields_nothing() {
    // Each scenario mixes rules in one plan; `check` plans again after
    // applying and expects nothing.
    check(
        POLICY,
        &format!(
            "
            smurf1 smtp-out quiet=10
            smurf2 smtp-out
            smurf3 smtp-out
            smurf4 smtp-in dead streak=4
            smurf5 web drain>smtp-out@{}
            smurf6 spare
            smurf7 -
            ",
            NOW - 30
        ),
        NOW,
        "
        dead smurf1 [no heartbeat for 10.0s]
        revive smurf4
        finish smurf5 web -> smtp-out [records' TTL passed]
        assign smurf7 -> web [reconciler: web below its min of 1]
        ",
    );
    // Everything below min at once, more than the caps allow.
    check(
        &with_limits("moves_per_tick: 3, moves_per_role: 1, host_cooldown: 0s"),
        "
        smurf1 spare
        smurf2 spare
        smurf3 spare
        smurf4 spare
        smurf5 spare
        smurf6 -
        ",
        NOW,
        "
        assign smurf6 -> smtp-in [reconciler: smtp-in below its min of 1]
        drain smurf1 spare -> smtp-out [reconciler: smtp-out below its min of 2]
        ",
    );
}

#[test]
fn applying_a_plan_twice_changes_nothing_more() {
    // The executor may retry a step; applying it again keeps the farm.
    let mut world = World::new(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-out
        smurf4 smtp-in quiet=9
        ",
        NOW,
    );
    let steps = world.plan();
    for step in &steps {
        apply(&mut world.farm, step, world.now);
    }
    let once = world.farm.clone();
    for step in &steps {
        apply(&mut world.farm, step, world.now);
    }
    assert_eq!(world.farm, once);
}
