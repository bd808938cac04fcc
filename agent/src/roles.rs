//! Which role the box holds and what to do about the one the controller
//! assigns: a pure state machine (time is a parameter), so every rule is a
//! unit test.
//!
//! - A role differs from the held one and the assignment is in force
//!   (`arriving`: the controller waits for this box to report holding it;
//!   `active`; `pinned`): run the hook (or, with no hook, take the role at
//!   once). The controller publishes the box only once it reports the role.
//! - The hook failed: keep the old role, report the failure on every
//!   heartbeat, and try again no sooner than a backoff later. The failure
//!   makes the controller declare the host dead, so a retry is allowed while
//!   the assignment is in force *or* `dead`, for the same role only.
//! - `draining` and every other state: nothing (the agent only reports).
//! - The controller goes back to the held role, or assigns none: the
//!   failure is forgotten.

use std::time::Duration;

use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::hook::RoleChange;

/// The first wait before a failed hook runs again; it doubles per failure.
pub const HOOK_RETRY_BASE: Duration = Duration::from_secs(5);
/// The longest wait between two runs of a failing hook.
pub const HOOK_RETRY_CAP: Duration = Duration::from_secs(5 * 60);

/// True for the states in which the box should hold the assigned role:
/// not `draining` (the old role's work goes on), `cordoned`, `dead` or
/// `unassigned`.
fn in_force(state: &str) -> bool {
    matches!(state, "arriving" | "active" | "pinned")
}

/// What to do after a heartbeat reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing.
    Nothing,
    /// Take the role without a hook (none is configured).
    Adopt(String),
    /// Run the hook for this change.
    RunHook(RoleChange),
}

/// The held role and the state of a change in progress.
#[derive(Debug)]
pub struct RoleKeeper {
    held: Option<String>,
    has_hook: bool,
    running: bool,
    failure: Option<Failure>,
    retries: Backoff,
}

#[derive(Debug)]
struct Failure {
    to: String,
    message: String,
    retry_at: Instant,
}

impl RoleKeeper {
    /// Starts holding `held` (from the role file); `has_hook` says whether a
    /// hook is configured.
    pub fn new(held: Option<String>, has_hook: bool) -> Self {
        Self {
            held,
            has_hook,
            running: false,
            failure: None,
            retries: Backoff::new(HOOK_RETRY_BASE, HOOK_RETRY_CAP),
        }
    }

    /// The role the box holds: what heartbeats report.
    pub fn held(&self) -> Option<&str> {
        self.held.as_deref()
    }

    /// The last hook failure, reported until the change succeeds or is
    /// called off.
    pub fn hook_failure(&self) -> Option<&str> {
        self.failure.as_ref().map(|f| f.message.as_str())
    }

    /// True while a hook runs.
    pub fn hook_running(&self) -> bool {
        self.running
    }

    /// Decides on a reply assigning `role` in `state`, at `now`.
    pub fn decide(&mut self, role: Option<&str>, state: &str, now: Instant) -> Decision {
        if self.running {
            return Decision::Nothing;
        }
        let Some(role) = role else {
            self.forget_failure();
            return Decision::Nothing;
        };
        if Some(role) == self.held.as_deref() {
            self.forget_failure();
            return Decision::Nothing;
        }
        let retry = match &self.failure {
            Some(f) if f.to == role => {
                if !(in_force(state) || state == "dead") || now < f.retry_at {
                    return Decision::Nothing;
                }
                true
            }
            Some(_) => {
                // Another role now: the old failure is moot.
                self.forget_failure();
                false
            }
            None => false,
        };
        if !retry && !in_force(state) {
            return Decision::Nothing;
        }
        if !self.has_hook {
            return Decision::Adopt(role.to_owned());
        }
        self.running = true;
        Decision::RunHook(RoleChange {
            from: self.held.clone(),
            to: role.to_owned(),
        })
    }

    /// The box now holds `role` (the hook succeeded, or there is none).
    pub fn took(&mut self, role: String) {
        self.running = false;
        self.held = Some(role);
        self.forget_failure();
    }

    /// The hook for `change` failed with `message` at `now`: keep the old
    /// role, report the failure, retry after a backoff.
    pub fn failed(&mut self, change: RoleChange, message: String, now: Instant) {
        self.running = false;
        let wait = self.retries.fail(1.0);
        self.failure = Some(Failure {
            to: change.to,
            message,
            retry_at: now + wait,
        });
    }

    fn forget_failure(&mut self) {
        self.failure = None;
        self.retries.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(from: Option<&str>, to: &str) -> Decision {
        Decision::RunHook(RoleChange {
            from: from.map(str::to_owned),
            to: to.to_owned(),
        })
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn an_active_new_role_runs_the_hook_once() {
        let t = Instant::now();
        let mut k = RoleKeeper::new(Some("smtp-out".into()), true);
        assert_eq!(k.decide(Some("smtp-out"), "active", t), Decision::Nothing);
        assert_eq!(
            k.decide(Some("web"), "active", t),
            change(Some("smtp-out"), "web")
        );
        assert!(k.hook_running());
        assert_eq!(
            k.decide(Some("web"), "active", t),
            Decision::Nothing,
            "one at a time"
        );
        k.took("web".into());
        assert_eq!(k.held(), Some("web"));
        assert_eq!(k.decide(Some("web"), "active", t), Decision::Nothing);
    }

    #[test]
    fn only_an_assignment_in_force_starts_a_change() {
        let t = Instant::now();
        let mut k = RoleKeeper::new(Some("smtp-out".into()), true);
        for state in ["draining", "dead", "cordoned", "unassigned"] {
            assert_eq!(k.decide(Some("web"), state, t), Decision::Nothing, "{state}");
        }
        assert_eq!(k.decide(None, "active", t), Decision::Nothing);
        // The controller publishes an arriving box only once it reports
        // holding the role, and a pinned one holds the role it is pinned in.
        for state in ["arriving", "pinned"] {
            let mut k = RoleKeeper::new(Some("smtp-out".into()), true);
            assert_eq!(
                k.decide(Some("web"), state, t),
                change(Some("smtp-out"), "web"),
                "{state}"
            );
        }
    }

    #[test]
    fn a_fresh_box_takes_its_first_role_through_the_hook_or_directly() {
        let t = Instant::now();
        let mut hooked = RoleKeeper::new(None, true);
        assert_eq!(hooked.decide(Some("web"), "active", t), change(None, "web"));
        let mut plain = RoleKeeper::new(None, false);
        assert_eq!(
            plain.decide(Some("web"), "active", t),
            Decision::Adopt("web".into())
        );
        plain.took("web".into());
        assert_eq!(plain.held(), Some("web"));
    }

    #[test]
    fn a_failed_hook_keeps_the_old_role_and_retries_after_a_growing_backoff() {
        let t0 = Instant::now();
        let mut k = RoleKeeper::new(Some("smtp-out".into()), true);
        let Decision::RunHook(c) = k.decide(Some("web"), "active", t0) else {
            panic!("hook expected")
        };
        k.failed(c, "exit 3: boom".into(), t0);
        assert_eq!(k.held(), Some("smtp-out"));
        assert_eq!(k.hook_failure(), Some("exit 3: boom"));
        // The controller now says dead (because of the failure): no retry
        // before the backoff, a retry after it.
        assert_eq!(k.decide(Some("web"), "dead", t0 + secs(1)), Decision::Nothing);
        assert_eq!(k.decide(Some("web"), "dead", t0 + secs(4)), Decision::Nothing);
        let Decision::RunHook(c) = k.decide(Some("web"), "dead", t0 + HOOK_RETRY_BASE) else {
            panic!("retry expected")
        };
        let t1 = t0 + HOOK_RETRY_BASE;
        k.failed(c, "exit 3: boom".into(), t1);
        assert_eq!(
            k.decide(Some("web"), "active", t1 + HOOK_RETRY_BASE),
            Decision::Nothing
        );
        assert_eq!(
            k.decide(Some("web"), "active", t1 + 2 * HOOK_RETRY_BASE),
            change(Some("smtp-out"), "web"),
            "the wait doubled"
        );
        k.took("web".into());
        assert_eq!(k.hook_failure(), None);
    }

    #[test]
    fn retries_stop_while_draining_and_the_failure_goes_when_the_change_is_called_off() {
        let t0 = Instant::now();
        let mut k = RoleKeeper::new(Some("smtp-out".into()), true);
        let Decision::RunHook(c) = k.decide(Some("web"), "active", t0) else {
            panic!("hook expected")
        };
        k.failed(c, "exit 1".into(), t0);
        let later = t0 + HOOK_RETRY_CAP;
        assert_eq!(k.decide(Some("web"), "draining", later), Decision::Nothing);
        assert_eq!(k.decide(Some("web"), "cordoned", later), Decision::Nothing);
        assert_eq!(k.hook_failure(), Some("exit 1"), "still reported");
        // Back to the held role: nothing to do, nothing to report.
        assert_eq!(k.decide(Some("smtp-out"), "active", later), Decision::Nothing);
        assert_eq!(k.hook_failure(), None);

        let Decision::RunHook(c) = k.decide(Some("web"), "active", later) else {
            panic!("hook expected")
        };
        k.failed(c, "exit 1".into(), later);
        // A third role replaces the failed change at once.
        assert_eq!(
            k.decide(Some("bounce"), "active", later),
            change(Some("smtp-out"), "bounce")
        );
        assert_eq!(k.hook_failure(), None);
    }

    #[test]
    fn the_retry_wait_is_capped() {
        let mut now = Instant::now();
        let mut k = RoleKeeper::new(None, true);
        let Decision::RunHook(c) = k.decide(Some("web"), "active", now) else {
            panic!("hook expected")
        };
        k.failed(c, "exit 1".into(), now);
        for n in 0..30 {
            now += HOOK_RETRY_CAP;
            let Decision::RunHook(c) = k.decide(Some("web"), "dead", now) else {
                panic!("retry {n} expected after the cap")
            };
            k.failed(c, "exit 1".into(), now);
        }
    }
}
