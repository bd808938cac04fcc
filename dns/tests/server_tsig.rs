//! The real listeners with a keyed secondary, judged by kdig (Knot's
//! client, which checks every TSIG itself): a signed AXFR spanning several
//! messages verifies; unsigned, wrongly keyed and wrongly signed transfers
//! from the secondary's own address get nothing; a client whose clock is an
//! hour off (libfaketime) gets a signed BADTIME.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use muster_dns::server::{DnsConfig, spawn_dns_server};
use muster_dns::tsig::{TsigAlgorithm, TsigKey, TsigSecret};
use muster_dns::{Secondary, Zone, ZonePublisher};
use support::{ORIGIN, hosts_zone, name};
use tokio_util::sync::CancellationToken;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const SECRET_B64: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const OTHER_B64: &str = "b3RoZXIgc2VjcmV0IG90aGVyIHNlY3JldCBvdGhlciBzZWM=";
const HOSTS: u32 = 2_000;

/// A zone big enough that AXFR takes several messages, transferable by
/// 127.0.0.1 with `xfr-key` only; 127.0.0.2 is a second secondary with
/// `other-key`, so that key is known to the server too.
fn zone() -> Zone {
    let mut zone = hosts_zone(5, HOSTS);
    let key = |key_name: &str, secret: &[u8]| {
        Some(Arc::new(TsigKey::new(
            &name(key_name),
            TsigAlgorithm::HmacSha256,
            TsigSecret::new(secret.to_vec()),
        )))
    };
    zone.set_secondaries([
        Secondary {
            address: SocketAddr::from(([127, 0, 0, 1], 53)),
            key: key("xfr-key.", SECRET),
        },
        Secondary {
            address: SocketAddr::from(([127, 0, 0, 2], 53)),
            key: key("other-key.", b"other secret other secret other sec"),
        },
    ]);
    zone
}

/// libfaketime (Debian package libfaketime), to run kdig with its clock off.
const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// Runs kdig against `server` from 127.0.0.1; returns its output.
fn kdig(server: SocketAddr, args: &[&str]) -> String {
    kdig_with(Command::new("kdig"), server, args)
}

/// kdig with its clock `offset` off (libfaketime's syntax, like `-1h`).
fn kdig_skewed(offset: &str, server: SocketAddr, args: &[&str]) -> String {
    let mut command = Command::new("kdig");
    command.env("LD_PRELOAD", FAKETIME).env("FAKETIME", offset);
    kdig_with(command, server, args)
}

fn kdig_with(mut command: Command, server: SocketAddr, args: &[&str]) -> String {
    let output = command
        .arg(format!("@{}", server.ip()))
        .args([
            "-p",
            &server.port().to_string(),
            "-b",
            "127.0.0.1",
            "+tcp",
            "+time=5",
            "+retry=0",
        ])
        .args(args)
        .output()
        .expect("kdig runs (package knot-dnsutils)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The records of an AXFR in kdig's output (lines of the zone).
fn records(output: &str) -> usize {
    output
        .lines()
        .filter(|l| !l.starts_with(';') && l.contains("\tIN\t"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kdig_verifies_a_signed_axfr_and_unsigned_or_wrongly_signed_ones_get_nothing() {
    let publisher = ZonePublisher::new(zone());
    let cancel = CancellationToken::new();
    let config = DnsConfig {
        listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
        udp_workers: 1,
        tcp_idle: Duration::from_secs(5),
        max_tcp_connections: 16,
        ..DnsConfig::default()
    };
    let server = spawn_dns_server(&config, publisher.shared(), cancel.clone())
        .await
        .expect("server starts");
    let addr = server.local_addrs()[0];

    let outputs = tokio::task::spawn_blocking(move || {
        let key = format!("hmac-sha256:xfr-key:{SECRET_B64}");
        let other_secret = format!("hmac-sha256:xfr-key:{OTHER_B64}");
        let unknown_key = format!("hmac-sha256:nobody:{SECRET_B64}");
        [
            kdig(addr, &["-y", &key, "AXFR", ORIGIN]),
            kdig(addr, &["-y", &key, "+notcp", "SOA", ORIGIN]),
            kdig(addr, &["-y", &key, "+notcp", "IXFR=1", ORIGIN]),
            kdig(addr, &["AXFR", ORIGIN]),
            kdig(addr, &["-y", &other_secret, "AXFR", ORIGIN]),
            kdig(addr, &["-y", &unknown_key, "AXFR", ORIGIN]),
            kdig_skewed("-1h", addr, &["-y", &key, "+notcp", "SOA", ORIGIN]),
        ]
    })
    .await
    .expect("kdig finished");
    let [
        signed,
        signed_soa,
        signed_udp_ixfr,
        unsigned,
        wrong_secret,
        unknown_key,
        late,
    ] = outputs;

    // SOA, NS, every host, SOA; kdig checked each message's TSIG.
    assert_eq!(records(&signed), HOSTS as usize + 3, "{signed}");
    assert!(
        !signed.contains(";; WARNING") && !signed.contains(";; ERROR"),
        "{signed}"
    );
    assert!(signed.contains("TSIG"), "kdig shows the TSIG: {signed}");
    assert!(
        signed_soa.contains("NOERROR") && !signed_soa.contains(";; WARNING"),
        "{signed_soa}"
    );
    // IXFR over UDP: our SOA alone, signed, which sends the client to TCP.
    assert!(signed_udp_ixfr.contains("(UDP)"), "{signed_udp_ixfr}");
    assert!(
        signed_udp_ixfr.contains("\tSOA\t")
            && !signed_udp_ixfr.contains(";; WARNING")
            && !signed_udp_ixfr.contains(";; ERROR"),
        "{signed_udp_ixfr}"
    );

    assert_eq!(records(&unsigned), 0, "{unsigned}");
    assert!(unsigned.contains("REFUSED"), "{unsigned}");
    assert_eq!(records(&wrong_secret), 0, "{wrong_secret}");
    assert!(wrong_secret.contains("BADSIG"), "{wrong_secret}");
    assert_eq!(records(&unknown_key), 0, "{unknown_key}");
    assert!(unknown_key.contains("BADKEY"), "{unknown_key}");
    // A clock an hour behind: BADTIME, signed — kdig checks the MAC before
    // the time, so "out of time window" means our signature verified.
    assert!(late.contains("status: BADTIME"), "{late}");
    assert!(late.contains("TSIG out of time window"), "{late}");

    cancel.cancel();
    server.join().await;
}
