//! The health checks the controller asks for, run concurrently, each bounded
//! by its own timeout: a hung probe costs its timeout and nothing more.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::future::join_all;
use muster_api::{ProbeResult, ProbeSpec};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpStream;

use crate::shell;

/// Runs every probe at once; results come back in the order given.
/// Command probes get `env` (the agent passes `MUSTER_HOST` and
/// `MUSTER_ROLE`, so one command line can serve every host).
pub async fn run_probes(
    specs: &[ProbeSpec],
    http: &reqwest::Client,
    env: &[(&str, &str)],
) -> Vec<ProbeResult> {
    join_all(specs.iter().map(|spec| run_probe(spec, http, env))).await
}

/// Runs one probe within its timeout.
pub async fn run_probe(spec: &ProbeSpec, http: &reqwest::Client, env: &[(&str, &str)]) -> ProbeResult {
    let (name, timeout_ms) = match spec {
        ProbeSpec::Tcp { name, timeout_ms, .. }
        | ProbeSpec::Smtp { name, timeout_ms, .. }
        | ProbeSpec::Http { name, timeout_ms, .. }
        | ProbeSpec::Command { name, timeout_ms, .. } => (name, *timeout_ms),
    };
    let timeout = Duration::from_millis(timeout_ms.max(1));
    let outcome = match spec {
        ProbeSpec::Tcp { port, .. } => bounded(timeout, tcp(*port)).await,
        ProbeSpec::Smtp { port, .. } => bounded(timeout, smtp(*port)).await,
        ProbeSpec::Http { url, expect, .. } => bounded(timeout, get(http, url, *expect)).await,
        // The shell module kills the command's process group at the deadline.
        ProbeSpec::Command { run, .. } => command(run, env, timeout).await,
    };
    ProbeResult {
        name: name.clone(),
        ok: outcome.is_ok(),
        reason: outcome.err(),
    }
}

async fn bounded(timeout: Duration, check: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(timeout, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {}ms", timeout.as_millis())))
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

async fn tcp(port: u16) -> Result<(), String> {
    TcpStream::connect(local(port))
        .await
        .map(drop)
        .map_err(|e| format!("connect 127.0.0.1:{port}: {e}"))
}

async fn smtp(port: u16) -> Result<(), String> {
    let stream = TcpStream::connect(local(port))
        .await
        .map_err(|e| format!("connect 127.0.0.1:{port}: {e}"))?;
    let mut line = String::new();
    // Greetings are short: a peer sending megabytes without a newline must
    // not grow the buffer without bound.
    let mut reader = BufReader::new(stream.take(4096));
    reader
        .read_line(&mut line)
        .await
        .map_err(|e| format!("reading the greeting: {e}"))?;
    if line.starts_with("220") {
        Ok(())
    } else if line.is_empty() {
        Err("closed without a greeting".to_owned())
    } else {
        Err(format!("greeting is not 220: {:?}", line.trim_end()))
    }
}

async fn get(http: &reqwest::Client, url: &str, expect: u16) -> Result<(), String> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
    let status = response.status().as_u16();
    if status == expect {
        Ok(())
    } else {
        Err(format!("GET {url}: status {status}, expected {expect}"))
    }
}

async fn command(run: &str, env: &[(&str, &str)], timeout: Duration) -> Result<(), String> {
    match shell::run(run, env, shell::Stdout::Discard, timeout).await {
        Ok(ran) if ran.status.success() => Ok(()),
        Ok(ran) => {
            let last = shell::last_lines(&ran.stderr, 1);
            let status = shell::describe(ran.status);
            Err(if last.is_empty() {
                status
            } else {
                format!("{status}: {last}")
            })
        }
        Err(shell::ShellError::TimedOut { after, .. }) => {
            Err(format!("no result within {}ms; killed", after.as_millis()))
        }
        Err(shell::ShellError::Spawn(e) | shell::ShellError::Wait(e)) => Err(format!("sh: {e}")),
    }
}

/// `e` and its sources, for a one-line reason.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    use super::*;

    async fn listener() -> (TcpListener, u16) {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
        let port = l.local_addr().expect("addr").port();
        (l, port)
    }

    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        l.local_addr().expect("addr").port()
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    fn command_probe(run: &str, timeout_ms: u64) -> ProbeSpec {
        ProbeSpec::Command {
            name: "cmd".into(),
            run: run.into(),
            timeout_ms,
        }
    }

    #[tokio::test]
    async fn tcp_passes_on_a_listener_and_fails_on_a_closed_port() {
        let (_l, port) = listener().await;
        let ok = run_probe(
            &ProbeSpec::Tcp {
                name: "t".into(),
                port,
                timeout_ms: 1000,
            },
            &client(),
            &[],
        )
        .await;
        assert!(ok.ok, "{ok:?}");
        let port = closed_port();
        let bad = run_probe(
            &ProbeSpec::Tcp {
                name: "t".into(),
                port,
                timeout_ms: 1000,
            },
            &client(),
            &[],
        )
        .await;
        assert!(!bad.ok);
        assert!(bad.reason.expect("reason").contains(&port.to_string()));
    }

    #[tokio::test]
    async fn smtp_wants_a_220_greeting_within_the_timeout() {
        let (l, port) = listener().await;
        let server = tokio::spawn(async move {
            for greeting in [&b"220 mx.example ESMTP\r\n"[..], b"554 go away\r\n", b""] {
                let (mut s, _) = l.accept().await.expect("accept");
                s.write_all(greeting).await.expect("write");
                if greeting.is_empty() {
                    // Say nothing, keep the connection open.
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        });
        let spec = ProbeSpec::Smtp {
            name: "smtp".into(),
            port,
            timeout_ms: 400,
        };
        assert!(run_probe(&spec, &client(), &[]).await.ok);
        let refused = run_probe(&spec, &client(), &[]).await;
        assert!(refused.reason.expect("reason").contains("554"));
        let started = Instant::now();
        let silent = run_probe(&spec, &client(), &[]).await;
        assert!(!silent.ok);
        assert!(silent.reason.expect("reason").contains("400ms"));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        server.abort();
    }

    #[tokio::test]
    async fn http_compares_the_status() {
        let (l, port) = listener().await;
        let server = tokio::spawn(async move {
            loop {
                let (mut s, _) = l.accept().await.expect("accept");
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                    .await;
            }
        });
        let url = format!("http://127.0.0.1:{port}/health");
        let spec = |expect| ProbeSpec::Http {
            name: "web".into(),
            url: url.clone(),
            expect,
            timeout_ms: 2000,
        };
        assert!(run_probe(&spec(204), &client(), &[]).await.ok);
        let wrong = run_probe(&spec(200), &client(), &[]).await;
        assert!(wrong.reason.expect("reason").contains("status 204, expected 200"));
        server.abort();
    }

    #[tokio::test]
    async fn command_probes_see_the_host_and_role() {
        let env = [("MUSTER_HOST", "smurf1"), ("MUSTER_ROLE", "web")];
        let spec = command_probe(r#"test "$MUSTER_HOST/$MUSTER_ROLE" = smurf1/web"#, 1000);
        assert!(run_probe(&spec, &client(), &env).await.ok);
        assert!(!run_probe(&spec, &client(), &[]).await.ok);
    }

    #[tokio::test]
    async fn commands_report_their_exit_and_last_stderr_line() {
        let ok = run_probe(&command_probe("true", 1000), &client(), &[]).await;
        assert!(ok.ok && ok.reason.is_none());
        let bad = run_probe(
            &command_probe("echo one >&2; echo two >&2; exit 4", 1000),
            &client(),
            &[],
        )
        .await;
        assert_eq!(bad.reason.as_deref(), Some("exit 4: two"));
    }

    #[tokio::test]
    async fn probes_run_concurrently_and_a_hung_one_costs_only_its_timeout() {
        let specs = [
            command_probe("sleep 30", 500),
            command_probe("sleep 30", 500),
            command_probe("true", 500),
            ProbeSpec::Tcp {
                name: "t".into(),
                port: closed_port(),
                timeout_ms: 500,
            },
        ];
        let started = Instant::now();
        let results = run_probes(&specs, &client(), &[]).await;
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1200), "took {took:?}");
        assert_eq!(
            results.iter().map(|r| r.ok).collect::<Vec<_>>(),
            [false, false, true, false]
        );
        assert!(results[0].reason.as_deref().expect("reason").contains("killed"));
    }
}
