//! The SPF that follows the sending pools (issue 13): who it lists, and a
//! host joining a sending role published in its pool only once the SPF has
//! listed it for the record's TTL.

use std::time::Duration;

use hickory_proto::rr::Name;
use muster_controller::farm::Farm;
use muster_controller::policy::{Spf, SpfAll};
use muster_controller::spf::{senders, track_departures};

use crate::fixture::{World, ms};
use crate::{NOW, POLICY};

fn spf(ttl: u32, keep_s: u64) -> Spf {
    Spf {
        owner: Name::from_ascii("lists.example.test.").expect("name"),
        roles: vec!["smtp-out".to_owned()],
        include: Vec::new(),
        keep_after_leave: Duration::from_secs(keep_s),
        all: SpfAll::Fail,
        ttl,
    }
}

fn listed(world: &World) -> String {
    let spf = world.policy.spf.as_ref().expect("an spf");
    senders(spf, &world.farm, world.now)
        .into_iter()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Plans and applies a tick as the engine does, noting departures.
fn tick(world: &mut World) -> String {
    let before: Farm = world.farm.clone();
    let steps = world.tick();
    let spf = world.policy.spf.clone();
    track_departures(spf.as_ref(), &before, &mut world.farm, world.now);
    steps
}

#[test]
fn a_joining_host_is_listed_at_once_and_published_only_after_the_spf_ttl() {
    let mut world = World::new(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-in
        smurf4 web
        smurf6 -
        ",
        NOW,
    );
    world.policy.spf = Some(spf(300, 3600));
    world.wanted.insert("smtp-out".to_owned(), 3);
    assert_eq!(listed(&world), "smurf1 smurf2");

    // The agent already holds nothing; it is given smtp-out and listed.
    let steps = tick(&mut world);
    assert!(steps.starts_with("assign smurf6 -> smtp-out"), "{steps}");
    assert_eq!(listed(&world), "smurf1 smurf2 smurf6");

    // Its agent reports the role a second later: not yet published.
    world.advance(1);
    world.beat_all_but(&[]);
    assert_eq!(tick(&mut world), "");
    assert!(!world.members().contains("smurf6"), "{}", world.members());

    // Just before the TTL has passed since it was listed: still waiting.
    world.advance(298);
    world.beat_all_but(&[]);
    assert_eq!(tick(&mut world), "");

    // Once the SPF has listed it for its TTL, it arrives.
    world.advance(1);
    world.beat_all_but(&[]);
    assert_eq!(tick(&mut world), "arrive smurf6 -> smtp-out");
    assert!(
        world.members().contains("smtp-out: smurf1 smurf2 smurf6"),
        "{}",
        world.members()
    );
    let arrived = world.farm.assignments["smurf6"].since;
    assert_eq!(arrived, world.now);
}

#[test]
fn roles_the_spf_does_not_list_arrive_as_soon_as_their_agents_report() {
    let mut world = World::new(
        POLICY,
        "
        smurf1 smtp-out
        smurf2 smtp-out
        smurf3 smtp-in
        smurf4 web
        smurf6 -
        ",
        NOW,
    );
    world.policy.spf = Some(spf(300, 3600));
    world.wanted.insert("web".to_owned(), 2);
    assert!(tick(&mut world).starts_with("assign smurf6 -> web"));
    world.advance(1);
    world.beat_all_but(&[]);
    assert_eq!(tick(&mut world), "arrive smurf6 -> web");
}

#[test]
fn a_host_draining_out_and_one_that_left_stay_listed_until_keep_after_leave() {
    let mut world = World::new(
        POLICY,
        &format!(
            "
            smurf1 smtp-out drain>web@{}
            smurf2 smtp-out
            smurf3 smtp-out
            smurf4 smtp-in
            smurf5 web
            ",
            NOW - 1
        ),
        NOW,
    );
    world.policy.spf = Some(spf(60, 600));
    // Draining: out of the MX set, still delivering its queue, listed.
    assert!(!world.members().contains("smurf1"));
    assert_eq!(listed(&world), "smurf1 smurf2 smurf3");

    // The drain ends (queue empty after the TTL): smurf1 moves to web and
    // stays listed for keep_after_leave.
    world.advance(60);
    world.beat_all_but(&[]);
    assert_eq!(tick(&mut world), "finish smurf1 smtp-out -> web [queue empty]");
    let left = world.now;
    assert_eq!(
        world.farm.departures[&("smurf1".to_owned(), "smtp-out".to_owned())],
        left
    );
    assert_eq!(listed(&world), "smurf1 smurf2 smurf3");

    world.advance(599);
    assert_eq!(listed(&world), "smurf1 smurf2 smurf3");
    world.advance(1);
    assert_eq!(listed(&world), "smurf2 smurf3");
    // The next change forgets the departure.
    world.beat_all_but(&[]);
    tick(&mut world);
    assert!(world.farm.departures.is_empty(), "{:?}", world.farm.departures);
    assert_eq!(world.now - left, ms(600));
}

#[test]
fn a_host_back_in_its_sending_role_is_no_longer_departed() {
    let mut world = World::new(POLICY, "smurf1 web\nsmurf2 smtp-out", NOW);
    world.policy.spf = Some(spf(60, 600));
    world
        .farm
        .departures
        .insert(("smurf2".to_owned(), "smtp-out".to_owned()), world.now - ms(10));
    let before = world.farm.clone();
    track_departures(world.policy.spf.as_ref(), &before, &mut world.farm, world.now);
    assert!(world.farm.departures.is_empty());
}
