//! Schedules end to end: a window open now moves hosts through drains in
//! the real server, the events name the schedule, and a reload back to the
//! default brings them back (issue 5).

mod support;

use std::time::Duration;

use support::{Load, Muster, SimAgent, dig, eventually, http};

const TOKEN: &str = "agent-secret";

const HEAD: &str = r#"
zone: lists.example.test
ttl: 1
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 2, panic_threshold: 50% }
limits: { moves_per_tick: 4, moves_per_role: 4, host_cooldown: 0s }
roles:
  smtp-out: { min: 0, records: [ { name: smtp-out, type: A } ] }
  web: { min: 1, records: [ { name: www, type: A } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: smurf1, address: 127.0.1.1, role: web }
  - { name: smurf2, address: 127.0.1.2, role: web }
  - { name: smurf3, address: 127.0.1.3, role: web }
  - { name: smurf4, address: 127.0.1.4, role: web }
"#;

fn published(m: &Muster, name: &str) -> usize {
    dig(m.dns, &[name, "A"]).answer_data("A").len()
}

#[test]
fn an_open_window_moves_hosts_and_the_default_brings_them_back() {
    // A window that opens every minute and lasts a minute: always open.
    let scheduled = format!(
        "{HEAD}default_want: {{ smtp-out: 1, web: rest }}\nschedules:\n  - {{ name: all-day, cron: \"* * * * *\", for: 1m, want: {{ smtp-out: all-but 1, web: rest }} }}\n"
    );
    let m = Muster::start_with(&scheduled, &["--agent-token", TOKEN]);
    let _agents: Vec<SimAgent> = (1..=4)
        .map(|i| {
            let (name, addr) = (format!("smurf{i}"), format!("127.0.1.{i}"));
            SimAgent::start(m.api, TOKEN, &name, &addr, "web", Duration::from_millis(300))
        })
        .collect();

    eventually(Duration::from_secs(15), "three hosts in smtp-out", || {
        (published(&m, "smtp-out.lists.example.test") == 3).then_some(())
    });
    assert_eq!(published(&m, "www.lists.example.test"), 1);
    let (_, events) = http(m.api, "GET", "/api/v1/events?limit=100", None, None);
    assert!(
        events.contains(r#""actor":"all-day""#),
        "moves name the schedule: {events}"
    );
    assert!(
        events.contains("smtp-out: all-but 1 of 4 live hosts = 3"),
        "and say how the count came about: {events}"
    );
    let (_, pools) = http(m.api, "GET", "/api/v1/pools", None, None);
    assert!(pools.contains("all-day"), "pools show who set the count: {pools}");

    // Without the schedule, default_want applies: one smtp-out, the rest web.
    m.reload(&format!("{HEAD}default_want: {{ smtp-out: 1, web: rest }}\n"));
    eventually(
        Duration::from_secs(15),
        "one host in smtp-out, three in web",
        || {
            let counts = (
                published(&m, "smtp-out.lists.example.test"),
                published(&m, "www.lists.example.test"),
            );
            (counts == (1, 3)).then_some(())
        },
    );
    let (_, events) = http(m.api, "GET", "/api/v1/events?limit=100", None, None);
    assert!(events.contains(r#""actor":"default-want""#), "{events}");
}

/// Load rules end to end: a rising `load1` grows `smtp-out` out of `web`;
/// when it falls the rule holds its hosts for its stabilization window,
/// and the live preview and the pools say so (they read the running rule's
/// memory, not a fresh one that would give the hosts back at once).
#[test]
fn a_load_rule_grows_a_pool_and_the_preview_keeps_its_stabilization() {
    let policy = r#"
zone: lists.example.test
ttl: 1
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 2, panic_threshold: 50% }
limits: { moves_per_tick: 4, moves_per_role: 4, host_cooldown: 0s }
roles:
  smtp-out: { min: 1, records: [ { name: smtp-out, type: A } ] }
  web: { min: 1, records: [ { name: www, type: A } ] }
autoscale:
  - { name: out-load, role: smtp-out, metric: load1, aggregate: mean, target_per_host: 1, max: 3, borrow_from: [web], give_back_to: web, step: 2, cooldown: 1s, stabilization: 10m }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: smurf1, address: 127.0.1.1, role: smtp-out }
  - { name: smurf2, address: 127.0.1.2, role: web }
  - { name: smurf3, address: 127.0.1.3, role: web }
  - { name: smurf4, address: 127.0.1.4, role: web }
"#;
    let m = Muster::start_with(policy, &["--agent-token", TOKEN]);
    let load = Load::default();
    let _agents: Vec<SimAgent> = (1..=4)
        .map(|i| {
            let (name, addr) = (format!("smurf{i}"), format!("127.0.1.{i}"));
            let role = if i == 1 { "smtp-out" } else { "web" };
            SimAgent::with_load(
                m.api,
                TOKEN,
                &name,
                &addr,
                role,
                Duration::from_millis(300),
                &load,
            )
        })
        .collect();
    eventually(Duration::from_secs(10), "one host in smtp-out", || {
        (published(&m, "smtp-out.lists.example.test") == 1).then_some(())
    });

    // Three times the target on the one host: the rule wants 3 (its max).
    load.set(3.0);
    eventually(Duration::from_secs(15), "three hosts in smtp-out", || {
        (published(&m, "smtp-out.lists.example.test") == 3).then_some(())
    });
    let (_, events) = http(m.api, "GET", "/api/v1/events?limit=100", None, None);
    assert!(
        events.contains(r#""actor":"out-load""#),
        "moves name the rule: {events}"
    );

    // The load goes away. The rule keeps its hosts for its 10 minutes.
    load.set(0.0);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(published(&m, "smtp-out.lists.example.test"), 3);
    let (status, plan) = http(m.api, "GET", "/api/v1/plan", None, None);
    assert_eq!(status, 200, "{plan}");
    let plan: serde_json::Value = serde_json::from_str(&plan).expect("plan is JSON");
    let smtp_out = plan["roles"]
        .as_array()
        .and_then(|roles| roles.iter().find(|r| r["role"] == "smtp-out"))
        .expect("smtp-out in the plan");
    assert_eq!(
        smtp_out["wanted"], 3,
        "the preview keeps the rule's window: {plan}"
    );
    assert_eq!(smtp_out["wanted_by"], "out-load", "{plan}");
    assert_eq!(plan["steps"], serde_json::json!([]), "nothing would move: {plan}");
    let (_, pools) = http(m.api, "GET", "/api/v1/pools", None, None);
    let pools: serde_json::Value = serde_json::from_str(&pools).expect("pools are JSON");
    let pool = pools["pools"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["role"] == "smtp-out"))
        .expect("smtp-out pool");
    assert_eq!(
        (pool["wanted"].as_u64(), pool["wanted_by"].as_str()),
        (Some(3), Some("out-load")),
        "{pools}"
    );
}
