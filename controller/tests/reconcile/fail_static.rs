//! Fail static: many silent at once is our fault, not theirs.

use crate::fixture::{World, check, trim};
use crate::{FARM, NOW, POLICY};

#[test]
fn most_of_a_pool_going_silent_at_once_is_panic_not_death() {
    check(
        POLICY,
        &FARM
            .replace("smurf1 smtp-out", "smurf1 smtp-out quiet=5")
            .replace("smurf2 smtp-out", "smurf2 smtp-out quiet=6"),
        NOW,
        "panic [2 of 3 hosts in smtp-out went silent at once]",
    );
}

#[test]
fn most_of_all_agents_going_silent_at_once_is_panic() {
    check(
        POLICY,
        "
        smurf1 smtp-out quiet=5
        smurf2 smtp-out
        smurf3 smtp-in quiet=5
        smurf4 web quiet=5
        smurf5 spare
        ",
        NOW,
        "panic [3 of 5 agents went silent at once]",
    );
}

#[test]
fn a_single_silent_host_never_panics() {
    // The whole pool, but one host: it is dead, not us.
    check(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf4 smtp-in quiet=5
        smurf5 web
        ",
        NOW,
        "dead smurf4 [no heartbeat for 5.0s]",
    );
    // One of one agent.
    check(
        POLICY,
        "smurf5 web quiet=5",
        NOW,
        "dead smurf5 [no heartbeat for 5.0s]",
    );
}

#[test]
fn up_to_the_threshold_is_not_panic() {
    // 2 of 4 is 50%: not more than the threshold, so both are dead.
    check(
        POLICY,
        "
        smurf1 smtp-out quiet=5
        smurf2 smtp-out quiet=5
        smurf3 smtp-out
        smurf4 smtp-out
        smurf5 smtp-in
        smurf6 web
        smurf7 spare
        ",
        NOW,
        "
        dead smurf1 [no heartbeat for 5.0s]
        dead smurf2 [no heartbeat for 5.0s]
        ",
    );
}

#[test]
fn in_panic_nothing_dies_or_moves_until_heartbeats_return() {
    let mut world = World::new(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-out
        smurf4 smtp-in
        smurf5 web
        smurf6 spare
        smurf7 -
        ",
        NOW,
    );
    let published = world.members();
    world.advance(5);
    world.beat_all_but(&["smurf1", "smurf2"]);
    assert_eq!(
        world.tick(),
        "panic [2 of 3 hosts in smtp-out went silent at once]"
    );
    assert!(world.farm.panic);

    // Silent for ten minutes, other hosts failing or silent alone too,
    // and roles below min: still nothing.
    for _ in 0..120 {
        world.advance(5);
        world.beat_all_but(&["smurf1", "smurf2", "smurf5"]);
        world.beat("smurf4", None, Some("port 25 closed"));
        assert_eq!(world.tick(), "");
    }
    // The last good set stays published.
    assert_eq!(world.members(), published);

    // One comes back: the alarm is over, the other one is dead. The rest
    // of the farm catches up in the same plan.
    world.advance(1);
    world.beat_all_but(&["smurf2"]);
    assert_eq!(
        world.tick(),
        trim(
            "
            calm
            dead smurf2 [no heartbeat for 606.0s]
            "
        )
    );
}

#[test]
fn in_panic_nothing_that_would_happen_happens() {
    // A failing host, a drain long over, a role below min with a host
    // free for it: all wait while two of three smtp-out hosts are silent.
    let farm = "
        panic
        smurf1 smtp-out quiet=5
        smurf2 smtp-out quiet=6
        smurf3 smtp-out
        smurf4 smtp-in fail=disk_full
        smurf7 -
        smurf8 web drain>spare@0 q=0
    ";
    check(POLICY, farm, NOW, "");
    check(
        POLICY,
        &farm.replace(" quiet=5", "").replace(" quiet=6", ""),
        NOW,
        "
        calm
        dead smurf4 [disk full]
        finish smurf8 web -> spare [records' TTL passed]
        assign smurf7 -> smtp-in [reconciler: smtp-in below its min of 1]
        drain smurf1 smtp-out -> web [reconciler: web below its min of 1]
        ",
    );
}

#[test]
fn heartbeats_returning_end_panic() {
    let mut world = World::new(POLICY, FARM, NOW);
    world.advance(4);
    world.beat_all_but(&["smurf1", "smurf2"]);
    assert_eq!(
        world.tick(),
        "panic [2 of 3 hosts in smtp-out went silent at once]"
    );
    world.advance(1);
    world.beat_all_but(&[]);
    assert_eq!(world.tick(), "calm");
    assert!(!world.farm.panic);
}

#[test]
fn hosts_falling_silent_on_successive_ticks_still_count_together() {
    // Heartbeats are staggered, ticks are short: smurf1 crossed dead_after
    // a tick ago and died alone; smurf2 crosses it now. Their silences began
    // within dead_after of each other: 2 of 3 of smtp-out, a panic.
    check(
        POLICY,
        &FARM
            .replace("smurf1 smtp-out", "smurf1 smtp-out dead quiet=5")
            .replace("smurf2 smtp-out", "smurf2 smtp-out quiet=4"),
        NOW,
        "panic [2 of 3 hosts in smtp-out went silent at once]",
    );
    // Silences that began more than dead_after apart are separate events:
    // the second host is alone.
    check(
        POLICY,
        &FARM
            .replace("smurf1 smtp-out", "smurf1 smtp-out dead quiet=8")
            .replace("smurf2 smtp-out", "smurf2 smtp-out quiet=4"),
        NOW,
        "
        dead smurf2 [no heartbeat for 4.0s]
        drain smurf4 smtp-in -> smtp-out [reconciler: smtp-out below its min of 2]
        ",
    );
}
