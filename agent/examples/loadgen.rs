//! Load generator for the heartbeat endpoint: one process simulating N
//! agents over real HTTP/1.1 with keep-alive, each posting a heartbeat once
//! per second (phases spread evenly over the second), taking on the role it
//! is assigned as a hookless agent would.
//!
//! ```text
//! cargo run --release -p muster-agent --example loadgen -- \
//!     --api 127.0.0.1:8700 --token T --agents 10000 --duration 20 \
//!     [--warmup 10] [--prefix lg] [--clients 0] [--threads 1] [--server-pid PID]
//!     [--trace FILE]
//! ```
//!
//! `--clients 0` (the default) gives every simulated agent its own
//! connection, as real agents have; `--clients K` shares K connection pools.
//! With `--server-pid`, the controller's CPU time (utime+stime from
//! /proc/PID/stat) over the measured window and its RSS are reported too.
//! `--trace FILE` writes every measured request as `ms-into-window latency-µs`.
//! Prints one `key=value` line per figure. Only loopback addresses are
//! accepted as targets.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use muster_api::{HeartbeatBody, HeartbeatReply};
use tokio::time::{Instant, MissedTickBehavior};

struct Opts {
    api: SocketAddr,
    token: String,
    agents: usize,
    duration: Duration,
    warmup: Duration,
    prefix: String,
    clients: usize,
    threads: usize,
    server_pid: Option<u32>,
    trace: Option<String>,
}

#[derive(Default)]
struct Stats {
    ok: u64,
    errors: BTreeMap<String, u64>,
    latencies_us: Vec<u32>,
    /// (milliseconds since the window opened, latency in µs), for `--trace`.
    samples: Vec<(u32, u32)>,
    warmup_ok: u64,
    warmup_errors: u64,
}

fn main() -> Result<(), String> {
    let opts = parse_args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(run(opts))
}

async fn run(opts: Opts) -> Result<(), String> {
    let opts = Arc::new(opts);
    let pools = if opts.clients == 0 {
        opts.agents
    } else {
        opts.clients
    };
    let clients: Vec<reqwest::Client> = (0..pools)
        .map(|_| {
            reqwest::Client::builder()
                .pool_idle_timeout(Duration::from_secs(120))
                .timeout(Duration::from_secs(10))
                .tcp_nodelay(true)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let start = Instant::now() + Duration::from_millis(200);
    let measure_from = start + opts.warmup;
    let end = measure_from + opts.duration;
    let url = format!("http://{}/api/v1/agents/heartbeat", opts.api);
    eprintln!(
        "loadgen: {} agents, {} connection pool(s), warmup {:?}, measuring {:?}",
        opts.agents, pools, opts.warmup, opts.duration
    );

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..opts.agents {
        let client = clients[i % pools].clone();
        let (opts, url) = (opts.clone(), url.clone());
        let phase = Duration::from_secs(1).mul_f64(i as f64 / opts.agents as f64);
        tasks.spawn(agent(i, client, opts, url, start + phase, measure_from, end));
    }
    tokio::time::sleep_until(measure_from).await;
    let server_before = opts.server_pid.and_then(cpu_ticks);
    let self_before = cpu_ticks(std::process::id());
    tokio::time::sleep_until(end).await;
    let server_after = opts.server_pid.and_then(cpu_ticks);
    let self_after = cpu_ticks(std::process::id());
    let rss = opts.server_pid.and_then(|p| status_kib(p, "VmRSS:"));
    let hwm = opts.server_pid.and_then(|p| status_kib(p, "VmHWM:"));

    let mut total = Stats::default();
    while let Some(done) = tasks.join_next().await {
        let s = done.map_err(|e| e.to_string())?;
        total.ok += s.ok;
        total.warmup_ok += s.warmup_ok;
        total.warmup_errors += s.warmup_errors;
        for (k, v) in s.errors {
            *total.errors.entry(k).or_default() += v;
        }
        total.latencies_us.extend(s.latencies_us);
        total.samples.extend(s.samples);
    }
    if let Some(path) = &opts.trace {
        total.samples.sort_unstable();
        let text: String = total
            .samples
            .iter()
            .map(|(t, us)| format!("{t} {us}\n"))
            .collect();
        std::fs::write(path, text).map_err(|e| format!("{path}: {e}"))?;
    }
    total.latencies_us.sort_unstable();
    let secs = opts.duration.as_secs_f64();
    let tck = clock_ticks_per_second();
    println!("agents={}", opts.agents);
    println!("measured_seconds={secs}");
    println!("heartbeats_ok={}", total.ok);
    println!("heartbeats_per_second={:.0}", total.ok as f64 / secs);
    println!("offered_per_second={}", opts.agents);
    println!(
        "errors={}",
        if total.errors.is_empty() {
            "none".to_owned()
        } else {
            format!("{:?}", total.errors)
        }
    );
    println!(
        "warmup_ok={} warmup_errors={}",
        total.warmup_ok, total.warmup_errors
    );
    for (name, q) in [("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0)] {
        println!(
            "latency_{name}_ms={:.2}",
            percentile(&total.latencies_us, q) / 1000.0
        );
    }
    if let (Some(b), Some(a)) = (server_before, server_after) {
        let cpu = (a - b) as f64 / tck;
        println!("controller_cpu_seconds={cpu:.2}");
        println!("controller_cpu_percent_of_one_core={:.1}", 100.0 * cpu / secs);
    }
    if let (Some(b), Some(a)) = (self_before, self_after) {
        println!(
            "loadgen_cpu_percent_of_one_core={:.1}",
            100.0 * (a - b) as f64 / tck / secs
        );
    }
    if let Some(kib) = rss {
        println!("controller_rss_mib={:.1}", kib as f64 / 1024.0);
    }
    if let Some(kib) = hwm {
        println!("controller_peak_rss_mib={:.1}", kib as f64 / 1024.0);
    }
    Ok(())
}

async fn agent(
    i: usize,
    client: reqwest::Client,
    opts: Arc<Opts>,
    url: String,
    first: Instant,
    measure_from: Instant,
    end: Instant,
) -> Stats {
    let mut stats = Stats::default();
    let mut body = HeartbeatBody {
        name: format!("{}{i}", opts.prefix),
        addresses: vec![address(i)],
        role: None,
        probes: Vec::new(),
        metrics: BTreeMap::from([("queue_depth".to_owned(), 0.0), ("load1".to_owned(), 0.1)]),
        hook_failure: None,
    };
    let mut bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut tick = tokio::time::interval_at(first, Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let at = tick.tick().await;
        if at >= end {
            return stats;
        }
        let measured = at >= measure_from;
        let sent = Instant::now();
        let response = client
            .post(&url)
            .bearer_auth(&opts.token)
            .header("content-type", "application/json")
            .body(bytes.clone())
            .send()
            .await;
        let outcome = match response {
            Ok(r) if r.status().is_success() => match r.bytes().await {
                Ok(b) => Ok(b),
                Err(e) => Err(format!("body: {}", kind(&e))),
            },
            Ok(r) => {
                let status = r.status().as_u16();
                let _ = r.bytes().await;
                Err(format!("status {status}"))
            }
            Err(e) => Err(kind(&e)),
        };
        let latency = sent.elapsed();
        match outcome {
            Ok(reply) => {
                if measured {
                    stats.ok += 1;
                    let us = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
                    stats.latencies_us.push(us);
                    if opts.trace.is_some() {
                        let ms = u32::try_from((sent - measure_from).as_millis()).unwrap_or(u32::MAX);
                        stats.samples.push((ms, us));
                    }
                } else {
                    stats.warmup_ok += 1;
                }
                // Take the assigned role, as a hookless agent does.
                if let Ok(r) = serde_json::from_slice::<HeartbeatReply>(&reply)
                    && r.role.is_some()
                    && r.role != body.role
                {
                    body.role = r.role;
                    bytes = serde_json::to_vec(&body).unwrap_or_default();
                }
            }
            Err(e) if measured => *stats.errors.entry(e).or_default() += 1,
            Err(_) => stats.warmup_errors += 1,
        }
    }
}

fn kind(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".to_owned()
    } else if e.is_connect() {
        "connect".to_owned()
    } else {
        "other".to_owned()
    }
}

/// 127.1.x.y: loopback, distinct per agent (data only; nothing is sent there).
fn address(i: usize) -> IpAddr {
    let b = u8::try_from((i / 250) % 250).unwrap_or(0);
    let c = u8::try_from(i % 250 + 1).unwrap_or(1);
    IpAddr::V4(Ipv4Addr::new(127, 1, b, c))
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[idx])
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn parse_args() -> Result<Opts, String> {
    let mut opts = Opts {
        api: SocketAddr::from(([127, 0, 0, 1], 8700)),
        token: String::new(),
        agents: 1000,
        duration: Duration::from_secs(20),
        warmup: Duration::from_secs(10),
        prefix: "lg".to_owned(),
        clients: 0,
        threads: 1,
        server_pid: None,
        trace: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<u64>().map_err(|e| format!("{v}: {e}"));
        match flag.as_str() {
            "--api" => opts.api = value()?.parse().map_err(|e| format!("--api: {e}"))?,
            "--token" => opts.token = value()?,
            "--agents" => opts.agents = num(value()?)? as usize,
            "--duration" => opts.duration = Duration::from_secs(num(value()?)?),
            "--warmup" => opts.warmup = Duration::from_secs(num(value()?)?),
            "--prefix" => opts.prefix = value()?,
            "--clients" => opts.clients = num(value()?)? as usize,
            "--threads" => opts.threads = (num(value()?)? as usize).max(1),
            "--server-pid" => opts.server_pid = Some(num(value()?)? as u32),
            "--trace" => opts.trace = Some(value()?),
            other => {
                return Err(format!(
                    "unknown flag {other}; see the top of agent/examples/loadgen.rs"
                ));
            }
        }
    }
    if !opts.api.ip().is_loopback() {
        return Err(format!(
            "--api {} is not a loopback address; load tests stay on this machine",
            opts.api
        ));
    }
    if opts.agents == 0 {
        return Err("--agents must be at least 1".to_owned());
    }
    Ok(opts)
}
