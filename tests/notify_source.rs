//! NOTIFY leaves from the address muster serves DNS on (issue 15): a stock
//! secondary configured as its manual says — NOTIFY accepted from the
//! primary's address only (RFC 1996 §3.10), a refresh of ten hours — follows
//! a change within two seconds. muster serves on 127.0.0.11, not the
//! route's preferred source for loopback (127.0.0.1), so a NOTIFY from a
//! wildcard socket would be refused.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::peers::{Secondary, start_knot_zones, start_nsd_zones};
use support::{Muster, dig, eventually, soa_serial};

const PRIMARY: &str = "127.0.0.11";

fn policy(secondary: SocketAddr, hosts: &[&str]) -> String {
    let mut p = format!(
        r#"zone: lists.example.test
ttl: 30
nameservers: [ns1.lists.example.test]
soa: {{ refresh: 36000, retry: 3600 }}
secondaries: ["{secondary}"]
roles:
  smtp-out:
    records: [ {{ name: smtp-out, type: A }} ]
hosts:
  - {{ name: ns1, address: {PRIMARY}, static: true }}
"#
    );
    for (i, host) in hosts.iter().enumerate() {
        p.push_str(&format!(
            "  - {{ name: {host}, address: 127.0.30.{}, role: smtp-out, static: true }}\n",
            i + 1
        ));
    }
    p
}

type Start = fn(&str, u16, SocketAddr, &[&str]) -> Secondary;

/// Starts muster on [`PRIMARY`] and `start`'s secondary on `ip`; waits for
/// the first transfer; then changes the zone and returns how long the
/// secondary took to serve the new serial, if it did within `within`.
fn change_reaches(start: Start, ip: &str, extra: &[&str], within: Duration) -> Option<Duration> {
    let port = support::free_port(ip);
    let target: SocketAddr = format!("{ip}:{port}").parse().expect("addr");
    let m = Muster::start_on(PRIMARY, &policy(target, &["smurf1"]), extra);
    let secondary = start(ip, port, m.dns, &["lists.example.test"]);
    eventually(Duration::from_secs(15), "the first transfer", || {
        (soa_serial(secondary.addr)? == m.serial()).then_some(())
    });
    // The serial moves on by the clock: make sure the next one differs.
    std::thread::sleep(Duration::from_millis(1100));
    m.reload(&policy(target, &["smurf1", "smurf2"]));
    let serial = eventually(Duration::from_secs(5), "the new zone on muster", || {
        let out = dig(m.dns, &["smtp-out.lists.example.test", "A"]);
        (out.answer_data("A").len() == 2).then(|| m.serial())
    });
    let changed = Instant::now();
    while changed.elapsed() < within {
        if soa_serial(secondary.addr) == Some(serial) {
            let out = dig(secondary.addr, &["smtp-out.lists.example.test", "A"]);
            assert_eq!(out.answer_data("A"), ["127.0.30.1", "127.0.30.2"], "{}", out.raw);
            return Some(changed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn nsd_accepting_notify_from_the_primary_only_follows_within_two_seconds() {
    let took = change_reaches(start_nsd_zones, "127.0.0.12", &[], Duration::from_secs(2));
    assert!(took.is_some(), "NSD did not follow within 2 s");
}

#[test]
fn knot_accepting_notify_from_the_primary_only_follows_within_two_seconds() {
    let took = change_reaches(start_knot_zones, "127.0.0.13", &[], Duration::from_secs(2));
    assert!(took.is_some(), "Knot did not follow within 2 s");
}

/// The same NSD, with NOTIFY sent from another address than the one muster
/// serves on (what a wildcard socket does here): refused, so NSD waits for
/// its ten-hour refresh. This is the failure the source address prevents.
#[test]
fn a_notify_from_another_address_is_refused_and_the_secondary_waits() {
    let took = change_reaches(
        start_nsd_zones,
        "127.0.0.14",
        &["--notify-source", "127.0.0.1"],
        Duration::from_secs(4),
    );
    assert_eq!(took, None, "NSD accepted a NOTIFY from the wrong address");
}
