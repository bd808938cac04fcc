//! Times for people: the API speaks milliseconds since the epoch; tables
//! show `YYYY-MM-DD HH:MM:SS` (UTC) for the log and "3m ago" for ages.
//! `--since` takes either back.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Now, in milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub(crate) fn utc(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => ms.to_string(),
    }
}

/// An age: `0.4s`, `12s`, `5m`, `3h`, `2d`.
pub(crate) fn age(ms: i64) -> String {
    let ms = ms.max(0);
    let s = ms / 1000;
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if s < 120 {
        format!("{s}s")
    } else if s < 2 * 3600 {
        format!("{}m", s / 60)
    } else if s < 2 * 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

/// How long ago `at` was: `5m ago` (or `-` for 0, "never").
pub(crate) fn ago(at: i64, now: i64) -> String {
    if at <= 0 {
        "-".to_owned()
    } else {
        format!("{} ago", age(now - at))
    }
}

/// Parses `--since`: a duration back from `now` (`90s`, `10m`, `2h`,
/// `1d`, `1h30m`), a UTC time (`2025-06-01 14:00:00`, `2025-06-01`), an
/// RFC 3339 time with offset, or milliseconds since the epoch.
pub(crate) fn parse_since(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    if let Some(back) = parse_duration(text) {
        return Ok(now - back.as_millis() as i64);
    }
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t.as_millisecond());
    }
    let civil = text.parse::<DateTime>().ok().or_else(|| {
        text.parse::<Date>()
            .ok()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
    });
    if let Some(dt) = civil
        && let Ok(z) = dt.to_zoned(TimeZone::UTC)
    {
        return Ok(z.timestamp().as_millisecond());
    }
    Err(format!(
        "--since {text:?}: expected a duration back (10m, 2h, 1d), a UTC time \
         (2025-06-01 14:00:00), an RFC 3339 time, or milliseconds since the epoch"
    ))
}

/// `1h30m`, `10m`, `45s`, `2d`: one or more number-unit pairs.
fn parse_duration(text: &str) -> Option<SignedDuration> {
    let mut total: i64 = 0;
    let mut digits = String::new();
    if text.is_empty() {
        return None;
    }
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return None,
        };
        let n: i64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
    }
    digits.is_empty().then(|| SignedDuration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_750_000_000_000;

    #[test]
    fn log_times_are_utc_and_ages_read_short() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_748_786_400_123), "2025-06-01 14:00:00");
        assert_eq!(age(420), "0.4s");
        assert_eq!(age(42_000), "42s");
        assert_eq!(age(300_000), "5m");
        assert_eq!(age(3 * 3_600_000), "3h");
        assert_eq!(age(3 * 86_400_000), "3d");
        assert_eq!(ago(NOW - 5_000, NOW), "5.0s ago");
        assert_eq!(ago(0, NOW), "-");
    }

    #[test]
    fn since_takes_durations_times_and_milliseconds() {
        assert_eq!(parse_since("10m", NOW), Ok(NOW - 600_000));
        assert_eq!(parse_since("1h30m", NOW), Ok(NOW - 5_400_000));
        assert_eq!(parse_since("1d", NOW), Ok(NOW - 86_400_000));
        assert_eq!(parse_since("1748786400000", NOW), Ok(1_748_786_400_000));
        assert_eq!(parse_since("2025-06-01 14:00:00", NOW), Ok(1_748_786_400_000));
        assert_eq!(parse_since("2025-06-01T14:00:00", NOW), Ok(1_748_786_400_000));
        assert_eq!(
            parse_since("2025-06-01T16:00:00+02:00", NOW),
            Ok(1_748_786_400_000)
        );
        assert_eq!(parse_since("2025-06-01", NOW), Ok(1_748_736_000_000));
        for bad in ["", "m", "10x", "yesterday", "10m5"] {
            assert!(parse_since(bad, NOW).is_err(), "{bad:?}");
        }
    }
}
