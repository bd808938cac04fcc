//! `muster demo` as a newcomer runs it (on free ports, the mail replayed
//! faster): DNS answers at once, the smtp-out pool shifts by the schedule or
//! the load rule, and SIGTERM stops it cleanly with its temp dir gone.
//! `muster serve --demo-agents N` runs the same agents against a policy of
//! one's own.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use support::{Muster, dig, eventually, free_port, http_get, signal};

const SMTP_OUT: &str = "smtp-out.lists.example.test";

/// A running `muster demo`, killed if the test fails before stopping it.
struct Demo {
    child: Option<Child>,
    dir: tempfile::TempDir,
    dns: SocketAddr,
    api: SocketAddr,
}

impl Demo {
    fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        // The demo's own temp dir goes in here, so the test can see it go.
        std::fs::create_dir(dir.path().join("tmp")).expect("tmp dir");
        let dns = SocketAddr::from(([127, 0, 0, 1], free_port("127.0.0.1")));
        let api = SocketAddr::from(([127, 0, 0, 1], free_port("127.0.0.1")));
        let out = std::fs::File::create(dir.path().join("stdout")).expect("stdout file");
        let err = std::fs::File::create(dir.path().join("stderr")).expect("stderr file");
        let child = Command::new(env!("CARGO_BIN_EXE_muster"))
            .arg("demo")
            .args(["--dns-listen", &dns.to_string(), "--api-listen", &api.to_string()])
            .args(extra)
            .env("TMPDIR", dir.path().join("tmp"))
            .env_remove("MUSTER_LOG")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn muster demo");
        Self {
            child: Some(child),
            dir,
            dns,
            api,
        }
    }

    fn output(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}\n--- stderr ---\n{}", read("stdout"), read("stderr"))
    }

    fn check_running(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            panic!("muster demo exited early with {status}:\n{}", self.output());
        }
    }

    /// The smtp-out MX records DNS gives now (sorted), if it answers.
    fn smtp_out(&mut self) -> Option<Vec<String>> {
        self.check_running();
        let answer = dig(self.dns, &[SMTP_OUT, "MX"]);
        let mx = answer.answer_data("MX");
        (answer.status == "NOERROR" && !mx.is_empty()).then_some(mx)
    }

    /// The smtp-out pool: the hosts DNS gives at preference 5.
    fn pool(&mut self) -> Option<Vec<String>> {
        let pool: Vec<String> = self
            .smtp_out()?
            .into_iter()
            .filter_map(|mx| mx.strip_prefix("5 ").map(str::to_owned))
            .collect();
        (!pool.is_empty()).then_some(pool)
    }

    /// SIGTERM, then the exit status (killed after 20 s).
    fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        signal(child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "muster demo did not stop within 20 s of SIGTERM:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The database directory the banner names.
fn store_dir(output: &str) -> Option<PathBuf> {
    let line = output.lines().find(|l| l.trim_start().starts_with("store "))?;
    let path = line.split(" in ").nth(1)?.split(" (removed").next()?;
    Some(PathBuf::from(path.trim()))
}

#[test]
fn the_demo_answers_at_once_shifts_smtp_out_and_stops_cleanly() {
    let started = Instant::now();
    // Four times faster: the bulge rises 7.5 s in and peaks 22.5 s in.
    let mut demo = Demo::start(&["--speed", "4"]);
    let answer = eventually(Duration::from_secs(60), "an MX answer for smtp-out", || {
        demo.smtp_out()
    });
    assert!(
        answer.contains(&"20 fallback.lists.example.test.".to_owned()),
        "the fallback tier: {answer:?}"
    );
    // Published once their (simulated) agents report holding smtp-out.
    let first = eventually(Duration::from_secs(10), "smurfs at preference 5", || demo.pool());
    assert!(first.iter().all(|mx| mx.starts_with("smurf")), "{first:?}");
    let output = demo.output();
    for expected in [
        "muster demo",
        &format!("-p {} +norec MX {SMTP_OUT}", demo.dns.port()),
        &format!("http://{}/", demo.api),
        "smurf1…smurf12 on 127.0.1.1…127.0.1.12",
        "pools",
        "events --follow",
    ] {
        assert!(
            output.contains(expected),
            "the banner shows {expected:?}:\n{output}"
        );
    }
    let store = store_dir(&output).unwrap_or_else(|| panic!("the banner names the store's dir:\n{output}"));
    assert!(
        store.starts_with(demo.dir.path().join("tmp")),
        "{store:?} is in TMPDIR"
    );
    assert!(store.is_dir(), "{store:?} exists while the demo runs");

    let changed = eventually(Duration::from_secs(100), "the smtp-out pool to change", || {
        demo.pool().filter(|pool| *pool != first)
    });
    assert_ne!(changed, first);

    // The change has its reason in the event log: the schedule or the
    // load rule moved hosts into or out of smtp-out.
    let (status, body) = http_get(demo.api, "/api/v1/events?limit=10000");
    assert_eq!(status, 200, "{body}");
    let events: serde_json::Value = serde_json::from_str(&body).expect("events JSON");
    let by_rules = events
        .as_array()
        .expect("a list")
        .iter()
        .filter(|e| e["kind"] == "drain-start")
        .filter(|e| e["actor"] == "digest-send" || e["actor"] == "autoscale-smtp-out")
        .count();
    assert!(by_rules > 0, "moves by the schedule or the load rule:\n{body}");
    // The simulated agents report their queues over HTTP.
    let (status, body) = http_get(demo.api, "/api/v1/pools");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"queue_depth\":"), "{body}");

    // One progress line per change, from the event log.
    let printed = eventually(Duration::from_secs(5), "a progress line", || {
        let out = demo.output();
        out.lines()
            .find(|l| l.contains(" → smtp-out") && l.contains("drain-start"))
            .map(str::to_owned)
    });
    assert!(
        printed.contains("digest-send: ") || printed.contains("autoscale-smtp-out: "),
        "{printed}"
    );

    let status = demo.terminate();
    let output = demo.output();
    assert!(status.success(), "SIGTERM exits 0, got {status}:\n{output}");
    assert!(output.contains("stopped; removed"), "{output}");
    assert!(!store.exists(), "{store:?} is removed at exit");
    assert!(
        started.elapsed() < Duration::from_secs(150),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn the_demo_refuses_a_port_in_use() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let api = free_port("127.0.0.1");
    let out = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["demo", "--dns-listen", &format!("127.0.0.1:{port}")])
        .args(["--api-listen", &format!("127.0.0.1:{api}")])
        .output()
        .expect("run muster demo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--dns-listen"), "says what to change: {stderr}");
}

/// A policy of one's own: three hosts with agents, one static.
const OWN_POLICY: &str = "
zone: lists.example.test
ttl: 5
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 500ms, dead_after: 2s }
roles:
  smtp-out:
    min: 1
    records: [ { name: smtp-out, type: MX, priority: 5 } ]
    drain: { until: queue_empty, timeout: 10s }
  web: { min: 1, records: [ { name: www, type: A } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: box1, address: 127.0.1.101, role: smtp-out }
  - { name: box2, address: 127.0.1.102, role: smtp-out }
  - { name: box3, address: 127.0.1.103, role: web }
";

#[test]
fn serve_with_demo_agents_keeps_its_hosts_alive() {
    let muster = Muster::start_with(OWN_POLICY, &["--demo-agents", "3"]);
    // Past dead_after, every host still answers: the agents report.
    std::thread::sleep(Duration::from_secs(4));
    let mx = dig(muster.dns, &[SMTP_OUT, "MX"]).answer_data("MX");
    assert_eq!(
        mx,
        ["5 box1.lists.example.test.", "5 box2.lists.example.test."],
        "{}",
        muster.log()
    );
    let (status, body) = http_get(muster.api, "/api/v1/hosts/box3");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("queue_depth"), "box3 reports its queue: {body}");
    let (_, events) = http_get(muster.api, "/api/v1/events?limit=10000");
    assert!(!events.contains("\"death\""), "nobody died: {events}");
    assert!(!events.contains("\"panic\""), "no fail-static: {events}");
}

#[test]
fn serve_refuses_demo_agents_over_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, OWN_POLICY).expect("policy");
    let missing = Path::new("/nonexistent");
    let out = Command::new(env!("CARGO_BIN_EXE_muster"))
        .arg("serve")
        .arg("--policy")
        .arg(&policy)
        .args(["--demo-agents", "2", "--tls-cert"])
        .arg(missing)
        .arg("--tls-key")
        .arg(missing)
        .output()
        .expect("run muster serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--demo-agents report over plain HTTP"),
        "{stderr}"
    );
}

/// One name and type a role of the demo policy publishes.
struct Published {
    name: String,
    rtype: &'static str,
    /// A fallback of this type at this name: never an empty answer.
    same_type_fallback: bool,
    /// A fallback of another type at this name: NODATA is expected when
    /// the pool is empty.
    other_type_fallback: bool,
}

/// Every (name, type) the roles of `policies/demo.yaml` publish.
fn demo_names() -> Vec<Published> {
    use muster_controller::policy::{FixedData, MemberRecord, load_file};
    let policy = load_file(&support::repo_path("policies/demo.yaml")).expect("demo.yaml loads");
    let fallback_type = |data: &FixedData| match data {
        FixedData::Mx { .. } => "MX",
        FixedData::A(_) => "A",
        FixedData::Aaaa(_) => "AAAA",
    };
    let mut names: Vec<Published> = Vec::new();
    for role in policy.roles.values() {
        for record in &role.records {
            let rtype = match record.kind {
                MemberRecord::Mx { .. } => "MX",
                MemberRecord::A => "A",
                MemberRecord::Aaaa => "AAAA",
            };
            let fallbacks = policy
                .roles
                .values()
                .flat_map(|r| &r.fallback)
                .filter(|f| f.owner == record.owner);
            let (same, other): (Vec<_>, Vec<_>) = fallbacks.partition(|f| fallback_type(&f.data) == rtype);
            let name = record.owner.to_ascii();
            if !names.iter().any(|p| p.name == name && p.rtype == rtype) {
                names.push(Published {
                    name,
                    rtype,
                    same_type_fallback: !same.is_empty(),
                    other_type_fallback: !other.is_empty(),
                });
            }
        }
    }
    names
}

/// While the bulge rises and passes, the load rule borrows every bounce
/// host (bounce has min 0) and smtp-out grows: no name a role publishes may
/// answer NXDOMAIN meanwhile (bounces keeps its fallback MX). NODATA is
/// allowed only where a fallback of another type keeps the name. Samples
/// for at most 70 s, or until smtp-out has grown and shrunk again; what it
/// saw is printed (`--nocapture`). A run on a 2-core machine: 1050 answers,
/// smtp-out 3 -> 6, bounce down to 0 hosts, no NODATA.
#[test]
fn every_name_a_role_publishes_answers_through_a_whole_bulge() {
    let started = Instant::now();
    let names = demo_names();
    let listed: Vec<String> = names.iter().map(|p| format!("{} {}", p.name, p.rtype)).collect();
    for expected in [
        "smtp-out.lists.example.test. MX",
        "smtp-out.lists.example.test. A",
        "lists.example.test. MX",
        "www.lists.example.test. A",
        "bounces.lists.example.test. MX",
    ] {
        assert!(listed.iter().any(|l| l == expected), "{expected} in {listed:?}");
    }
    // Six times faster: the mailing is submitted from 5 s to 15 s in, and
    // the cycle repeats every 30 s.
    let mut demo = Demo::start(&["--speed", "6"]);
    eventually(Duration::from_secs(60), "an MX answer for smtp-out", || {
        demo.pool()
    });

    let mut nodata: Vec<String> = Vec::new();
    let mut unanswered = 0;
    let mut samples = 0;
    let (mut first, mut peak, mut last) = (None, 0, 0);
    let mut fewest_bounce = usize::MAX;
    let deadline = Instant::now() + Duration::from_secs(70);
    while Instant::now() < deadline {
        demo.check_running();
        for p in &names {
            let answer = dig(demo.dns, &[&p.name, p.rtype]);
            samples += 1;
            let data = answer.answer_data(p.rtype);
            match answer.status.as_str() {
                "NXDOMAIN" => panic!(
                    "{} {} answered NXDOMAIN after {:?} (sample {samples}):\n{}\n{}",
                    p.name,
                    p.rtype,
                    started.elapsed(),
                    answer.raw,
                    demo.output()
                ),
                "NOERROR" if data.is_empty() => {
                    assert!(
                        p.other_type_fallback && !p.same_type_fallback,
                        "{} {} answered NODATA though nothing else keeps the name:\n{}",
                        p.name,
                        p.rtype,
                        answer.raw
                    );
                    nodata.push(format!("{} {}", p.name, p.rtype));
                }
                "NOERROR" => {}
                // A lost UDP packet on a busy machine is not an answer.
                "" => unanswered += 1,
                other => panic!("{} {} answered {other}:\n{}", p.name, p.rtype, answer.raw),
            }
            if p.name == "bounces.lists.example.test." && p.rtype == "MX" {
                fewest_bounce = fewest_bounce.min(data.iter().filter(|mx| mx.starts_with("10 ")).count());
            }
            if p.name == format!("{SMTP_OUT}.") && p.rtype == "MX" && !data.is_empty() {
                last = data.iter().filter(|mx| mx.starts_with("5 ")).count();
                first.get_or_insert(last);
                peak = peak.max(last);
            }
        }
        // The bulge has risen and passed: the pool grew and shrank again.
        if first.is_some_and(|first| peak >= first + 2 && last + 2 <= peak) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let first = first.unwrap_or(0);
    eprintln!(
        "{samples} answers in {:?}: smtp-out {first} -> peak {peak} -> {last}; fewest bounce hosts {fewest_bounce}; \
         NODATA {} time(s) ({:?}); {unanswered} unanswered",
        started.elapsed(),
        nodata.len(),
        nodata.iter().collect::<std::collections::BTreeSet<_>>()
    );
    assert!(peak > first, "the bulge made smtp-out grow ({first} -> {peak})");
    assert!(
        unanswered * 20 < samples,
        "{unanswered} of {samples} queries unanswered"
    );
    assert!(
        started.elapsed() < Duration::from_secs(100),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn serve_names_a_database_directory_it_cannot_create() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, OWN_POLICY).expect("policy");
    // Nothing can be created under /proc, not even by root.
    let out = Command::new(env!("CARGO_BIN_EXE_muster"))
        .arg("serve")
        .arg("--policy")
        .arg(&policy)
        .args(["--db", "sqlite:///proc/muster-nowhere/muster.db"])
        .env("MUSTER_LOG", "warn")
        .output()
        .expect("run muster serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot create /proc/muster-nowhere for the database"),
        "{stderr}"
    );
    // A directory that can be made is made.
    let nested = dir.path().join("state/muster");
    let url = format!("sqlite://{}", nested.join("muster.db").display());
    let dns = format!("127.0.0.1:{}", free_port("127.0.0.1"));
    let api = format!("127.0.0.1:{}", free_port("127.0.0.1"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_muster"))
        .arg("serve")
        .arg("--policy")
        .arg(&policy)
        .args(["--db", &url, "--dns-listen", &dns, "--api-listen", &api])
        .env("MUSTER_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn muster serve");
    eventually(Duration::from_secs(10), "the database file", || {
        nested.join("muster.db").exists().then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
}
