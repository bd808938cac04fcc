//! Liveness: silence and failing probes kill, good heartbeats revive,
//! the dead are never published.

use crate::fixture::{World, check};
use crate::{FARM, NOW, POLICY};

#[test]
fn a_host_silent_longer_than_dead_after_is_dead() {
    let cases = [
        ("smurf3 smtp-out quiet=2", ""),
        ("smurf3 smtp-out quiet=3", ""),
        ("smurf3 smtp-out quiet=4", "dead smurf3 [no heartbeat for 4.0s]"),
        ("smurf3 smtp-out quiet=90", "dead smurf3 [no heartbeat for 90.0s]"),
        ("smurf3 smtp-out never", "dead smurf3 [never reported]"),
        // Already dead: nothing more to say.
        ("smurf3 smtp-out dead quiet=90", ""),
        ("smurf3 smtp-out dead never", ""),
    ];
    for (line, expect) in cases {
        let farm = FARM.replace("smurf3 smtp-out", line);
        check(POLICY, &farm, NOW, expect);
    }
}

#[test]
fn a_host_failing_a_probe_is_dead() {
    check(
        POLICY,
        &FARM.replace("smurf3 smtp-out", "smurf3 smtp-out fail=smtp_banner_timeout"),
        NOW,
        "dead smurf3 [smtp banner timeout]",
    );
    check(
        POLICY,
        &FARM.replace("smurf3 smtp-out", "smurf3 smtp-out hook=exit_status_1"),
        NOW,
        "dead smurf3 [role change failed: exit status 1]",
    );
}

#[test]
fn a_static_host_never_dies() {
    // No agent has ever reported for it, and it holds a role alone.
    check(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        oldmail smtp-in static
        smurf5 web
        ",
        NOW,
        "",
    );
    let mut world = World::new(POLICY, FARM, NOW);
    world.advance(3600);
    world.beat_all_but(&[]);
    assert_eq!(world.tick(), "");
    assert!(
        world.members().contains("smtp-in: oldmail smurf4"),
        "{}",
        world.members()
    );
}

#[test]
fn a_dead_host_revives_after_revive_after_good_heartbeats_in_a_row() {
    let cases = [
        ("smurf3 smtp-out dead streak=1", ""),
        ("smurf3 smtp-out dead streak=2", ""),
        ("smurf3 smtp-out dead streak=3", "revive smurf3"),
        ("smurf3 smtp-out dead streak=7", "revive smurf3"),
        // Good streak, but the last heartbeat is too old: still silent.
        ("smurf3 smtp-out dead streak=5 quiet=4", ""),
        ("smurf3 smtp-out dead fail=disk_full", ""),
    ];
    for (line, expect) in cases {
        check(POLICY, &FARM.replace("smurf3 smtp-out", line), NOW, expect);
    }
}

#[test]
fn a_failing_heartbeat_resets_the_streak() {
    let mut world = World::new(
        POLICY,
        &FARM.replace("smurf3 smtp-out", "smurf3 smtp-out quiet=60"),
        NOW,
    );
    assert_eq!(world.tick(), "dead smurf3 [no heartbeat for 60.0s]");
    let mut log = Vec::new();
    for failure in [None, None, Some("queue stuck"), None, None, None] {
        world.advance(1);
        world.beat_all_but(&["smurf3"]);
        world.beat("smurf3", Some(0.0), failure);
        log.push(world.tick());
    }
    assert_eq!(log, ["", "", "", "", "", "revive smurf3"]);
}

#[test]
fn a_heartbeat_after_a_silence_starts_a_new_streak() {
    let mut world = World::new(
        POLICY,
        &FARM.replace("smurf3 smtp-out", "smurf3 smtp-out dead streak=2"),
        NOW,
    );
    world.advance(10);
    world.beat_all_but(&[]);
    // Two before the silence, one after: not three in a row.
    assert_eq!(world.tick(), "");
    world.advance(1);
    world.beat_all_but(&[]);
    assert_eq!(world.tick(), "");
    world.advance(1);
    world.beat_all_but(&[]);
    assert_eq!(world.tick(), "revive smurf3");
}

#[test]
fn a_dead_host_is_never_published() {
    let world = World::new(
        POLICY,
        "
        smurf1 smtp-out dead
        smurf2 smtp-out dead streak=9
        smurf3 smtp-out
        smurf4 smtp-in dead never
        smurf5 web dead quiet=60
        oldmail smtp-in static
        ",
        NOW,
    );
    assert_eq!(world.members(), "smtp-in: oldmail\nsmtp-out: smurf3");
}

#[test]
fn a_host_is_published_once_its_agent_reports_the_role() {
    let world = World::new(
        POLICY,
        "
        smurf1 smtp-out reports=web
        smurf2 smtp-out reports=-
        smurf3 smtp-out
        smurf4 smtp-out never
        ",
        NOW,
    );
    // An agent that reports another role, or none, is switching: out of
    // DNS. One not heard from since the controller started (smurf4, after
    // a restart) holds what it held when it was published.
    assert_eq!(world.members(), "smtp-out: smurf3 smurf4");
}

#[test]
fn a_host_given_a_role_is_published_only_once_its_agent_reports_holding_it() {
    // Issue 12 (2): hosts in a fresh database's inventory, or switching
    // roles with a slow hook, were published before their agents held the
    // role.
    let mut world = World::new(
        POLICY,
        "
        smurf1 smtp-out arriving never
        smurf2 smtp-out arriving reports=-
        smurf3 smtp-out arriving reports=web
        smurf4 smtp-in arriving
        smurf5 web
        oldmail smtp-in static
        ",
        NOW,
    );
    assert_eq!(world.members(), "smtp-in: oldmail\nweb: smurf5");
    assert_eq!(
        world.tick(),
        "dead smurf1 [never reported]\narrive smurf4 -> smtp-in"
    );
    assert_eq!(world.members(), "smtp-in: oldmail smurf4\nweb: smurf5");
    // The hook of smurf2 is done: it reports its role on the next beat.
    world.advance(1);
    world.beat("smurf2", Some(0.0), None);
    world.beat("smurf4", Some(0.0), None);
    world.beat("smurf5", Some(0.0), None);
    assert_eq!(world.tick(), "arrive smurf2 -> smtp-out");
    assert_eq!(
        world.members(),
        "smtp-in: oldmail smurf4\nsmtp-out: smurf2\nweb: smurf5"
    );
}

#[test]
fn hosts_never_heard_from_are_not_protected_by_fail_static() {
    // Issue 12 (2a): a fresh database whose inventory gives hosts roles,
    // and no agent ever reports. They were all "silent at once", fail-static
    // engaged and they stayed published for good.
    check(
        POLICY,
        "
        smurf1 smtp-out arriving never
        smurf2 smtp-out arriving never
        smurf3 smtp-out arriving never
        smurf4 smtp-in arriving never
        oldmail smtp-in static
        ",
        NOW,
        "
        dead smurf1 [never reported]
        dead smurf2 [never reported]
        dead smurf3 [never reported]
        dead smurf4 [never reported]
        ",
    );
}
