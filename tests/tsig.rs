//! TSIG end to end (issue 15): a stock NSD and a stock Knot set up as their
//! manuals say — the key in their configuration, transfers requested with
//! it, NOTIFY accepted from the primary's address only and signed with it —
//! follow every change of muster's zone (NOTIFY, then IXFR; AXFR first).
//! The same servers with a wrong secret get nothing and muster logs BADSIG.
//! kdig with the key transfers the zone; without it, from the keyed
//! secondary's own address, it is refused. The secrets never appear in
//! muster's log, its API or `muster check`.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use support::peers::{PeerKey, Secondary, start_knot_keyed, start_nsd_keyed};
use support::{Muster, dig, eventually, http_get, soa_serial};

const PRIMARY: &str = "127.0.0.21";
const ZONE: &str = "lists.example.test";
/// 32 bytes, hmac-sha256, from a file (written as tsig-keygen prints it).
const XFR_SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// 64 bytes, hmac-sha512, from the environment.
const KNOT_SECRET: &str =
    "a25vdC1zZWNyZXQta25vdC1zZWNyZXQta25vdC1zZWNyZXQta25vdC1zZWNyZXQta25vdC1zZWNyZXQta25vdA==";
const WRONG_SECRET: &str = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZy0=";
const KNOT_ENV: &str = "MUSTER_TEST_KNOT_KEY";

fn xfr_key(secret: &str) -> PeerKey {
    PeerKey {
        name: "xfr-key",
        algorithm: "hmac-sha256",
        secret: secret.to_owned(),
    }
}

fn knot_key(secret: &str) -> PeerKey {
    PeerKey {
        name: "knot-key",
        algorithm: "hmac-sha512",
        secret: secret.to_owned(),
    }
}

/// The policy: four keyed secondaries (NSD and Knot, each once with the
/// right secret and once with a wrong one) and `hosts` smtp-out hosts.
fn policy(key_file: &str, peers: &[SocketAddr; 4], hosts: usize) -> String {
    let mut p = format!(
        r#"zone: {ZONE}
ttl: 30
nameservers: [ns1.{ZONE}]
soa: {{ refresh: 36000, retry: 3600 }}
tsig:
  - {{ name: xfr-key, secret_file: {key_file} }}
  - {{ name: knot-key, algorithm: hmac-sha512, secret_env: {KNOT_ENV} }}
secondaries:
  - {{ address: "{}", key: xfr-key }}
  - {{ address: "{}", key: knot-key }}
  - {{ address: "{}", key: xfr-key }}
  - {{ address: "{}", key: knot-key }}
roles:
  smtp-out:
    records: [ {{ name: smtp-out, type: A }} ]
hosts:
  - {{ name: ns1, address: {PRIMARY}, static: true }}
"#,
        peers[0], peers[1], peers[2], peers[3]
    );
    for i in 1..=hosts {
        p.push_str(&format!(
            "  - {{ name: smurf{i}, address: 127.0.31.{i}, role: smtp-out, static: true }}\n"
        ));
    }
    p
}

fn peer_addr(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().expect("ip"), support::free_port(ip))
}

/// kdig from `source` to muster; returns what it printed.
fn kdig(server: SocketAddr, source: &str, args: &[&str]) -> String {
    let out = Command::new("kdig")
        .arg(format!("@{}", server.ip()))
        .args([
            "-p",
            &server.port().to_string(),
            "-b",
            source,
            "+time=5",
            "+retry=0",
        ])
        .args(args)
        .output()
        .expect("kdig (knot-dnsutils)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn zone_records(kdig_output: &str) -> usize {
    kdig_output
        .lines()
        .filter(|l| !l.starts_with(';') && l.contains("\tIN\t"))
        .count()
}

fn wait_for_serial(peers: &[&Secondary], serial: u32, within: Duration, what: &str) {
    for peer in peers {
        eventually(
            within,
            &format!("{} ({what}) at serial {serial}", peer.name),
            || (soa_serial(peer.addr)? == serial).then_some(()),
        );
    }
}

#[test]
fn nsd_and_knot_with_the_key_follow_every_change_and_with_a_wrong_secret_get_nothing() {
    let keys = tempfile::tempdir().expect("tempdir");
    let key_file = keys.path().join("xfr-key.conf");
    std::fs::write(
        &key_file,
        format!("key \"xfr-key\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{XFR_SECRET}\";\n}};\n"),
    )
    .expect("key file");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let key_file = key_file.display().to_string();
    let peers = [
        peer_addr("127.0.0.22"),
        peer_addr("127.0.0.23"),
        peer_addr("127.0.0.24"),
        peer_addr("127.0.0.25"),
    ];
    let m = Muster::start_on_env(
        PRIMARY,
        &policy(&key_file, &peers, 1),
        &[],
        &[(KNOT_ENV, KNOT_SECRET)],
    );
    let zones = [ZONE];
    let ip = |i: usize| peers[i].ip().to_string();
    let port = |i: usize| peers[i].port();
    let nsd = start_nsd_keyed(&ip(0), port(0), m.dns, &zones, Some(&xfr_key(XFR_SECRET)));
    let knot = start_knot_keyed(&ip(1), port(1), m.dns, &zones, Some(&knot_key(KNOT_SECRET)));
    let nsd_wrong = start_nsd_keyed(&ip(2), port(2), m.dns, &zones, Some(&xfr_key(WRONG_SECRET)));
    let knot_wrong = start_knot_keyed(&ip(3), port(3), m.dns, &zones, Some(&knot_key(WRONG_SECRET)));

    // The first transfer (AXFR), then three changes in a row, each followed
    // within a few seconds: NOTIFY signed and accepted, IXFR signed.
    wait_for_serial(
        &[&nsd, &knot],
        m.serial(),
        Duration::from_secs(15),
        "first transfer",
    );
    for hosts in 2..=4 {
        // The serial moves on by the clock: make sure the next one differs.
        std::thread::sleep(Duration::from_millis(1100));
        m.reload(&policy(&key_file, &peers, hosts));
        let serial = eventually(Duration::from_secs(5), "the change on muster", || {
            let out = dig(m.dns, &[&format!("smtp-out.{ZONE}"), "A"]);
            (out.answer_data("A").len() == hosts).then(|| m.serial())
        });
        wait_for_serial(&[&nsd, &knot], serial, Duration::from_secs(5), "after NOTIFY");
    }
    for peer in [&nsd, &knot] {
        let out = dig(peer.addr, &[&format!("smtp-out.{ZONE}"), "A"]);
        assert_eq!(out.answer_data("A").len(), 4, "{}: {}", peer.name, out.raw);
    }
    let log = m.log();
    for (peer, key) in [(&nsd, "xfr-key"), (&knot, "knot-key")] {
        let ip = peer.addr.ip().to_string();
        let transfers: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("zone transfer") && l.contains(&ip) && l.contains(&format!("tsig={key}")))
            .collect();
        assert!(
            transfers.iter().any(|l| l.contains("IXFR")),
            "{} made no signed IXFR:\n{}",
            peer.name,
            transfers.join("\n")
        );
    }

    // The wrong secrets: nothing transferred, BADSIG logged naming each peer.
    for peer in [&nsd_wrong, &knot_wrong] {
        assert_eq!(soa_serial(peer.addr), None, "{} has the zone", peer.name);
        let ip = peer.addr.ip().to_string();
        assert!(
            log.lines()
                .any(|l| l.contains("BADSIG") && l.contains(&ip) && l.contains(ZONE)),
            "no BADSIG for {} in:\n{log}",
            peer.name
        );
    }

    // kdig from the keyed NSD's address: with the key, the whole zone;
    // without it, refused.
    let source = ip(0);
    let signed = kdig(
        m.dns,
        &source,
        &["-y", &format!("hmac-sha256:xfr-key:{XFR_SECRET}"), "AXFR", ZONE],
    );
    assert!(
        zone_records(&signed) > 4 && !signed.contains(";; WARNING"),
        "{signed}"
    );
    let unsigned = kdig(m.dns, &source, &["AXFR", ZONE]);
    assert_eq!(zone_records(&unsigned), 0, "{unsigned}");
    assert!(unsigned.contains("REFUSED"), "{unsigned}");
    assert!(
        m.log()
            .contains("zone transfer refused: the request is not signed"),
        "the refusal is logged"
    );

    // A reload with an unreadable secret file is refused; the old policy
    // (and its keys) stay in force.
    let serial = m.serial();
    std::thread::sleep(Duration::from_millis(1100));
    m.reload(&policy("/nonexistent/xfr-key.conf", &peers, 5));
    eventually(Duration::from_secs(5), "the refused reload in the log", || {
        m.log()
            .contains("cannot read the secret file /nonexistent/xfr-key.conf")
            .then_some(())
    });
    assert_eq!(m.serial(), serial);
    let still = kdig(
        m.dns,
        &source,
        &["-y", &format!("hmac-sha256:xfr-key:{XFR_SECRET}"), "AXFR", ZONE],
    );
    assert!(zone_records(&still) > 4, "{still}");

    // No secret anywhere muster writes or shows.
    let (_, zone_json) = http_get(m.api, "/api/v1/zone");
    let check = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["check", &m.policy_path().display().to_string()])
        .env(KNOT_ENV, KNOT_SECRET)
        .output()
        .expect("muster check");
    let shown = format!(
        "{}{zone_json}{}{}",
        m.log(),
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    for secret in [XFR_SECRET, KNOT_SECRET] {
        assert!(!shown.contains(secret), "a secret was shown");
    }
    drop((nsd, knot, nsd_wrong, knot_wrong));
}
