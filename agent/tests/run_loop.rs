//! The run loop against a scripted controller stub on 127.0.0.1:0: backoff
//! while the controller fails, the hook once it answers, fatal 409, clean
//! cancellation.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use muster_agent::config::FileConfig;
use muster_agent::{AgentConfig, AgentError, AgentFlags, Token, run_agent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

type Script = dyn Fn(usize) -> (u16, String) + Send + Sync;

/// A controller that answers the n-th heartbeat with `script(n)` and keeps
/// every request it was sent (head and body).
struct Stub {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Stub {
    async fn start(script: impl Fn(usize) -> (u16, String) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        let script: Arc<Script> = Arc::new(script);
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let Some(body) = read_request(&mut s).await else {
                    continue;
                };
                let n = {
                    let mut b = seen.lock().expect("lock");
                    b.push(body);
                    b.len() - 1
                };
                let (status, reply) = script(n);
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{reply}",
                    reply.len()
                );
                let _ = s.write_all(response.as_bytes()).await;
            }
        });
        Self { addr, bodies, task }
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().expect("lock").clone()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(s: &mut tokio::net::TcpStream) -> Option<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if body.len() >= len {
                return Some(text.into_owned());
            }
        }
    }
}

fn reply(role: &str, state: &str) -> (u16, String) {
    (
        200,
        format!(r#"{{"role":"{role}","state":"{state}","interval_ms":100,"probes":[]}}"#),
    )
}

fn config(addr: SocketAddr, state_dir: &std::path::Path, hook: Option<String>) -> AgentConfig {
    let flags = AgentFlags {
        controller: format!("http://{addr}"),
        name: "smurf1".into(),
        addresses: vec!["127.0.1.1".parse().expect("ip")],
        token: Some(Token::new("t0ken")),
        on_role_change: hook,
        config: None,
    };
    let file = FileConfig::parse(&format!(
        "state_dir: {}\nmax_backoff: 300ms\nqueue_command: echo 0\n",
        state_dir.display()
    ))
    .expect("file");
    AgentConfig::from_parts(flags, file).expect("config")
}

async fn wait_for(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_409_stops_the_agent_with_an_error() {
    let stub = Stub::start(|_| {
        (
            409,
            r#"{"error":{"code":"conflict","message":"name held by another token"}}"#.into(),
        )
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        run_agent(config(stub.addr, dir.path(), None), CancellationToken::new()),
    )
    .await
    .expect("returns at once");
    let Err(e @ AgentError::NameTaken { .. }) = result else {
        panic!("{result:?}")
    };
    assert!(e.to_string().contains("smurf1"), "{e}");
    assert_eq!(stub.bodies().len(), 1, "no retry after a 409");
}

#[tokio::test]
async fn failures_back_off_keep_the_role_and_run_no_hook_then_the_hook_runs_once() {
    // Five 503s, then the controller assigns web.
    let stub = Stub::start(|n| {
        if n < 5 {
            (503, "down".into())
        } else {
            reply("web", "active")
        }
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("role"), "smtp-out\n").expect("seed role");
    let log = dir.path().join("hook.log");
    let hook = format!("echo \"$MUSTER_PREVIOUS_ROLE $MUSTER_ROLE\" >> {}", log.display());
    let cancel = CancellationToken::new();
    let agent = tokio::spawn(run_agent(
        config(stub.addr, dir.path(), Some(hook)),
        cancel.clone(),
    ));
    let started = Instant::now();
    wait_for(Duration::from_secs(10), "the new role reported", || {
        stub.bodies().iter().any(|b| b.contains(r#""role":"web""#))
    })
    .await;
    let bodies = stub.bodies();
    assert!(
        bodies[..6].iter().all(|b| b.contains(r#""role":"smtp-out""#)),
        "the old role while the controller was away: {bodies:?}"
    );
    // Five waits of at most 300 ms (full jitter), not a hot loop.
    assert!(started.elapsed() < Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(std::fs::read_to_string(&log).expect("hook ran"), "smtp-out web\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("role")).expect("role"),
        "web\n"
    );
    cancel.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(2), agent)
        .await
        .expect("stops");
    assert!(stopped.expect("joined").is_ok());
}

#[tokio::test]
async fn a_failing_hook_is_reported_and_the_old_role_kept() {
    let stub = Stub::start(|_| reply("web", "active")).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("role"), "smtp-out\n").expect("seed role");
    let cancel = CancellationToken::new();
    let agent = tokio::spawn(run_agent(
        config(stub.addr, dir.path(), Some("echo boom >&2; exit 3".into())),
        cancel.clone(),
    ));
    wait_for(Duration::from_secs(5), "the failure reported", || {
        stub.bodies()
            .iter()
            .any(|b| b.contains(r#""hook_failure":"exit 3: boom""#) && b.contains(r#""role":"smtp-out""#))
    })
    .await;
    assert_eq!(
        std::fs::read_to_string(dir.path().join("role")).expect("role"),
        "smtp-out\n"
    );
    cancel.cancel();
    assert!(agent.await.expect("joined").is_ok());
}

#[tokio::test]
async fn a_401_is_retried_until_the_token_is_accepted() {
    let stub = Stub::start(|n| {
        if n < 3 {
            (
                401,
                r#"{"error":{"code":"unauthorized","message":"bad agent token"}}"#.into(),
            )
        } else {
            reply("web", "active")
        }
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cancel = CancellationToken::new();
    let agent = tokio::spawn(run_agent(config(stub.addr, dir.path(), None), cancel.clone()));
    wait_for(Duration::from_secs(5), "the role taken after the 401s", || {
        stub.bodies().iter().any(|b| b.contains(r#""role":"web""#))
    })
    .await;
    cancel.cancel();
    assert!(agent.await.expect("joined").is_ok());
}

#[tokio::test]
async fn an_issued_host_token_replaces_the_enrolment_token_and_survives_a_restart() {
    let stub = Stub::start(|n| {
        if n == 0 {
            (
                200,
                r#"{"role":"web","state":"active","interval_ms":100,"probes":[],"token":"host-secret"}"#
                    .into(),
            )
        } else {
            reply("web", "active")
        }
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cancel = CancellationToken::new();
    let agent = tokio::spawn(run_agent(config(stub.addr, dir.path(), None), cancel.clone()));
    wait_for(Duration::from_secs(5), "three heartbeats", || {
        stub.bodies().len() >= 3
    })
    .await;
    cancel.cancel();
    assert!(agent.await.expect("joined").is_ok());
    let requests = stub.bodies();
    assert!(requests[0].contains("Bearer t0ken"), "{}", requests[0]);
    assert!(
        requests[1..].iter().all(|r| r.contains("Bearer host-secret")),
        "{requests:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("token")).expect("stored"),
        "host-secret\n"
    );

    // A restarted agent presents the stored token, not --token.
    let cancel = CancellationToken::new();
    let agent = tokio::spawn(run_agent(config(stub.addr, dir.path(), None), cancel.clone()));
    let before = requests.len();
    wait_for(Duration::from_secs(5), "a heartbeat after the restart", || {
        stub.bodies().len() > before
    })
    .await;
    cancel.cancel();
    assert!(agent.await.expect("joined").is_ok());
    assert!(stub.bodies()[before].contains("Bearer host-secret"));
}
