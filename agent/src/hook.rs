//! The role-change hook: `sh -c CMD` with `MUSTER_ROLE`,
//! `MUSTER_PREVIOUS_ROLE` and `MUSTER_HOST` set, killed at `hook_timeout`.

use std::time::Duration;

use tracing::{info, warn};

use crate::shell;

/// How many stderr lines a failure carries to the controller.
const STDERR_LINES: usize = 5;

/// One role change to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleChange {
    /// The role held now (`None`: none yet).
    pub from: Option<String>,
    /// The role to take.
    pub to: String,
}

/// Runs `command` for `change` on `host`. `Err` is the failure as reported
/// to the controller: `exit N: <last stderr lines>`.
pub async fn run_hook(
    command: &str,
    host: &str,
    change: &RoleChange,
    timeout: Duration,
) -> Result<(), String> {
    let previous = change.from.as_deref().unwrap_or("");
    let env = [
        ("MUSTER_ROLE", change.to.as_str()),
        ("MUSTER_PREVIOUS_ROLE", previous),
        ("MUSTER_HOST", host),
    ];
    info!(from = previous, to = %change.to, "running the role-change hook");
    let failure = match shell::run(command, &env, shell::Stdout::Inherit, timeout).await {
        Ok(ran) if ran.status.success() => {
            info!(role = %change.to, "role-change hook succeeded");
            return Ok(());
        }
        Ok(ran) => with_stderr(shell::describe(ran.status), &ran.stderr),
        Err(shell::ShellError::TimedOut { after, stderr }) => with_stderr(
            format!("timed out after {}s; killed", after.as_secs_f64()),
            &stderr,
        ),
        Err(shell::ShellError::Spawn(e) | shell::ShellError::Wait(e)) => format!("cannot run sh: {e}"),
    };
    warn!(from = previous, to = %change.to, failure = %failure, "role-change hook failed; keeping the old role");
    Err(failure)
}

fn with_stderr(status: String, stderr: &[u8]) -> String {
    let tail = shell::last_lines(stderr, STDERR_LINES);
    if tail.is_empty() {
        status
    } else {
        format!("{status}: {tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(from: Option<&str>, to: &str) -> RoleChange {
        RoleChange {
            from: from.map(str::to_owned),
            to: to.to_owned(),
        }
    }

    #[tokio::test]
    async fn the_hook_sees_the_roles_and_the_host() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log");
        let cmd = format!(
            "echo \"$MUSTER_HOST [$MUSTER_PREVIOUS_ROLE] $MUSTER_ROLE\" >> {}",
            log.display()
        );
        let t = Duration::from_secs(5);
        run_hook(&cmd, "smurf1", &change(None, "smtp-out"), t)
            .await
            .expect("ok");
        run_hook(&cmd, "smurf1", &change(Some("smtp-out"), "web"), t)
            .await
            .expect("ok");
        assert_eq!(
            std::fs::read_to_string(&log).expect("read"),
            "smurf1 [] smtp-out\nsmurf1 [smtp-out] web\n"
        );
    }

    #[tokio::test]
    async fn a_failure_carries_the_exit_code_and_the_last_five_stderr_lines() {
        let cmd = "for i in 1 2 3 4 5 6 7; do echo line$i >&2; done; exit 3";
        let err = run_hook(cmd, "smurf1", &change(None, "web"), Duration::from_secs(5))
            .await
            .expect_err("fails");
        assert_eq!(err, "exit 3: line3; line4; line5; line6; line7");
    }

    #[tokio::test]
    async fn a_hook_past_its_timeout_is_killed_and_failed() {
        let started = std::time::Instant::now();
        let err = run_hook(
            "echo stuck >&2; sleep 30",
            "smurf1",
            &change(None, "web"),
            Duration::from_millis(300),
        )
        .await
        .expect_err("times out");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(err, "timed out after 0.3s; killed: stuck");
    }
}
