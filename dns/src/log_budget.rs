//! Warnings a peer can cause, bounded: a flood of spoofed packets must not
//! turn into a flood of log lines (a full disk is an outage of its own).
//!
//! A [`LogBudget`] lets [`LogBudget::PER_WINDOW`] warnings through per
//! [`LogBudget::WINDOW_SECS`]; the rest are counted, and the first warning
//! of the next window says how many were left out. Lock-free: the UDP
//! threads share one budget per kind of warning.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// One kind of warning's budget.
#[derive(Debug, Default)]
pub(crate) struct LogBudget {
    window: AtomicU64,
    used: AtomicU32,
    suppressed: AtomicU32,
}

/// What to do with one warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Log it; `suppressed` warnings of this kind were left out before it.
    Log {
        /// How many were left out since the last one logged.
        suppressed: u32,
    },
    /// Count it and say nothing.
    Quiet,
}

impl LogBudget {
    /// Warnings let through per window.
    pub(crate) const PER_WINDOW: u32 = 10;
    /// The window, in seconds.
    pub(crate) const WINDOW_SECS: u64 = 10;

    /// A full budget.
    pub(crate) const fn new() -> Self {
        Self {
            window: AtomicU64::new(0),
            used: AtomicU32::new(0),
            suppressed: AtomicU32::new(0),
        }
    }

    /// Whether a warning at `now_secs` (Unix time) is logged.
    pub(crate) fn admit(&self, now_secs: u64) -> Admit {
        let window = now_secs / Self::WINDOW_SECS;
        if self.window.swap(window, Ordering::Relaxed) != window {
            self.used.store(0, Ordering::Relaxed);
        }
        if self.used.fetch_add(1, Ordering::Relaxed) < Self::PER_WINDOW {
            Admit::Log {
                suppressed: self.suppressed.swap(0, Ordering::Relaxed),
            }
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            Admit::Quiet
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_per_window_then_quiet_then_a_count_of_what_was_left_out() {
        let budget = LogBudget::new();
        let t = 1_000_000;
        for _ in 0..LogBudget::PER_WINDOW {
            assert_eq!(budget.admit(t), Admit::Log { suppressed: 0 });
        }
        for _ in 0..500 {
            assert_eq!(budget.admit(t + 1), Admit::Quiet);
        }
        assert_eq!(
            budget.admit(t + LogBudget::WINDOW_SECS),
            Admit::Log { suppressed: 500 }
        );
        assert_eq!(
            budget.admit(t + LogBudget::WINDOW_SECS),
            Admit::Log { suppressed: 0 }
        );
    }
}
