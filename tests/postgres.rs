//! `muster serve --db postgres://…` against a real PostgreSQL server: the
//! same pools, events and serials across `kill -9` as on SQLite.

mod support;

#[path = "../controller/tests/support/postgres.rs"]
#[allow(dead_code, unreachable_pub)]
mod postgres;

use std::process::Command;
use std::time::Duration;

use support::{Muster, SimAgent, dig, eventually, http};

const TOKEN: &str = "agent-secret";

/// A new, empty database for one test (`tag` keeps tests apart).
fn fresh_database(tag: &str) -> String {
    let server = postgres::server_url();
    let name = format!("muster_e2e_{tag}_{}", std::process::id());
    let status = Command::new("psql")
        .arg(&server)
        .args([
            "-q",
            "-c",
            &format!("DROP DATABASE IF EXISTS {name}"),
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .status()
        .expect("psql (postgresql-client) is installed");
    assert!(status.success(), "creating {name}");
    postgres::with_database(&server, &name)
}

#[test]
fn the_controller_keeps_its_state_in_postgresql_across_kill_9() {
    let url = fresh_database("restart");
    let policy = r#"
zone: lists.example.test
ttl: 1
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 3 }
roles:
  smtp-out: { min: 1, records: [ { name: smtp-out, type: A } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: smurf1, address: 127.0.1.1, role: smtp-out }
  - { name: smurf2, address: 127.0.1.2, role: smtp-out }
  - { name: smurf3, address: 127.0.1.3, role: smtp-out }
"#;
    let mut m = Muster::start_with(policy, &["--agent-token", TOKEN, "--db", &url]);
    let pool = |m: &Muster| dig(m.dns, &["smtp-out.lists.example.test", "A"]).answer_data("A");
    let mut sims: Vec<SimAgent> = (1..=3)
        .map(|i| {
            let name = format!("smurf{i}");
            SimAgent::start(
                m.api,
                TOKEN,
                &name,
                &format!("127.0.1.{i}"),
                "smtp-out",
                Duration::from_millis(300),
            )
        })
        .collect();
    eventually(Duration::from_secs(5), "three members", || {
        (pool(&m).len() == 3).then_some(())
    });
    sims[2].kill();
    eventually(Duration::from_secs(6), "smurf3 dead", || {
        (pool(&m).len() == 2).then_some(())
    });
    let serial = m.serial();

    m.restart(true);
    assert_eq!(pool(&m), vec!["127.0.1.1", "127.0.1.2"], "pools survive kill -9");
    assert_eq!(m.serial(), serial, "same content, same serial");
    let (_, events) = http(m.api, "GET", "/api/v1/events?host=smurf3", None, None);
    assert!(events.contains(r#""kind":"death""#), "{events}");
    assert!(
        m.log().contains("postgres"),
        "it really used PostgreSQL:\n{}",
        m.log()
    );
}

/// Runs SQL as the server's superuser.
fn psql(sql: &str) {
    let status = Command::new("psql")
        .arg(postgres::server_url())
        .args(["-q", "-c", sql])
        .status()
        .expect("psql runs");
    assert!(status.success(), "{sql}");
}

#[test]
fn with_the_store_unreachable_dns_keeps_the_last_snapshot_and_readyz_says_so() {
    let url = fresh_database("outage");
    let name = url.rsplit('/').next().expect("a database name").to_owned();
    let policy = r#"
zone: lists.example.test
ttl: 1
heartbeat: { interval: 1s, dead_after: 2s, revive_after: 2, panic_threshold: 90% }
roles:
  smtp-out: { min: 1, records: [ { name: smtp-out, type: A } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: smurf1, address: 127.0.1.1, role: smtp-out }
  - { name: smurf2, address: 127.0.1.2, role: smtp-out }
  - { name: smurf3, address: 127.0.1.3, role: smtp-out }
"#;
    let m = Muster::start_with(policy, &["--agent-token", TOKEN, "--db", &url]);
    let pool = |m: &Muster| dig(m.dns, &["smtp-out.lists.example.test", "A"]).answer_data("A");
    let mut sims: Vec<SimAgent> = (1..=3)
        .map(|i| {
            let (host, addr) = (format!("smurf{i}"), format!("127.0.1.{i}"));
            SimAgent::start(m.api, TOKEN, &host, &addr, "smtp-out", Duration::from_millis(300))
        })
        .collect();
    eventually(Duration::from_secs(5), "three published", || {
        (pool(&m).len() == 3).then_some(())
    });
    let (status, body) = http(m.api, "GET", "/readyz", None, None);
    assert_eq!(status, 200, "{body}");
    let serial = m.serial();

    // The database goes away: no new connections, existing ones cut.
    psql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
    psql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ));
    sims[2].kill();
    eventually(Duration::from_secs(5), "readyz to report the store", || {
        let (status, body) = http(m.api, "GET", "/readyz", None, None);
        (status == 503 && body.contains(r#""ready":false"#)).then_some(())
    });
    // Well past dead_after: smurf3 is silent, but nothing can be recorded,
    // so nothing is applied and DNS keeps serving the last snapshot.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(pool(&m).len(), 3, "the last snapshot stays published");
    assert_eq!(m.serial(), serial, "no serial that the store has not recorded");

    // The database is back: the controller catches up within its backoff.
    psql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
    eventually(
        Duration::from_secs(30),
        "smurf3 to leave DNS once the store is back",
        || (pool(&m) == ["127.0.1.1", "127.0.1.2"]).then_some(()),
    );
    let (status, _) = http(m.api, "GET", "/readyz", None, None);
    assert_eq!(status, 200);
    assert!(m.serial() != serial);
    assert!(
        m.log().contains("reconcile failed; DNS keeps the last snapshot"),
        "{}",
        m.log()
    );
}
