//! Stock NSD and Knot as secondaries: they transfer the zone, are told of
//! every change by NOTIFY, and follow it within two seconds.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::peers::{Secondary, start_knot, start_nsd};
use support::{Muster, dig, eventually, soa_serial};

fn policy(secondary: SocketAddr, members: &[(&str, &str)]) -> String {
    let mut p = format!(
        r#"zone: lists.example.test
ttl: 30
nameservers: [ns1.lists.example.test]
secondaries: ["{secondary}"]
roles:
  smtp-out:
    records:
      - {{ name: smtp-out, type: MX, priority: 5 }}
      - {{ name: smtp-out, type: A }}
    fallback:
      - {{ name: smtp-out, type: MX, priority: 20, target: fallback.lists.example.test. }}
hosts:
  - {{ name: ns1, address: 127.0.0.1, static: true }}
  - {{ name: fallback, address: 192.0.2.20, static: true }}
"#
    );
    for (name, addr) in members {
        p.push_str(&format!(
            "  - {{ name: {name}, address: {addr}, role: smtp-out, static: true }}\n"
        ));
    }
    p
}

fn follow_changes(start: fn(&str, u16, SocketAddr) -> Secondary, ip: &str) -> String {
    let port = support::free_port(ip);
    let target: SocketAddr = format!("{ip}:{port}").parse().expect("addr");
    let m = Muster::start(&policy(
        target,
        &[("smurf1", "192.0.2.11"), ("smurf2", "192.0.2.12")],
    ));
    let secondary = start(ip, port, m.dns);

    let first = eventually(Duration::from_secs(15), "the first transfer", || {
        let serial = soa_serial(secondary.addr)?;
        (serial == m.serial()).then_some(serial)
    });
    let out = dig(secondary.addr, &["smtp-out.lists.example.test", "MX"]);
    assert_eq!(out.answer_data("MX").len(), 3, "{}: {}", secondary.name, out.raw);

    for (round, members) in [
        vec![
            ("smurf1", "192.0.2.11"),
            ("smurf2", "192.0.2.12"),
            ("smurf3", "192.0.2.13"),
        ],
        vec![("smurf3", "192.0.2.13")],
    ]
    .into_iter()
    .enumerate()
    {
        let before = m.serial();
        m.reload(&policy(secondary.addr, &members));
        let serial = eventually(Duration::from_secs(5), "muster's new serial", || {
            let s = m.serial();
            (s != before).then_some(s)
        });
        let changed = Instant::now();
        eventually(Duration::from_secs(2), "the secondary to follow", || {
            (soa_serial(secondary.addr)? == serial).then_some(())
        });
        let took = changed.elapsed();
        let out = dig(secondary.addr, &["smtp-out.lists.example.test", "MX"]);
        assert_eq!(
            out.answer_data("MX").len(),
            members.len() + 1,
            "{} round {round} ({took:?}): {}\n{}",
            secondary.name,
            out.raw,
            secondary.log()
        );
        assert!(muster_dns::serial::is_newer(serial, first));
    }
    assert!(m.log().contains("NOTIFY acknowledged"), "{}", m.log());
    secondary.log()
}

#[test]
fn nsd_follows_every_change() {
    follow_changes(start_nsd, "127.0.0.2");
}

#[test]
fn knot_follows_every_change_by_ixfr() {
    let log = follow_changes(start_knot, "127.0.0.3");
    // Knot asks for IXFR once it has the zone; muster answers from its
    // history, and Knot applies the diffs without falling back to AXFR.
    assert!(log.contains("IXFR, incoming"), "{log}");
    assert!(!log.contains("fallback to AXFR"), "{log}");
}
