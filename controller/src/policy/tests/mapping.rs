//! What valid texts turn into: defaults, the one rule for names, the model.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::Name;

use super::{load, name, with_head};
use crate::policy::{DrainUntil, FixedData, MemberRecord};

#[test]
fn defaults_fill_in_a_minimal_policy() {
    let policy = load(&["zone: Lists.Example.Test", "roles: { spare: {} }"]);
    assert_eq!(policy.zone, name("lists.example.test."));
    assert_eq!(policy.ttl, 30);
    assert_eq!(policy.nameservers, [name("ns1.lists.example.test.")]);
    assert_eq!(policy.soa.mname, name("ns1.lists.example.test."));
    assert_eq!(policy.soa.rname, name("hostmaster.lists.example.test."));
    let soa = &policy.soa;
    assert_eq!(
        (soa.refresh, soa.retry, soa.expire, soa.minimum, soa.ttl),
        (300, 60, 1_209_600, 30, 30)
    );
    assert_eq!(policy.heartbeat.interval, Duration::from_secs(1));
    assert_eq!(policy.heartbeat.dead_after, Duration::from_secs(3));
    assert_eq!(
        (
            policy.heartbeat.revive_after,
            policy.heartbeat.panic_threshold_percent
        ),
        (3, 50)
    );
    let spare = &policy.roles["spare"];
    assert_eq!((spare.min, spare.records.len(), spare.fallback.len()), (0, 0, 0));
    assert_eq!(spare.drain.until, DrainUntil::Ttl);
    assert_eq!(spare.drain.timeout, Duration::from_secs(600));
    assert!(policy.hosts.is_empty() && policy.secondaries.is_empty());
}

#[test]
fn names_follow_one_rule() {
    let policy = load(&[
        "zone: lists.example.test.",
        "ttl: 1m",
        "nameservers: [ns1, ns2.lists.example.test, ns.example.net.]",
        "soa: { rname: john.doe@example.org, mname: \"@\", minimum: 5m }",
        "roles:",
        "  smtp-out:",
        "    records:",
        "      - { name: \"@\", type: MX, priority: 5, ttl: 10 }",
        "      - { name: smtp-out.lists.example.test, type: A }",
        "      - { name: v6.smtp-out, type: aaaa }",
        "    fallback:",
        "      - { name: smtp-out, type: MX, priority: 20, target: fallback }",
        "      - { name: smtp-out, type: MX, priority: 30, target: mx.example.net. }",
        "    drain: { until: queue_empty, timeout: 90 }",
        "hosts: [ { name: fallback, address: 192.0.2.20, static: true } ]",
    ]);
    let ns: Vec<String> = policy.nameservers.iter().map(Name::to_ascii).collect();
    assert_eq!(
        ns,
        [
            "ns1.lists.example.test.",
            "ns2.lists.example.test.",
            "ns.example.net."
        ]
    );
    assert_eq!(policy.soa.rname.to_ascii(), "john\\.doe.example.org.");
    assert_eq!(policy.soa.mname, policy.zone);
    assert_eq!((policy.ttl, policy.soa.minimum, policy.soa.ttl), (60, 300, 60));
    let role = &policy.roles["smtp-out"];
    let owners: Vec<String> = role.records.iter().map(|r| r.owner.to_ascii()).collect();
    assert_eq!(
        owners,
        [
            "lists.example.test.",
            "smtp-out.lists.example.test.",
            "v6.smtp-out.lists.example.test."
        ]
    );
    assert_eq!(role.records[0].kind, MemberRecord::Mx { preference: 5 });
    assert_eq!((role.records[0].ttl, role.records[1].ttl), (10, 60));
    assert_eq!(role.records[2].kind, MemberRecord::Aaaa);
    let exchanges: Vec<String> = role
        .fallback
        .iter()
        .filter_map(|r| match &r.data {
            FixedData::Mx { exchange, .. } => Some(exchange.to_ascii()),
            _ => None,
        })
        .collect();
    assert_eq!(exchanges, ["fallback.lists.example.test.", "mx.example.net."]);
    assert_eq!(role.drain.until, DrainUntil::QueueEmpty);
    assert_eq!(role.drain.timeout, Duration::from_secs(90));
}

#[test]
fn hosts_secondaries_and_rules_map_into_the_model() {
    let policy = load(&with_head(&[
        "hosts:",
        "  - { name: Smurf1, address: 192.0.2.11, addresses: [\"2001:db8::11\"], roles: [web], role: web }",
        "  - { name: oldmail, address: 192.0.2.5, static: true, labels: { rack: a } }",
        "secondaries: [192.0.2.53, \"198.51.100.7:5353\", \"[2001:db8::1]:53\", \"2001:db8::2\"]",
        "schedules: [ { name: bulge, cron: \"0 6 * * *\", for: 3h, want: { smtp-out: all-but 3, web: 50% } } ]",
        "autoscale: [ { role: smtp-out, metric: queue_depth, target_per_host: 2000, borrow_from: [web] } ]",
    ]));
    let smurf = &policy.hosts[0];
    assert_eq!(
        (smurf.name.as_str(), smurf.fqdn.to_ascii()),
        ("smurf1", "smurf1.lists.example.test.".to_owned())
    );
    assert_eq!(smurf.addresses.len(), 2);
    assert_eq!(
        (smurf.eligible.as_slice(), smurf.role.as_deref()),
        (&["web".to_owned()][..], Some("web"))
    );
    assert!(policy.hosts[1].is_static && policy.hosts[1].labels["rack"] == "a");
    let secondaries: Vec<SocketAddr> = [
        "192.0.2.53:53",
        "198.51.100.7:5353",
        "[2001:db8::1]:53",
        "[2001:db8::2]:53",
    ]
    .iter()
    .map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
    .collect();
    let addresses: Vec<_> = policy.secondaries.iter().map(|s| s.address).collect();
    assert_eq!(addresses, secondaries);
    assert!(policy.secondaries.iter().all(|s| s.key.is_none()));
    let schedule = &policy.schedules[0];
    assert_eq!(
        (schedule.duration, schedule.timezone.iana_name()),
        (Duration::from_secs(3 * 3600), Some("UTC"))
    );
    assert_eq!(schedule.want["smtp-out"], crate::policy::WantCount::AllBut(3));
    let rule = &policy.autoscale[0];
    assert_eq!(
        (rule.target_per_host, rule.cooldown),
        (2000.0, Duration::from_secs(60))
    );
    assert_eq!(
        (rule.borrow_from.as_slice(), rule.give_back_to.as_deref()),
        (&["web".to_owned()][..], None)
    );
}
