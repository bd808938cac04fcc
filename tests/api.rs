//! The operator REST API end to end: the real `muster serve` with simulated
//! agents over real HTTP; every endpoint's success and error statuses,
//! actors in the event log, the event stream, policy reload and the
//! OpenAPI document (issue 6).

mod support;

use std::time::Duration;

use serde_json::Value;
use support::api::{EventStream, call, error_code, error_message};
use support::{Muster, SimAgent, dig, eventually, http};

const AGENT: &str = "agent-secret";
const ADMIN: &str = "s3cret";
const READ: &str = "look";

const POLICY: &str = r#"
zone: lists.example.test
ttl: 1
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 3, panic_threshold: 50% }
roles:
  mx: { min: 2, records: [ { name: "@", type: MX, priority: 10 } ] }
  web: { min: 0, records: [ { name: www, type: A } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: smurf1, address: 127.0.1.1, role: mx }
  - { name: smurf2, address: 127.0.1.2, role: mx }
  - { name: smurf3, address: 127.0.1.3, role: web }
"#;

fn start() -> Muster {
    Muster::start_with(
        POLICY,
        &[
            "--agent-token",
            AGENT,
            "--admin-token",
            &format!("ops={ADMIN}"),
            "--read-token",
            &format!("watcher={READ}"),
        ],
    )
}

fn agents(m: &Muster) -> Vec<SimAgent> {
    [("smurf1", "mx"), ("smurf2", "mx"), ("smurf3", "web")]
        .iter()
        .map(|(name, role)| {
            let address = format!("127.0.1.{}", &name[5..]);
            SimAgent::start(m.api, AGENT, name, &address, role, Duration::from_millis(300))
        })
        .collect()
}

fn www(m: &Muster) -> Vec<String> {
    dig(m.dns, &["www.lists.example.test", "A"]).answer_data("A")
}

/// The host as the API shows it.
fn host(m: &Muster, name: &str) -> Value {
    let (status, body) = call(m.api, "GET", &format!("/api/v1/hosts/{name}"), Some(READ), None);
    assert_eq!(status, 200, "{body}");
    body
}

/// Asserts `method path` answers `status` with `code` for each token.
fn expect(m: &Muster, method: &str, path: &str, body: Option<&str>, cases: &[(Option<&str>, u16, &str)]) {
    for &(token, status, code) in cases {
        let (got, reply) = call(m.api, method, path, token, body);
        assert_eq!(got, status, "{method} {path} with {token:?}: {reply}");
        assert_eq!(
            error_code(&reply),
            code,
            "{method} {path} with {token:?}: {reply}"
        );
    }
}

/// No token, a wrong one and an agent token get 401; a read token 403.
fn expect_admin_only(m: &Muster, method: &str, path: &str, body: Option<&str>) {
    expect(
        m,
        method,
        path,
        body,
        &[
            (None, 401, "unauthorized"),
            (Some("wrong"), 401, "unauthorized"),
            (Some(AGENT), 401, "unauthorized"),
            (Some(READ), 403, "forbidden"),
        ],
    );
}

/// The events about `host`, oldest first.
fn events_of(m: &Muster, host: &str) -> Vec<Value> {
    let (status, body) = call(
        m.api,
        "GET",
        &format!("/api/v1/events?host={host}&limit=1000"),
        Some(READ),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body.as_array().expect("a list").clone()
}

fn has_event(events: &[Value], kind: &str, actor: &str) -> bool {
    events.iter().any(|e| e["kind"] == kind && e["actor"] == actor)
}

#[test]
fn reads_need_an_operator_token_and_show_pools_hosts_events_and_zone() {
    let m = start();
    let _agents = agents(&m);
    eventually(Duration::from_secs(5), "smurf3 in www", || {
        (www(&m) == ["127.0.1.3"]).then_some(())
    });
    for path in [
        "/api/v1/pools",
        "/api/v1/hosts",
        "/api/v1/hosts/smurf1",
        "/api/v1/events",
        "/api/v1/events/stream",
        "/api/v1/zone",
    ] {
        expect(
            &m,
            "GET",
            path,
            None,
            &[
                (None, 401, "unauthorized"),
                (Some("wrong"), 401, "unauthorized"),
                (Some(AGENT), 401, "unauthorized"),
            ],
        );
    }

    // Pools: min, wanted, members with state and load.
    let (status, pools) = call(m.api, "GET", "/api/v1/pools", Some(READ), None);
    assert_eq!(status, 200, "{pools}");
    assert_eq!(pools["panic"], false);
    let mx = &pools["pools"].as_array().expect("pools")[0];
    assert_eq!(
        (mx["role"].as_str(), mx["min"].as_u64(), mx["wanted"].as_u64()),
        (Some("mx"), Some(2), Some(2))
    );
    assert_eq!(mx["published"], serde_json::json!(["smurf1", "smurf2"]));
    let member = &mx["members"][0];
    assert_eq!(
        (member["host"].as_str(), member["state"].as_str()),
        (Some("smurf1"), Some("active"))
    );
    assert_eq!(member["queue_depth"], 0.0);
    assert_eq!(member["published"], true);

    // Hosts: the list and one, typed as the CLI will read them.
    let (status, hosts) = call(m.api, "GET", "/api/v1/hosts", Some(ADMIN), None);
    assert_eq!(status, 200, "{hosts}");
    let hosts: Vec<muster_api::HostView> = serde_json::from_value(hosts).expect("HostView list");
    let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["ns1", "smurf1", "smurf2", "smurf3"]);
    assert!(hosts[0].is_static && hosts[0].heartbeat_age_ms.is_none());
    let smurf1: muster_api::HostView = serde_json::from_value(host(&m, "smurf1")).expect("HostView");
    assert_eq!(
        (smurf1.role.as_deref(), smurf1.state.as_str()),
        (Some("mx"), "active")
    );
    assert!(smurf1.published && smurf1.in_policy && !smurf1.is_static);
    assert!(
        smurf1.heartbeat_age_ms.is_some_and(|age| age < 2000),
        "{smurf1:?}"
    );
    assert_eq!(smurf1.metrics.get("queue_depth"), Some(&0.0));
    assert_eq!(smurf1.reported_role.as_deref(), Some("mx"));
    assert!(smurf1.failing_probes.is_empty());
    expect(
        &m,
        "GET",
        "/api/v1/hosts/ghost",
        None,
        &[(Some(READ), 404, "not_found")],
    );

    // Events: filters, and bad queries (a cordon and an uncordon to list).
    for change in ["cordon", "uncordon"] {
        let (status, reply) = call(
            m.api,
            "POST",
            &format!("/api/v1/hosts/smurf3/{change}"),
            Some(ADMIN),
            None,
        );
        assert_eq!(status, 200, "{reply}");
    }
    let (status, events) = call(m.api, "GET", "/api/v1/events?limit=2", Some(READ), None);
    assert_eq!(status, 200, "{events}");
    assert!(events.as_array().is_some_and(|e| e.len() <= 2), "{events}");
    let (_, events) = call(
        m.api,
        "GET",
        "/api/v1/events?since=99999999999999",
        Some(READ),
        None,
    );
    assert_eq!(events, serde_json::json!([]));
    let all = events_of(&m, "smurf3");
    assert!(
        !all.is_empty() && all.iter().all(|e| e["host"] == "smurf3"),
        "{all:?}"
    );
    let newest = all.last().and_then(|e| e["id"].as_i64()).expect("an id");
    let (_, after) = call(
        m.api,
        "GET",
        &format!("/api/v1/events?after={newest}&host=smurf3"),
        Some(READ),
        None,
    );
    assert_eq!(after, serde_json::json!([]));
    for bad in ["/api/v1/events?bogus=1", "/api/v1/events?limit=many"] {
        expect(&m, "GET", bad, None, &[(Some(READ), 400, "bad_query")]);
    }

    // The zone with its serial.
    let (status, zone) = call(m.api, "GET", "/api/v1/zone", Some(READ), None);
    assert_eq!(status, 200, "{zone}");
    assert_eq!(zone["zone"], "lists.example.test.");
    assert_eq!(zone["serial"].as_u64(), Some(u64::from(m.serial())));

    // Operator tokens are not agent tokens, and bodies are bounded.
    let beat = r#"{"name":"smurf1"}"#;
    expect(
        &m,
        "POST",
        "/api/v1/agents/heartbeat",
        Some(beat),
        &[(Some(ADMIN), 401, "unauthorized")],
    );
    let huge = format!(
        r#"{{"name":"smurf1","hook_failure":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let (status, _) = call(
        m.api,
        "POST",
        "/api/v1/agents/heartbeat",
        Some(AGENT),
        Some(&huge),
    );
    assert_eq!(status, 413);
}

#[test]
fn writes_need_an_admin_token_record_its_name_and_keep_the_min() {
    let m = start();
    let _agents = agents(&m);
    eventually(Duration::from_secs(5), "smurf3 in www", || {
        (www(&m) == ["127.0.1.3"]).then_some(())
    });
    for (method, path) in [
        ("POST", "/api/v1/hosts"),
        ("DELETE", "/api/v1/hosts/smurf3"),
        ("POST", "/api/v1/hosts/smurf3/move"),
        ("POST", "/api/v1/hosts/smurf3/drain"),
        ("POST", "/api/v1/hosts/smurf3/cordon"),
        ("POST", "/api/v1/hosts/smurf3/uncordon"),
        ("POST", "/api/v1/hosts/smurf3/pin"),
        ("POST", "/api/v1/hosts/smurf3/unpin"),
        ("POST", "/api/v1/policy/reload"),
    ] {
        // The token is checked before the body.
        expect_admin_only(&m, method, path, Some(r#"{"role":"web"}"#));
        expect(&m, method, path, None, &[(None, 401, "unauthorized")]);
    }
    for path in ["drain", "cordon", "uncordon", "pin", "unpin", "move"] {
        let body = (path == "move").then_some(r#"{"role":"web"}"#);
        expect(
            &m,
            "POST",
            &format!("/api/v1/hosts/ghost/{path}"),
            body,
            &[(Some(ADMIN), 404, "not_found")],
        );
    }
    expect(
        &m,
        "DELETE",
        "/api/v1/hosts/ghost",
        None,
        &[(Some(ADMIN), 404, "not_found")],
    );

    // Register a static host: published at once, in its role.
    let new = r#"{"name":"extra","addresses":["192.0.2.7"],"role":"web","labels":{"rack":"z"}}"#;
    let (status, created) = call(m.api, "POST", "/api/v1/hosts", Some(ADMIN), Some(new));
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (created["static"].as_bool(), created["role"].as_str()),
        (Some(true), Some("web"))
    );
    assert_eq!(created["labels"]["rack"], "z");
    eventually(Duration::from_secs(3), "extra in www", || {
        www(&m).contains(&"192.0.2.7".to_string()).then_some(())
    });
    assert!(has_event(&events_of(&m, "extra"), "register", "ops"));
    expect(
        &m,
        "POST",
        "/api/v1/hosts",
        Some(new),
        &[(Some(ADMIN), 409, "conflict")],
    );
    for (bad, code) in [
        (r#"{"name":"Bad Name","addresses":["192.0.2.8"]}"#, "invalid"),
        (r#"{"name":"other","addresses":["not-an-ip"]}"#, "invalid_body"),
        (r#"{"name":"other","addresses":[]}"#, "invalid"),
        (
            r#"{"name":"other","addresses":["192.0.2.8"],"role":"nope"}"#,
            "invalid",
        ),
        (
            r#"{"name":"other","addresses":["192.0.2.8"],"colour":"red"}"#,
            "invalid_body",
        ),
        (r#"{"name":"other","addresses":"192.0.2.8"}"#, "invalid_body"),
    ] {
        expect(
            &m,
            "POST",
            "/api/v1/hosts",
            Some(bad),
            &[(Some(ADMIN), 422, code)],
        );
    }
    expect(
        &m,
        "POST",
        "/api/v1/hosts",
        Some("{nope"),
        &[(Some(ADMIN), 400, "bad_json")],
    );

    // Remove: not what the policy defines; gone from the API and DNS.
    let (status, reply) = call(m.api, "DELETE", "/api/v1/hosts/smurf3", Some(ADMIN), None);
    assert_eq!(status, 409, "{reply}");
    assert!(
        error_message(&reply).contains("defined in the policy file"),
        "{reply}"
    );
    let (status, reply) = call(m.api, "DELETE", "/api/v1/hosts/extra", Some(ADMIN), None);
    assert_eq!(status, 204, "{reply}");
    expect(
        &m,
        "GET",
        "/api/v1/hosts/extra",
        None,
        &[(Some(ADMIN), 404, "not_found")],
    );
    assert!(has_event(&events_of(&m, "extra"), "remove", "ops"));
    eventually(Duration::from_secs(3), "extra out of www", || {
        (www(&m) == ["127.0.1.3"]).then_some(())
    });

    // Cordon: out of DNS, refused when it breaks a min, once only.
    let (status, reply) = call(m.api, "POST", "/api/v1/hosts/smurf1/cordon", Some(ADMIN), None);
    assert_eq!(status, 409, "{reply}");
    assert!(error_message(&reply).contains("min 2"), "{reply}");
    let (status, cordoned) = call(m.api, "POST", "/api/v1/hosts/smurf3/cordon", Some(ADMIN), None);
    assert_eq!(status, 200, "{cordoned}");
    assert_eq!(
        (cordoned["state"].as_str(), cordoned["cordoned"].as_bool()),
        (Some("cordoned"), Some(true))
    );
    assert!(www(&m).is_empty(), "a cordoned host is not published");
    expect(
        &m,
        "POST",
        "/api/v1/hosts/smurf3/cordon",
        None,
        &[(Some(ADMIN), 409, "conflict")],
    );
    let (status, back) = call(m.api, "POST", "/api/v1/hosts/smurf3/uncordon", Some(ADMIN), None);
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["state"], "active");
    expect(
        &m,
        "POST",
        "/api/v1/hosts/smurf3/uncordon",
        None,
        &[(Some(ADMIN), 409, "conflict")],
    );
    let log = events_of(&m, "smurf3");
    assert!(
        has_event(&log, "cordon", "ops") && has_event(&log, "uncordon", "ops"),
        "{log:?}"
    );
    // Every change has a reason: leaving and re-entering DNS name the
    // operator's token, not the reconciler.
    assert!(
        has_event(&log, "unpublish", "ops") && has_event(&log, "publish", "ops"),
        "{log:?}"
    );

    // Pin: in place, or in another role; unknown roles and bodies refused.
    let (status, pinned) = call(m.api, "POST", "/api/v1/hosts/smurf1/pin", Some(ADMIN), None);
    assert_eq!(status, 200, "{pinned}");
    assert_eq!(
        (pinned["pinned"].as_bool(), pinned["role"].as_str()),
        (Some(true), Some("mx"))
    );
    expect(
        &m,
        "POST",
        "/api/v1/hosts/smurf1/pin",
        None,
        &[(Some(ADMIN), 409, "conflict")],
    );
    let pin = "/api/v1/hosts/smurf3/pin";
    expect(
        &m,
        "POST",
        pin,
        Some(r#"{"role":"nope"}"#),
        &[(Some(ADMIN), 404, "not_found")],
    );
    expect(
        &m,
        "POST",
        pin,
        Some(r#"{"rol":"mx"}"#),
        &[(Some(ADMIN), 422, "invalid_body")],
    );
    expect(
        &m,
        "POST",
        pin,
        Some(r#"{"role":"#),
        &[(Some(ADMIN), 400, "bad_json")],
    );
    let (status, reply) = call(m.api, "POST", "/api/v1/hosts/smurf1/unpin", Some(ADMIN), None);
    assert_eq!((status, reply["pinned"].as_bool()), (200, Some(false)), "{reply}");
    expect(
        &m,
        "POST",
        "/api/v1/hosts/smurf1/unpin",
        None,
        &[(Some(ADMIN), 409, "conflict")],
    );
    assert!(has_event(&events_of(&m, "smurf1"), "pin", "ops"));

    // Drain: towards no role, refused below min unless forced.
    expect(
        &m,
        "POST",
        "/api/v1/hosts/smurf2/drain",
        None,
        &[(Some(ADMIN), 409, "conflict")],
    );
    let (status, draining) = call(m.api, "POST", "/api/v1/hosts/smurf3/drain", Some(ADMIN), None);
    assert_eq!(status, 202, "{draining}");
    assert_eq!(draining["state"], "draining");
    assert_eq!(
        (
            draining["drain"]["to"].clone(),
            draining["drain"]["actor"].as_str()
        ),
        (Value::Null, Some("ops"))
    );
    expect(
        &m,
        "POST",
        "/api/v1/hosts/smurf3/drain",
        None,
        &[(Some(ADMIN), 409, "conflict")],
    );
    eventually(Duration::from_secs(6), "smurf3's drain to end", || {
        host(&m, "smurf3")["role"].is_null().then_some(())
    });
    let log = events_of(&m, "smurf3");
    assert!(
        has_event(&log, "drain-start", "ops") && has_event(&log, "move", "ops"),
        "{log:?}"
    );
    let (status, reply) = call(m.api, "POST", "/api/v1/hosts/smurf3/drain", Some(ADMIN), None);
    assert_eq!(status, 409, "{reply}");
    assert!(error_message(&reply).contains("holds no role"), "{reply}");

    // Pinning a host without a role in one assigns it there.
    let (status, pinned) = call(m.api, "POST", pin, Some(ADMIN), Some(r#"{"role":"web"}"#));
    assert_eq!(status, 200, "{pinned}");
    assert_eq!(
        (pinned["role"].as_str(), pinned["state"].as_str()),
        (Some("web"), Some("pinned"))
    );
    eventually(Duration::from_secs(3), "smurf3 back in www", || {
        (www(&m) == ["127.0.1.3"]).then_some(())
    });
    let (status, reply) = call(
        m.api,
        "POST",
        "/api/v1/hosts/smurf2/drain?force=true",
        Some(ADMIN),
        None,
    );
    assert_eq!(status, 202, "force takes mx below its min: {reply}");
}

#[test]
fn the_event_stream_delivers_a_cordon_and_ends_with_the_server() {
    let mut m = start();
    let _agents = agents(&m);
    eventually(Duration::from_secs(5), "smurf3 in www", || {
        (www(&m) == ["127.0.1.3"]).then_some(())
    });
    let mut stream = EventStream::open(m.api, "/api/v1/events/stream", Some(READ));
    assert_eq!(stream.status, 200);
    let (status, reply) = call(m.api, "POST", "/api/v1/hosts/smurf3/cordon", Some(ADMIN), None);
    assert_eq!(status, 200, "{reply}");
    let cordon = stream
        .wait_for(Duration::from_secs(5), |e| e["kind"] == "cordon")
        .expect("the cordon on the stream");
    assert_eq!(
        (cordon["host"].as_str(), cordon["actor"].as_str()),
        (Some("smurf3"), Some("ops"))
    );
    assert!(cordon["serial"].as_u64().is_some(), "{cordon}");

    // With `since`, the stream replays first, then follows.
    let mut replay = EventStream::open(m.api, "/api/v1/events/stream?since=0&host=smurf3", Some(READ));
    assert_eq!(replay.status, 200);
    // Its arrival in web and its publication came first.
    let old = replay
        .wait_for(Duration::from_secs(3), |e| e["kind"] == "cordon")
        .expect("the cordon replayed");
    assert_eq!(old["host"].as_str(), Some("smurf3"));
    let (status, reply) = call(m.api, "POST", "/api/v1/hosts/smurf3/uncordon", Some(ADMIN), None);
    assert_eq!(status, 200, "{reply}");
    let followed = replay.wait_for(Duration::from_secs(5), |e| e["kind"] == "uncordon");
    assert!(followed.is_some(), "the replaying stream follows too");
    assert!(
        stream
            .wait_for(Duration::from_secs(5), |e| e["kind"] == "uncordon")
            .is_some()
    );

    let status = m.stop(false).expect("muster stopped");
    assert!(status.success(), "a clean exit with streams open: {status}");
    assert!(
        stream.ends_within(Duration::from_secs(2)),
        "the stream ends with the server"
    );
}

#[test]
fn policy_reload_rejects_a_broken_file_and_keeps_serving() {
    let m = start();
    let _agents = agents(&m);
    eventually(Duration::from_secs(5), "smurf3 in www", || {
        (www(&m) == ["127.0.1.3"]).then_some(())
    });
    let path = "/api/v1/policy/reload";
    let (_, before) = call(m.api, "GET", "/api/v1/zone", Some(READ), None);
    let serial = m.serial();

    // Unchanged file: in force, zone unchanged.
    let (status, reply) = call(m.api, "POST", path, Some(ADMIN), None);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["serial"], Value::Null);

    // A typo'd key on line 8: 422 naming file, line and column; the policy
    // in force stays.
    let broken = POLICY.replace("  mx: { min: 2,", "  mx: { mni: 2,");
    let line = broken.lines().position(|l| l.contains("mni")).expect("the typo") + 1;
    std::fs::write(m.policy_path(), &broken).expect("write policy");
    let (status, reply) = call(m.api, "POST", path, Some(ADMIN), None);
    assert_eq!(status, 422, "{reply}");
    assert_eq!(error_code(&reply), "invalid_policy");
    let message = error_message(&reply);
    assert!(
        message.contains(&format!("policy.yaml:{line}:")),
        "file:line:column in {message}"
    );
    assert!(message.contains("mni"), "{message}");
    assert_eq!(m.serial(), serial, "DNS serves the old zone");
    let (_, after) = call(m.api, "GET", "/api/v1/zone", Some(READ), None);
    assert_eq!(after, before);

    // A good change: in force, with the new serial.
    let grown = format!("{POLICY}  - {{ name: extra, address: 192.0.2.9, role: web, static: true }}\n");
    std::fs::write(m.policy_path(), grown).expect("write policy");
    let (status, reply) = call(m.api, "POST", path, Some(ADMIN), None);
    assert_eq!(status, 200, "{reply}");
    let new = reply["serial"].as_u64().expect("a new serial");
    assert_eq!(new, u64::from(m.serial()));
    assert!(www(&m).contains(&"192.0.2.9".to_string()));
}

/// Every `reload` event, oldest first: (actor, reason).
fn reload_events(m: &Muster) -> Vec<(String, String)> {
    let (status, events) = call(m.api, "GET", "/api/v1/events?limit=1000", Some(READ), None);
    assert_eq!(status, 200, "{events}");
    events
        .as_array()
        .expect("a list")
        .iter()
        .filter(|e| e["kind"] == "reload")
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (text("actor"), text("reason"))
        })
        .collect()
}

/// The value of an unlabelled series in `/metrics`.
fn metric(m: &Muster, name: &str) -> f64 {
    let (status, text) = support::http(m.api, "GET", "/metrics", Some(READ), None);
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

#[test]
fn every_reload_is_an_event_and_its_outcome_is_in_metrics_and_on_the_page() {
    let m = start();
    let path = "/api/v1/policy/reload";
    assert_eq!(metric(&m, "muster_policy_reload_success"), 1.0, "none tried yet");
    let loaded = metric(&m, "muster_policy_loaded_timestamp_seconds");
    assert!(loaded > 1.7e9, "seconds since the epoch: {loaded}");
    assert!(reload_events(&m).is_empty());

    // Accepted, by the admin token named ops.
    std::thread::sleep(Duration::from_millis(20));
    let (status, reply) = call(m.api, "POST", path, Some(ADMIN), None);
    assert_eq!(status, 200, "{reply}");
    let events = reload_events(&m);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "ops");
    assert!(events[0].1.contains("put in force"), "{events:?}");
    assert_eq!(metric(&m, "muster_policy_reload_success"), 1.0);
    let reloaded = metric(&m, "muster_policy_loaded_timestamp_seconds");
    assert!(reloaded > loaded, "{reloaded} after {loaded}");

    // Rejected: an event with the problem, and nothing else changes.
    let serial = m.serial();
    let (_, hosts_before) = call(m.api, "GET", "/api/v1/hosts", Some(READ), None);
    std::fs::write(
        m.policy_path(),
        POLICY.replace("  mx: { min: 2,", "  mx: { mni: 2,"),
    )
    .expect("write");
    let (status, reply) = call(m.api, "POST", path, Some(ADMIN), None);
    assert_eq!(status, 422, "{reply}");
    let events = reload_events(&m);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1].0, "ops");
    assert!(
        events[1].1.contains("rejected") && events[1].1.contains("mni"),
        "{events:?}"
    );
    assert_eq!(metric(&m, "muster_policy_reload_success"), 0.0);
    assert_eq!(metric(&m, "muster_policy_loaded_timestamp_seconds"), reloaded);
    assert_eq!(m.serial(), serial, "the zone stays");
    let (_, hosts_after) = call(m.api, "GET", "/api/v1/hosts", Some(READ), None);
    let names = |h: &Value| -> Vec<String> {
        h.as_array()
            .into_iter()
            .flatten()
            .map(|h| format!("{} {} {}", h["name"], h["role"], h["state"]))
            .collect()
    };
    assert_eq!(names(&hosts_after), names(&hosts_before));
    let (status, page) = support::http(m.api, "GET", &format!("/?token={READ}"), None, None);
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"id="reload""#) && page.contains("Reload rejected"),
        "{page}"
    );
    assert!(page.contains(r#"id="policy-loaded""#), "{page}");

    // SIGHUP with the same broken file: the actor is `sighup`.
    support::signal(m.pid(), "HUP");
    let events = eventually(Duration::from_secs(5), "the SIGHUP's event", || {
        let events = reload_events(&m);
        (events.len() == 3).then_some(events)
    });
    assert_eq!(events[2].0, "sighup");
    assert!(events[2].1.contains("mni"), "{events:?}");

    // Fixed, over SIGHUP: success again, the page's warning gone.
    std::fs::write(m.policy_path(), POLICY).expect("write");
    support::signal(m.pid(), "HUP");
    eventually(Duration::from_secs(5), "a successful reload", || {
        (metric(&m, "muster_policy_reload_success") == 1.0).then_some(())
    });
    let (_, page) = support::http(m.api, "GET", &format!("/?token={READ}"), None, None);
    assert!(!page.contains("Reload rejected"), "{page}");
    // Logs into a file carry no colour codes.
    let log = m.log();
    assert!(log.contains("reloading policy"), "{log}");
    assert!(!log.contains('\x1b'), "no ANSI into a file: {log:?}");
}

#[test]
fn the_openapi_document_covers_every_route() {
    let m = Muster::start(POLICY);
    let (status, doc) = call(m.api, "GET", "/api/v1/openapi.json", None, None);
    assert_eq!(status, 200, "{doc}");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let expected = [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/api/v1/openapi.json", "get"),
        ("/api/v1/zone", "get"),
        ("/api/v1/pools", "get"),
        ("/api/v1/hosts", "get"),
        ("/api/v1/hosts", "post"),
        ("/api/v1/hosts/{name}", "get"),
        ("/api/v1/hosts/{name}", "delete"),
        ("/api/v1/hosts/{name}/move", "post"),
        ("/api/v1/hosts/{name}/drain", "post"),
        ("/api/v1/hosts/{name}/cordon", "post"),
        ("/api/v1/hosts/{name}/uncordon", "post"),
        ("/api/v1/hosts/{name}/pin", "post"),
        ("/api/v1/hosts/{name}/unpin", "post"),
        ("/api/v1/records", "get"),
        ("/api/v1/records", "post"),
        ("/api/v1/records", "delete"),
        ("/api/v1/aliases", "get"),
        ("/api/v1/aliases/{name}", "put"),
        ("/api/v1/aliases/{name}", "delete"),
        ("/api/v1/events", "get"),
        ("/api/v1/events/stream", "get"),
        ("/api/v1/policy/reload", "post"),
        ("/api/v1/agents/heartbeat", "post"),
    ];
    let paths = doc["paths"].as_object().expect("paths");
    let documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    for (path, method) in expected {
        assert!(
            documented.iter().any(|(p, m)| p == path && m == method),
            "{method} {path} is not documented"
        );
    }
    // Every documented operation is served (not the fallback's 404) and
    // names its responses.
    for (path, method) in &documented {
        let op = &paths[path][method];
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path}"
        );
        if path == "/api/v1/events/stream" {
            continue; // it would stream; covered above
        }
        let concrete = path.replace("{name}", "ghost");
        let (_, body) = http(m.api, &method.to_uppercase(), &concrete, None, None);
        assert!(
            !body.contains("no such endpoint"),
            "{method} {path} is documented but not routed"
        );
    }
}
