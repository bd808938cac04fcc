//! The agent end to end (issue 4): `muster serve` and real `muster agent`
//! processes on this machine, killed with `kill -9`, observed through real
//! `dig`, the API's events and the files their hooks write.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use support::{Muster, dig, eventually, http};

const TOKEN: &str = "agent-secret";
const ADMIN: &str = "s3cret";

/// smurf1 and smurf2 send mail, smurf3 serves the web; one-second
/// heartbeats, dead after three silent seconds, back after three good
/// heartbeats, records with a TTL of one second.
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
    drain: { until: queue_empty, timeout: 5m }
  web: { min: 0, records: [ { name: www, type: A } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: smurf1, address: 127.0.1.1, role: smtp-out }
  - { name: smurf2, address: 127.0.1.2, role: smtp-out }
  - { name: smurf3, address: 127.0.1.3, role: web }
"#;

/// A real `muster agent`, with its own directory (state, config, log, hook
/// log, queue file); killed with SIGKILL on drop.
struct Agent {
    name: String,
    dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

/// How an agent is started.
struct AgentSetup {
    token: String,
    /// `None`: no hook. `Some("")`: the default one, which appends
    /// `$MUSTER_HOST $MUSTER_PREVIOUS_ROLE $MUSTER_ROLE` to `hook.log`.
    hook: Option<String>,
    /// A role to remember as held before the first start.
    held: Option<String>,
}

impl Default for AgentSetup {
    fn default() -> Self {
        Self {
            token: TOKEN.to_string(),
            hook: Some(String::new()),
            held: None,
        }
    }
}

impl Agent {
    /// Starts `name` (address 127.0.1.N for smurfN) against `m`, keeping its
    /// files under `root/name`.
    fn start(m: &Muster, root: &Path, name: &str, setup: AgentSetup) -> Self {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("state")).expect("agent dir");
        if let Some(role) = &setup.held {
            std::fs::write(dir.join("state/role"), format!("{role}\n")).expect("seed role");
        }
        let queue = dir.join("queue");
        if !queue.exists() {
            std::fs::write(&queue, "0\n").expect("queue file");
        }
        std::fs::write(
            dir.join("agent.yaml"),
            format!(
                "state_dir: {}\nqueue_command: cat {}\nmax_backoff: 1s\nhook_timeout: 10s\n",
                dir.join("state").display(),
                queue.display()
            ),
        )
        .expect("agent config");
        let number = name.trim_start_matches(|c: char| !c.is_ascii_digit());
        let mut args = vec![
            "agent".to_string(),
            "--controller".to_string(),
            format!("http://{}", m.api),
            "--name".to_string(),
            name.to_string(),
            "--address".to_string(),
            format!("127.0.1.{number}"),
            "--token".to_string(),
            setup.token,
            "--config".to_string(),
            dir.join("agent.yaml").display().to_string(),
        ];
        match setup.hook.as_deref() {
            None => {}
            Some("") => args.extend([
                "--on-role-change".to_string(),
                format!(
                    r#"echo "$MUSTER_HOST $MUSTER_PREVIOUS_ROLE $MUSTER_ROLE" >> {}"#,
                    dir.join("hook.log").display()
                ),
            ]),
            Some(cmd) => args.extend(["--on-role-change".to_string(), cmd.to_string()]),
        }
        let mut agent = Self {
            name: name.to_string(),
            dir,
            args,
            child: None,
        };
        agent.spawn();
        agent
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("agent.log"))
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_muster"))
            .args(&self.args)
            .env("MUSTER_LOG", "info")
            .env_remove("MUSTER_AGENT_TOKEN")
            .env_remove("MUSTER_CONTROLLER")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn muster agent");
        self.child = Some(child);
    }

    /// `kill -9`, as if the box died.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            support::signal(child.id(), "KILL");
            let _ = child.wait();
        }
    }

    /// Starts it again with the same state directory.
    fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Its exit status, once it exited by itself within `within`.
    fn exited_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("agent.log")).unwrap_or_default()
    }

    /// What the default hook wrote, one line per run.
    fn hook_runs(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("hook.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn held(&self) -> String {
        std::fs::read_to_string(self.dir.join("state/role")).unwrap_or_default()
    }

    fn set_queue(&self, depth: u32) {
        std::fs::write(self.dir.join("queue"), format!("{depth}\n")).expect("queue file");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- {} log ---\n{}", self.name, self.log());
        }
    }
}

fn smtp_out(m: &Muster) -> Vec<String> {
    dig(m.dns, &["smtp-out.lists.example.test", "A"]).answer_data("A")
}

fn www(m: &Muster) -> Vec<String> {
    dig(m.dns, &["www.lists.example.test", "A"]).answer_data("A")
}

fn events(m: &Muster, token: Option<&str>) -> String {
    http(m.api, "GET", "/api/v1/events?limit=1000", token, None).1
}

fn has(list: &[String], address: &str) -> bool {
    list.iter().any(|a| a == address)
}

fn start_farm(m: &Muster, root: &Path, setup: impl Fn(&str) -> AgentSetup) -> Vec<Agent> {
    ["smurf1", "smurf2", "smurf3"]
        .iter()
        .map(|name| Agent::start(m, root, name, setup(name)))
        .collect()
}

fn wait_for_everyone(m: &Muster) {
    eventually(Duration::from_secs(10), "smurf1..3 in their pools", || {
        (smtp_out(m) == ["127.0.1.1", "127.0.1.2"] && www(m) == ["127.0.1.3"]).then_some(())
    });
}

#[test]
fn three_agents_fill_their_pools_and_a_killed_one_leaves_and_comes_back() {
    let m = Muster::start_with(POLICY, &["--agent-token", TOKEN]);
    let root = tempfile::tempdir().expect("tempdir");
    // Fresh boxes with no hook take the role they are given.
    let mut agents = start_farm(&m, root.path(), |_| AgentSetup {
        hook: None,
        ..AgentSetup::default()
    });
    wait_for_everyone(&m);
    // The controller publishes an agent that reports no role yet on its
    // first heartbeat; the agent writes down the role from the reply a
    // moment later.
    eventually(
        Duration::from_secs(3),
        "smurf2 and smurf3 to hold their roles",
        || (agents[1].held() == "smtp-out\n" && agents[2].held() == "web\n").then_some(()),
    );

    let killed = Instant::now();
    agents[1].kill();
    eventually(Duration::from_secs(8), "smurf2 to leave DNS", || {
        (!has(&smtp_out(&m), "127.0.1.2")).then_some(())
    });
    let took = killed.elapsed();
    // dead_after (3 s) after the last heartbeat, found by the next 1 s tick.
    assert!(
        took <= Duration::from_millis(4500),
        "dead_after 3s + 1s, took {took:?}"
    );
    assert_eq!(smtp_out(&m), ["127.0.1.1"]);
    assert_eq!(www(&m), ["127.0.1.3"]);

    let back = Instant::now();
    agents[1].restart();
    eventually(Duration::from_secs(10), "smurf2 to return", || {
        has(&smtp_out(&m), "127.0.1.2").then_some(())
    });
    // Three good heartbeats one second apart: not before the third.
    let returned = back.elapsed();
    assert!(
        returned >= Duration::from_secs(2),
        "revived too early: {returned:?}"
    );
    let log = events(&m, None);
    assert!(log.contains(r#""kind":"death","host":"smurf2""#), "{log}");
    assert!(log.contains(r#""kind":"revival","host":"smurf2""#), "{log}");
    eprintln!("failover {took:?}, return {returned:?}");

    // SIGTERM stops an agent cleanly.
    let pid = agents[0].child.as_ref().expect("running").id();
    support::signal(pid, "TERM");
    let status = agents[0]
        .exited_within(Duration::from_secs(3))
        .expect("stops on SIGTERM");
    assert!(status.success(), "{status}");
    assert!(agents[0].log().contains("muster agent stopped"));
}

#[test]
fn a_move_runs_the_hook_once_after_the_drain() {
    let m = Muster::start_with(
        POLICY,
        &["--agent-token", TOKEN, "--admin-token", &format!("ops={ADMIN}")],
    );
    let root = tempfile::tempdir().expect("tempdir");
    let agents = start_farm(&m, root.path(), |name| AgentSetup {
        held: Some(if name == "smurf3" { "web" } else { "smtp-out" }.to_string()),
        ..AgentSetup::default()
    });
    agents[0].set_queue(5);
    wait_for_everyone(&m);

    let (status, reply) = http(
        m.api,
        "POST",
        "/api/v1/hosts/smurf1/move",
        Some(ADMIN),
        Some(r#"{"role":"web"}"#),
    );
    assert_eq!(status, 202, "{reply}");
    eventually(Duration::from_secs(3), "smurf1 out of smtp-out", || {
        (!has(&smtp_out(&m), "127.0.1.1")).then_some(())
    });
    // Well past the TTL the queue still holds mail: the drain goes on and
    // the hook must not have run.
    std::thread::sleep(Duration::from_secs(3));
    assert!(agents[0].hook_runs().is_empty(), "{:?}", agents[0].hook_runs());
    assert!(!has(&www(&m), "127.0.1.1"));

    agents[0].set_queue(0);
    eventually(Duration::from_secs(10), "smurf1 in www", || {
        has(&www(&m), "127.0.1.1").then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(agents[0].hook_runs(), ["smurf1 smtp-out web"]);
    assert_eq!(agents[0].held(), "web\n");
    for other in &agents[1..] {
        assert!(
            other.hook_runs().is_empty(),
            "{}: {:?}",
            other.name,
            other.hook_runs()
        );
    }
    let (_, log) = http(m.api, "GET", "/api/v1/events?host=smurf1", Some(ADMIN), None);
    let start = log.find(r#""kind":"drain-start""#).expect("drain-start");
    let moved = log.find(r#""kind":"move""#).expect("move");
    assert!(start < moved, "{log}");
}

#[test]
fn a_failing_hook_keeps_the_host_out_of_dns_and_says_why() {
    let m = Muster::start_with(
        POLICY,
        &["--agent-token", TOKEN, "--admin-token", &format!("ops={ADMIN}")],
    );
    let root = tempfile::tempdir().expect("tempdir");
    let agents = start_farm(&m, root.path(), |name| AgentSetup {
        held: Some(if name == "smurf3" { "web" } else { "smtp-out" }.to_string()),
        hook: Some(if name == "smurf2" {
            "echo starting >&2; echo boom >&2; exit 3".to_string()
        } else {
            String::new()
        }),
        ..AgentSetup::default()
    });
    wait_for_everyone(&m);

    let (status, reply) = http(
        m.api,
        "POST",
        "/api/v1/hosts/smurf2/move",
        Some(ADMIN),
        Some(r#"{"role":"web"}"#),
    );
    assert_eq!(status, 202, "{reply}");
    let death = eventually(Duration::from_secs(10), "smurf2's death", || {
        let log = events(&m, Some(ADMIN));
        log.split("},{")
            .find(|e| e.contains(r#""kind":"death","host":"smurf2""#))
            .map(str::to_string)
    });
    assert!(death.contains("exit 3: starting; boom"), "{death}");
    // It stays out: of its old pool and of the new one.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        assert!(!has(&smtp_out(&m), "127.0.1.2"));
        assert!(!has(&www(&m), "127.0.1.2"));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(agents[1].held(), "smtp-out\n", "the old role is kept");
    assert!(agents[1].log().contains("exit 3: starting; boom"));
}

#[test]
fn a_restarted_controller_changes_nothing_on_the_boxes() {
    let mut m = Muster::start_with(POLICY, &["--agent-token", TOKEN]);
    let root = tempfile::tempdir().expect("tempdir");
    let agents = start_farm(&m, root.path(), |name| AgentSetup {
        held: Some(if name == "smurf3" { "web" } else { "smtp-out" }.to_string()),
        ..AgentSetup::default()
    });
    wait_for_everyone(&m);

    m.restart(true);
    wait_for_everyone(&m);
    // Longer than dead_after: nobody was declared dead meanwhile.
    std::thread::sleep(Duration::from_secs(4));
    wait_for_everyone(&m);
    let log = events(&m, None);
    assert!(!log.contains(r#""kind":"death""#), "{log}");
    for a in &agents {
        assert!(a.hook_runs().is_empty(), "{}: {:?}", a.name, a.hook_runs());
        assert!(!a.log().contains("running the role-change hook"), "{}", a.log());
    }
    assert_eq!(agents[0].held(), "smtp-out\n");
}

#[test]
fn a_bad_token_gets_401_and_nothing_is_recorded() {
    let m = Muster::start_with(POLICY, &["--agent-token", TOKEN]);
    let root = tempfile::tempdir().expect("tempdir");
    let secret = "wrong-but-secret-1f4e9a";
    let mut agent = Agent::start(
        &m,
        root.path(),
        "smurf9",
        AgentSetup {
            token: secret.to_string(),
            ..AgentSetup::default()
        },
    );
    eventually(Duration::from_secs(5), "the 401 in the agent's log", || {
        agent.log().contains("401").then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(agent.running(), "a 401 is retried, not fatal:\n{}", agent.log());
    let log = agent.log();
    assert!(log.contains("refused the agent token"), "{log}");
    assert!(!log.contains(secret), "the token never appears in the log: {log}");
    assert!(!m.log().contains(secret));
    assert!(!events(&m, None).contains("smurf9"));
    let (_, pools) = http(m.api, "GET", "/api/v1/pools", None, None);
    assert!(!pools.contains("smurf9"), "{pools}");
}

#[test]
fn a_second_agent_claiming_an_enrolled_name_stops_with_409() {
    let m = Muster::start_with(POLICY, &["--enrolment-token", "join-me"]);
    let root = tempfile::tempdir().expect("tempdir");
    let setup = || AgentSetup {
        token: "join-me".to_string(),
        hook: None,
        ..AgentSetup::default()
    };
    let mut first = Agent::start(&m, root.path(), "smurf9", setup());
    eventually(Duration::from_secs(5), "the host token stored", || {
        first.dir.join("state/token").exists().then_some(())
    });
    eventually(Duration::from_secs(5), "the enrolment recorded", || {
        events(&m, None).contains(r#""host":"smurf9""#).then_some(())
    });
    std::thread::sleep(Duration::from_millis(1500));

    let twin_root = tempfile::tempdir().expect("tempdir");
    let mut twin = Agent::start(&m, twin_root.path(), "smurf9", setup());
    let status = twin
        .exited_within(Duration::from_secs(10))
        .expect("the twin exits");
    assert_eq!(status.code(), Some(3), "refused for good: {status}");
    let log = twin.log();
    assert!(log.contains("409") && log.contains("smurf9"), "{log}");
    assert!(first.running(), "the first agent goes on:\n{}", first.log());
}

#[test]
fn a_closed_farm_refuses_unlisted_agents_with_403_until_the_policy_lists_them() {
    let closed = POLICY.replace("hosts:\n", "enrolment: inventory\nhosts:\n");
    let m = Muster::start_with(&closed, &["--agent-token", TOKEN]);
    let root = tempfile::tempdir().expect("tempdir");
    let mut stranger = Agent::start(&m, root.path(), "smurf9", AgentSetup::default());
    eventually(Duration::from_secs(5), "the 403 in the agent's log", || {
        stranger.log().contains("403").then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        stranger.running(),
        "a 403 is retried, not fatal:\n{}",
        stranger.log()
    );
    let log = stranger.log();
    assert!(log.contains("not in the policy's inventory"), "{log}");
    assert!(!events(&m, None).contains("smurf9"), "nothing recorded");
    let (_, hosts) = http(m.api, "GET", "/api/v1/hosts", None, None);
    assert!(!hosts.contains("smurf9"), "{hosts}");

    // The operator lists it and reloads: the same agent, still retrying,
    // joins, and is published once it reports holding its role. (The other
    // inventory hosts have no agents: never published, nor held in DNS.)
    m.reload(&format!(
        "{closed}  - {{ name: smurf9, address: 127.0.1.9, role: smtp-out }}\n"
    ));
    eventually(Duration::from_secs(15), "smurf9 alone in smtp-out", || {
        (smtp_out(&m) == ["127.0.1.9"]).then_some(())
    });
    assert!(stranger.running(), "{}", stranger.log());
}

/// smtp-out checks a flag file per host; web hangs while `hang` exists.
fn probe_policy(flags: &Path) -> String {
    POLICY
        .replace(
            "    drain: { until: queue_empty, timeout: 5m }\n",
            &format!(
                "    drain: {{ until: queue_empty, timeout: 5m }}\n    probes:\n      - {{ type: command, name: flag, run: \"test -f {}/$MUSTER_HOST\" }}\n",
                flags.display()
            ),
        )
        .replace(
            "  web: { min: 0, records: [ { name: www, type: A } ] }\n",
            &format!(
                "  web:\n    min: 0\n    records: [ {{ name: www, type: A }} ]\n    probes:\n      - {{ type: command, name: hang, timeout: 500ms, run: \"if [ -f {}/hang ]; then sleep 30; fi\" }}\n",
                flags.display()
            ),
        )
}

#[test]
fn a_failing_command_probe_takes_the_host_out_until_it_passes_again() {
    let flags = tempfile::tempdir().expect("tempdir");
    for host in ["smurf1", "smurf2"] {
        std::fs::write(flags.path().join(host), "").expect("flag");
    }
    let m = Muster::start_with(&probe_policy(flags.path()), &["--agent-token", TOKEN]);
    let root = tempfile::tempdir().expect("tempdir");
    let _agents = start_farm(&m, root.path(), |_| AgentSetup {
        hook: None,
        ..AgentSetup::default()
    });
    wait_for_everyone(&m);

    std::fs::remove_file(flags.path().join("smurf1")).expect("remove flag");
    eventually(Duration::from_secs(5), "smurf1 out of DNS", || {
        (!has(&smtp_out(&m), "127.0.1.1")).then_some(())
    });
    let log = events(&m, None);
    assert!(log.contains("flag: exit 1"), "{log}");
    assert_eq!(smtp_out(&m), ["127.0.1.2"]);

    std::fs::write(flags.path().join("smurf1"), "").expect("flag");
    let back = Instant::now();
    eventually(Duration::from_secs(10), "smurf1 back", || {
        has(&smtp_out(&m), "127.0.1.1").then_some(())
    });
    assert!(
        back.elapsed() >= Duration::from_secs(2),
        "after revive_after: {:?}",
        back.elapsed()
    );
}

#[test]
fn a_hung_probe_costs_its_timeout_and_heartbeats_go_on() {
    let flags = tempfile::tempdir().expect("tempdir");
    for host in ["smurf1", "smurf2"] {
        std::fs::write(flags.path().join(host), "").expect("flag");
    }
    let m = Muster::start_with(&probe_policy(flags.path()), &["--agent-token", TOKEN]);
    let root = tempfile::tempdir().expect("tempdir");
    let _agents = start_farm(&m, root.path(), |_| AgentSetup {
        hook: None,
        ..AgentSetup::default()
    });
    wait_for_everyone(&m);

    std::fs::write(flags.path().join("hang"), "").expect("hang");
    let death = eventually(Duration::from_secs(6), "smurf3's death", || {
        events(&m, None)
            .split("},{")
            .find(|e| e.contains(r#""kind":"death","host":"smurf3""#))
            .map(str::to_string)
    });
    // Declared dead for the probe, never for silence: the heartbeats went on.
    assert!(death.contains("hang: no result within 500ms"), "{death}");
    assert!(!has(&www(&m), "127.0.1.3"));
    std::thread::sleep(Duration::from_secs(4));
    assert!(!events(&m, None).contains("no heartbeat"), "{}", events(&m, None));

    std::fs::remove_file(flags.path().join("hang")).expect("unhang");
    eventually(Duration::from_secs(10), "smurf3 back", || {
        has(&www(&m), "127.0.1.3").then_some(())
    });
}

/// Runs `examples/role-change.sh` for `role` with a fake `postfix` and
/// `systemctl` on the PATH; returns (exit code, stderr).
fn run_example_hook(dir: &Path, role: &str, previous: &str) -> (i32, String) {
    let out = Command::new("sh")
        .arg(support::repo_path("examples/role-change.sh"))
        .env(
            "PATH",
            format!(
                "{}:{}",
                dir.join("bin").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("MUSTER_ROLE", role)
        .env("MUSTER_PREVIOUS_ROLE", previous)
        .env("MUSTER_HOST", "smurf1")
        .env("MUSTER_ROLES_DIR", dir.join("roles"))
        .env("MUSTER_POSTFIX_DIR", dir.join("postfix"))
        .env("MUSTER_HOOK_LOCK", dir.join("lock"))
        .env("STATE", dir)
        .output()
        .expect("run the example hook");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_example_hook_switches_master_cf_once_per_role_and_rolls_back_a_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for sub in ["bin", "roles", "postfix"] {
        std::fs::create_dir_all(d.join(sub)).expect("mkdir");
    }
    // Fakes: every call is logged; `check` fails while $STATE/bad exists;
    // Postfix runs once started.
    let fake = |name: &str, body: &str| {
        let path = d.join("bin").join(name);
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho \"{name} $*\" >> \"$STATE/calls\"\n{body}\n"),
        )
        .expect("fake");
        Command::new("chmod")
            .arg("+x")
            .arg(&path)
            .status()
            .expect("chmod");
    };
    fake(
        "postfix",
        r#"case $1 in check) [ ! -f "$STATE/bad" ];; status) [ -f "$STATE/running" ];; start) touch "$STATE/running";; esac"#,
    );
    fake(
        "systemctl",
        r#"case $1 in is-active) [ -f "$STATE/running" ];; start) touch "$STATE/running";; esac"#,
    );
    std::fs::write(d.join("roles/master.cf.smtp-out"), "# smtp-out\n").expect("variant");
    std::fs::write(d.join("roles/master.cf.web"), "# web\n").expect("variant");
    std::fs::write(d.join("postfix/master.cf"), "# as installed\n").expect("master.cf");
    let calls = || std::fs::read_to_string(d.join("calls")).unwrap_or_default();
    let master = || std::fs::read_to_string(d.join("postfix/master.cf")).expect("master.cf");

    let (code, err) = run_example_hook(d, "smtp-out", "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(master(), "# smtp-out\n");
    assert!(calls().contains(" start"), "Postfix started: {}", calls());

    // Idempotent: the same role again changes nothing and reloads nothing.
    let before = calls();
    let (code, err) = run_example_hook(d, "smtp-out", "");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("nothing to change"), "{err}");
    assert!(!calls()[before.len()..].contains("reload"), "{}", calls());

    let (code, err) = run_example_hook(d, "web", "smtp-out");
    assert_eq!(code, 0, "{err}");
    assert_eq!(master(), "# web\n");
    assert!(calls().contains(" reload"), "{}", calls());

    // A configuration Postfix refuses is rolled back.
    std::fs::write(d.join("bad"), "").expect("bad");
    let (code, err) = run_example_hook(d, "smtp-out", "web");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("postfix check failed"), "{err}");
    assert_eq!(master(), "# web\n");
    std::fs::remove_file(d.join("bad")).expect("ok again");

    // No setup for the role, or a role name that is not one: exit 2, and say so.
    let (code, err) = run_example_hook(d, "bounce", "web");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("master.cf.bounce"), "{err}");
    let (code, err) = run_example_hook(d, "../../etc", "web");
    assert_eq!(code, 2, "{err}");
    assert_eq!(master(), "# web\n");
    let leftovers: Vec<_> = std::fs::read_dir(d.join("postfix"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["master.cf"]);
}

#[test]
fn a_config_file_typo_stops_the_agent_with_status_2_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("agent.yaml");
    std::fs::write(&config, "state_dir: /tmp/x\nhook_timout: 5m\n").expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["agent", "--controller", "http://127.0.0.1:9", "--name", "smurf1"])
        .args(["--address", "127.0.1.1", "--token", "t", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("agent.yaml") && err.contains("hook_timout") && err.contains("line 2"),
        "{err}"
    );
}
