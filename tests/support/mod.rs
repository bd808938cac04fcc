//! Test support: start the real `muster` binary on free ports, query it with
//! real `dig`, and clean everything up on drop.
#![allow(dead_code, unreachable_pub)]

pub mod api;
pub mod chromium;
pub mod dig;
pub mod peers;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use dig::dig;

/// A free port on `ip` for both UDP and TCP.
pub fn free_port(ip: &str) -> u16 {
    for _ in 0..100 {
        let udp = UdpSocket::bind((ip, 0)).expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on {ip}");
}

/// Polls `check` until it returns `Some` or `within` passes.
pub fn eventually<T>(within: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {within:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `muster serve`.
pub struct Muster {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub dns: SocketAddr,
    pub api: SocketAddr,
    pub extra_args: Vec<String>,
    /// Environment variables set for `muster serve`.
    pub env: Vec<(String, String)>,
}

impl Muster {
    /// Writes `policy` and starts `muster serve` on fresh ports in a fresh dir.
    pub fn start(policy: &str) -> Self {
        Self::start_with(policy, &[])
    }

    /// Same, with extra command-line arguments.
    pub fn start_with(policy: &str, extra: &[&str]) -> Self {
        Self::start_on("127.0.0.1", policy, extra)
    }

    /// Same, serving DNS on `dns_ip` (a 127.0.0.x address of its own).
    pub fn start_on(dns_ip: &str, policy: &str, extra: &[&str]) -> Self {
        Self::start_on_env(dns_ip, policy, extra, &[])
    }

    /// Same, with environment variables set for `muster serve`.
    pub fn start_on_env(dns_ip: &str, policy: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("policy.yaml"), policy).expect("write policy");
        let mut m = Self {
            child: None,
            dns: SocketAddr::new(dns_ip.parse().expect("an IP"), free_port(dns_ip)),
            api: SocketAddr::from(([127, 0, 0, 1], free_port("127.0.0.1"))),
            dir,
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        m.spawn();
        m
    }

    pub fn policy_path(&self) -> PathBuf {
        self.dir.path().join("policy.yaml")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("muster.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_muster"))
            .arg("serve")
            .arg("--policy")
            .arg(self.policy_path())
            .args(if self.extra_args.iter().any(|a| a == "--db") {
                Vec::new()
            } else {
                vec![
                    "--db".to_string(),
                    format!("sqlite://{}", self.dir.path().join("muster.db").display()),
                ]
            })
            .arg("--dns-listen")
            .arg(self.dns.to_string())
            .arg("--api-listen")
            .arg(self.api.to_string())
            .args(&self.extra_args)
            .env("MUSTER_LOG", "info,muster_dns=debug")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn muster");
        self.child = Some(child);
        let dns = self.dns;
        eventually(Duration::from_secs(20), "muster to answer DNS", || {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("muster exited early with {status}:\n{}", self.log());
            }
            let out = dig(dns, &["lists.example.test", "SOA"]);
            (out.status == "NOERROR").then_some(())
        });
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Replaces the policy file and sends SIGHUP.
    pub fn reload(&self, policy: &str) {
        std::fs::write(self.policy_path(), policy).expect("write policy");
        signal(self.pid(), "HUP");
    }

    /// Stops (SIGKILL when `hard`, SIGTERM otherwise) and starts again with
    /// the same database, ports and policy file.
    pub fn restart(&mut self, hard: bool) {
        self.stop(hard);
        self.spawn();
    }

    /// Stops the process; returns its exit status.
    pub fn stop(&mut self, hard: bool) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        signal(child.id(), if hard { "KILL" } else { "TERM" });
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The serial muster serves now.
    pub fn serial(&self) -> u32 {
        soa_serial(self.dns).expect("SOA answer")
    }
}

impl Drop for Muster {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends a signal with kill(1).
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// The SOA serial a server gives for lists.example.test.
pub fn soa_serial(server: SocketAddr) -> Option<u32> {
    let out = dig(server, &["lists.example.test", "SOA"]);
    out.answer
        .iter()
        .find(|r| r.rtype == "SOA")
        .and_then(|r| r.data.split_whitespace().nth(2)?.parse().ok())
}

/// Path to a file in the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A plain HTTP/1.1 GET; returns (status, body).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A plain HTTP/1.1 request with an optional bearer token and JSON body;
/// returns (status, body). Panics when the server cannot be reached.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    try_http(addr, method, path, token, body).unwrap_or_else(|e| panic!("{method} {path} to {addr}: {e}"))
}

/// [`http`], with an unreachable server an error (as an agent sees a
/// controller that is restarting) rather than a panic.
pub fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        request.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// A `load1` figure that simulated agents report, changed by the test.
#[derive(Clone, Debug, Default)]
pub struct Load(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Load {
    /// What agents report from their next heartbeat on.
    pub fn set(&self, value: f64) {
        self.0
            .store(value.to_bits(), std::sync::atomic::Ordering::Relaxed);
    }

    /// The figure now.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// A simulated agent: a thread posting heartbeats until stopped.
pub struct SimAgent {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimAgent {
    /// Reports `name` at `address`, starting in `role`, every `every`, with
    /// `queue_depth` 0 and passing probes; takes on whatever role the
    /// controller assigns (as a real agent does once its hook ran).
    pub fn start(
        api: SocketAddr,
        token: &str,
        name: &str,
        address: &str,
        role: &str,
        every: Duration,
    ) -> Self {
        Self::with_load(api, token, name, address, role, every, &Load::default())
    }

    /// [`SimAgent::start`], also reporting `load1` as `load` says at each
    /// heartbeat.
    pub fn with_load(
        api: SocketAddr,
        token: &str,
        name: &str,
        address: &str,
        role: &str,
        every: Duration,
        load: &Load,
    ) -> Self {
        let load = load.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let (token, name, address) = (token.to_string(), name.to_string(), address.to_string());
        let mut role = role.to_string();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let body = format!(
                    r#"{{"name":"{name}","addresses":["{address}"],"role":"{role}","metrics":{{"queue_depth":0,"load1":{}}},"probes":[{{"name":"smtp","ok":true}}]}}"#,
                    load.get()
                );
                // A controller that is restarting refuses the connection: a
                // real agent retries at its next beat, and so does this one.
                let reply = try_http(api, "POST", "/api/v1/agents/heartbeat", Some(&token), Some(&body))
                    .map(|(_, reply)| reply)
                    .unwrap_or_default();
                if let Some(assigned) = reply
                    .split("\"role\":\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                {
                    role = assigned.to_string();
                }
                std::thread::sleep(every);
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops reporting (as if the box died).
    pub fn kill(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SimAgent {
    fn drop(&mut self) {
        self.kill();
    }
}
