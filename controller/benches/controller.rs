//! Controller benchmarks for a 10,000-host farm in 5 roles: reconcile time,
//! heartbeat ingest without HTTP, and the controller's memory.
//!
//! A plain `main` (no criterion) run by
//!
//! ```text
//! cargo bench -p muster-controller --bench controller
//! bench/controller.sh            # the same, pinned to one CPU
//! ```
//!
//! What is measured:
//! 1. `reconcile::plan` alone, on a steady farm (no steps) and on a farm
//!    with work (silent hosts, a role below its `min`);
//! 2. the pure part of a tick, as `Engine::tick` does it: with nothing to
//!    do (copy the observations, plan, work out the members: the early
//!    exit), and with work (then also copy the farm, apply the steps and
//!    build the zone), with the parts timed alone;
//! 3. `Engine::tick` end to end on a SQLite store in a temp dir, steady
//!    (nothing to commit) and with a change each tick (one host dies, the
//!    previous one revives: events, host rows and the zone are committed and
//!    a new snapshot is published);
//! 4. heartbeat ingest on one thread: `ControllerHandle::heartbeat` (label
//!    check, view load, locked `Observed::record`) and `Observed::record`
//!    alone; the heartbeats are built before the clock starts;
//! 5. memory: VmRSS and VmHWM of a fresh process (this binary re-run with
//!    `MUSTER_BENCH_RSS=1`) that opens the store, starts the engine on the
//!    10,000-host policy, publishes the snapshot, spawns the controller and
//!    takes every host's heartbeat ten times.
//!
//! Settings (environment): `BENCH_HOSTS` (10000), `BENCH_ITERS` (300, for the
//! pure measurements), `BENCH_TICK_ITERS` (200, for `Engine::tick`),
//! `BENCH_INGEST_SECS` (1.5). Exits 1 when a goal is missed.

use std::fmt::Write as _;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use muster_controller::autoscale::AutoscaleState;
use muster_controller::engine::{Engine, SharedObserved};
use muster_controller::farm::{Farm, HostState, Millis};
use muster_controller::observed::{Observed, Report};
use muster_controller::policy::{self, Policy};
use muster_controller::reconcile::{self, Step, Wanted};
use muster_controller::runner::{AgentCredential, ControllerHandle, Heartbeat, spawn_controller};
use muster_controller::store::Store;
use muster_controller::wanted;
use muster_controller::zone_builder::{Membership, build_zone};
use tokio_util::sync::CancellationToken;

/// Role name, published records (YAML), `min` in percent of the role's
/// share of the farm (1,500 of 2,000 for 10,000 hosts).
const ROLES: [(&str, &str, u32); 5] = [
    (
        "smtp-out",
        "[{ name: smtp-out, type: MX, priority: 5 }, { name: smtp-out, type: A }]",
        75,
    ),
    ("smtp-in", "[{ name: \"@\", type: MX, priority: 10 }]", 75),
    ("web", "[{ name: www, type: A }]", 75),
    ("bounce", "[{ name: bounces, type: MX, priority: 10 }]", 50),
    ("spare", "[]", 0),
];

/// The synthetic clock: every host last reported at `T0`.
const T0: Millis = 1_750_000_000_000;
/// Ticks run at `T0 + 500 ms`, well inside `dead_after` (3 s).
const NOW: Millis = T0 + 500;
const DEAD_AFTER_MS: Millis = 3_000;

const GOAL_RECONCILE_MS: f64 = 5.0;
const GOAL_HEARTBEATS_PER_S: f64 = 100_000.0;
const GOAL_RSS_MB: f64 = 100.0;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ------------------------------------------------------------------ fixture

/// One agent host of the generated farm.
#[derive(Clone)]
struct Agent {
    name: String,
    address: IpAddr,
    role: &'static str,
}

fn agents(n: usize) -> Vec<Agent> {
    (0..n)
        .map(|i| {
            let n = u32::try_from(i).expect("host count fits u32") + 1;
            Agent {
                name: format!("h{i:05}"),
                address: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | n)),
                role: ROLES[i % ROLES.len()].0,
            }
        })
        .collect()
}

/// The policy YAML: five roles, one static nameserver and `agents`, each in
/// its `role:`, round-robin so every role gets a fifth of the farm.
fn policy_yaml(agents: &[Agent]) -> String {
    let mut y = String::with_capacity(64 * agents.len() + 2048);
    y.push_str(
        "zone: lists.example.test\nttl: 30\nnameservers: [ns1.lists.example.test]\n\
         soa: { rname: hostmaster@lists.example.test }\n\
         heartbeat: { interval: 1s, dead_after: 3s, revive_after: 3, panic_threshold: 50% }\n\
         limits: { moves_per_tick: 2, moves_per_role: 1, host_cooldown: 5m }\nroles:\n",
    );
    let share = agents.len() / ROLES.len();
    for (name, records, percent) in ROLES {
        let min = share * percent as usize / 100;
        let _ = writeln!(y, "  {name}:\n    min: {min}\n    records: {records}");
        if name.starts_with("smtp") {
            y.push_str("    drain: { until: queue_empty, timeout: 10m }\n");
        }
    }
    y.push_str("hosts:\n  - { name: ns1, address: 127.0.0.1, static: true }\n");
    for a in agents {
        let _ = writeln!(
            y,
            "  - {{ name: {}, address: {}, role: {} }}",
            a.name, a.address, a.role
        );
    }
    y
}

fn report(role: &str, failing: bool) -> Report {
    Report {
        role: Some(role.to_owned()),
        probe_failures: if failing {
            vec!["smtp probe: connection refused".to_owned()]
        } else {
            Vec::new()
        },
        metrics: [("queue_depth".to_owned(), 0.0), ("load1".to_owned(), 0.4)]
            .into_iter()
            .collect(),
        hook_failure: None,
    }
}

/// Every agent heard from at `at`, healthy, in its role.
fn fresh_observed(agents: &[Agent], at: Millis) -> Observed {
    let mut obs = Observed::default();
    for a in agents {
        obs.record(&a.name, report(a.role, false), at, DEAD_AFTER_MS);
    }
    obs
}

fn temp_store_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("muster.db").display())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

// ------------------------------------------------------------------ timing

struct Stats {
    median: Duration,
    p99: Duration,
    iters: usize,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            median: at(0.5),
            p99: at(0.99),
            iters: samples.len(),
        }
    }
}

fn measure(iters: usize, mut f: impl FnMut()) -> Stats {
    for _ in 0..iters.div_ceil(10).max(3) {
        f(); // warm-up
    }
    Stats::of(
        (0..iters)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A line of the results table.
struct Row {
    what: String,
    figure: String,
    goal: String,
    verdict: &'static str,
}

#[derive(Default)]
struct Table {
    rows: Vec<Row>,
    missed: bool,
}

impl Table {
    fn timing(&mut self, what: &str, s: &Stats, goal: bool) {
        let (goal_text, verdict) = if goal {
            let pass = ms(s.median) < GOAL_RECONCILE_MS;
            self.missed |= !pass;
            (
                format!("< {GOAL_RECONCILE_MS} ms"),
                if pass { "PASS" } else { "MISS" },
            )
        } else {
            ("-".to_owned(), "info")
        };
        self.rows.push(Row {
            what: what.to_owned(),
            figure: format!(
                "median {:.3} ms, p99 {:.3} ms (n={})",
                ms(s.median),
                ms(s.p99),
                s.iters
            ),
            goal: goal_text,
            verdict,
        });
    }

    fn row(&mut self, what: &str, figure: String, goal: Option<(String, bool)>) {
        let (goal, verdict) = match goal {
            Some((text, pass)) => {
                self.missed |= !pass;
                (text, if pass { "PASS" } else { "MISS" })
            }
            None => ("-".to_owned(), "info"),
        };
        self.rows.push(Row {
            what: what.to_owned(),
            figure,
            goal,
            verdict,
        });
    }

    fn print(&self) {
        let w0 = self.rows.iter().map(|r| r.what.len()).max().unwrap_or(0);
        let w1 = self.rows.iter().map(|r| r.figure.len()).max().unwrap_or(0);
        let w2 = self.rows.iter().map(|r| r.goal.len()).max().unwrap_or(0);
        println!();
        println!("{:w0$}  {:w1$}  {:w2$}  result", "measurement", "figure", "goal");
        println!("{}", "-".repeat(w0 + w1 + w2 + 12));
        for r in &self.rows {
            println!("{:w0$}  {:w1$}  {:w2$}  {}", r.what, r.figure, r.goal, r.verdict);
        }
    }
}

fn progress(msg: &str) {
    eprintln!("[controller bench] {msg}");
}

// ------------------------------------------------------------------ benches

/// The pure part of a tick with something to do, in `Engine::tick`'s
/// order: copy the observations, plan, copy the farm, apply, work out the
/// members, build the zone.
fn changing_tick(policy: &Policy, farm: &Farm, obs: &Observed, wanted: &Wanted) -> usize {
    let obs = obs.clone();
    let steps = reconcile::plan(policy, farm, &obs, wanted, NOW);
    let mut farm = farm.clone();
    let events: Vec<_> = steps
        .iter()
        .map(|s| reconcile::apply(&mut farm, s, NOW))
        .collect();
    let membership = reconcile::membership(policy, &farm, &obs);
    let zone = build_zone(policy, &farm, &membership, NOW, 1, None).expect("zone builds");
    black_box(&events);
    zone.records().count()
}

/// The pure part of a tick with nothing to do, as `Engine::tick` runs it:
/// copy the observations, decide the wanted counts, plan, find no steps and
/// the same members (compared without building them), and stop.
fn steady_tick(policy: &Policy, farm: &Farm, obs: &Observed, current: &Membership) -> bool {
    let obs = obs.clone();
    let decision = wanted::decide(policy, farm, &obs, &AutoscaleState::default(), NOW);
    let steps = reconcile::plan(policy, farm, &obs, &decision.wanted, NOW);
    steps.is_empty() && reconcile::membership_is(policy, farm, &obs, current)
}

fn describe(steps: &[Step]) -> String {
    let mut dead = 0;
    let mut moves = 0;
    let mut other = 0;
    for s in steps {
        match s {
            Step::MarkDead { .. } => dead += 1,
            Step::Assign { .. } | Step::StartDrain { .. } => moves += 1,
            _ => other += 1,
        }
    }
    format!(
        "{} steps: {dead} deaths, {moves} moves, {other} other",
        steps.len()
    )
}

fn main() {
    if std::env::var_os("MUSTER_BENCH_RSS").is_some() {
        rss_child();
        return;
    }
    let n: usize = env_or("BENCH_HOSTS", 10_000);
    let iters: usize = env_or("BENCH_ITERS", 300);
    let tick_iters: usize = env_or("BENCH_TICK_ITERS", 200);
    let ingest_secs: f64 = env_or("BENCH_INGEST_SECS", 1.5);
    let mut table = Table::default();

    let agents = agents(n);
    let yaml = policy_yaml(&agents);
    let t = Instant::now();
    let policy = policy::load_str(Path::new("bench.yaml"), &yaml).expect("generated policy is valid");
    let load_time = t.elapsed();
    table.row(
        &format!("policy load ({n} hosts, YAML)"),
        format!("{:.1} ms (once)", ms(load_time)),
        None,
    );

    // The engine on a fresh SQLite store: its farm is what the pure benches use.
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let observed: SharedObserved = Arc::new(Mutex::new(fresh_observed(&agents, T0)));
    let t = Instant::now();
    let mut engine = rt
        .block_on(async {
            let store = Store::open(&temp_store_url(dir.path()))
                .await
                .map_err(|e| e.to_string())?;
            Engine::start(policy.clone(), store, Arc::clone(&observed), T0)
                .await
                .map_err(|e| e.to_string())
        })
        .expect("engine starts");
    let start_time = t.elapsed();
    // Inventory hosts start arriving: the agents' first reports (they hold
    // their roles already) make them active in one tick.
    rt.block_on(engine.tick(T0)).expect("the first tick");
    let farm = engine.farm().clone();
    let zone_len = engine
        .shared()
        .load()
        .iter()
        .map(|s| s.zone().records().count())
        .sum::<usize>();
    table.row(
        "Engine::start (empty SQLite, first commit)",
        format!("{:.1} ms (once), zone of {zone_len} records", ms(start_time)),
        None,
    );

    // 1. plan alone.
    progress("plan");
    let obs = fresh_observed(&agents, T0);
    let wanted = reconcile::wanted_from_policy(&policy);
    let steps = reconcile::plan(&policy, &farm, &obs, &wanted, NOW);
    assert!(steps.is_empty(), "steady farm plans nothing, got {steps:?}");
    let s = measure(iters, || {
        black_box(reconcile::plan(&policy, &farm, &obs, &wanted, NOW));
    });
    table.timing("plan, steady (0 steps)", &s, true);

    // Work: 10 hosts of each role silent for 10 s, and web's min raised
    // above its 2,000 members so the reconciler has to move hosts in.
    let mut work_policy = policy.clone();
    let web_min = u32::try_from(n / ROLES.len()).expect("fits") + 100;
    work_policy.roles.get_mut("web").expect("web").min = web_min;
    let work_wanted = reconcile::wanted_from_policy(&work_policy);
    let mut work_obs = obs.clone();
    for a in agents.iter().take(10 * ROLES.len()) {
        work_obs.record(&a.name, report(a.role, false), NOW - 10_000, DEAD_AFTER_MS);
    }
    let work_steps = reconcile::plan(&work_policy, &farm, &work_obs, &work_wanted, NOW);
    assert!(!work_steps.is_empty());
    let work_desc = describe(&work_steps);
    let s = measure(iters, || {
        black_box(reconcile::plan(&work_policy, &farm, &work_obs, &work_wanted, NOW));
    });
    table.timing(&format!("plan, work ({work_desc})"), &s, true);

    // 2. The pure part of a tick.
    progress("pure tick");
    let current = reconcile::membership(&policy, &farm, &obs);
    assert!(steady_tick(&policy, &farm, &obs, &current));
    let s = measure(iters, || {
        black_box(steady_tick(&policy, &farm, &obs, &current));
    });
    table.timing("steady tick, pure: obs copy+decide+plan+same members", &s, true);
    let s = measure(iters, || {
        black_box(changing_tick(&work_policy, &farm, &work_obs, &work_wanted));
    });
    table.timing("work tick, pure: +farm clone+apply+build_zone", &s, true);
    // Its parts, for the profile.
    let s = measure(iters, || {
        black_box(obs.clone());
    });
    table.timing("  part: Observed clone", &s, false);
    let s = measure(iters, || {
        black_box(wanted::decide(
            &policy,
            &farm,
            &obs,
            &AutoscaleState::default(),
            NOW,
        ));
    });
    table.timing("  part: wanted::decide", &s, false);
    let s = measure(iters, || {
        black_box(reconcile::membership_is(&policy, &farm, &obs, &current));
    });
    table.timing("  part: membership_is", &s, false);
    let s = measure(iters, || {
        black_box(farm.clone());
    });
    table.timing("  part: farm.clone()", &s, false);
    let s = measure(iters, || {
        black_box(reconcile::membership(&policy, &farm, &obs));
    });
    table.timing("  part: membership", &s, false);
    let membership = reconcile::membership(&policy, &farm, &obs);
    let s = measure(iters, || {
        black_box(build_zone(&policy, &farm, &membership, NOW, 1, None).expect("zone"));
    });
    table.timing("  part: build_zone", &s, false);
    let catalog = engine.shared().load_full();
    let current = catalog.iter().next().expect("the zone is served");
    let zone = build_zone(&policy, &farm, &membership, NOW, 1, None).expect("zone");
    let s = measure(iters, || {
        black_box(zone.same_content(current.zone()));
    });
    table.timing("  part: Zone::same_content", &s, false);

    // 3. Engine::tick end to end.
    progress("Engine::tick");
    let report0 = rt.block_on(engine.tick(NOW)).expect("tick");
    assert_eq!(report0.steps, 0, "steady tick applies nothing");
    assert_eq!(report0.serial, None, "steady tick publishes nothing");
    let s = measure(tick_iters, || {
        black_box(rt.block_on(engine.tick(NOW)).expect("tick"));
    });
    table.timing("Engine::tick, steady (no commit)", &s, true);

    // A change each tick: web host k fails its probe (death, unpublish)
    // while host k-1, dead since the previous tick, has reported three good
    // heartbeats (revival, publish). One transaction, a new serial, a new
    // snapshot every tick.
    let web: Vec<&Agent> = agents.iter().filter(|a| a.role == "web").collect();
    let mut k = 0usize;
    let mut now = NOW;
    let mut change = |rt: &tokio::runtime::Runtime, engine: &mut Engine| {
        now += 1;
        {
            let mut o = observed.lock().expect("lock");
            let fail = web[k % web.len()];
            o.record(&fail.name, report(fail.role, true), now, DEAD_AFTER_MS);
            if k > 0 {
                let back = web[(k - 1) % web.len()];
                for _ in 0..3 {
                    o.record(&back.name, report(back.role, false), now, DEAD_AFTER_MS);
                }
            }
        }
        k += 1;
        let r = rt.block_on(engine.tick(now)).expect("tick");
        assert!(r.serial.is_some() && r.steps >= 1, "a change each tick: {r:?}");
    };
    let s = measure(tick_iters, || change(&rt, &mut engine));
    table.timing("Engine::tick, a change each tick (commit)", &s, false);
    // Back to steady: heal the last one.
    {
        let mut o = observed.lock().expect("lock");
        let back = web[(k - 1) % web.len()];
        for _ in 0..3 {
            o.record(&back.name, report(back.role, false), now, DEAD_AFTER_MS);
        }
    }
    rt.block_on(engine.tick(now + 1)).expect("tick");

    // 4. Heartbeat ingest. The controller task is spawned on a current-thread
    // runtime that is not driven while we measure: its ticks do not run, so
    // the one thread measured does only the ingest.
    progress("heartbeat ingest");
    let ingest_now = now + 2;
    let dead_after = DEAD_AFTER_MS;
    let cancel = CancellationToken::new();
    let (handle, task) = {
        let _guard = rt.enter();
        spawn_controller(engine, Arc::clone(&observed), cancel.clone())
    };
    let batch = |agents: &[Agent]| -> Vec<Heartbeat> {
        agents
            .iter()
            .map(|a| Heartbeat {
                name: a.name.clone(),
                addresses: vec![a.address],
                report: report(a.role, false),
            })
            .collect()
    };
    let first = handle
        .heartbeat(
            batch(&agents[..1]).remove(0),
            &AgentCredential::Shared,
            ingest_now,
        )
        .expect("known host accepted");
    assert_eq!(first.state, HostState::Active);
    let (count, secs) = timed_rounds(
        ingest_secs,
        || batch(&agents),
        |hbs| {
            let n = hbs.len();
            for hb in hbs {
                black_box(
                    handle
                        .heartbeat(hb, &AgentCredential::Shared, ingest_now)
                        .expect("accepted"),
                );
            }
            n
        },
    );
    let rate = count as f64 / secs;
    table.row(
        "ControllerHandle::heartbeat, 1 thread",
        format!(
            "{:.0} heartbeats/s ({:.0} ns each, {count} in {secs:.2} s)",
            rate,
            secs * 1e9 / count as f64
        ),
        Some((
            format!(">= {GOAL_HEARTBEATS_PER_S:.0}/s"),
            rate >= GOAL_HEARTBEATS_PER_S,
        )),
    );

    let mut alone = fresh_observed(&agents, T0);
    let names: Vec<String> = agents.iter().map(|a| a.name.clone()).collect();
    let (count, secs) = timed_rounds(
        ingest_secs,
        || agents.iter().map(|a| report(a.role, false)).collect::<Vec<_>>(),
        |reports| {
            let n = reports.len();
            for (name, r) in names.iter().zip(reports) {
                alone.record(name, r, ingest_now, dead_after);
            }
            n
        },
    );
    let rate = count as f64 / secs;
    table.row(
        "Observed::record alone, 1 thread",
        format!(
            "{:.0} records/s ({:.0} ns each, {count} in {secs:.2} s)",
            rate,
            secs * 1e9 / count as f64
        ),
        None,
    );
    // Building the heartbeats (untimed above) costs about as much again; for
    // a reader who wants the HTTP handler's allocations in the figure.
    let (count, secs) = timed_rounds(
        ingest_secs / 3.0,
        || (),
        |()| {
            let hbs = batch(&agents);
            let n = hbs.len();
            black_box(hbs);
            n
        },
    );
    table.row(
        "  (building one Heartbeat, not in the figures above)",
        format!("{:.0} ns each", secs * 1e9 / count as f64),
        None,
    );
    cancel.cancel();
    drop(handle);
    let _ = rt.block_on(task);

    // 5. Memory, in a fresh process.
    progress("memory (child process)");
    let exe = std::env::current_exe().expect("current exe");
    let out = std::process::Command::new(exe)
        .env("MUSTER_BENCH_RSS", "1")
        .env("BENCH_HOSTS", n.to_string())
        .output()
        .expect("memory child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "memory child failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |key: &str| -> f64 {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let (base, rss, hwm) = (field("base_kb"), field("rss_kb"), field("hwm_kb"));
    let mb = |kb: f64| kb / 1024.0;
    table.row(
        &format!("controller RSS, {n} hosts"),
        format!(
            "VmRSS {:.1} MB, VmHWM {:.1} MB (process before start: {:.1} MB)",
            mb(rss),
            mb(hwm),
            mb(base)
        ),
        Some((format!("< {GOAL_RSS_MB:.0} MB peak"), mb(hwm) < GOAL_RSS_MB)),
    );

    table.print();
    println!(
        "\nMB = MiB. Goals: reconcile < 5 ms (plan, pure ticks, steady Engine::tick), >= 100,000 heartbeats/s on one core, < 100 MB."
    );
    if table.missed {
        std::process::exit(1);
    }
}

/// Runs `run` over inputs made by `make` (untimed) until `secs` of timed
/// work; returns how many items `run` reported and the seconds it took.
fn timed_rounds<T>(secs: f64, mut make: impl FnMut() -> T, mut run: impl FnMut(T) -> usize) -> (usize, f64) {
    let _ = run(make()); // warm-up
    let (mut count, mut spent) = (0usize, 0f64);
    while spent < secs {
        let input = make();
        let t = Instant::now();
        count += run(input);
        spent += t.elapsed().as_secs_f64();
    }
    (count, spent)
}

// ------------------------------------------------------------------ memory

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(key)?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

/// The memory child: only what a controller holds, then VmRSS and VmHWM.
fn rss_child() {
    let n: usize = env_or("BENCH_HOSTS", 10_000);
    let rt = runtime();
    let base = status_kb("VmRSS:");
    let agents = agents(n);
    let policy = {
        let yaml = policy_yaml(&agents);
        policy::load_str(Path::new("bench.yaml"), &yaml).expect("generated policy is valid")
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let observed: SharedObserved = Arc::new(Mutex::new(Observed::default()));
    let cancel = CancellationToken::new();
    let (handle, task, snapshot) = rt.block_on(async {
        let store = Store::open(&temp_store_url(dir.path())).await.expect("store");
        let engine = Engine::start(policy, store, Arc::clone(&observed), T0)
            .await
            .expect("engine starts");
        let snapshot = engine.shared();
        let (handle, task) = spawn_controller(engine, Arc::clone(&observed), cancel.clone());
        (handle, task, snapshot)
    });
    let records = snapshot
        .load()
        .iter()
        .map(|s| s.zone().records().count())
        .sum::<usize>();
    for round in 0..10 {
        for a in &agents {
            let hb = Heartbeat {
                name: a.name.clone(),
                addresses: vec![a.address],
                report: report(a.role, false),
            };
            black_box(
                handle
                    .heartbeat(hb, &AgentCredential::Shared, T0 + 100 * round)
                    .expect("accepted"),
            );
        }
    }
    let observed_hosts = observed.lock().expect("lock").len();
    let handle: ControllerHandle = handle;
    let view_hosts = handle.view().farm.hosts.len();
    println!(
        "base_kb={base} rss_kb={} hwm_kb={} records={records} observed={observed_hosts} view_hosts={view_hosts}",
        status_kb("VmRSS:"),
        status_kb("VmHWM:"),
    );
    cancel.cancel();
    let _ = rt.block_on(task);
}
