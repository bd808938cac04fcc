//! The zone built from a policy and a membership: pure-function tests.

use std::path::Path;

use hickory_proto::rr::{Name, RecordType};
use muster_controller::engine::choose_serial;
use muster_controller::policy::{Policy, load_str};
use muster_controller::simulate::inventory_farm;
use muster_controller::store::ZoneState;
use muster_controller::zone_builder::{Membership, build_zone, initial_membership};
use muster_dns::{RecordData, serial};
use proptest::prelude::*;

const POLICY: &str = r#"
zone: lists.example.test
ttl: 30
nameservers: [ns1.lists.example.test]
roles:
  smtp-out:
    records:
      - { name: smtp-out, type: MX, priority: 5 }
      - { name: smtp-out, type: A }
    fallback:
      - { name: smtp-out, type: MX, priority: 20, target: fallback.lists.example.test. }
  web:
    records: [ { name: www, type: A } ]
    fallback: [ { name: www, type: A, address: 192.0.2.80 } ]
  spare: { records: [] }
hosts:
  - { name: ns1, address: 192.0.2.53, static: true }
  - { name: fallback, address: 192.0.2.20, static: true }
  - { name: smurf1, address: 192.0.2.11, role: smtp-out }
  - { name: smurf2, addresses: [192.0.2.12, "2001:db8::12"], role: smtp-out }
  - { name: smurf3, address: 192.0.2.13, role: web }
  - { name: smurf4, address: 192.0.2.14, role: spare }
"#;

fn policy() -> Policy {
    load_str(Path::new("test.yaml"), POLICY).expect("policy loads")
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("name")
}

fn data(zone: &muster_dns::Zone, owner: &str, rtype: RecordType) -> Vec<String> {
    zone.get(&name(owner), rtype)
        .map(|set| set.data.iter().map(RecordData::to_presentation).collect())
        .unwrap_or_default()
}

#[test]
fn members_publish_their_roles_records_and_every_host_its_own_address() {
    let p = policy();
    let zone = build_zone(&p, &inventory_farm(&p, 0), &initial_membership(&p), 0, 7, None).expect("zone");
    assert_eq!(zone.serial(), 7);
    assert_eq!(
        data(&zone, "smtp-out.lists.example.test.", RecordType::MX),
        vec![
            "5 smurf1.lists.example.test.",
            "5 smurf2.lists.example.test.",
            "20 fallback.lists.example.test."
        ]
    );
    assert_eq!(
        data(&zone, "smtp-out.lists.example.test.", RecordType::A),
        vec!["192.0.2.11", "192.0.2.12"]
    );
    // The web pool has a member, so its fallback address stays out.
    assert_eq!(
        data(&zone, "www.lists.example.test.", RecordType::A),
        vec!["192.0.2.13"]
    );
    for (host, addr) in [
        ("smurf4", "192.0.2.14"),
        ("ns1", "192.0.2.53"),
        ("fallback", "192.0.2.20"),
    ] {
        assert_eq!(
            data(&zone, &format!("{host}.lists.example.test."), RecordType::A),
            vec![addr]
        );
    }
    assert_eq!(
        data(&zone, "smurf2.lists.example.test.", RecordType::AAAA),
        vec!["2001:db8::12"]
    );
    assert_eq!(
        data(&zone, "lists.example.test.", RecordType::NS),
        vec!["ns1.lists.example.test."]
    );
}

#[test]
fn an_empty_pool_publishes_its_fallback_tier() {
    let p = policy();
    let zone = build_zone(&p, &inventory_farm(&p, 0), &Membership::new(), 0, 1, None).expect("zone");
    assert_eq!(
        data(&zone, "smtp-out.lists.example.test.", RecordType::MX),
        vec!["20 fallback.lists.example.test."]
    );
    assert_eq!(
        data(&zone, "www.lists.example.test.", RecordType::A),
        vec!["192.0.2.80"]
    );
    assert!(
        zone.get(&name("smtp-out.lists.example.test."), RecordType::A)
            .is_none()
    );
}

#[test]
fn members_unknown_to_the_inventory_are_ignored() {
    let p = policy();
    let mut members = Membership::new();
    members.insert("smtp-out".into(), vec!["ghost".into(), "smurf1".into()]);
    let zone = build_zone(&p, &inventory_farm(&p, 0), &members, 0, 1, None).expect("zone");
    assert_eq!(
        data(&zone, "smtp-out.lists.example.test.", RecordType::MX),
        vec!["5 smurf1.lists.example.test.", "20 fallback.lists.example.test."]
    );
}

#[test]
fn serial_is_kept_for_the_same_content_and_grows_otherwise() {
    let p = policy();
    let zone = build_zone(&p, &inventory_farm(&p, 0), &initial_membership(&p), 0, 0, None).expect("zone");
    let now = 1_800_000_000;
    assert_eq!(choose_serial(None, &zone, now), now);

    let mut published = zone.clone();
    published.set_serial(1_700_000_000);
    let state = ZoneState {
        serial: published.serial(),
        content: published.to_zone_file(),
    };
    assert_eq!(choose_serial(Some(&state), &zone, now), 1_700_000_000);

    let changed = build_zone(&p, &inventory_farm(&p, 0), &Membership::new(), 0, 0, None).expect("zone");
    assert_eq!(choose_serial(Some(&state), &changed, now), now);
    // A clock behind the stored serial still moves forward, by one.
    let ahead = ZoneState {
        serial: now + 50,
        content: String::new(),
    };
    assert_eq!(choose_serial(Some(&ahead), &changed, now), now + 51);
    // Across the 2^32 wrap (RFC 1982).
    let wrap = ZoneState {
        serial: u32::MAX,
        content: String::new(),
    };
    let next = choose_serial(Some(&wrap), &changed, 5);
    assert_eq!(next, 5);
    assert!(serial::is_newer(next, u32::MAX));
}

proptest! {
    /// Whatever subset of hosts is published, no role with a fallback tier
    /// ever has an empty answer, and only published hosts appear in pools.
    #[test]
    fn pools_are_never_empty(mask in 0u8..16) {
        let p = policy();
        let hosts = ["smurf1", "smurf2", "smurf3", "smurf4"];
        let mut members = Membership::new();
        for (i, host) in hosts.iter().enumerate() {
            if mask & (1 << i) != 0 {
                let role = if i < 2 { "smtp-out" } else { "web" };
                members.entry(role.to_string()).or_default().push(host.to_string());
            }
        }
        let zone = build_zone(&p, &inventory_farm(&p, 0), &members, 0, 1, None).expect("zone");
        let mx = data(&zone, "smtp-out.lists.example.test.", RecordType::MX);
        prop_assert!(mx.contains(&"20 fallback.lists.example.test.".to_string()));
        prop_assert!(!data(&zone, "www.lists.example.test.", RecordType::A).is_empty());
        for (i, host) in hosts.iter().enumerate().take(2) {
            let target = format!("5 {host}.lists.example.test.");
            prop_assert_eq!(mx.contains(&target), mask & (1 << i) != 0);
        }
    }

    /// serial::next is always newer than what it follows.
    #[test]
    fn next_serial_is_always_newer(current: u32, clock: u32) {
        prop_assert!(serial::is_newer(serial::next(current, clock), current));
    }
}
