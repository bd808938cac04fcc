//! The controller end to end: `muster serve` with simulated agents
//! reporting over real HTTP, observed through real `dig` (issue 3).

mod support;

use std::time::{Duration, Instant};

use support::{Muster, SimAgent, dig, eventually, http};

const TOKEN: &str = "agent-secret";

const POLICY: &str = r#"
zone: lists.example.test
ttl: 1
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 3, panic_threshold: 50% }
roles:
  smtp-out:
    min: 1
    records:
      - { name: smtp-out, type: MX, priority: 5 }
      - { name: smtp-out, type: A }
    fallback:
      - { name: smtp-out, type: MX, priority: 20, target: fallback.lists.example.test. }
  web: { min: 1, records: [ { name: www, type: A } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: fallback, address: 192.0.2.20, static: true }
  - { name: web0, address: 127.0.1.10, role: web, static: true }
  - { name: smurf1, address: 127.0.1.1, role: smtp-out }
  - { name: smurf2, address: 127.0.1.2, role: smtp-out }
  - { name: smurf3, address: 127.0.1.3, role: smtp-out }
  - { name: smurf4, address: 127.0.1.4, role: smtp-out }
"#;

fn pool(m: &Muster) -> Vec<String> {
    dig(m.dns, &["smtp-out.lists.example.test", "A"]).answer_data("A")
}

fn agents(m: &Muster, names: &[&str]) -> Vec<SimAgent> {
    names
        .iter()
        .map(|n| {
            let addr = format!("127.0.1.{}", &n[5..]);
            SimAgent::start(m.api, TOKEN, n, &addr, "smtp-out", Duration::from_millis(300))
        })
        .collect()
}

fn events(m: &Muster) -> String {
    http(m.api, "GET", "/api/v1/events?limit=1000", None, None).1
}

#[test]
fn a_silent_host_leaves_dns_within_dead_after_and_returns_after_revive_after() {
    let m = Muster::start_with(POLICY, &["--agent-token", TOKEN]);
    let mut sims = agents(&m, &["smurf1", "smurf2", "smurf3", "smurf4"]);
    // Published once each agent reports holding smtp-out.
    eventually(Duration::from_secs(5), "four members", || {
        (pool(&m) == ["127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4"]).then_some(())
    });

    let killed = Instant::now();
    sims[1].kill();
    eventually(Duration::from_secs(5), "smurf2 to leave DNS", || {
        (!pool(&m).contains(&"127.0.1.2".to_string())).then_some(())
    });
    let took = killed.elapsed();
    // The last heartbeat was up to 300 ms before the kill.
    assert!(took < Duration::from_secs(4), "dead_after 3s + 1s, took {took:?}");
    assert_eq!(pool(&m), vec!["127.0.1.1", "127.0.1.3", "127.0.1.4"]);

    let back = Instant::now();
    sims[1] = SimAgent::start(
        m.api,
        TOKEN,
        "smurf2",
        "127.0.1.2",
        "smtp-out",
        Duration::from_millis(300),
    );
    eventually(Duration::from_secs(5), "smurf2 to return", || {
        pool(&m).contains(&"127.0.1.2".to_string()).then_some(())
    });
    // Three good heartbeats 300 ms apart, then the next tick.
    assert!(
        back.elapsed() >= Duration::from_millis(600),
        "revived too early: {:?}",
        back.elapsed()
    );

    let log = events(&m);
    for needle in [
        r#""kind":"death","host":"smurf2""#,
        r#""kind":"revival","host":"smurf2""#,
        r#""kind":"unpublish","host":"smurf2""#,
        r#""actor":"failure-detector""#,
    ] {
        assert!(log.contains(needle), "{needle} in {log}");
    }
}

#[test]
fn many_silent_at_once_is_a_panic_that_keeps_the_last_good_set() {
    let m = Muster::start_with(POLICY, &["--agent-token", TOKEN]);
    let mut sims = agents(&m, &["smurf1", "smurf2", "smurf3", "smurf4"]);
    eventually(Duration::from_secs(5), "four members", || {
        (pool(&m).len() == 4).then_some(())
    });
    for s in &mut sims[..3] {
        s.kill();
    }
    eventually(Duration::from_secs(6), "the panic event", || {
        events(&m).contains(r#""kind":"panic""#).then_some(())
    });
    // Heartbeats are staggered: a host that crossed dead_after a tick before
    // the others may have died alone first. From the panic on, though, the
    // published set is frozen: the silent hosts stay, nothing empties.
    let frozen = pool(&m);
    assert!(
        frozen.len() >= 2,
        "the silent hosts are still published: {frozen:?}"
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(pool(&m), frozen, "fail static: the last good set stays published");
    let (_, pools) = http(m.api, "GET", "/api/v1/pools", None, None);
    assert!(pools.contains(r#""panic":true"#), "{pools}");

    for (i, s) in sims.iter_mut().enumerate().take(3) {
        let name = format!("smurf{}", i + 1);
        *s = SimAgent::start(
            m.api,
            TOKEN,
            &name,
            &format!("127.0.1.{}", i + 1),
            "smtp-out",
            Duration::from_millis(300),
        );
    }
    eventually(Duration::from_secs(6), "the end of the panic", || {
        events(&m).contains(r#""kind":"panic-end""#).then_some(())
    });
    eventually(Duration::from_secs(6), "all four back", || {
        (pool(&m).len() == 4).then_some(())
    });
}

#[test]
fn cordoning_the_silent_hosts_takes_them_out_during_a_panic_and_ends_it() {
    let m = Muster::start_with(POLICY, &["--agent-token", TOKEN, "--admin-token", "ops=s3cret"]);
    let mut sims = agents(&m, &["smurf1", "smurf2", "smurf3", "smurf4"]);
    eventually(Duration::from_secs(5), "four members", || {
        (pool(&m).len() == 4).then_some(())
    });
    for s in &mut sims[..3] {
        s.kill();
    }
    let read = |path: &str| http(m.api, "GET", path, Some("s3cret"), None).1;
    eventually(Duration::from_secs(6), "the panic event", || {
        read("/api/v1/events?limit=1000")
            .contains(r#""kind":"panic""#)
            .then_some(())
    });
    // The hosts really are gone (a rack lost power, say): the operator
    // takes each out of DNS; fail-static does not stand in the way.
    for host in ["smurf1", "smurf2", "smurf3"] {
        let (status, body) = http(
            m.api,
            "POST",
            &format!("/api/v1/hosts/{host}/cordon?force=true"),
            Some("s3cret"),
            None,
        );
        assert!(status == 200 || status == 202, "{host}: {status} {body}");
    }
    eventually(Duration::from_secs(4), "only smurf4 published", || {
        (pool(&m) == ["127.0.1.4"]).then_some(())
    });
    // With no silent host left under automation, the panic is over and the
    // controller acts again.
    eventually(Duration::from_secs(4), "the end of the panic", || {
        read("/api/v1/events?limit=1000")
            .contains(r#""kind":"panic-end""#)
            .then_some(())
    });
    assert!(read("/api/v1/pools").contains(r#""panic":false"#));
}

#[test]
fn sigkill_and_restart_keep_pools_events_and_a_growing_serial() {
    let mut m = Muster::start_with(POLICY, &["--agent-token", TOKEN]);
    let mut sims = agents(&m, &["smurf1", "smurf2", "smurf3", "smurf4"]);
    eventually(Duration::from_secs(5), "four members", || {
        (pool(&m).len() == 4).then_some(())
    });
    sims[3].kill();
    eventually(Duration::from_secs(6), "smurf4 dead", || {
        (pool(&m).len() == 3).then_some(())
    });
    let serial = m.serial();
    let before = events(&m);
    assert!(before.contains(r#""kind":"death","host":"smurf4""#), "{before}");

    m.restart(true);
    assert_eq!(
        pool(&m),
        vec!["127.0.1.1", "127.0.1.2", "127.0.1.3"],
        "same pool after kill -9"
    );
    assert!(m.serial() == serial || muster_dns::serial::is_newer(m.serial(), serial));
    let after = events(&m);
    assert!(
        after.contains(r#""kind":"death","host":"smurf4""#),
        "events survive: {after}"
    );

    // A change after the restart moves the serial forward.
    sims[0].kill();
    eventually(Duration::from_secs(6), "smurf1 dead", || {
        (pool(&m).len() == 2).then_some(())
    });
    assert!(muster_dns::serial::is_newer(m.serial(), serial));
}

#[test]
fn a_role_below_min_takes_a_host_after_a_drain() {
    // web has one static member; when smtp-out has more than its min the
    // reconciler keeps it; when web's only agent dies, web falls back to min
    // from smtp-out's surplus through a drain.
    let policy = POLICY.replace(
        "  - { name: web0, address: 127.0.1.10, role: web, static: true }\n",
        "  - { name: web1, address: 127.0.1.11, role: web }\n",
    );
    let m = Muster::start_with(&policy, &["--agent-token", TOKEN]);
    let sims = agents(&m, &["smurf1", "smurf2", "smurf3", "smurf4"]);
    // web1 never reports: it dies and web is below its min.
    let www = || dig(m.dns, &["www.lists.example.test", "A"]).answer_data("A");
    let moved = eventually(Duration::from_secs(15), "a host moved into web", || {
        let w = www();
        (w.len() == 1 && w[0] != "127.0.1.11").then(|| w[0].clone())
    });
    assert!(!pool(&m).contains(&moved), "the moved host left smtp-out");
    let log = events(&m);
    let start = log.find(r#""kind":"drain-start""#).expect("drain-start event");
    let end = log.find(r#""kind":"move""#).expect("move event");
    assert!(start < end, "drain before move: {log}");
    drop(sims);
}

#[test]
fn heartbeats_need_a_token_and_a_well_formed_body() {
    let m = Muster::start_with(POLICY, &["--agent-token", TOKEN]);
    let body = r#"{"name":"smurf1","addresses":["127.0.1.1"]}"#;
    let path = "/api/v1/agents/heartbeat";
    assert_eq!(http(m.api, "POST", path, None, Some(body)).0, 401);
    assert_eq!(http(m.api, "POST", path, Some("wrong"), Some(body)).0, 401);
    let (status, reply) = http(m.api, "POST", path, Some(TOKEN), Some(body));
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains(r#""role":"smtp-out""#), "{reply}");
    assert!(reply.contains(r#""interval_ms":1000"#), "{reply}");
    let (status, reply) = http(m.api, "POST", path, Some(TOKEN), Some("{not json"));
    assert_eq!(status, 400, "{reply}");
    assert!(reply.contains(r#""code":"bad_json""#), "{reply}");
    let (status, _) = http(
        m.api,
        "POST",
        path,
        Some(TOKEN),
        Some(r#"{"name":"smurf1","bogus":1}"#),
    );
    assert_eq!(status, 422);
    let (status, reply) = http(
        m.api,
        "POST",
        path,
        Some(TOKEN),
        Some(r#"{"name":"Not A Label"}"#),
    );
    assert_eq!(status, 422, "{reply}");

    // Without any agent token configured, heartbeats are refused.
    let closed = Muster::start(POLICY);
    assert_eq!(http(closed.api, "POST", path, Some(TOKEN), Some(body)).0, 401);
}

#[test]
fn an_operator_move_drains_first_and_names_the_operator() {
    let m = Muster::start_with(
        POLICY,
        &[
            "--agent-token",
            TOKEN,
            "--admin-token",
            "ops=s3cret",
            "--read-token",
            "watcher=look",
        ],
    );
    let _sims = agents(&m, &["smurf1", "smurf2", "smurf3", "smurf4"]);
    eventually(Duration::from_secs(5), "four members", || {
        (pool(&m).len() == 4).then_some(())
    });
    let path = "/api/v1/hosts/smurf1/move";
    let body = r#"{"role":"web"}"#;
    assert_eq!(http(m.api, "POST", path, None, Some(body)).0, 401);
    assert_eq!(http(m.api, "POST", path, Some("look"), Some(body)).0, 403);
    assert_eq!(
        http(
            m.api,
            "POST",
            "/api/v1/hosts/ghost/move",
            Some("s3cret"),
            Some(body)
        )
        .0,
        404
    );
    assert_eq!(
        http(m.api, "POST", path, Some("s3cret"), Some(r#"{"role":"nope"}"#)).0,
        404
    );
    assert_eq!(
        http(m.api, "POST", path, Some("s3cret"), Some(r#"{"rol":"web"}"#)).0,
        422
    );
    let (status, reply) = http(
        m.api,
        "POST",
        "/api/v1/hosts/web0/move",
        Some("s3cret"),
        Some(r#"{"role":"smtp-out"}"#),
    );
    assert_eq!(status, 409, "static hosts never move: {reply}");
    // Reads need a token once operator tokens exist.
    assert_eq!(http(m.api, "GET", "/api/v1/events", None, None).0, 401);
    assert_eq!(http(m.api, "GET", "/api/v1/events", Some("look"), None).0, 200);

    let (status, reply) = http(m.api, "POST", path, Some("s3cret"), Some(body));
    assert_eq!(status, 202, "{reply}");
    // Out of smtp-out at once, into web after the 1 s TTL.
    eventually(Duration::from_secs(2), "smurf1 out of smtp-out", || {
        (!pool(&m).contains(&"127.0.1.1".to_string())).then_some(())
    });
    eventually(Duration::from_secs(6), "smurf1 in web", || {
        dig(m.dns, &["www.lists.example.test", "A"])
            .answer_data("A")
            .contains(&"127.0.1.1".to_string())
            .then_some(())
    });
    let (_, log) = http(m.api, "GET", "/api/v1/events?host=smurf1", Some("look"), None);
    let start = log.find(r#""kind":"drain-start""#).expect("drain-start");
    let moved = log.find(r#""kind":"move""#).expect("move");
    assert!(start < moved, "{log}");
    assert!(log.contains(r#""actor":"ops""#), "{log}");

    // Taking a role below its min needs force.
    for host in ["smurf2", "smurf3"] {
        let (status, reply) = http(
            m.api,
            "POST",
            &format!("/api/v1/hosts/{host}/move"),
            Some("s3cret"),
            Some(body),
        );
        assert_eq!(status, 202, "{reply}");
    }
    let last = "/api/v1/hosts/smurf4/move";
    let (status, reply) = http(m.api, "POST", last, Some("s3cret"), Some(body));
    assert_eq!(status, 409, "{reply}");
    assert!(reply.contains("min"), "{reply}");
    let (status, reply) = http(
        m.api,
        "POST",
        last,
        Some("s3cret"),
        Some(r#"{"role":"web","force":true}"#),
    );
    assert_eq!(status, 202, "{reply}");
}

#[test]
fn an_enrolment_token_yields_a_per_host_token_that_holds_the_name() {
    let mut m = Muster::start_with(POLICY, &["--enrolment-token", "join-me"]);
    let path = "/api/v1/agents/heartbeat";
    let body = r#"{"name":"smurf9","addresses":["127.0.1.9"]}"#;
    let (status, reply) = http(m.api, "POST", path, Some("join-me"), Some(body));
    assert_eq!(status, 200, "{reply}");
    let token = reply
        .split(r#""token":""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a per-host token in the reply")
        .to_string();
    assert_eq!(token.len(), 64);
    eventually(Duration::from_secs(3), "the binding to be committed", || {
        let (status, _) = http(m.api, "POST", path, Some("join-me"), Some(body));
        (status == 409).then_some(())
    });
    let (status, reply) = http(m.api, "POST", path, Some(&token), Some(body));
    assert_eq!(status, 200, "{reply}");
    assert!(!reply.contains(r#""token""#), "issued once only: {reply}");
    // The token holds its own name only.
    let other = r#"{"name":"smurf8","addresses":["127.0.1.8"]}"#;
    assert_eq!(http(m.api, "POST", path, Some(&token), Some(other)).0, 401);
    assert_eq!(http(m.api, "POST", path, Some("made-up"), Some(body)).0, 409);
    // Nothing recorded for refused heartbeats.
    let (_, events) = http(m.api, "GET", "/api/v1/events", None, None);
    assert!(!events.contains("smurf8"), "{events}");

    // Only the hash is stored, and it survives kill -9.
    m.restart(true);
    assert_eq!(http(m.api, "POST", path, Some(&token), Some(body)).0, 200);
    for file in ["muster.db", "muster.db-wal"] {
        let db = std::fs::read(m.dir.path().join(file)).unwrap_or_default();
        assert!(
            !db.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token itself is not in {file}"
        );
    }
    assert!(!m.log().contains(&token), "tokens never appear in logs");
}

#[test]
fn hosts_added_by_a_reload_are_published_only_once_their_agents_report() {
    // Issue 12 (2a): a host the inventory gives a role was published before
    // any agent reported, and stayed published under fail-static.
    let m = Muster::start_with(POLICY, &["--agent-token", TOKEN]);
    let _sims = agents(&m, &["smurf1", "smurf2", "smurf3", "smurf4"]);
    eventually(Duration::from_secs(5), "four members", || {
        (pool(&m).len() == 4).then_some(())
    });
    m.reload(&format!(
        "{POLICY}  - {{ name: smurf5, address: 127.0.1.5, role: smtp-out }}\n"
    ));
    let added = Instant::now();
    // Given dead_after to report, then declared dead; never published.
    let events_now = || events(&m);
    eventually(Duration::from_secs(8), "smurf5 declared dead", || {
        assert!(!pool(&m).contains(&"127.0.1.5".to_string()), "smurf5 published");
        events_now().contains("never reported").then_some(())
    });
    assert!(
        added.elapsed() >= Duration::from_secs(2),
        "silent only after dead_after: {:?}",
        added.elapsed()
    );
    assert_eq!(pool(&m).len(), 4, "no panic: the others stay");
    assert!(!events(&m).contains("went silent at once"), "{}", events(&m));

    // Its agent starts: it takes the role and is published.
    let _late = agents(&m, &["smurf5"]);
    eventually(Duration::from_secs(8), "smurf5 published", || {
        pool(&m).contains(&"127.0.1.5".to_string()).then_some(())
    });
}
