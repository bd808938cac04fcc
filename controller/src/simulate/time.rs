//! Instants and steps as `muster plan`, `muster simulate` and
//! `GET /api/v1/plan?at=` take them, and how they are shown.
//!
//! An instant is one of:
//!
//! - `now`;
//! - `+2h`, `-30m`, `+1d 6h`: relative to now (a day is a calendar day in
//!   the timezone, so `+1d` across a DST change is 23 or 25 hours);
//! - RFC 3339 with an offset: `2026-11-24T06:30:00-08:00`, `…Z`;
//! - RFC 9557 with a timezone: `2026-11-24T06:30[America/Los_Angeles]`;
//! - a local date and time without an offset, `2026-11-24T06:30` (or with
//!   a space), or a date alone (its midnight), read in the timezone given
//!   (the policy's first schedule's, unless the command says otherwise).

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp, Zoned};

use crate::farm::Millis;

use super::SimulateError;

/// Reads `text` as an instant; `now` and `tz` give meaning to relative
/// and local forms.
///
/// # Errors
/// [`SimulateError::Time`] naming the forms accepted.
pub fn parse_instant(text: &str, now: Millis, tz: &TimeZone) -> Result<Millis, SimulateError> {
    let text = text.trim();
    let bad = |reason: String| SimulateError::Time {
        text: text.to_owned(),
        reason,
    };
    if text.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if text.starts_with(['+', '-']) {
        let span: Span = text
            .parse()
            .map_err(|e| bad(format!("not a relative time like +2h or -30m: {e}")))?;
        let zoned = timestamp(now).to_zoned(tz.clone());
        let then = zoned
            .checked_add(span)
            .map_err(|e| bad(format!("out of range: {e}")))?;
        return Ok(then.timestamp().as_millisecond());
    }
    if text.contains('[')
        && let Ok(zoned) = text.parse::<Zoned>()
    {
        return Ok(zoned.timestamp().as_millisecond());
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    let local = text
        .parse::<DateTime>()
        .or_else(|_| text.parse::<Date>().map(|d| d.to_datetime(Time::midnight())));
    match local {
        Ok(dt) => tz
            .to_ambiguous_zoned(dt)
            .compatible()
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|e| bad(e.to_string())),
        Err(_) => Err(bad(
            "expected `now`, a relative time (+2h), RFC 3339 (2026-11-24T06:30:00-08:00), \
             or a local date and time (2026-11-24T06:30)"
                .to_owned(),
        )),
    }
}

/// Reads a positive step or duration: `1m`, `30s`, `5 minutes`, `PT1M`.
///
/// # Errors
/// [`SimulateError::Time`] when it is not a duration or not positive.
pub fn parse_step(text: &str) -> Result<Millis, SimulateError> {
    let bad = |reason: &str| SimulateError::Time {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let d: SignedDuration = text
        .trim()
        .parse()
        .map_err(|_| bad("not a duration like 1m, 30s or 1h"))?;
    let ms = i64::try_from(d.as_millis()).map_err(|_| bad("too long"))?;
    if ms <= 0 {
        return Err(bad("must be positive"));
    }
    Ok(ms)
}

/// A timezone by IANA name.
///
/// # Errors
/// [`SimulateError::Time`] for a name the bundled database does not know.
pub fn parse_zone(name: &str) -> Result<TimeZone, SimulateError> {
    TimeZone::get(name).map_err(|e| SimulateError::Time {
        text: name.to_owned(),
        reason: format!("not a known IANA timezone: {e}"),
    })
}

/// The timezone local times are read and shown in by default: the first
/// schedule's, else UTC.
pub fn default_zone(policy: &crate::policy::Policy) -> TimeZone {
    policy
        .schedules
        .first()
        .map_or(TimeZone::UTC, |s| s.timezone.clone())
}

/// The name of `tz` for people (`America/Los_Angeles`, `UTC`).
pub fn zone_name(tz: &TimeZone) -> String {
    tz.iana_name().map_or_else(|| "UTC".to_owned(), str::to_owned)
}

pub(super) fn timestamp(at: Millis) -> Timestamp {
    Timestamp::from_millisecond(at).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `at` as RFC 3339 in `tz`: `2026-11-24T06:30:00-08:00`.
pub fn rfc3339(at: Millis, tz: &TimeZone) -> String {
    timestamp(at)
        .to_zoned(tz.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// `at` as RFC 3339 in UTC: `2026-11-24T14:30:00Z`.
pub fn rfc3339_utc(at: Millis) -> String {
    timestamp(at).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The local wall-clock time of `at` in `tz`: `06:30`.
pub fn clock(at: Millis, tz: &TimeZone) -> String {
    timestamp(at).to_zoned(tz.clone()).strftime("%H:%M").to_string()
}

/// The local date of `at` in `tz`: `2026-11-24`.
pub fn date(at: Millis, tz: &TimeZone) -> String {
    timestamp(at)
        .to_zoned(tz.clone())
        .strftime("%Y-%m-%d")
        .to_string()
}

/// The local civil date and time of `at` in `tz`.
pub(super) fn civil(at: Millis, tz: &TimeZone) -> DateTime {
    timestamp(at).to_zoned(tz.clone()).datetime()
}

/// The instant of local `dt` in `tz` (a time skipped by a DST change is
/// read past the gap, a repeated one as its first occurrence).
pub(super) fn instant(dt: DateTime, tz: &TimeZone) -> Option<Millis> {
    tz.to_ambiguous_timestamp(dt)
        .compatible()
        .ok()
        .map(Timestamp::as_millisecond)
}

/// A duration for people: `45m`, `2h`, `2h 30m`, `1d 2h`.
pub fn human(ms: Millis) -> String {
    let minutes = ms / 60_000;
    if ms % 60_000 != 0 || minutes == 0 {
        return format!("{}s", ms / 1000);
    }
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn la() -> TimeZone {
        parse_zone("America/Los_Angeles").expect("a known zone")
    }

    #[test]
    fn every_form_of_an_instant() {
        let now = parse_instant("2026-11-24T12:00:00Z", 0, &TimeZone::UTC).expect("RFC 3339");
        let tz = la();
        let at = |t: &str| parse_instant(t, now, &tz).map(rfc3339_utc);
        assert_eq!(at("now").as_deref(), Ok("2026-11-24T12:00:00Z"));
        assert_eq!(at("+2h").as_deref(), Ok("2026-11-24T14:00:00Z"));
        assert_eq!(at("-30m").as_deref(), Ok("2026-11-24T11:30:00Z"));
        assert_eq!(at("+1h30m").as_deref(), Ok("2026-11-24T13:30:00Z"));
        assert_eq!(
            at("2026-11-24T06:30:00-08:00").as_deref(),
            Ok("2026-11-24T14:30:00Z")
        );
        assert_eq!(
            at("2026-11-24T06:30[America/Los_Angeles]").as_deref(),
            Ok("2026-11-24T14:30:00Z")
        );
        assert_eq!(
            at("2026-11-24T06:30").as_deref(),
            Ok("2026-11-24T14:30:00Z"),
            "local, in tz"
        );
        assert_eq!(at("2026-11-24 06:30").as_deref(), Ok("2026-11-24T14:30:00Z"));
        assert_eq!(
            at("2026-11-24").as_deref(),
            Ok("2026-11-24T08:00:00Z"),
            "midnight"
        );
        assert!(matches!(at("tomorrow"), Err(SimulateError::Time { .. })));
        assert!(at("+2x").is_err());
    }

    #[test]
    fn a_day_is_a_calendar_day_across_dst() {
        // 2026-11-01 is the fall-back day in Los Angeles: 25 hours long.
        let tz = la();
        let start = parse_instant("2026-10-31T12:00", 0, &tz).expect("local");
        let next = parse_instant("+1d", start, &tz).expect("relative");
        assert_eq!(next - start, 25 * 3_600_000);
        assert_eq!(rfc3339(next, &tz), "2026-11-01T12:00:00-08:00");
    }

    #[test]
    fn steps_and_durations() {
        assert_eq!(parse_step("1m").ok(), Some(60_000));
        assert_eq!(parse_step("30s").ok(), Some(30_000));
        assert_eq!(parse_step("1h").ok(), Some(3_600_000));
        assert!(parse_step("0s").is_err());
        assert!(parse_step("-1m").is_err());
        assert!(parse_step("soon").is_err());
        assert_eq!(human(90 * 60_000), "1h 30m");
        assert_eq!(human(26 * 3_600_000), "1d 2h");
        assert_eq!(human(45_000), "45s");
    }
}
