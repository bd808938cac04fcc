//! Schedule windows at fixed instants, across DST changes in two timezones.

use std::path::Path;

use jiff::Timestamp;
use muster_controller::policy::{Policy, load_str};
use muster_controller::schedule::{firings, in_force, open_since};

fn policy(schedules: &[&str]) -> Policy {
    let mut text = String::from("zone: lists.example.test\nroles: { smtp-out: {}, web: {} }\nschedules:\n");
    for s in schedules {
        text.push_str("  - ");
        text.push_str(s);
        text.push('\n');
    }
    load_str(Path::new("t.yaml"), &text).unwrap_or_else(|e| panic!("{e}"))
}

/// Milliseconds of an RFC 3339 instant.
fn at(text: &str) -> i64 {
    text.parse::<Timestamp>()
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .as_millisecond()
}

fn show(ms: i64) -> String {
    Timestamp::from_millisecond(ms).map_or_else(|e| e.to_string(), |t| t.to_string())
}

fn shown(list: &[i64]) -> Vec<String> {
    list.iter().map(|&ms| show(ms)).collect()
}

#[test]
fn spring_forward_the_missing_time_opens_once_after_the_jump() {
    // Los Angeles, 2027-03-14: 02:00 PST becomes 03:00 PDT; 02:30 does not
    // exist that day.
    let p = policy(&[
        "{ name: night, cron: \"30 2 * * *\", for: 1h, timezone: America/Los_Angeles, want: { web: 1 } }",
    ]);
    let s = &p.schedules[0];
    let fired = firings(s, at("2027-03-13T00:00:00Z"), at("2027-03-16T00:00:00Z"), 10);
    assert_eq!(
        shown(&fired),
        [
            "2027-03-13T10:30:00Z", // 02:30 PST
            "2027-03-14T10:30:00Z", // 03:30 PDT: the gap's length past the jump
            "2027-03-15T09:30:00Z", // 02:30 PDT
        ]
    );
    assert_eq!(open_since(s, at("2027-03-14T10:29:59Z")), None);
    assert_eq!(
        open_since(s, at("2027-03-14T11:00:00Z")),
        Some(at("2027-03-14T10:30:00Z"))
    );
    assert_eq!(
        open_since(s, at("2027-03-14T11:30:00Z")),
        None,
        "it lasts its hour, no more"
    );

    // Berlin, 2027-03-28: 02:00 CET becomes 03:00 CEST.
    let p = policy(&[
        "{ name: night, cron: \"30 2 * * *\", for: 1h, timezone: Europe/Berlin, want: { web: 1 } }",
    ]);
    let fired = firings(
        &p.schedules[0],
        at("2027-03-27T00:00:00Z"),
        at("2027-03-30T00:00:00Z"),
        10,
    );
    assert_eq!(
        shown(&fired),
        [
            "2027-03-27T01:30:00Z", // 02:30 CET
            "2027-03-28T01:30:00Z", // 03:30 CEST
            "2027-03-29T00:30:00Z", // 02:30 CEST
        ]
    );
}

#[test]
fn fall_back_the_repeated_time_opens_only_the_first_time() {
    // Los Angeles, 2027-11-07: 02:00 PDT becomes 01:00 PST; 01:30 happens
    // at 08:30Z and again at 09:30Z.
    let p = policy(&[
        "{ name: night, cron: \"30 1 * * *\", for: 30m, timezone: America/Los_Angeles, want: { web: 1 } }",
    ]);
    let s = &p.schedules[0];
    let fired = firings(s, at("2027-11-06T00:00:00Z"), at("2027-11-09T00:00:00Z"), 10);
    assert_eq!(
        shown(&fired),
        [
            "2027-11-06T08:30:00Z", // 01:30 PDT
            "2027-11-07T08:30:00Z", // the first 01:30 (PDT) only
            "2027-11-08T09:30:00Z", // 01:30 PST
        ]
    );
    assert!(open_since(s, at("2027-11-07T08:45:00Z")).is_some());
    assert_eq!(
        open_since(s, at("2027-11-07T09:45:00Z")),
        None,
        "not again at the second 01:30"
    );

    // Berlin, 2027-10-31: 03:00 CEST becomes 02:00 CET.
    let p = policy(&[
        "{ name: night, cron: \"30 2 * * *\", for: 30m, timezone: Europe/Berlin, want: { web: 1 } }",
    ]);
    let fired = firings(
        &p.schedules[0],
        at("2027-10-30T00:00:00Z"),
        at("2027-11-01T12:00:00Z"),
        10,
    );
    assert_eq!(
        shown(&fired),
        [
            "2027-10-30T00:30:00Z", // 02:30 CEST
            "2027-10-31T00:30:00Z", // the first 02:30 (CEST) only
            "2027-11-01T01:30:00Z", // 02:30 CET
        ]
    );
}

#[test]
fn a_window_runs_past_midnight_and_the_later_listed_wins() {
    let p = policy(&[
        "{ name: evening, cron: \"0 23 * * *\", for: 3h, want: { web: 2 } }",
        "{ name: midnight, cron: \"0 0 * * *\", for: 1h, want: { web: 3 } }",
    ]);
    let evening = &p.schedules[0];
    assert_eq!(
        open_since(evening, at("2027-01-02T01:59:00Z")),
        Some(at("2027-01-01T23:00:00Z"))
    );
    assert_eq!(open_since(evening, at("2027-01-02T02:00:00Z")), None);
    let name = |now: &str| in_force(&p.schedules, at(now)).map(|(s, _)| s.name.clone());
    assert_eq!(name("2027-01-01T23:30:00Z").as_deref(), Some("evening"));
    assert_eq!(
        name("2027-01-02T00:30:00Z").as_deref(),
        Some("midnight"),
        "listed later"
    );
    assert_eq!(name("2027-01-02T01:30:00Z").as_deref(), Some("evening"));
    assert_eq!(name("2027-01-02T12:00:00Z"), None);
    // And `muster check` says so.
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    let warning = &p.warnings[0];
    assert_eq!((warning.line, warning.column), (5, 29));
    assert!(
        warning
            .message
            .contains("the windows of \"evening\" and \"midnight\" overlap"),
        "{}",
        warning.message
    );
    assert!(
        warning
            .message
            .contains("\"midnight\" wins because it is listed later")
    );
}

#[test]
fn weekday_windows_follow_the_local_date() {
    // 18:00 on weekdays in Los Angeles is 02:00 UTC the next day.
    let p = policy(&[
        "{ name: evening, cron: \"0 18 * * mon-fri\", for: 2h, timezone: America/Los_Angeles, want: { web: 2 } }",
    ]);
    let s = &p.schedules[0];
    // Friday 2027-01-08 18:00 PST = Saturday 02:00Z: open.
    assert!(open_since(s, at("2027-01-09T02:30:00Z")).is_some());
    // Saturday 18:00 PST: closed.
    assert!(open_since(s, at("2027-01-10T02:30:00Z")).is_none());
}
