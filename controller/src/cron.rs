//! Five-field cron expressions: `minute hour day-of-month month day-of-week`.
//!
//! The grammar is the one of Vixie cron (and of `crontab(5)` on Debian):
//! each field is `*` or a comma-separated list of `N`, `A-B`, `*/S`, `A-B/S`
//! or `A/S` (from A to the field's end, every S); months and weekdays also
//! take three-letter English names (`jan`, `mon`); weekday 0 and 7 are both
//! Sunday. When both day-of-month and day-of-week are restricted, a day
//! matches if *either* does (crontab(5)); otherwise the restricted one
//! decides.
//!
//! This type only knows calendar fields. Turning local times into instants
//! in a timezone (and what happens at a DST change) is `schedule`'s job.

use std::fmt;

use jiff::civil::Date;

/// A parsed cron expression.
#[derive(Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    days_restricted: bool,
    weekdays_restricted: bool,
}

/// One field's rules.
struct Field {
    name: &'static str,
    lo: u32,
    hi: u32,
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    name: "minute",
    lo: 0,
    hi: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    lo: 0,
    hi: 23,
    names: &[],
};
const DAY: Field = Field {
    name: "day of month",
    lo: 1,
    hi: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    lo: 1,
    hi: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const WEEKDAY: Field = Field {
    name: "day of week",
    lo: 0,
    hi: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl Cron {
    /// Parses five whitespace-separated fields.
    ///
    /// # Errors
    /// A message naming the field and what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err(format!(
                "\"{}\" has {} fields; a cron expression has 5: minute hour day-of-month month day-of-week \
                 (e.g. \"0 6 * * 1-5\")",
                text.trim(),
                fields.len()
            ));
        };
        let weekdays = parse_field(weekday, &WEEKDAY)?;
        // 7 is Sunday too.
        let weekdays = (weekdays | (weekdays >> 7)) & 0x7f;
        Ok(Self {
            text: fields.join(" "),
            minutes: parse_field(minute, &MINUTE)?,
            hours: low_bits(parse_field(hour, &HOUR)?),
            days: low_bits(parse_field(day, &DAY)?),
            months: u16::try_from(parse_field(month, &MONTH)?).unwrap_or(u16::MAX),
            weekdays: u8::try_from(weekdays).unwrap_or(u8::MAX),
            days_restricted: day != "*",
            weekdays_restricted: weekday != "*",
        })
    }

    /// The expression as written (fields separated by one space).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the expression fires on some minute of `date`.
    pub fn matches_date(&self, date: Date) -> bool {
        let month = u32::try_from(date.month()).unwrap_or(0);
        if self.months & (1 << month) == 0 {
            return false;
        }
        let day = self.days & (1 << u32::try_from(date.day()).unwrap_or(0)) != 0;
        let weekday = self.weekdays & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => day || weekday,
            (true, false) => day,
            (false, true) => weekday,
            (false, false) => true,
        }
    }

    /// The (hour, minute) pairs it fires at on a matching day, latest first.
    pub fn times_latest_first(&self) -> impl Iterator<Item = (i8, i8)> + '_ {
        (0..24i8)
            .rev()
            .filter(|h| self.hours & (1 << h) != 0)
            .flat_map(move |h| {
                (0..60i8)
                    .rev()
                    .filter(|m| self.minutes & (1 << m) != 0)
                    .map(move |m| (h, m))
            })
    }

    /// The (hour, minute) pairs it fires at on a matching day, earliest first.
    pub fn times(&self) -> impl Iterator<Item = (i8, i8)> + '_ {
        (0..24i8)
            .filter(|h| self.hours & (1 << h) != 0)
            .flat_map(move |h| {
                (0..60i8)
                    .filter(|m| self.minutes & (1 << m) != 0)
                    .map(move |m| (h, m))
            })
    }
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cron({:?})", self.text)
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn low_bits(bits: u64) -> u32 {
    u32::try_from(bits & u64::from(u32::MAX)).unwrap_or(u32::MAX)
}

/// A field as a bit set (bit N set: value N matches).
fn parse_field(text: &str, field: &Field) -> Result<u64, String> {
    let mut bits = 0u64;
    for item in text.split(',') {
        bits |= parse_item(item, field).map_err(|why| format!("{} field \"{text}\": {why}", field.name))?;
    }
    Ok(bits)
}

fn parse_item(item: &str, field: &Field) -> Result<u64, String> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => {
            let step: u32 = step
                .parse()
                .ok()
                .filter(|s| (1..=field.hi).contains(s))
                .ok_or_else(|| format!("step \"{step}\" must be a number from 1 to {}", field.hi))?;
            (range, step)
        }
        None => (item, 1),
    };
    let (lo, hi) = if range == "*" {
        (field.lo, field.hi)
    } else if let Some((a, b)) = range.split_once('-') {
        let (a, b) = (value(a, field)?, value(b, field)?);
        if a > b {
            return Err(format!(
                "range {range} runs backwards; write the smaller value first"
            ));
        }
        (a, b)
    } else {
        let a = value(range, field)?;
        // `A/S` runs from A to the end of the field.
        (a, if item.contains('/') { field.hi } else { a })
    };
    Ok((lo..=hi)
        .step_by(step as usize)
        .fold(0, |bits, v| bits | (1 << v)))
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = field.names.iter().position(|n| *n == lower) {
        let i = u32::try_from(i).unwrap_or(0);
        return Ok(if field.lo == 1 { i + 1 } else { i });
    }
    match text.parse::<u32>() {
        Ok(v) if (field.lo..=field.hi).contains(&v) => Ok(v),
        _ => {
            let names = if field.names.is_empty() {
                String::new()
            } else {
                format!(" or a name like {}", field.names[0])
            };
            Err(format!(
                "\"{text}\" is not a value from {} to {}{names}",
                field.lo, field.hi
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i16, m: i8, d: i8) -> Date {
        Date::new(y, m, d).expect("valid date")
    }

    #[test]
    fn fields_and_their_forms() {
        let c = Cron::parse("*/15 6-8 * * 1-5").expect("parses");
        let times: Vec<_> = c.times().collect();
        assert_eq!(times.len(), 12);
        assert_eq!(times[0], (6, 0));
        assert_eq!(times[11], (8, 45));
        assert_eq!(c.times_latest_first().next(), Some((8, 45)));
        // 2026-11-23 is a Monday, 2026-11-22 a Sunday.
        assert!(c.matches_date(date(2026, 11, 23)));
        assert!(!c.matches_date(date(2026, 11, 22)));

        let c = Cron::parse("0 0 1,15 jan,JUL *").expect("names, lists");
        assert!(c.matches_date(date(2027, 7, 15)));
        assert!(!c.matches_date(date(2027, 8, 15)));
        assert!(!c.matches_date(date(2027, 7, 2)));

        let c = Cron::parse("30 2 * * 7").expect("7 is Sunday");
        assert!(c.matches_date(date(2026, 11, 22)));
        let c = Cron::parse("5/20 * * * *").expect("A/S");
        assert_eq!(c.times().take(3).collect::<Vec<_>>(), [(0, 5), (0, 25), (0, 45)]);
    }

    #[test]
    fn day_of_month_or_day_of_week_when_both_are_restricted() {
        let c = Cron::parse("0 12 13 * fri").expect("parses");
        assert!(c.matches_date(date(2026, 11, 13)), "the 13th");
        assert!(c.matches_date(date(2026, 11, 20)), "a Friday");
        assert!(!c.matches_date(date(2026, 11, 21)), "neither");
        let c = Cron::parse("0 12 13 * *").expect("parses");
        assert!(!c.matches_date(date(2026, 11, 20)));
    }

    #[test]
    fn errors_name_the_field_and_the_fix() {
        let err = |text: &str| Cron::parse(text).expect_err(text);
        assert!(err("0 6 * *").contains("has 4 fields; a cron expression has 5"));
        assert_eq!(
            err("61 6 * * *"),
            "minute field \"61\": \"61\" is not a value from 0 to 59"
        );
        assert_eq!(
            err("0 20-6 * * *"),
            "hour field \"20-6\": range 20-6 runs backwards; write the smaller value first"
        );
        assert_eq!(
            err("0 6 * * */0"),
            "day of week field \"*/0\": step \"0\" must be a number from 1 to 7"
        );
        assert_eq!(
            err("0 6 * foo *"),
            "month field \"foo\": \"foo\" is not a value from 1 to 12 or a name like jan"
        );
        assert!(err("0 6 0 * *").starts_with("day of month field"));
    }
}
