//! The delivery bulge the demo replays, time-compressed: a pure function of
//! simulated time.
//!
//! One cycle: quiet (a trickle of mail), then a mailing submitted faster and
//! faster for `rise`, then the trickle again while the smtp-out pool
//! delivers the backlog; repeating every `period`. Rates are messages per
//! simulated second; [`Bulge::for_target`] sizes them so that the backlog
//! at the peak calls for most of the farm.

/// The shape of one cycle, in simulated seconds and messages per second.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Bulge {
    /// Quiet time at the start of each cycle.
    pub(crate) quiet: f64,
    /// How long the submission rate climbs from `base` to `peak`.
    pub(crate) rise: f64,
    /// Length of a cycle.
    pub(crate) period: f64,
    /// Mail submitted per second outside the bulge.
    pub(crate) base: f64,
    /// Mail submitted per second at the top of the bulge.
    pub(crate) peak: f64,
    /// Mail one host delivers per second.
    pub(crate) delivery: f64,
}

/// Where in the cycle simulated time is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A trickle of mail.
    Quiet,
    /// A mailing is being submitted, faster and faster.
    Rising,
    /// The mailing is in; the pool delivers what queued up.
    Delivering,
}

impl Bulge {
    /// A bulge for a load rule wanting one host per `target_per_host`
    /// queued messages: a host delivers a tenth of that per second, the
    /// trickle needs well under one host, and the peak ten of them.
    pub(crate) fn for_target(target_per_host: f64) -> Self {
        let delivery = (target_per_host / 10.0).max(1.0);
        Self {
            quiet: 30.0,
            rise: 60.0,
            period: 180.0,
            base: 0.4 * delivery,
            peak: 10.0 * delivery,
            delivery,
        }
    }

    /// Seconds into the current cycle.
    fn within(&self, t: f64) -> f64 {
        t.rem_euclid(self.period)
    }

    /// The phase at simulated time `t`.
    pub(crate) fn phase(&self, t: f64) -> Phase {
        let c = self.within(t);
        if c < self.quiet {
            Phase::Quiet
        } else if c < self.quiet + self.rise {
            Phase::Rising
        } else {
            Phase::Delivering
        }
    }

    /// Messages submitted per second at simulated time `t`.
    pub(crate) fn inflow(&self, t: f64) -> f64 {
        match self.phase(t) {
            Phase::Rising => {
                let progress = (self.within(t) - self.quiet) / self.rise;
                self.base + (self.peak - self.base) * progress
            }
            Phase::Quiet | Phase::Delivering => self.base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_is_quiet_then_rising_then_delivering_and_repeats() {
        let b = Bulge::for_target(1000.0);
        assert_eq!(b.delivery, 100.0);
        assert_eq!(b.phase(0.0), Phase::Quiet);
        assert_eq!(b.inflow(10.0), 40.0);
        assert_eq!(b.phase(30.0), Phase::Rising);
        assert_eq!(b.inflow(30.0), 40.0);
        assert!((b.inflow(60.0) - 520.0).abs() < 1e-9, "half way up");
        assert!(b.inflow(89.9) > 990.0);
        assert_eq!(b.phase(90.0), Phase::Delivering);
        assert_eq!(b.inflow(90.0), 40.0);
        assert_eq!(b.phase(180.0), Phase::Quiet, "the next cycle");
        assert!((b.inflow(240.0) - 520.0).abs() < 1e-9);
    }

    #[test]
    fn a_tiny_target_still_delivers_something() {
        let b = Bulge::for_target(0.5);
        assert_eq!(b.delivery, 1.0);
        assert!(b.peak > b.base);
    }
}
