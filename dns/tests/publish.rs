//! The publisher with several zones: each matched to the one served at its
//! origin, unchanged ones kept as they are, serial rules and IXFR history
//! per zone, zones starting and stopping.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use hickory_proto::rr::Name;
use muster_dns::{Catalog, PublishError, RecordData, Snapshot, SoaFields, Zone, ZonePublisher};

const FORWARD: &str = "lists.example.test.";
const REVERSE: &str = "10.0.127.in-addr.arpa.";
const CHILD: &str = "64-26.10.0.127.in-addr.arpa.";

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("valid name")
}

fn soa() -> SoaFields {
    SoaFields {
        mname: name("ns1.lists.example.test."),
        rname: name("hostmaster.lists.example.test."),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 300,
        ttl: 3600,
    }
}

/// A forward zone with `hosts` A records.
fn forward(serial: u32, hosts: u8) -> Zone {
    let mut zone = Zone::new(&name(FORWARD), serial, soa()).expect("zone");
    for i in 1..=hosts {
        zone.add(
            &name(&format!("smurf{i}.{FORWARD}")),
            300,
            RecordData::A(Ipv4Addr::new(127, 0, 10, i)),
        )
        .expect("a");
    }
    zone
}

/// A reverse zone at `origin` with a PTR for each of `hosts`.
fn reverse(origin: &str, serial: u32, hosts: &[u8]) -> Zone {
    let mut zone = Zone::new(&name(origin), serial, soa()).expect("zone");
    for &i in hosts {
        zone.add(
            &name(&format!("{i}.{origin}")),
            300,
            RecordData::Ptr(name(&format!("smurf{i}.{FORWARD}"))),
        )
        .expect("ptr");
    }
    zone
}

fn served(catalog: &Catalog, origin: &str) -> Arc<Snapshot> {
    catalog
        .zone(&name(origin))
        .cloned()
        .unwrap_or_else(|| panic!("{origin} is served"))
}

fn origins(catalog: &Catalog) -> Vec<String> {
    catalog.iter().map(|s| s.zone().origin().to_string()).collect()
}

#[test]
fn zones_start_in_the_order_given() {
    let publisher =
        ZonePublisher::try_new(vec![forward(1, 2), reverse(REVERSE, 7, &[1, 2])]).expect("publisher");
    let catalog = publisher.current();
    assert_eq!(origins(&catalog), [FORWARD, REVERSE]);
    assert_eq!(served(&catalog, FORWARD).serial(), 1);
    assert_eq!(served(&catalog, REVERSE).serial(), 7);
    assert!(served(&catalog, REVERSE).history().is_empty());
}

#[test]
fn an_unchanged_zone_keeps_its_snapshot_while_another_changes() {
    let mut publisher =
        ZonePublisher::try_new(vec![forward(1, 2), reverse(REVERSE, 1, &[1, 2])]).expect("publisher");
    let before = publisher.current();
    // Nothing changed: nothing swapped.
    assert_eq!(
        publisher.publish(vec![forward(1, 2), reverse(REVERSE, 1, &[1, 2])]),
        Ok(false)
    );
    assert!(Arc::ptr_eq(&before, &publisher.current()));

    // Only the reverse zone changes: the forward snapshot is the same Arc.
    assert_eq!(
        publisher.publish(vec![forward(1, 2), reverse(REVERSE, 2, &[1, 2, 3])]),
        Ok(true)
    );
    let after = publisher.current();
    assert!(Arc::ptr_eq(&served(&before, FORWARD), &served(&after, FORWARD)));
    assert!(!Arc::ptr_eq(&served(&before, REVERSE), &served(&after, REVERSE)));
    assert_eq!(served(&after, REVERSE).serial(), 2);
}

#[test]
fn each_zone_needs_its_own_newer_serial_and_a_refusal_publishes_nothing() {
    let mut publisher =
        ZonePublisher::try_new(vec![forward(10, 2), reverse(REVERSE, 5, &[1])]).expect("publisher");
    let before = publisher.current();
    // The forward zone's serial is fine, the reverse zone's is not: nothing
    // of the call is published.
    assert_eq!(
        publisher.publish(vec![forward(11, 3), reverse(REVERSE, 5, &[1, 2])]),
        Err(PublishError::SerialNotNewer {
            origin: REVERSE.into(),
            current: 5,
            new: 5
        })
    );
    assert!(Arc::ptr_eq(&before, &publisher.current()));
    // Serials are per zone: the reverse zone may stay below the forward one.
    assert_eq!(
        publisher.publish(vec![forward(11, 3), reverse(REVERSE, 6, &[1, 2])]),
        Ok(true)
    );
    let catalog = publisher.current();
    assert_eq!(served(&catalog, FORWARD).serial(), 11);
    assert_eq!(served(&catalog, REVERSE).serial(), 6);
    // A newer serial with unchanged content is a change; an older one is not.
    assert_eq!(
        publisher.publish(vec![forward(11, 3), reverse(REVERSE, 4, &[1, 2])]),
        Err(PublishError::SerialNotNewer {
            origin: REVERSE.into(),
            current: 6,
            new: 4
        })
    );
}

#[test]
fn zones_start_and_stop_with_the_set_given() {
    let mut publisher = ZonePublisher::new(forward(1, 2));
    let mut told = publisher.subscribe();
    told.borrow_and_update();
    assert_eq!(origins(&publisher.current()), [FORWARD]);

    // Two reverse zones start at whatever serial they bring.
    assert_eq!(
        publisher.publish(vec![
            forward(1, 2),
            reverse(REVERSE, 100, &[1]),
            reverse(CHILD, 3, &[65]),
        ]),
        Ok(true)
    );
    assert!(told.has_changed().expect("sender alive"));
    let catalog = Arc::clone(&told.borrow_and_update());
    assert_eq!(origins(&catalog), [FORWARD, REVERSE, CHILD]);
    assert!(Arc::ptr_eq(&catalog, &publisher.current()));

    // The parent reverse zone changes once, then stops being served.
    assert_eq!(
        publisher.publish(vec![
            forward(1, 2),
            reverse(REVERSE, 101, &[1, 2]),
            reverse(CHILD, 3, &[65]),
        ]),
        Ok(true)
    );
    assert_eq!(served(&publisher.current(), REVERSE).history().len(), 1);
    assert_eq!(
        publisher.publish(vec![forward(1, 2), reverse(CHILD, 3, &[65])]),
        Ok(true)
    );
    let catalog = publisher.current();
    assert_eq!(origins(&catalog), [FORWARD, CHILD]);
    assert!(catalog.zone(&name(REVERSE)).is_none());

    // Back again, even at an older serial: a new zone, with no history.
    assert_eq!(
        publisher.publish(vec![
            forward(1, 2),
            reverse(CHILD, 3, &[65]),
            reverse(REVERSE, 50, &[1]),
        ]),
        Ok(true)
    );
    let back = served(&publisher.current(), REVERSE);
    assert_eq!(back.serial(), 50);
    assert!(back.history().is_empty());

    // No zones at all: nothing is served.
    assert_eq!(publisher.publish(Vec::new()), Ok(true));
    assert!(publisher.current().is_empty());
}

#[test]
fn ixfr_history_is_kept_per_zone() {
    let mut publisher =
        ZonePublisher::try_new(vec![forward(1, 1), reverse(REVERSE, 1, &[1])]).expect("publisher");
    publisher
        .publish(vec![forward(2, 2), reverse(REVERSE, 1, &[1])])
        .expect("forward 2");
    publisher
        .publish(vec![forward(3, 3), reverse(REVERSE, 1, &[1])])
        .expect("forward 3");
    publisher
        .publish(vec![forward(3, 3), reverse(REVERSE, 2, &[1, 2])])
        .expect("reverse 2");
    let catalog = publisher.current();
    let fwd = served(&catalog, FORWARD);
    let rev = served(&catalog, REVERSE);
    let chain = |s: &Snapshot| -> Vec<(u32, u32)> {
        s.history().iter().map(|d| (d.from_serial, d.to_serial)).collect()
    };
    assert_eq!(chain(&fwd), [(1, 2), (2, 3)]);
    assert_eq!(chain(&rev), [(1, 2)]);
    let ptr = RecordData::Ptr(name(&format!("smurf2.{FORWARD}")));
    assert_eq!(
        rev.history()[0]
            .added
            .iter()
            .map(|(n, _, d)| (n.to_string(), d.clone()))
            .collect::<Vec<_>>(),
        [(format!("2.{REVERSE}"), ptr)]
    );
}

#[test]
fn a_change_of_secondaries_alone_keeps_the_serial_and_is_told() {
    let mut publisher =
        ZonePublisher::try_new(vec![forward(1, 1), reverse(REVERSE, 1, &[1])]).expect("publisher");
    let mut told = publisher.subscribe();
    told.borrow_and_update();
    let before = publisher.current();
    let mut rev = reverse(REVERSE, 1, &[1]);
    rev.set_secondaries(vec![SocketAddr::from(([127, 0, 0, 2], 53))]);
    assert_eq!(publisher.publish(vec![forward(1, 1), rev]), Ok(true));
    assert!(told.has_changed().expect("sender alive"));
    let after = publisher.current();
    assert!(Arc::ptr_eq(&served(&before, FORWARD), &served(&after, FORWARD)));
    let rev = served(&after, REVERSE);
    assert_eq!(rev.serial(), 1);
    assert_eq!(rev.zone().secondaries().len(), 1);
}

#[test]
fn one_origin_given_twice_is_an_error() {
    let twice = vec![
        forward(1, 1),
        reverse(REVERSE, 1, &[1]),
        reverse(REVERSE, 2, &[1]),
    ];
    let duplicate = Err(PublishError::DuplicateOrigin {
        origin: REVERSE.into(),
    });
    assert_eq!(ZonePublisher::try_new(twice.clone()).map(|_| ()), duplicate);
    let mut publisher = ZonePublisher::new(forward(1, 1));
    let before = publisher.current();
    assert_eq!(publisher.publish(twice), duplicate.map(|()| false));
    assert!(Arc::ptr_eq(&before, &publisher.current()));
}
