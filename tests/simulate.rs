//! `muster simulate` and `muster plan` as a user runs them: the real binary
//! over the shipped example (`policies/morning-bulge.yaml`,
//! `policies/bulge-day.csv`), its SVG read back by an XML parser, and
//! `plan` against the inventory and against a running server (issue 5,
//! "Preview").

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use support::api::{call, error_code};
use support::{Muster, SimAgent, eventually, repo_path};

const ROLES: [&str; 5] = ["bounce", "smtp-in", "smtp-out", "spare", "web"];

fn muster(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(args)
        .current_dir(repo_path(""))
        .env("MUSTER_LOG", "warn")
        .env_remove("MUSTER_TOKEN")
        .env_remove("MUSTER_API")
        .output()
        .expect("run muster")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs and expects success; the output as JSON.
fn json(args: &[&str]) -> Value {
    let out = muster(args);
    assert!(out.status.success(), "muster {args:?} failed:\n{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("JSON on stdout")
}

const DAY: [&str; 10] = [
    "simulate",
    "--policy",
    "policies/morning-bulge.yaml",
    "--load",
    "policies/bulge-day.csv",
    "--from",
    "2026-11-24T00:00:00-08:00",
    "--rate",
    "600",
    "--step=1m",
];

/// smtp-out's published count at local `HH:MM` of the day.
fn smtp_out_at(day: &Value, clock: &str) -> u64 {
    let at = format!("2026-11-24T{clock}:00-08:00");
    day["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .find(|s| s["at"] == at.as_str())
        .and_then(|s| s["published"]["smtp-out"].as_u64())
        .unwrap_or_else(|| panic!("no sample at {at}"))
}

#[test]
fn a_day_of_the_example_has_the_bulge_shape_and_a_chart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let svg = dir.path().join("day.svg");
    let svg_arg = svg.to_str().expect("utf-8 path");
    let mut args = DAY.to_vec();
    args.extend(["--json", "--svg", svg_arg]);
    let day = json(&args);

    assert_eq!(day["samples"].as_array().map(Vec::len), Some(1440));
    assert_eq!(smtp_out_at(&day, "05:00"), 4, "before the window");
    assert_eq!(smtp_out_at(&day, "07:00"), 13, "all but 3 of 16 during it");
    assert_eq!(smtp_out_at(&day, "12:00"), 4, "back after it");
    let summary = &day["summary"];
    for role in ROLES {
        assert_eq!(summary["below_min_ms"][role], 0, "{role} below its min");
    }
    assert!(summary["moves"].as_u64().is_some_and(|n| n >= 18), "{summary}");
    assert!(summary["peak_backlog"].as_f64().is_some_and(|p| p > 0.0));
    assert_eq!(summary["left"], 0.0);
    let cleared = summary["cleared_at"].as_str().expect("the backlog clears");
    assert!(
        cleared > "2026-11-24T09:00" && cleared < "2026-11-24T12:00",
        "{cleared}"
    );

    // The chart: valid XML, one series per role, the backlog, a title.
    let text = std::fs::read_to_string(&svg).expect("the SVG was written");
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    let mut series: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("path"))
        .filter_map(|n| n.attribute("data-role"))
        .collect();
    series.sort_unstable();
    assert_eq!(series, ROLES, "one path per role");
    let backlog = doc
        .descendants()
        .filter(|n| n.attribute("data-series") == Some("backlog"))
        .count();
    assert_eq!(backlog, 1);
    let title = doc
        .descendants()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .unwrap_or_default();
    assert!(title.contains("morning-bulge.yaml"), "{title}");
    assert!(text.contains(">morning-bulge</text>"), "the window is labelled");
    for path in doc.descendants().filter(|n| n.attribute("data-role").is_some()) {
        assert!(
            path.attribute("d")
                .is_some_and(|d| d.starts_with('M') && d.len() > 10)
        );
    }
}

#[test]
fn the_text_output_shows_moves_hours_and_a_summary() {
    let out = muster(&DAY);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let header = text
        .lines()
        .find(|l| l.starts_with("time"))
        .expect("a header line");
    for role in ROLES {
        assert!(header.contains(role), "{header}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("06:00") && l.contains("morning-bulge")),
        "{text}"
    );
    assert!(text.contains("drain smurf"), "moves are listed:\n{text}");
    assert!(
        text.contains("[morning-bulge]") && text.contains("[queue-pressure]"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("15:00")), "hourly lines");
    for line in [
        "moves started:",
        "peak backlog:",
        "backlog cleared: 09:",
        "time below min: none",
    ] {
        assert!(text.contains(line), "missing {line:?}:\n{text}");
    }

    let quiet = stdout(&muster(&[&DAY[..], &["--quiet"]].concat()));
    assert!(!quiet.contains("drain smurf"));
    assert!(quiet.contains("peak backlog:"));
}

/// web starts one host short of its min; a spare fills it within a step.
const DIP: &str = r#"
zone: lists.example.test
ttl: 30
nameservers: [ns1.lists.example.test]
roles:
  smtp-out: { min: 1, records: [ { name: smtp-out, type: MX, priority: 5 } ] }
  web: { min: 2, records: [ { name: www, type: A } ] }
  spare: { min: 0 }
default_want: { smtp-out: 1, web: 2, spare: rest }
hosts:
  - { name: ns1, address: 192.0.2.1, static: true }
  - { name: a1, address: 192.0.2.11, role: smtp-out }
  - { name: a2, address: 192.0.2.12, role: web }
  - { name: a3, address: 192.0.2.13, role: spare }
  - { name: a4, address: 192.0.2.14, role: spare }
"#;

#[test]
fn a_pool_below_its_min_is_marked_and_counted_even_in_quiet_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("dip.yaml");
    std::fs::write(&policy, DIP).expect("write policy");
    let out = muster(&[
        "simulate",
        "--policy",
        policy.to_str().expect("utf-8"),
        "--from",
        "2026-11-24T00:00:00Z",
        "--to",
        "2026-11-24T02:00:00Z",
        "--step",
        "10s",
        "--rate",
        "600",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip_while(|l| !l.starts_with("time"))
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    // time, in force, smtp-out, spare, web, draining, backlog
    assert_eq!(
        rows[0],
        [
            "time", "in", "force", "smtp-out", "spare", "web", "draining", "backlog"
        ]
    );
    assert_eq!(
        rows[1],
        ["00:00:00", "default-want", "1", "1", "1!/2", "1", "0"],
        "{text}"
    );
    // The step it is back at its min is shown although nothing is hourly
    // about it and --quiet hides moves.
    assert_eq!(
        rows[2],
        ["00:00:30", "default-want", "1", "1", "2", "0", "0"],
        "{text}"
    );
    assert!(text.contains("time below min: web 30s"), "{text}");
}

#[test]
fn frequent_windows_have_labels_that_do_not_overlap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let svg = dir.path().join("demo.svg");
    let out = muster(&[
        "simulate",
        "--policy",
        "policies/demo.yaml",
        "--from",
        "2026-11-24T00:00:00Z",
        "--to",
        "2026-11-24T03:00:00Z",
        "--rate",
        "600",
        "--quiet",
        "--svg",
        svg.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg).expect("the SVG");
    let doc = roxmltree::Document::parse(&text).expect("well-formed");
    let windows: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("data-window").is_some())
        .collect();
    assert!(windows.len() > 40, "a window every 4 minutes: {}", windows.len());
    // (x, y, characters) of every label drawn.
    let labels: Vec<(f64, f64, usize)> = windows
        .iter()
        .flat_map(|w| w.children().filter(|c| c.has_tag_name("text")))
        .map(|t| {
            let number = |a: &str| t.attribute(a).and_then(|v| v.parse::<f64>().ok()).expect("x, y");
            (number("x"), number("y"), t.text().unwrap_or("").chars().count())
        })
        .collect();
    assert!(
        !labels.is_empty() && labels.len() < windows.len(),
        "some labels give way"
    );
    for (i, a) in labels.iter().enumerate() {
        for b in &labels[i + 1..] {
            // At 11 px a character is under 6.5 px wide.
            let (left, right) = if a.0 <= b.0 { (a, b) } else { (b, a) };
            let apart = a.1 != b.1 || right.0 >= left.0 + 6.5 * left.2 as f64;
            assert!(apart, "labels overlap: {a:?} {b:?}");
        }
    }
}

/// A window that opens and closes between the hours.
const HALF_HOUR: &str = r#"
zone: lists.example.test
ttl: 30
nameservers: [ns1.lists.example.test]
roles:
  smtp-out: { min: 1, records: [ { name: smtp-out, type: MX, priority: 5 } ] }
  spare: { min: 0 }
default_want: { smtp-out: 1, spare: rest }
schedules:
  - { name: blip, cron: "30 6 * * *", for: 20m, timezone: UTC, want: { smtp-out: 2 } }
hosts:
  - { name: a1, address: 192.0.2.11, role: smtp-out }
  - { name: a2, address: 192.0.2.12, role: spare }
"#;

#[test]
fn quiet_prints_the_hourly_lines_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("blip.yaml");
    std::fs::write(&policy, HALF_HOUR).expect("write policy");
    let args = [
        "simulate",
        "--policy",
        policy.to_str().expect("utf-8"),
        "--from",
        "2026-11-24T06:00:00Z",
        "--to",
        "2026-11-24T08:00:00Z",
        "--rate",
        "600",
    ];
    let times = |extra: &[&str]| -> Vec<String> {
        let out = muster(&[&args[..], extra].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .skip_while(|l| !l.starts_with("time"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter(|l| !l.starts_with(' '))
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    };
    let all = times(&[]);
    assert!(all.iter().any(|t| t == "06:30"), "the window's line: {all:?}");
    let quiet = times(&["--quiet"]);
    assert_eq!(quiet, ["06:00", "07:00", "07:59"], "hourly, and the last step");
}

#[test]
fn synthetic_hosts_and_the_same_outcome_planning_every_step() {
    let mut args = DAY.to_vec();
    args.extend(["--hosts", "200", "--json", "--to", "2026-11-24T12:00"]);
    let fast = json(&args);
    assert_eq!(fast["samples"].as_array().map(Vec::len), Some(720));
    assert_eq!(smtp_out_at(&fast, "05:00"), 4);
    assert!(smtp_out_at(&fast, "08:00") > 13, "more hosts to borrow");
    args.push("--every-step");
    let every = json(&args);
    assert_eq!(fast["samples"], every["samples"]);
    assert_eq!(fast["summary"], every["summary"]);
}

#[test]
fn bad_input_is_refused_with_the_place_and_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let trace = dir.path().join("bad.csv");
    std::fs::write(&trace, "time,messages\n06:00,100\n06:1x,5\n").expect("write");
    let mut args = DAY.to_vec();
    args[4] = trace.to_str().expect("utf-8");
    let out = muster(&args);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bad.csv:line 3:"), "{}", stderr(&out));
    assert!(stderr(&out).contains("HH:MM or RFC 3339"), "{}", stderr(&out));

    let mut args = DAY.to_vec();
    args[6] = "yesterday-ish";
    let out = muster(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--from"), "{}", stderr(&out));

    let mut args = DAY.to_vec();
    args.extend(["--mail-role", "fax"]);
    let out = muster(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no role \"fax\""), "{}", stderr(&out));
}

fn plan(at: &str) -> Value {
    json(&[
        "plan",
        "--policy",
        "policies/morning-bulge.yaml",
        "--at",
        at,
        "--json",
    ])
}

fn role<'v>(plan: &'v Value, name: &str) -> &'v Value {
    plan["roles"]
        .as_array()
        .and_then(|roles| roles.iter().find(|r| r["role"] == name))
        .unwrap_or_else(|| panic!("no role {name} in {plan}"))
}

#[test]
fn plan_inside_the_window_wants_all_but_three_and_lists_moves() {
    let p = plan("2026-11-24T06:30:00-08:00");
    assert_eq!(p["against"], "inventory");
    assert_eq!(p["schedule"]["name"], "morning-bulge");
    assert_eq!(p["schedule"]["opened"], "2026-11-24T06:00:00-08:00");
    let out = role(&p, "smtp-out");
    assert_eq!(out["wanted"], 13);
    assert_eq!(out["members"], 4);
    assert_eq!(out["wanted_by"], "morning-bulge");
    assert!(
        out["reason"].as_str().is_some_and(|r| r.contains("all-but 3")),
        "{out}"
    );
    let steps = p["steps"].as_array().expect("steps");
    assert_eq!(
        steps.len(),
        2,
        "moves_per_tick caps the first reconcile: {steps:?}"
    );
    for step in steps {
        assert_eq!(step["kind"], "drain-start");
        assert_eq!(step["to"], "smtp-out");
        assert_eq!(step["actor"], "morning-bulge");
    }
    assert!(
        p["note"]
            .as_str()
            .is_some_and(|n| n.contains("Nothing was changed."))
    );
    // The reconciles after it: seven more hosts, each drained first, until
    // smtp-out has its 13 (4 + 2 + 7), on the controller's clock.
    let then = p["then"].as_array().expect("then");
    let started: Vec<&Value> = then.iter().filter(|s| s["kind"] == "drain-start").collect();
    assert_eq!(started.len(), 7, "{then:?}");
    assert!(
        started
            .iter()
            .all(|s| s["to"] == "smtp-out" && s["actor"] == "morning-bulge")
    );
    let finished = then.iter().filter(|s| s["kind"] == "move").count();
    assert_eq!(finished, 2 + 7, "every drain ends: {then:?}");
    let at_ms = p["at_ms"].as_i64().expect("at_ms");
    let times: Vec<i64> = then.iter().filter_map(|s| s["at_ms"].as_i64()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]) && times[0] > at_ms,
        "{times:?}"
    );
    assert_eq!(p["settles"]["outcome"], "settled");
    assert_eq!(p["settles"]["at_ms"].as_i64(), times.last().copied());

    // The same for people.
    let out = muster(&[
        "plan",
        "--policy",
        "policies/morning-bulge.yaml",
        "--at",
        "2026-11-24T06:30:00-08:00",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("in force: schedule morning-bulge"), "{text}");
    assert!(text.contains("drain") && text.contains("→ smtp-out"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("smtp-out") && l.contains("13") && l.contains("all-but 3")),
        "{text}"
    );
    assert!(
        text.contains("then 7 more moves; every role has its count from "),
        "{text}"
    );
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("Nothing was changed."), "{text}");
}

#[test]
fn plan_outside_the_window_shows_the_default() {
    // A local time, read in the schedule's timezone.
    let p = plan("2026-11-24T12:00");
    assert_eq!(p["at"], "2026-11-24T12:00:00-08:00");
    assert_eq!(p["schedule"], Value::Null);
    let out = role(&p, "smtp-out");
    assert_eq!(out["wanted"], 4);
    assert_eq!(out["wanted_by"], "default-want");
    assert_eq!(role(&p, "spare")["wanted"], 2, "the rest");
    assert_eq!(p["steps"], serde_json::json!([]), "the inventory is the default");
    let text = stdout(&muster(&[
        "plan",
        "--policy",
        "policies/morning-bulge.yaml",
        "--at",
        "2026-11-24T12:00",
    ]));
    assert!(text.contains("in force: default_want"), "{text}");
    assert!(
        text.contains("would change nothing: every role has its count"),
        "{text}"
    );
    assert_eq!(p["then"], serde_json::json!([]));
    assert_eq!(p["settles"]["outcome"], "settled");

    for bad in ["soon", "2026-13-01"] {
        let out = muster(&["plan", "--policy", "policies/morning-bulge.yaml", "--at", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(stderr(&out).contains("--at"), "{}", stderr(&out));
    }
}

#[test]
fn plan_reads_muster_api_and_checks_at_before_asking() {
    let run = |env: Option<&str>, args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_muster"));
        command
            .args(args)
            .current_dir(repo_path(""))
            .env("MUSTER_LOG", "warn")
            .env_remove("MUSTER_TOKEN")
            .env_remove("MUSTER_API");
        if let Some(api) = env {
            command.env("MUSTER_API", api);
        }
        command.output().expect("run muster")
    };
    // MUSTER_API alone is the server's plan: here, an API nobody serves.
    let out = run(Some("http://127.0.0.1:9"), &["plan", "--at", "now"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("127.0.0.1:9"), "{}", stderr(&out));
    // A bad --at is a usage error before any request (else it would be 3).
    for bad in ["soon", "2026-13-01"] {
        let out = run(None, &["plan", "--api", "http://127.0.0.1:9", "--at", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("--at `{bad}`")),
            "{}",
            stderr(&out)
        );
    }
    // The usage line never makes --token look required.
    let out = run(None, &["plan"]);
    assert_eq!(out.status.code(), Some(2));
    let mut with_token = Command::new(env!("CARGO_BIN_EXE_muster"));
    let out = with_token
        .args(["plan", "--bogus"])
        .env("MUSTER_TOKEN", "x")
        .env_remove("MUSTER_API")
        .output()
        .expect("run muster");
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains("--token <T>"), "{}", stderr(&out));
}

const AGENT: &str = "agent-secret";

/// A small farm with the example's window, served for real.
const LIVE: &str = r#"
zone: lists.example.test
ttl: 1
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 3, panic_threshold: 50% }
roles:
  smtp-out: { min: 1, records: [ { name: smtp-out, type: A } ] }
  web: { min: 1, records: [ { name: www, type: A } ] }
  spare: { min: 0 }
default_want: { smtp-out: 1, web: 2, spare: rest }
schedules:
  - name: morning-bulge
    cron: "0 6 * * *"
    for: 3h
    timezone: America/Los_Angeles
    want: { smtp-out: all-but 1, web: 1 }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: smurf1, address: 127.0.1.1, role: smtp-out }
  - { name: smurf2, address: 127.0.1.2, role: web }
  - { name: smurf3, address: 127.0.1.3, role: web }
  - { name: smurf4, address: 127.0.1.4, role: spare }
"#;

#[test]
fn plan_against_a_running_server() {
    let m = Muster::start_with(LIVE, &["--agent-token", AGENT]);
    let _agents: Vec<SimAgent> = [
        ("smurf1", "smtp-out"),
        ("smurf2", "web"),
        ("smurf3", "web"),
        ("smurf4", "spare"),
    ]
    .iter()
    .map(|(name, role)| {
        let address = format!("127.0.1.{}", &name[5..]);
        SimAgent::start(m.api, AGENT, name, &address, role, Duration::from_millis(300))
    })
    .collect();
    let api = format!("http://{}", m.api);
    let at = "2026-11-24T06:30:00-08:00";

    // The server's own plan, with the policy in force.
    let p = eventually(Duration::from_secs(10), "a plan from the server", || {
        let out = muster(&["plan", "--api", &api, "--at", at, "--json"]);
        out.status
            .success()
            .then(|| serde_json::from_str::<Value>(&stdout(&out)).ok())
            .flatten()
            .filter(|p| p["live_hosts"] == 4)
            // Every agent's report of its role has been taken in (a host
            // is published only once it has): a plan before that starts
            // with their arrivals.
            .filter(|p| {
                p["steps"]
                    .as_array()
                    .is_some_and(|steps| steps.iter().all(|s| s["kind"] != "arrive"))
            })
    });
    assert_eq!(p["against"], "live");
    assert_eq!(p["schedule"]["name"], "morning-bulge");
    assert_eq!(role(&p, "smtp-out")["wanted"], 3);
    let moved: Vec<&str> = p["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["kind"] == "drain-start" && s["to"] == "smtp-out")
        .filter_map(|s| s["host"].as_str())
        .collect();
    assert_eq!(moved.len(), 2, "{p}");

    // The same over plain HTTP, and nothing changed on the server.
    let (status, body) = call(
        m.api,
        "GET",
        &format!("/api/v1/plan?at={}", at.replace('+', "%2B")),
        None,
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["steps"], p["steps"]);
    // Two moves reach all-but 1 of 4: after the first reconcile only their
    // drains end.
    assert_eq!(body["settles"]["outcome"], "settled", "{body}");
    let later: Vec<&str> = body["then"]
        .as_array()
        .expect("then")
        .iter()
        .filter_map(|s| s["kind"].as_str())
        .collect();
    assert_eq!(later, ["move", "move"], "{body}");
    let (_, hosts) = call(m.api, "GET", "/api/v1/hosts", None, None);
    let smtp_out = hosts
        .as_array()
        .expect("hosts")
        .iter()
        // No agents here: the inventory's hosts wait for theirs.
        .filter(|h| h["role"] == "smtp-out" && (h["state"] == "active" || h["state"] == "arriving"))
        .count();
    assert_eq!(smtp_out, 1, "planning moved nothing");

    // A policy file against the live farm: preview an edit.
    let edited = m.dir.path().join("edited.yaml");
    std::fs::write(&edited, LIVE.replace("all-but 1", "all-but 2")).expect("write");
    let p = json(&[
        "plan",
        "--policy",
        edited.to_str().expect("utf-8"),
        "--api",
        &api,
        "--at",
        at,
        "--json",
    ]);
    assert_eq!(p["against"], "live");
    assert_eq!(role(&p, "smtp-out")["wanted"], 2);
    let text = stdout(&muster(&[
        "plan",
        "--policy",
        edited.to_str().expect("utf-8"),
        "--api",
        &api,
        "--at",
        at,
    ]));
    assert!(
        text.contains(&format!("against the live farm at {api}")),
        "{text}"
    );

    // Errors are the API's JSON; the route is documented.
    let (status, body) = call(m.api, "GET", "/api/v1/plan?at=whenever", None, None);
    assert_eq!((status, error_code(&body)), (400, "bad_query"), "{body}");
    let (status, body) = call(m.api, "GET", "/api/v1/plan?when=now", None, None);
    assert_eq!((status, error_code(&body)), (400, "bad_query"), "{body}");
    let (_, doc) = call(m.api, "GET", "/api/v1/openapi.json", None, None);
    assert!(doc["paths"]["/api/v1/plan"]["get"].is_object(), "documented");
    let out = muster(&["plan", "--api", "http://127.0.0.1:9", "--at", "now"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(Path::new(&edited).exists());
}
