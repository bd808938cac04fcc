//! A load trace: how much mail arrives over the day, read from CSV.
//!
//! ```text
//! # time,messages        (a header line and `#` comments are allowed)
//! time,messages
//! 00:00,200
//! 05:45,800
//! 06:00,12000
//! 2026-11-24T09:00:00-08:00,300
//! ```
//!
//! Each row says how many messages arrive from its time until the next
//! row's time, spread evenly over that interval; the last row lasts as
//! long as the gap before it (a trace of one row: one step). A trace at
//! the simulation's step
//! (one row a minute for `--step 1m`) therefore adds each row's messages
//! in its own step.
//!
//! A time is `HH:MM` (or `HH:MM:SS`), local in the simulation's timezone
//! on the date `--from` starts on; a row earlier than the one before it is
//! on the next day, so a trace may cross midnight. Or it is an RFC 3339
//! instant. Rows must be in time order; rows outside the simulated span
//! are ignored.

use jiff::civil::Time;
use jiff::tz::TimeZone;

use crate::farm::Millis;

use super::SimulateError;
use super::time::{civil, instant};

/// Messages arriving over time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// (when, messages from then until the next row), in time order.
    rows: Vec<(Millis, f64)>,
}

impl Trace {
    /// A trace from rows of (instant, messages), which must be in order.
    pub fn from_rows(rows: Vec<(Millis, f64)>) -> Self {
        Self { rows }
    }

    /// Reads the CSV `text`; `HH:MM` times are on the local date of
    /// `from` in `tz`.
    ///
    /// # Errors
    /// [`SimulateError::Trace`] with the line number and what is wrong.
    pub fn parse(text: &str, from: Millis, tz: &TimeZone) -> Result<Self, SimulateError> {
        let mut rows: Vec<(Millis, f64)> = Vec::new();
        let mut day = civil(from, tz).date();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let bad = |message: String| SimulateError::Trace { line, message };
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let fields: Vec<&str> = content.split(',').map(str::trim).collect();
            if rows.is_empty() && fields.first().is_some_and(|f| f.eq_ignore_ascii_case("time")) {
                continue;
            }
            let [when, messages] = fields[..] else {
                return Err(bad(format!(
                    "expected two fields `time,messages`, found {}",
                    fields.len()
                )));
            };
            let messages: f64 = messages
                .parse()
                .ok()
                .filter(|m: &f64| m.is_finite() && *m >= 0.0)
                .ok_or_else(|| bad(format!("`{messages}` is not a number of messages (0 or more)")))?;
            let previous = rows.last().map(|&(at, _)| at);
            let at = if let Ok(clock) = when.parse::<Time>() {
                let mut at = instant(day.to_datetime(clock), tz);
                // A clock time earlier than the row before is on the next day.
                while let (Some(t), Some(p)) = (at, previous)
                    && t < p
                {
                    day = day.tomorrow().map_err(|e| bad(e.to_string()))?;
                    at = instant(day.to_datetime(clock), tz);
                }
                at.ok_or_else(|| bad(format!("`{when}` is not a time on {day}")))?
            } else if let Ok(ts) = when.parse::<jiff::Timestamp>() {
                let at = ts.as_millisecond();
                if previous.is_some_and(|p| at < p) {
                    return Err(bad(format!(
                        "`{when}` is earlier than the row before: rows must be in time order"
                    )));
                }
                day = civil(at, tz).date();
                at
            } else {
                return Err(bad(format!(
                    "`{when}` is not a time: use HH:MM or RFC 3339 (2026-11-24T06:00:00-08:00)"
                )));
            };
            rows.push((at, messages));
        }
        Ok(Self { rows })
    }

    /// Rows read.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the trace has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Messages arriving in each of `steps` steps of `step` from `from`.
    pub fn per_step(&self, from: Millis, step: Millis, steps: usize) -> Vec<f64> {
        let mut out = vec![0.0; steps];
        let step = step.max(1);
        let end = from.saturating_add(step.saturating_mul(i64::try_from(steps).unwrap_or(i64::MAX)));
        for (i, &(a, messages)) in self.rows.iter().enumerate() {
            let b = match (
                self.rows.get(i + 1),
                i.checked_sub(1).and_then(|p| self.rows.get(p)),
            ) {
                (Some(&(next, _)), _) => next,
                // The last row lasts as long as the gap before it.
                (None, Some(&(before, _))) if before < a => a.saturating_add(a - before),
                (None, _) => a.saturating_add(step),
            };
            if b <= a {
                // Two rows at one instant: the first arrives at once.
                if (from..end).contains(&a) {
                    out[index(a, from, step)] += messages;
                }
                continue;
            }
            let (lo, hi) = (a.max(from), b.min(end));
            if lo >= hi {
                continue;
            }
            let length = (b - a) as f64;
            let mut k = index(lo, from, step);
            while k < steps {
                let (start, stop) = (from + step * k as i64, from + step * (k as i64 + 1));
                if start >= hi {
                    break;
                }
                let overlap = stop.min(hi) - start.max(lo);
                if overlap > 0 {
                    out[k] += messages * overlap as f64 / length;
                }
                k += 1;
            }
        }
        out
    }
}

/// The step `at` falls in (`at` ≥ `from`).
fn index(at: Millis, from: Millis, step: Millis) -> usize {
    usize::try_from((at - from) / step).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::time::{parse_instant, parse_zone};

    const HOUR: Millis = 3_600_000;
    const MINUTE: Millis = 60_000;

    fn la() -> TimeZone {
        parse_zone("America/Los_Angeles").expect("zone")
    }

    #[test]
    fn rows_spread_until_the_next_row() {
        let tz = la();
        let from = parse_instant("2026-11-24T00:00", 0, &tz).expect("from");
        let trace = Trace::parse(
            "time,messages\n# night\n00:00,60\n01:00,10 # a lump\n01:01,0\n01:02,0\n",
            from,
            &tz,
        )
        .expect("parses");
        assert_eq!(trace.len(), 4);
        let steps = trace.per_step(from, MINUTE, 120);
        assert!((steps[0] - 1.0).abs() < 1e-9, "60 over an hour: 1 a minute");
        assert!((steps[59] - 1.0).abs() < 1e-9);
        assert!((steps[60] - 10.0).abs() < 1e-9);
        assert_eq!(steps[61], 0.0);
        let total: f64 = steps.iter().sum();
        assert!((total - 70.0).abs() < 1e-6);
        // Coarser steps sum the rows.
        let hourly = trace.per_step(from, HOUR, 2);
        assert!((hourly[0] - 60.0).abs() < 1e-9 && (hourly[1] - 10.0).abs() < 1e-9);
    }

    #[test]
    fn clock_times_cross_midnight_and_rfc3339_is_absolute() {
        let tz = la();
        let from = parse_instant("2026-11-24T22:00", 0, &tz).expect("from");
        let trace =
            Trace::parse("23:00,5\n00:30,7\n2026-11-25T03:00:00-08:00,1\n", from, &tz).expect("parses");
        let steps = trace.per_step(from, HOUR, 6);
        assert!(
            (steps[1] - 5.0 * 2.0 / 3.0).abs() < 1e-9,
            "23:00-00:30 spreads over 90 minutes"
        );
        assert!((steps[2] - (5.0 / 3.0 + 7.0 / 5.0)).abs() < 1e-9);
        // 03:00 is the last row: as long as the gap before it (2.5 h).
        assert!((steps[5] - 1.0 / 2.5).abs() < 1e-9);
    }

    #[test]
    fn errors_name_the_line() {
        let tz = TimeZone::UTC;
        let err = |text: &str| match Trace::parse(text, 0, &tz) {
            Err(SimulateError::Trace { line, message }) => (line, message),
            other => panic!("expected a trace error, got {other:?}"),
        };
        assert_eq!(err("00:00,1\n\n06:xx,3\n").0, 3);
        assert!(err("00:00,-1\n").1.contains("not a number"));
        assert!(err("00:00\n").1.contains("two fields"));
        assert!(
            err("1970-01-01T02:00:00Z,1\n1970-01-01T01:00:00Z,1\n")
                .1
                .contains("time order")
        );
    }
}
