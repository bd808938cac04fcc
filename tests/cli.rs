//! The operator CLI end to end (issue 6): the real `muster` binary's
//! `hosts`, `pools`, `move`, `drain`, `cordon`, `uncordon`, `pin`, `unpin`,
//! `register`, `remove`, `events [--follow]`, `zone` and `reload` against a
//! real `muster serve` with simulated agents: tables for people, `--json`
//! for scripts, flags and environment, the server's refusals and exit
//! statuses, an unreachable API, and HTTPS with `--ca-file`.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use serde_json::Value;
use support::{Muster, SimAgent, eventually, free_port};

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

/// What one run of the CLI did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> String {
        assert_eq!(
            self.code,
            Some(0),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self.stdout
    }

    fn json(self) -> Value {
        let out = self.ok();
        assert_eq!(out.trim_end().lines().count(), 1, "one JSON document: {out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// Asserts exit status `code` and an empty stdout; returns stderr.
    fn fails(self, code: i32) -> String {
        assert_eq!(
            self.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(self.stdout.is_empty(), "{}", self.stdout);
        self.stderr
    }
}

/// `muster ARGS…` with only the environment given (none of the caller's
/// `MUSTER_*`).
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_muster"));
    c.args(args)
        .env_remove("MUSTER_API")
        .env_remove("MUSTER_TOKEN")
        .env_remove("MUSTER_CA_FILE")
        .env("MUSTER_LOG", "warn")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn muster_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command(args, env).output().expect("run muster");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `muster ARGS… --api URL --token T`.
fn muster(m: &Muster, token: &str, args: &[&str]) -> Run {
    let api = format!("http://{}", m.api);
    let mut all = args.to_vec();
    all.extend(["--api", &api, "--token", token]);
    muster_env(&all, &[])
}

fn host_json(m: &Muster, name: &str) -> Value {
    muster(m, READ, &["hosts", name, "--json"]).json()
}

/// The line of the table that starts with `first`.
fn row<'a>(table: &'a str, first: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no row {first:?} in:\n{table}"))
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Asserts every line of `table` has column `title`'s text start where
/// the header's does.
fn assert_aligned(table: &str, title: &str) {
    let header = table.lines().next().expect("a header");
    let at = header
        .find(title)
        .unwrap_or_else(|| panic!("no {title} in {header}"));
    for line in table.lines().take_while(|l| !l.is_empty()).skip(1) {
        let before: String = line.chars().take(at).collect();
        assert!(
            before.ends_with("  ") && line.chars().nth(at).is_some_and(|c| c != ' '),
            "column {title} not aligned at {at}:\n{table}"
        );
    }
}

/// The farm: `muster serve` with agent, admin and read tokens, and agents
/// for smurf1…3, all in their roles.
fn farm() -> (Muster, Vec<SimAgent>) {
    let m = Muster::start_with(
        POLICY,
        &[
            "--agent-token",
            AGENT,
            "--admin-token",
            &format!("ops={ADMIN}"),
            "--read-token",
            &format!("watcher={READ}"),
        ],
    );
    let agents = [("smurf1", "mx"), ("smurf2", "mx"), ("smurf3", "web")]
        .iter()
        .map(|(name, role)| {
            let address = format!("127.0.1.{}", &name[5..]);
            SimAgent::start(m.api, AGENT, name, &address, role, Duration::from_millis(300))
        })
        .collect();
    eventually(Duration::from_secs(10), "smurf1…3 active and published", || {
        let hosts = muster(&m, READ, &["hosts", "--json"]).json();
        hosts
            .as_array()?
            .iter()
            .filter(|h| h["name"] != "ns1")
            .all(|h| h["state"] == "active" && h["published"] == true)
            .then_some(())
    });
    (m, agents)
}

/// One server for every command: reads, then writes, then the log.
#[test]
fn every_command_against_a_running_server() {
    let (mut m, _agents) = farm();
    reads_print_tables_and_json(&m);
    flags_come_from_the_environment_and_refusals_are_the_servers(&m);
    events_follow_prints_what_happens_while_it_runs(&m);
    writes_change_the_farm_and_say_so(&m);
    static_hosts_are_registered_and_removed(&m);
    reload_rereads_the_policy(&m);
    events_list_filters_by_host_since_and_limit(&m);
    events_follow_survives_a_server_restart(&mut m);
}

fn reads_print_tables_and_json(m: &Muster) {
    // hosts: a row per host, columns aligned.
    let table = muster(m, READ, &["hosts"]).ok();
    assert_eq!(
        words(table.lines().next().expect("header")),
        [
            "HOST",
            "ROLE",
            "STATE",
            "DNS",
            "ADDRESS",
            "HEARTBEAT",
            "SINCE",
            "NOTES"
        ]
    );
    for title in ["ROLE", "STATE", "DNS", "ADDRESS", "HEARTBEAT"] {
        assert_aligned(&table, title);
    }
    assert_eq!(
        words(row(&table, "smurf1"))[..5],
        ["smurf1", "mx", "active", "pool", "127.0.1.1"]
    );
    assert_eq!(
        words(row(&table, "smurf3"))[..5],
        ["smurf3", "web", "active", "pool", "127.0.1.3"]
    );
    // A static host with no role: its own address record is served.
    assert_eq!(words(row(&table, "ns1"))[..4], ["ns1", "-", "unassigned", "own"]);
    assert!(row(&table, "ns1").contains("static"), "{table}");
    assert!(table.contains("own = only its own address record"), "{table}");
    assert!(!table.contains('\x1b'), "no colour into a pipe: {table:?}");
    let hosts = muster(m, READ, &["hosts", "--json"]).json();
    let names: Vec<&str> = hosts
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|h| h["name"].as_str())
        .collect();
    assert_eq!(names, ["ns1", "smurf1", "smurf2", "smurf3"]);

    // hosts HOST: the detail, and its JSON.
    let detail = muster(m, READ, &["hosts", "smurf2"]).ok();
    assert_eq!(words(row(&detail, "host")), ["host", "smurf2"]);
    assert_eq!(words(row(&detail, "role")), ["role", "mx"]);
    assert_eq!(words(row(&detail, "state")), ["state", "active"]);
    assert_eq!(words(row(&detail, "addresses")), ["addresses", "127.0.1.2"]);
    assert!(row(&detail, "metrics").contains("queue_depth=0"), "{detail}");
    let smurf2 = host_json(m, "smurf2");
    assert_eq!(
        (smurf2["name"].as_str(), smurf2["role"].as_str()),
        (Some("smurf2"), Some("mx"))
    );

    // pools: the summary and the members.
    let pools = muster(m, READ, &["pools"]).ok();
    assert_eq!(
        words(pools.lines().next().expect("header")),
        ["ROLE", "MIN", "WANTED", "PUBLISHED", "MEMBERS", "WANTED", "BY"]
    );
    assert_aligned(&pools, "PUBLISHED");
    assert_eq!(words(row(&pools, "mx"))[..5], ["mx", "2", "2", "2", "2"]);
    let members = pools.split("\n\n").nth(1).expect("a members table");
    assert_eq!(
        words(members.lines().next().expect("header"))[..3],
        ["ROLE", "HOST", "STATE"]
    );
    assert!(
        members
            .lines()
            .any(|l| words(l)[..4] == ["mx", "smurf1", "active", "pool"]),
        "{pools}"
    );
    assert!(
        members
            .lines()
            .any(|l| words(l)[..4] == ["web", "smurf3", "active", "pool"]),
        "{pools}"
    );
    let json = muster(m, READ, &["pools", "--json"]).json();
    assert_eq!(json["panic"], false);
    assert_eq!(json["pools"][0]["role"], "mx");
    assert_eq!(
        json["pools"][0]["published"],
        serde_json::json!(["smurf1", "smurf2"])
    );

    // zone: the serial DNS serves, and the records as zone-file lines.
    let serial = m.serial();
    let zone = muster(m, READ, &["zone"]).ok();
    let first = zone.lines().next().expect("a first line");
    assert!(
        first.starts_with("; zone lists.example.test. serial ") && first.contains(&serial.to_string()),
        "{zone}"
    );
    assert!(zone.lines().any(|l| l == "$ORIGIN lists.example.test."), "{zone}");
    let www = row(&zone, "www.lists.example.test.");
    assert_eq!(
        words(www),
        ["www.lists.example.test.", "1", "IN", "A", "127.0.1.3"]
    );
    let mx: Vec<&str> = zone.lines().filter(|l| words(l).get(3) == Some(&"MX")).collect();
    assert_eq!(mx.len(), 2, "one MX per mx host: {zone}");
    let json = muster(m, READ, &["zone", "--json"]).json();
    assert_eq!(json["serial"].as_u64(), Some(u64::from(serial)));
    assert_eq!(json["zone"], "lists.example.test.");
}

fn flags_come_from_the_environment_and_refusals_are_the_servers(m: &Muster) {
    let api = format!("http://{}", m.api);
    // MUSTER_API and MUSTER_TOKEN instead of flags.
    let hosts = muster_env(
        &["hosts", "--json"],
        &[("MUSTER_API", &api), ("MUSTER_TOKEN", READ)],
    )
    .json();
    assert_eq!(hosts.as_array().map(Vec::len), Some(4));
    // A flag wins over the environment.
    let err = muster_env(
        &["hosts", "--token", "wrong"],
        &[("MUSTER_API", &api), ("MUSTER_TOKEN", READ)],
    )
    .fails(1);
    assert!(
        err.contains("an operator token is required") && err.contains("401"),
        "{err}"
    );
    // No token at all: 401 with the server's message.
    let err = muster_env(&["pools"], &[("MUSTER_API", &api)]).fails(1);
    assert!(
        err.contains("an operator token is required") && err.contains("unauthorized"),
        "{err}"
    );

    // A read token on a write: 403 and the server's message, nothing changed.
    for args in [
        &["cordon", "smurf3"][..],
        &["move", "smurf3", "mx"],
        &["drain", "smurf3"],
        &["uncordon", "smurf3"],
        &["pin", "smurf3"],
        &["unpin", "smurf3"],
        &["register", "x", "--address", "127.0.0.9"],
        &["remove", "smurf3"],
        &["reload"],
    ] {
        let err = muster(m, READ, args).fails(1);
        assert!(
            err.contains(r#"token "watcher" may only read"#)
                && err.contains("403")
                && err.contains("forbidden"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(host_json(m, "smurf3")["state"], "active");

    // Unknown hosts and roles: 404 and the server's message.
    let err = muster(m, READ, &["hosts", "ghost"]).fails(1);
    assert!(
        err.contains(r#"no host named "ghost""#) && err.contains("404"),
        "{err}"
    );
    for args in [
        &["cordon", "ghost"][..],
        &["move", "ghost", "mx"],
        &["drain", "ghost"],
    ] {
        let err = muster(m, ADMIN, args).fails(1);
        assert!(err.contains("ghost") && err.contains("404"), "{args:?}: {err}");
    }
    let err = muster(m, ADMIN, &["move", "smurf3", "nosuchrole"]).fails(1);
    assert!(err.contains("nosuchrole") && err.contains("404"), "{err}");
}

/// A running `muster events --follow`, its stdout read line by line.
struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Its stderr, line by line.
    notes: mpsc::Receiver<String>,
}

impl Follower {
    /// Starts it and waits until it says it follows (the stream is open).
    fn start(m: &Muster, extra: &[&str]) -> Self {
        let api = format!("http://{}", m.api);
        let mut args = vec!["events", "--follow", "--api", &api, "--token", READ];
        args.extend(extra);
        let mut child = command(&args, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn muster events --follow");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (ready_tx, ready) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = ready_tx.send(line);
            }
        });
        let mut f = Self {
            child,
            lines,
            notes: ready,
        };
        f.wait_for_note("following the events of");
        f
    }

    /// Waits for a line on its stderr containing `text`.
    fn wait_for_note(&mut self, text: &str) {
        loop {
            match self.notes.recv_timeout(Duration::from_secs(10)) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(_) => {
                    let status = self.child.try_wait();
                    panic!("muster events --follow never said {text:?}: {status:?}");
                }
            }
        }
    }

    /// The first line for which `wanted` holds, within 10 s.
    fn wait_for(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(_) => {}
                Err(_) => panic!("no {what} from muster events --follow"),
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn events_follow_prints_what_happens_while_it_runs(m: &Muster) {
    let people = Follower::start(m, &[]);
    let scripts = Follower::start(m, &["--json", "--host", "smurf3"]);
    muster(m, ADMIN, &["cordon", "smurf3"]).ok();

    // The header of `muster events`, then its columns.
    let header = people.wait_for("header", |l| l.starts_with("TIME (UTC)"));
    assert_eq!(
        words(&header),
        [
            "TIME", "(UTC)", "KIND", "HOST", "CHANGE", "ACTOR", "SERIAL", "REASON"
        ]
    );
    let line = people.wait_for("cordon line", |l| words(l).get(2) == Some(&"cordon"));
    let w = words(&line);
    assert_eq!(
        (w.get(3), w.get(4), w.get(5)),
        (Some(&"smurf3"), Some(&"web"), Some(&"ops")),
        "{line}"
    );
    let serial = w.get(6).and_then(|s| s.parse::<u32>().ok());
    assert!(serial.is_some(), "the SERIAL column is the number: {line}");
    assert_eq!(header.find("SERIAL"), line.find(w[6]), "{header}\n{line}");
    let json = scripts.wait_for("cordon event", |l| l.contains(r#""kind":"cordon""#));
    let event: Value = serde_json::from_str(&json).expect("one JSON object per line");
    assert_eq!(
        (event["host"].as_str(), event["actor"].as_str()),
        (Some("smurf3"), Some("ops"))
    );
    assert!(event["id"].is_i64() && event["serial"].is_u64(), "{event}");

    // Both still follow: the uncordon arrives too.
    muster(m, ADMIN, &["uncordon", "smurf3"]).ok();
    people.wait_for("uncordon line", |l| {
        l.contains("uncordon") && l.contains("smurf3")
    });
    scripts.wait_for("uncordon event", |l| l.contains(r#""kind":"uncordon""#));
}

fn writes_change_the_farm_and_say_so(m: &Muster) {
    // cordon / uncordon
    let out = muster(m, ADMIN, &["cordon", "smurf3"]).ok();
    assert!(
        out.starts_with("smurf3: cordoned") && out.contains("not in DNS"),
        "{out}"
    );
    assert_eq!(host_json(m, "smurf3")["state"], "cordoned");
    let json = muster(m, ADMIN, &["uncordon", "smurf3", "--json"]).json();
    assert_eq!(
        (json["name"].as_str(), json["cordoned"].as_bool()),
        (Some("smurf3"), Some(false))
    );
    let err = muster(m, ADMIN, &["uncordon", "smurf3"]).fails(1);
    assert!(err.contains("409") && err.contains("conflict"), "{err}");

    // pin / unpin
    let out = muster(m, ADMIN, &["pin", "smurf3"]).ok();
    assert!(out.starts_with("smurf3: pinned"), "{out}");
    assert_eq!(host_json(m, "smurf3")["pinned"], true);
    let json = muster(m, ADMIN, &["unpin", "smurf3", "--json"]).json();
    assert_eq!(json["pinned"], false);
    let json = muster(m, ADMIN, &["pin", "smurf3", "web", "--json"]).json();
    assert_eq!(
        (json["pinned"].as_bool(), json["role"].as_str()),
        (Some(true), Some("web"))
    );
    let out = muster(m, ADMIN, &["unpin", "smurf3"]).ok();
    assert!(out.starts_with("smurf3: unpinned"), "{out}");

    // move: drain first, or --now; the host ends in the new role.
    let json = muster(m, ADMIN, &["move", "smurf3", "mx", "--now", "--json"]).json();
    assert_eq!(
        json,
        serde_json::json!({"host": "smurf3", "role": "mx", "now": true})
    );
    eventually(Duration::from_secs(10), "smurf3 in mx", || {
        (host_json(m, "smurf3")["role"] == "mx").then_some(())
    });
    let out = muster(m, ADMIN, &["move", "smurf3", "web"]).ok();
    assert_eq!(
        out,
        "smurf3: moving to web: draining first (out of DNS until its work is done)\n"
    );
    eventually(Duration::from_secs(15), "smurf3 back in web, active", || {
        let h = host_json(m, "smurf3");
        (h["role"] == "web" && h["state"] == "active").then_some(())
    });

    // drain: refused below min without --force, done otherwise.
    let err = muster(m, ADMIN, &["drain", "smurf1"]).fails(1);
    assert!(
        err.contains("409") && err.contains("min") && err.contains("--force"),
        "{err}"
    );
    let out = muster(m, ADMIN, &["drain", "smurf3"]).ok();
    assert!(out.starts_with("smurf3: draining out of its role"), "{out}");
    let err = muster(m, ADMIN, &["drain", "smurf3"]).fails(1);
    assert!(err.contains("409"), "{err}");
}

fn static_hosts_are_registered_and_removed(m: &Muster) {
    let out = muster(
        m,
        ADMIN,
        &[
            "register",
            "edge9",
            "--address",
            "127.0.0.9",
            "--role",
            "web",
            "--label",
            "rack=r1",
        ],
    )
    .ok();
    assert!(
        out.starts_with("edge9: registered as a static host (role web"),
        "{out}"
    );
    let edge9 = host_json(m, "edge9");
    assert_eq!(
        (edge9["static"].as_bool(), edge9["labels"]["rack"].as_str()),
        (Some(true), Some("r1"))
    );
    let err = muster(m, ADMIN, &["register", "edge9", "--address", "127.0.0.9"]).fails(1);
    assert!(err.contains("409"), "{err}");
    let json = muster(
        m,
        ADMIN,
        &["register", "edge8", "--address", "127.0.0.8,::1", "--json"],
    )
    .json();
    assert_eq!(json["addresses"], serde_json::json!(["127.0.0.8", "::1"]));

    let out = muster(m, ADMIN, &["remove", "edge9"]).ok();
    assert_eq!(out, "edge9: removed\n");
    let json = muster(m, ADMIN, &["remove", "edge8", "--json"]).json();
    assert_eq!(json, serde_json::json!({"removed": "edge8"}));
    let err = muster(m, READ, &["hosts", "edge9"]).fails(1);
    assert!(err.contains("404"), "{err}");
    let err = muster(m, ADMIN, &["remove", "smurf1"]).fails(1);
    assert!(err.contains("409"), "policy hosts stay: {err}");
}

fn reload_rereads_the_policy(m: &Muster) {
    let out = muster(m, ADMIN, &["reload"]).ok();
    assert!(
        out.starts_with("policy ") && out.contains("policy.yaml in force"),
        "{out}"
    );
    let json = muster(m, ADMIN, &["reload", "--json"]).json();
    assert!(
        json["policy"]
            .as_str()
            .is_some_and(|p| p.ends_with("policy.yaml")),
        "{json}"
    );

    std::fs::write(m.policy_path(), POLICY.replace("min: 2", "min: two")).expect("write policy");
    let err = muster(m, ADMIN, &["reload"]).fails(1);
    assert!(
        err.contains("policy.yaml:") && err.contains("422") && err.contains("stays"),
        "{err}"
    );
    std::fs::write(m.policy_path(), POLICY).expect("write policy");
}

fn events_list_filters_by_host_since_and_limit(m: &Muster) {
    let table = muster(m, READ, &["events", "--host", "smurf3"]).ok();
    assert_eq!(
        words(table.lines().next().expect("header")),
        [
            "TIME", "(UTC)", "KIND", "HOST", "CHANGE", "ACTOR", "SERIAL", "REASON"
        ]
    );
    assert_aligned(&table, "KIND");
    assert_aligned(&table, "HOST");
    let cordon = table
        .lines()
        .find(|l| words(l).get(2) == Some(&"cordon"))
        .unwrap_or_else(|| panic!("no cordon in:\n{table}"));
    assert_eq!(words(cordon)[3..6], ["smurf3", "web", "ops"]);
    assert!(
        table.lines().skip(1).all(|l| words(l).get(3) == Some(&"smurf3")),
        "only smurf3:\n{table}"
    );
    assert!(
        table.lines().any(|l| l.contains("mx → web")),
        "the move shows from → to:\n{table}"
    );

    let all = muster(m, READ, &["events", "--json", "--limit", "1000"]).json();
    let all = all.as_array().expect("a list");
    assert!(
        all.iter()
            .any(|e| e["kind"] == "register" && e["host"] == "edge9" && e["actor"] == "ops")
    );
    let last = muster(m, READ, &["events", "--json", "--limit", "1"]).json();
    assert_eq!(last.as_array().map(Vec::len), Some(1));
    assert_eq!(last[0]["id"], all[all.len() - 1]["id"]);
    let recent = muster(m, READ, &["events", "--json", "--since", "1h", "--limit", "1000"]).json();
    assert_eq!(recent.as_array().map(Vec::len), Some(all.len()));
    let future = muster(m, READ, &["events", "--since", "2999-01-01"]).ok();
    assert_eq!(future, "no events\n");
    let err = muster(m, READ, &["events", "--since", "yesterday"]).fails(2);
    assert!(err.contains("--since"), "{err}");
}

#[test]
fn an_unreachable_api_and_bad_usage_say_so() {
    let port = free_port("127.0.0.1");
    let api = format!("http://127.0.0.1:{port}");
    let err = muster_env(&["hosts", "--api", &api], &[]).fails(3);
    assert!(
        err.contains(&format!("cannot reach the muster API at {api}/api/v1/hosts")),
        "{err}"
    );
    let err = muster_env(&["events", "--follow"], &[("MUSTER_API", &api)]).fails(3);
    assert!(err.contains(&format!("{api}/api/v1/events/stream")), "{err}");
    // The default is 127.0.0.1:8700, named in the help.
    let help = muster_env(&["hosts", "--help"], &[]).ok();
    assert!(
        help.contains("http://127.0.0.1:8700") && help.contains("MUSTER_API"),
        "{help}"
    );
    assert!(
        help.contains("Exit status") && help.contains("3 cannot reach"),
        "{help}"
    );

    // Usage errors: 2.
    muster_env(&["move", "smurf1"], &[]).fails(2);
    muster_env(&["register", "x"], &[]).fails(2);
    muster_env(&["register", "x", "--address", "not-an-ip"], &[]).fails(2);
    muster_env(&["events", "--follow", "--limit", "3"], &[]).fails(2);
    let err = muster_env(&["pools", "--api", "ftp://127.0.0.1"], &[]).fails(2);
    assert!(err.contains("http or https"), "{err}");
    let err = muster_env(&["pools", "--ca-file", "/nonexistent/ca.pem"], &[]).fails(2);
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}

/// A throwaway CA and a server certificate for 127.0.0.1: (CA PEM,
/// certificate PEM, key PEM).
fn pki() -> (String, String, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "muster CLI test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA");
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("server params");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().expect("server key");
    let cert = params.signed_by(&key, &issuer).expect("server certificate");
    (issuer.pem(), cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn https_needs_the_ca_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = pki();
    let (ca, cert, key) = (
        write(dir.path(), "ca.pem", &ca),
        write(dir.path(), "cert.pem", &cert),
        write(dir.path(), "key.pem", &key),
    );
    let m = Muster::start_with(POLICY, &["--tls-cert", &cert, "--tls-key", &key]);
    let api = https(m.api);
    let zone = muster_env(&["zone", "--json", "--api", &api, "--ca-file", &ca], &[]).json();
    assert_eq!(zone["zone"], "lists.example.test.");
    let pools = muster_env(&["pools"], &[("MUSTER_API", &api), ("MUSTER_CA_FILE", &ca)]).ok();
    assert!(pools.starts_with("ROLE"), "{pools}");
    // Without the CA the certificate is not trusted: cannot connect.
    let err = muster_env(&["zone", "--api", &api], &[]).fails(3);
    assert!(
        err.contains(&format!("cannot reach the muster API at {api}/api/v1/zone")),
        "{err}"
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}

fn https(addr: SocketAddr) -> String {
    format!("https://{addr}")
}

fn events_follow_survives_a_server_restart(m: &mut Muster) {
    let mut follower = Follower::start(m, &["--json"]);
    m.restart(false);
    follower.wait_for_note("event stream lost");
    follower.wait_for_note("event stream open again");
    muster(m, ADMIN, &["cordon", "smurf2", "--force"]).ok();
    let json = follower.wait_for("cordon after the restart", |l| {
        l.contains(r#""kind":"cordon""#) && l.contains(r#""host":"smurf2""#)
    });
    assert!(json.contains(r#""actor":"ops""#), "{json}");
}
