//! `muster events`: the log as a table, or `--follow`ed from the server's
//! event stream, one line per event as it arrives, until Ctrl-C. A stream
//! lost mid-way (the server restarted) is opened again after the last
//! event printed, so nothing is missed or printed twice.

use std::time::Duration;

use muster_api::client::{ClientError, EventFollower};
use muster_api::{EventView, EventsQuery, StreamQuery};

use super::table::{Cell, Style, Table, paint};
use super::time::utc;
use super::{Ctx, OpsError, print, print_json};

/// The columns of `muster events`, listed and followed alike.
const HEADER: [&str; 7] = [
    "TIME (UTC)",
    "KIND",
    "HOST",
    "CHANGE",
    "ACTOR",
    "SERIAL",
    "REASON",
];

/// The widths of the followed columns (a stream has no widest cell to
/// wait for): a UTC time, the longest kind, then room for most names.
const WIDTHS: [usize; 6] = [19, 11, 10, 16, 14, 10];

/// Longest wait between attempts to open a lost stream again.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// `muster events [--host H] [--since T] [--limit N]`.
pub(super) async fn list(
    ctx: &Ctx,
    host: Option<String>,
    since: Option<i64>,
    limit: Option<u32>,
) -> Result<(), OpsError> {
    let query = EventsQuery {
        host,
        since,
        after: None,
        limit,
    };
    let reply = ctx.client.events(&query).await?;
    if ctx.json {
        return print_json(&reply.json);
    }
    if reply.value.is_empty() {
        return print("no events\n");
    }
    let mut t = Table::with_header(&HEADER);
    for e in &reply.value {
        t.row(row(e));
    }
    print(&t.render(ctx.colour))
}

/// `muster events --follow [--host H] [--since T]`.
pub(super) async fn follow(ctx: &Ctx, host: Option<String>, since: Option<i64>) -> Result<(), OpsError> {
    let mut query = StreamQuery {
        host,
        since,
        after: None,
    };
    // The first connection's failure is the command's.
    let mut stream = Some(ctx.client.follow(&query).await?);
    eprintln!(
        "muster: following the events of {} (Ctrl-C to stop)",
        ctx.client.base()
    );
    if !ctx.json {
        print(&header(ctx.colour))?;
    }
    let mut retry = Duration::from_millis(250);
    loop {
        let Some(follower) = stream.as_mut() else {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok(()),
                () = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(MAX_RETRY);
            match ctx.client.follow(&query).await {
                Ok(f) => {
                    eprintln!("muster: event stream open again");
                    stream = Some(f);
                }
                Err(e @ ClientError::Unreachable { .. }) => {
                    tracing::debug!(error = %e, "event stream: still unreachable");
                }
                Err(e) => return Err(e.into()),
            }
            continue;
        };
        let next = tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            next = follower.next() => next,
        };
        match next {
            Ok(Some(event)) => {
                retry = Duration::from_millis(250);
                if ctx.json {
                    print_json(&event.json)?;
                } else {
                    print(&line(&event.value, ctx.colour))?;
                }
            }
            Ok(None) | Err(_) => {
                let why = match next {
                    Err(e) => e.to_string(),
                    _ => "the server closed it".to_owned(),
                };
                eprintln!("muster: event stream lost ({why}); opening it again");
                resume_after(&mut query, follower);
                stream = None;
            }
        }
    }
}

/// Resumes after the last event printed (replaying from `since` only once).
fn resume_after(query: &mut StreamQuery, follower: &EventFollower) {
    if let Some(id) = follower.last_id() {
        query.after = Some(id);
        query.since = None;
    }
}

fn change(e: &EventView) -> String {
    match (&e.from, &e.to) {
        (None, None) => String::new(),
        (Some(from), Some(to)) if from == to => from.clone(),
        (from, to) => format!(
            "{} → {}",
            from.as_deref().unwrap_or("-"),
            to.as_deref().unwrap_or("-")
        ),
    }
}

fn kind_style(kind: &str) -> Style {
    match kind {
        "death" | "panic" => Style::Red,
        "revival" | "panic-end" | "publish" => Style::Green,
        "drain-start" | "unpublish" => Style::Yellow,
        "cordon" | "uncordon" => Style::Magenta,
        "pin" | "unpin" => Style::Cyan,
        _ => Style::Plain,
    }
}

fn row(e: &EventView) -> Vec<Cell> {
    vec![
        utc(e.at).into(),
        Cell::new(e.kind.as_str(), kind_style(&e.kind)),
        e.host.as_deref().unwrap_or("-").into(),
        change(e).into(),
        e.actor.as_str().into(),
        e.serial.map(|s| s.to_string()).unwrap_or_default().into(),
        e.reason.as_str().into(),
    ]
}

/// The followed header: the table's titles at the followed widths.
fn header(colour: bool) -> String {
    let cells: Vec<Cell> = HEADER.iter().map(|t| Cell::new(*t, Style::Bold)).collect();
    fixed(&cells, colour)
}

/// One followed event: the table's columns at fixed widths.
fn line(e: &EventView, colour: bool) -> String {
    fixed(&row(e), colour)
}

/// Cells at [`WIDTHS`], two spaces apart, the last one unpadded.
fn fixed(cells: &[Cell], colour: bool) -> String {
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push_str("  ");
        }
        out.push_str(&paint(cell.text(), cell.style(), colour));
        if let Some(&w) = WIDTHS.get(i) {
            out.push_str(&" ".repeat(w.saturating_sub(cell.text().chars().count())));
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> EventView {
        EventView {
            id: 7,
            at: 1_748_786_400_000,
            kind: "drain-start".into(),
            host: Some("smurf1".into()),
            from: Some("mx".into()),
            to: Some("web".into()),
            actor: "ops".into(),
            reason: "operator move".into(),
            serial: Some(12),
        }
    }

    #[test]
    fn a_followed_event_is_one_line_with_the_tables_columns() {
        assert_eq!(
            header(false),
            "TIME (UTC)           KIND         HOST        CHANGE            ACTOR           SERIAL      REASON\n"
        );
        assert_eq!(
            line(&event(), false),
            "2025-06-01 14:00:00  drain-start  smurf1      mx → web          ops             12          \
             operator move\n"
        );
        assert!(line(&event(), true).contains("\x1b[33mdrain-start\x1b[0m  smurf1"));
        // Each title starts where its column does.
        let (head, row) = (header(false), line(&event(), false));
        for (title, value) in [("KIND", "drain-start"), ("HOST", "smurf1"), ("SERIAL", "12")] {
            let at = |s: &str, w: &str| s.find(w).map(|b| s[..b].chars().count());
            assert_eq!(at(&head, title), at(&row, value), "{title}");
        }
        // The list has the same titles.
        let table = Table::with_header(&HEADER).render(false);
        assert_eq!(
            table.split_whitespace().collect::<Vec<_>>(),
            head.split_whitespace().collect::<Vec<_>>()
        );
    }
}
