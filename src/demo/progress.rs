//! The demo's running commentary: one line per change, read from the
//! event log as it grows, and now and then a line about the simulated mail.

use std::io::Write;
use std::time::Duration;

use muster_controller::farm::{EventKind, Millis};
use muster_controller::runner::now_millis;
use muster_controller::store::{EventFilter, Store, StoredEvent};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::bulge::Phase;
use super::mail::{Mail, MailStatus};

/// How often the event log is read.
const POLL: Duration = Duration::from_millis(500);
/// How often the mail line is printed while mail is queued.
const MAIL_EVERY: Duration = Duration::from_secs(10);

/// Prints events (and mail lines, with `mail`) until `cancel` fires. The
/// lines for events logged before the cancellation are printed first.
pub(crate) fn spawn_progress(
    store: Store,
    mail: Option<(Mail, String)>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut after = None;
        let mut phase = None;
        let mut last_mail = tokio::time::Instant::now();
        let mut store_failing = false;
        loop {
            let stopping = tokio::select! {
                () = cancel.cancelled() => true,
                () = tokio::time::sleep(POLL) => false,
            };
            let filter = EventFilter {
                after_id: after,
                ..EventFilter::default()
            };
            match store.events(&filter).await {
                Ok(events) => {
                    store_failing = false;
                    for e in condense(&events) {
                        print_line(&event_line(e));
                    }
                    after = events.last().map(|e| e.id).or(after);
                }
                Err(e) if !store_failing => {
                    warn!(error = %e, "cannot read the event log");
                    store_failing = true;
                }
                Err(_) => {}
            }
            if stopping {
                return;
            }
            if let Some((mail, role)) = &mail {
                let status = mail.status();
                let now = Some(stage(&status));
                if phase != now || (status.queued >= 1.0 && last_mail.elapsed() >= MAIL_EVERY) {
                    print_line(&mail_line(now_millis(), &status, role));
                    phase = now;
                    last_mail = tokio::time::Instant::now();
                }
            }
        }
    })
}

/// Writes a line to stdout; a closed stdout is not worth dying for.
pub(crate) fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// `HH:MM:SS` in UTC (the demo's schedule is in UTC too).
pub(crate) fn clock(at: Millis) -> String {
    let day = at.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", day / 3600, day / 60 % 60, day % 60)
}

/// The events worth a line: a drain's start says the host left DNS, so
/// the `unpublish` logged with it is left out.
fn condense(events: &[StoredEvent]) -> impl Iterator<Item = &StoredEvent> {
    events.iter().filter(|s| {
        let e = &s.event;
        e.kind != EventKind::Unpublish
            || !events.iter().any(|other| {
                other.event.kind == EventKind::DrainStart
                    && other.event.host == e.host
                    && other.event.at == e.at
            })
    })
}

/// One change: time, host, from → to (the role alone when a host enters
/// or leaves DNS), what, actor: why.
pub(crate) fn event_line(stored: &StoredEvent) -> String {
    let e = &stored.event;
    let role = |r: &Option<String>| r.as_deref().unwrap_or("none").to_owned();
    let change = match (e.kind, &e.from_role, &e.to_role) {
        (EventKind::Publish, _, Some(to)) => to.clone(),
        (EventKind::Unpublish, Some(from), _) => from.clone(),
        (_, None, None) => String::new(),
        (_, from, to) if from == to => role(from),
        (_, from, to) => format!("{} → {}", role(from), role(to)),
    };
    format!(
        "{}  {:<9} {:<21} {:<12} {}: {}",
        clock(e.at),
        e.host.as_deref().unwrap_or("-"),
        change,
        e.kind,
        e.actor,
        e.reason
    )
}

/// What the mail is doing, for people: after the bulge, the backlog is
/// being delivered until the queues are empty, and then it is quiet.
fn stage(status: &MailStatus) -> &'static str {
    match status.phase {
        Phase::Rising => "bulge rising",
        Phase::Delivering if status.queued >= 1.0 => "delivering the backlog",
        Phase::Quiet | Phase::Delivering => "quiet",
    }
}

/// The simulated mail: phase, rate, what waits and where it goes.
pub(crate) fn mail_line(now: Millis, status: &MailStatus, role: &str) -> String {
    format!(
        "{}  ~ mail: {}, {:.0} msg/s submitted, {:.0} queued; {role} in DNS: {}",
        clock(now),
        stage(status),
        status.inflow,
        status.queued,
        match status.targets.as_slice() {
            [] => "(no answer yet)".to_owned(),
            targets => targets.join(" "),
        }
    )
}

#[cfg(test)]
mod tests {
    use muster_controller::farm::Event;

    use super::*;

    #[test]
    fn clock_is_utc_time_of_day() {
        assert_eq!(clock(0), "00:00:00");
        assert_eq!(clock(1_700_000_000_123), "22:13:20");
    }

    #[test]
    fn an_event_line_says_when_who_what_and_why() {
        let stored = StoredEvent {
            id: 7,
            event: Event {
                at: 3_600_000 + 61_000,
                kind: EventKind::DrainStart,
                host: Some("smurf8".into()),
                from_role: Some("bounce".into()),
                to_role: Some("smtp-out".into()),
                actor: "autoscale-smtp-out".into(),
                reason: "queue_depth total 4200".into(),
                serial: Some(3),
            },
        };
        assert_eq!(
            event_line(&stored),
            "01:01:01  smurf8    bounce → smtp-out     drain-start  autoscale-smtp-out: queue_depth total 4200"
        );
        let mut publish = stored.clone();
        publish.event.kind = EventKind::Publish;
        publish.event.from_role = None;
        assert!(event_line(&publish).starts_with("01:01:01  smurf8    smtp-out              publish "));
        let mut unpublish = stored.clone();
        unpublish.event.kind = EventKind::Unpublish;
        unpublish.event.to_role = None;
        let both = [stored.clone(), unpublish.clone()];
        assert_eq!(condense(&both).count(), 1, "the drain says it left DNS");
        assert_eq!(condense(&both[1..]).count(), 1, "alone, the unpublish is news");
        let mut panic = stored.clone();
        panic.event.host = None;
        panic.event.from_role = None;
        panic.event.to_role = None;
        panic.event.kind = EventKind::Panic;
        assert!(event_line(&panic).starts_with("01:01:01  -                               panic "));
    }

    #[test]
    fn a_mail_line_names_the_pool_in_dns() {
        let status = MailStatus {
            time: 70.0,
            phase: Phase::Rising,
            inflow: 706.4,
            targets: vec!["smurf1".into(), "smurf2".into()],
            queued: 3120.2,
        };
        assert_eq!(
            mail_line(0, &status, "smtp-out"),
            "00:00:00  ~ mail: bulge rising, 706 msg/s submitted, 3120 queued; smtp-out in DNS: smurf1 smurf2"
        );
    }
}
