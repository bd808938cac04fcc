//! Runs `sh -c COMMAND` with a deadline: hooks, command probes and the
//! queue command all go through here.
//!
//! The command runs in its own process group. If the deadline passes, or
//! the caller stops waiting (the future is dropped, e.g. on shutdown), the
//! whole group is killed with SIGKILL, so `sleep 30` under `sh` dies too.
//! Output is kept up to a bound (the tail of stderr is what matters).

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// The most output kept per stream; older bytes are dropped first.
const KEEP: usize = 64 * 1024;
/// How long to keep reading after the command exited: a daemon it started
/// may hold the pipes open forever.
const GRACE: Duration = Duration::from_millis(300);

/// A command that ran to its end.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

/// A command that did not.
#[derive(Debug)]
pub(crate) enum ShellError {
    /// `sh` could not be started.
    Spawn(std::io::Error),
    /// Waiting for it failed.
    Wait(std::io::Error),
    /// It ran past its deadline and was killed.
    TimedOut { after: Duration, stderr: Vec<u8> },
}

/// What to do with the command's stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stdout {
    /// Keep it (the queue command's number).
    Capture,
    /// Pass it on to the agent's own stdout (hooks: the journal sees it).
    Inherit,
    /// Throw it away (probes).
    Discard,
}

/// Runs `sh -c command` with `env` added, for at most `timeout`.
pub(crate) async fn run(
    command: &str,
    env: &[(&str, &str)],
    stdout: Stdout,
    timeout: Duration,
) -> Result<Ran, ShellError> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(match stdout {
            Stdout::Capture => Stdio::piped(),
            Stdout::Inherit => Stdio::inherit(),
            Stdout::Discard => Stdio::null(),
        })
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(ShellError::Spawn)?;
    let mut group = GroupGuard(child.id().and_then(|id| i32::try_from(id).ok()));
    let (out_pipe, err_pipe) = (child.stdout.take(), child.stderr.take());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let finished = {
        let run = async {
            let mut reading = std::pin::pin!(async {
                tokio::join!(keep_tail(out_pipe, &mut out), keep_tail(err_pipe, &mut err));
            });
            let mut read_all = false;
            let status = loop {
                tokio::select! {
                    status = child.wait() => break status,
                    () = &mut reading, if !read_all => read_all = true,
                }
            };
            if !read_all {
                let _ = tokio::time::timeout(GRACE, reading).await;
            }
            status
        };
        tokio::time::timeout(timeout, run).await
    };
    match finished {
        Ok(Ok(status)) => {
            group.0 = None;
            Ok(Ran {
                status,
                stdout: out,
                stderr: err,
            })
        }
        Ok(Err(e)) => Err(ShellError::Wait(e)),
        Err(_) => {
            drop(group);
            let _ = child.kill().await;
            Err(ShellError::TimedOut {
                after: timeout,
                stderr: err,
            })
        }
    }
}

/// `exit N`, or `killed by signal N`.
pub(crate) fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => status.to_string(),
    }
}

/// The last `n` non-empty lines of `bytes`, joined with `; `.
pub(crate) fn last_lines(bytes: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("; ")
}

/// Kills the process group when dropped while armed.
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

async fn keep_tail(pipe: Option<impl AsyncRead + Unpin>, buf: &mut Vec<u8>) {
    let Some(mut pipe) = pipe else { return };
    let mut chunk = [0u8; 4096];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > KEEP {
                    let extra = buf.len() - KEEP;
                    buf.drain(..extra);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[tokio::test]
    async fn output_status_and_env_come_back() {
        let ran = run(
            "echo \"out $GREETING\"; echo err1 >&2; echo err2 >&2; exit 3",
            &[("GREETING", "hello")],
            Stdout::Capture,
            Duration::from_secs(5),
        )
        .await
        .expect("ran");
        assert_eq!(describe(ran.status), "exit 3");
        assert_eq!(String::from_utf8_lossy(&ran.stdout), "out hello\n");
        assert_eq!(last_lines(&ran.stderr, 5), "err1; err2");
        assert_eq!(last_lines(&ran.stderr, 1), "err2");
    }

    #[tokio::test]
    async fn a_hung_command_and_its_children_are_killed_at_the_deadline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("survived");
        let started = Instant::now();
        let err = run(
            &format!(
                "echo started >&2; (sleep 2; touch {}) & sleep 30",
                marker.display()
            ),
            &[],
            Stdout::Discard,
            Duration::from_millis(300),
        )
        .await
        .expect_err("times out");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let ShellError::TimedOut { stderr, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(last_lines(&stderr, 5), "started");
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "the background child was killed with the group");
    }

    #[tokio::test]
    async fn a_daemon_holding_the_pipe_does_not_hold_the_caller() {
        let started = Instant::now();
        let ran = run(
            "sleep 5 >&2 & echo done",
            &[],
            Stdout::Capture,
            Duration::from_secs(4),
        )
        .await
        .expect("ran");
        assert!(ran.status.success());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn last_lines_skips_blank_lines() {
        assert_eq!(last_lines(b"a\n\nb\n  \nc\nd\ne\nf\n", 5), "b; c; d; e; f");
        assert_eq!(last_lines(b"", 5), "");
    }
}
