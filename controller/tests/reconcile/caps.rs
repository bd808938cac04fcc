//! Caps and choice: how many move, which host, and who never does.

use crate::fixture::{self, World, check};
use crate::{NOW, POLICY, with_limits};

#[test]
fn moves_per_tick_is_respected() {
    check(
        &with_limits("moves_per_tick: 1, moves_per_role: 5, host_cooldown: 5m"),
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-out
        smurf4 smtp-out
        smurf8 -
        smurf9 -
        ",
        NOW,
        "assign smurf8 -> smtp-in [reconciler: smtp-in below its min of 1]",
    );
    check(
        POLICY,
        "
        smurf7 -
        smurf8 -
        smurf9 -
        ",
        NOW,
        "
        assign smurf7 -> smtp-in [reconciler: smtp-in below its min of 1]
        assign smurf8 -> smtp-out [reconciler: smtp-out below its min of 2]
        ",
    );
}

#[test]
fn moves_per_role_is_respected() {
    let policy = with_limits("moves_per_tick: 5, moves_per_role: 1, host_cooldown: 5m");
    check(
        &policy,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-out
        smurf4 smtp-out
        smurf5 smtp-out
        ",
        NOW,
        "drain smurf1 smtp-out -> smtp-in [reconciler: smtp-in below its min of 1]",
    );
    // One already draining out of smtp-out blocks a second.
    check(
        &policy,
        &format!(
            "
            smurf1 smtp-out drain>smtp-in@{NOW}
            smurf2 smtp-out
            smurf3 smtp-out
            smurf4 smtp-out
            smurf5 smtp-out
            "
        ),
        NOW + 1,
        "",
    );
    let policy = with_limits("moves_per_tick: 5, moves_per_role: 2, host_cooldown: 5m");
    check(
        &policy,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-out
        smurf4 smtp-out
        smurf5 smtp-out
        ",
        NOW,
        "
        drain smurf1 smtp-out -> smtp-in [reconciler: smtp-in below its min of 1]
        drain smurf2 smtp-out -> web [reconciler: web below its min of 1]
        ",
    );
}

#[test]
fn a_host_is_not_moved_twice_within_its_cooldown() {
    let farm = |moved: i64| {
        format!(
            "
            smurf1 smtp-out moved@{moved}
            smurf2 smtp-out
            smurf3 smtp-out
            smurf4 smtp-in
            "
        )
    };
    // smurf1 would be first by name; 5 minutes is 300 s.
    check(
        POLICY,
        &farm(NOW - 299),
        NOW,
        "drain smurf2 smtp-out -> web [reconciler: web below its min of 1]",
    );
    check(
        POLICY,
        &farm(NOW - 300),
        NOW,
        "drain smurf1 smtp-out -> web [reconciler: web below its min of 1]",
    );
    // An unassigned host within its cooldown is not assigned either.
    check(
        POLICY,
        &format!(
            "
            smurf1 smtp-out
            smurf2 smtp-out
            smurf4 smtp-in
            smurf9 - moved@{}
            ",
            NOW - 10
        ),
        NOW,
        "",
    );
}

#[test]
fn hosts_automation_may_not_touch_are_never_chosen() {
    // smurf9 is the only possible donor for web, but …
    for flags in [
        "static",
        "pinned",
        "cordoned",
        "dead quiet=60",
        "dead streak=2",
        "quiet=10",
        "roles=smtp-out,spare",
        "drain>spare@9990",
    ] {
        let farm = format!(
            "
            smurf1 smtp-out
            smurf2 smtp-out
            smurf4 smtp-in
            smurf9 spare {flags}
            "
        );
        let world = World::new(POLICY, &farm, NOW);
        let steps = fixture::render(&world.plan());
        assert!(!steps.contains("smurf9 spare ->"), "{flags}: {steps}");
        assert!(!steps.contains("assign"), "{flags}: {steps}");
    }
    // … an eligible one is.
    check(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf4 smtp-in
        smurf9 spare roles=web,spare
        ",
        NOW,
        "drain smurf9 spare -> web [reconciler: web below its min of 1]",
    );
}

#[test]
fn the_least_loaded_donor_goes_first_then_by_name() {
    let farm = "
        smurf1 smtp-out q=5
        smurf2 smtp-out q=1
        smurf3 smtp-out q=3
        smurf4 smtp-out q=1
        smurf5 smtp-in
    ";
    check(
        POLICY,
        farm,
        NOW,
        "drain smurf2 smtp-out -> web [reconciler: web below its min of 1]",
    );
    // Same input, same steps, whatever order the farm was written in.
    let reversed: String = farm.lines().rev().map(|l| format!("{l}\n")).collect();
    let a = World::new(POLICY, farm, NOW).plan();
    let b = World::new(POLICY, &reversed, NOW).plan();
    assert_eq!(a, b);
    assert_eq!(a, World::new(POLICY, farm, NOW).plan());
}

#[test]
fn a_cordoned_host_is_not_published_a_pinned_one_is_but_never_moves() {
    let farm = "
        smurf1 smtp-out pinned
        smurf2 smtp-out pinned
        smurf3 smtp-out pinned
        smurf4 smtp-in cordoned
        smurf5 web
        smurf6 spare
    ";
    let world = World::new(POLICY, farm, NOW);
    assert_eq!(
        world.members(),
        "smtp-out: smurf1 smurf2 smurf3\nspare: smurf6\nweb: smurf5"
    );
    // smtp-in has no member it may count: the spare goes, the surplus of
    // pinned smtp-out hosts stays.
    check(
        POLICY,
        farm,
        NOW,
        "drain smurf6 spare -> smtp-in [reconciler: smtp-in below its min of 1]",
    );
}

#[test]
fn a_raised_wanted_count_never_keeps_another_role_below_its_min() {
    // smtp-out wants 3 (a schedule, say) and has 3; web has lost its only
    // host. Mins come first: web takes one of smtp-out's, leaving smtp-out
    // above its own min of 2 but below its wanted count.
    let mut world = World::new(
        &with_limits("moves_per_tick: 5, moves_per_role: 5, host_cooldown: 5m"),
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-out
        smurf4 smtp-in
        ",
        NOW,
    );
    world.wanted.insert("smtp-out".into(), 3);
    let steps = fixture::render(&world.plan());
    assert!(
        steps.contains("-> web [reconciler: web below its min of 1]"),
        "{steps}"
    );
}

#[test]
fn hosts_in_a_role_the_policy_dropped_are_taken_first_among_serving_ones() {
    // `retired` is in no policy: its hosts are a surplus the declared roles
    // may take like spares, by name among equals, with nothing to drain.
    check(
        &with_limits("moves_per_tick: 5, moves_per_role: 5, host_cooldown: 5m"),
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf4 smtp-in
        smurf7 retired
        smurf6 retired
        ",
        NOW,
        "
        drain smurf6 retired -> web [reconciler: web below its min of 1]
        finish smurf6 retired -> web [role retired is no longer in the policy]
        ",
    );
}
