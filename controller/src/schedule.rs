//! When schedule windows are open.
//!
//! A window opens each time its cron expression fires, read as local wall
//! clock time in the schedule's timezone, and stays open for its duration.
//! Every local time the expression names fires exactly once:
//!
//! - **Spring forward** (a local time that does not exist, like 02:30 on
//!   the day clocks jump from 02:00 to 03:00): the window opens at the
//!   same distance past the jump, 03:30 — once, and lasts its full
//!   duration.
//! - **Fall back** (a local time that happens twice, like 01:30 on the day
//!   clocks go from 02:00 back to 01:00): the window opens at the first
//!   01:30 only.
//!
//! This is what `compatible` disambiguation means in RFC 9557 and in
//! jiff, and what cronie does for jobs at such times.
//!
//! When windows of several schedules are open at once, the one listed
//! last in the policy wins; `muster check` warns about such overlaps.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};

use crate::farm::{Millis, millis};
use crate::policy::Schedule;

/// How far ahead `overlaps` looks: a year and a day covers every cron.
const OVERLAP_HORIZON_DAYS: i32 = 366;

/// Windows enumerated per schedule at most, when looking for overlaps.
const OVERLAP_MAX_WINDOWS: usize = 20_000;

fn timestamp(at: Millis) -> Timestamp {
    Timestamp::from_millisecond(at).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The instant the cron fires at on `date` at `hour:minute` local time.
fn fire_at(schedule: &Schedule, date: Date, (hour, minute): (i8, i8)) -> Option<Millis> {
    let local = DateTime::new(date.year(), date.month(), date.day(), hour, minute, 0, 0).ok()?;
    let instant = schedule
        .timezone
        .to_ambiguous_timestamp(local)
        .compatible()
        .ok()?;
    Some(instant.as_millisecond())
}

/// The start of the window of `schedule` open at `now`, if one is.
pub fn open_since(schedule: &Schedule, now: Millis) -> Option<Millis> {
    let length = millis(schedule.duration);
    let today = schedule.timezone.to_datetime(timestamp(now)).date();
    let first = schedule
        .timezone
        .to_datetime(timestamp(now.saturating_sub(length)))
        .date()
        .yesterday()
        .ok()?;
    // The latest firing at or before `now` decides: windows all last as
    // long, so no earlier one can still be open if the latest is not.
    let mut date = today;
    while date >= first {
        if schedule.cron.matches_date(date) {
            let latest = schedule
                .cron
                .times_latest_first()
                .filter_map(|time| fire_at(schedule, date, time))
                .find(|&at| at <= now);
            if let Some(start) = latest {
                return (now < start.saturating_add(length)).then_some(start);
            }
        }
        date = date.yesterday().ok()?;
    }
    None
}

/// The schedule in force at `now` and when its window opened: the one
/// listed last among those open.
pub fn in_force(schedules: &[Schedule], now: Millis) -> Option<(&Schedule, Millis)> {
    schedules
        .iter()
        .rev()
        .find_map(|s| open_since(s, now).map(|start| (s, start)))
}

/// The instants `schedule` fires at in `[from, until)`, in order, at most
/// `limit` of them.
pub fn firings(schedule: &Schedule, from: Millis, until: Millis, limit: usize) -> Vec<Millis> {
    let mut out = Vec::new();
    let Ok(mut date) = schedule.timezone.to_datetime(timestamp(from)).date().yesterday() else {
        return out;
    };
    let last = schedule.timezone.to_datetime(timestamp(until)).date();
    while date <= last && out.len() < limit {
        if schedule.cron.matches_date(date) {
            let mut day: Vec<Millis> = schedule
                .cron
                .times()
                .filter_map(|time| fire_at(schedule, date, time))
                .filter(|at| (from..until).contains(at))
                .collect();
            // Two local times can land on one instant in a DST gap.
            day.dedup();
            out.extend(day);
        }
        let Ok(next) = date.tomorrow() else { break };
        date = next;
    }
    out.truncate(limit);
    out
}

/// A moment when windows of two schedules are open together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlap {
    /// The schedule listed first (it loses while both are open).
    pub earlier: usize,
    /// The schedule listed later (it wins).
    pub later: usize,
    /// When the later one's window opens inside the earlier's, or the
    /// other way round.
    pub at: Millis,
}

/// The first overlap of each pair of schedules within a year of `from`.
pub fn overlaps(schedules: &[Schedule], from: Millis) -> Vec<Overlap> {
    let until = from.saturating_add(i64::from(OVERLAP_HORIZON_DAYS) * 86_400_000);
    let windows: Vec<Vec<(Millis, Millis)>> = schedules
        .iter()
        .map(|s| {
            let length = millis(s.duration);
            firings(s, from, until, OVERLAP_MAX_WINDOWS)
                .into_iter()
                .map(|start| (start, start.saturating_add(length)))
                .collect()
        })
        .collect();
    let mut found = Vec::new();
    for (i, a) in windows.iter().enumerate() {
        for (j, b) in windows.iter().enumerate().skip(i + 1) {
            if let Some(at) = first_overlap(a, b) {
                found.push(Overlap {
                    earlier: i,
                    later: j,
                    at,
                });
            }
        }
    }
    found
}

/// The first instant two sorted lists of half-open windows share.
fn first_overlap(a: &[(Millis, Millis)], b: &[(Millis, Millis)]) -> Option<Millis> {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let ((a0, a1), (b0, b1)) = (a[i], b[j]);
        if a0 < b1 && b0 < a1 {
            return Some(a0.max(b0));
        }
        if a1 <= b1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    None
}
