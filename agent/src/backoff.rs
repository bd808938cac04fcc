//! Exponential backoff with full jitter and a cap: after the n-th failure in
//! a row, wait a random time in `[0, min(cap, base * 2^(n-1))]`, so a farm of
//! agents that lost the controller together does not come back in step.

use std::time::Duration;

/// Consecutive failures and the wait before the next try.
#[derive(Clone, Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    /// Starts at `base`, never waits longer than `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base: base.min(cap),
            cap,
            failures: 0,
        }
    }

    /// Failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Counts a success: the next failure starts from `base` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The ceiling of the wait after the current number of failures.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32 << self.failures.saturating_sub(1).min(31);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Counts a failure and returns how long to wait, given `jitter` drawn
    /// uniformly from `[0, 1)` (a parameter so tests choose it).
    pub fn fail(&mut self, jitter: f64) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.ceiling().mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// [`Backoff::fail`] with a random jitter.
    pub fn fail_random(&mut self) -> Duration {
        self.fail(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let ceilings: Vec<u64> = (0..10)
            .map(|_| {
                b.fail(1.0);
                u64::try_from(b.ceiling().as_millis()).expect("small")
            })
            .collect();
        assert_eq!(
            ceilings,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]
        );
    }

    #[test]
    fn every_wait_lies_between_zero_and_the_ceiling() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        for n in 1..200u32 {
            let wait = b.fail_random();
            assert!(wait <= b.ceiling(), "failure {n}: {wait:?} > {:?}", b.ceiling());
            assert!(wait <= Duration::from_secs(30));
        }
        assert_eq!(b.fail(0.0), Duration::ZERO);
        assert_eq!(b.fail(0.5), Duration::from_secs(15));
        assert_eq!(b.fail(7.0), Duration::from_secs(30), "jitter is clamped");
    }

    #[test]
    fn a_success_starts_over_and_huge_counts_do_not_overflow() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        for _ in 0..100_000 {
            b.fail(1.0);
        }
        assert_eq!(b.ceiling(), Duration::from_secs(30));
        b.reset();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.fail(1.0), Duration::from_secs(1));
        let tiny_cap = Backoff::new(Duration::from_secs(5), Duration::from_secs(2));
        assert_eq!(tiny_cap.clone().fail(1.0), Duration::from_secs(2));
    }
}
