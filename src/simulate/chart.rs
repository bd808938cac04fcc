//! The SVG chart of a replay: pool sizes per role over time (step lines,
//! one colour per role) above, the mail backlog below, schedule windows
//! shaded across both, hours along the bottom.
//!
//! Every role's line is a `<path data-role="ROLE">`, the backlog a
//! `<path data-series="backlog">`; each has a `<title>` browsers show on
//! hover. Lines of equal height would hide each other, so each role's is
//! nudged up or down by a pixel or two, well below a host's height.

use std::fmt::Write as _;

use jiff::tz::TimeZone;
use muster_controller::farm::Millis;
use muster_controller::simulate::Replay;
use muster_controller::simulate::time::{clock, date};

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 640.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;
/// The pools panel.
const POOLS: (f64, f64) = (110.0, 390.0);
/// The backlog panel.
const BACKLOG: (f64, f64) = (440.0, 590.0);

/// One colour per role, in role order (Tableau 10: tell-apart colours).
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#bab0ac",
];

/// What the chart shows besides the replay.
pub(crate) struct Chart<'a> {
    /// The replay drawn.
    pub(crate) replay: &'a Replay,
    /// The first line of the title.
    pub(crate) title: String,
    /// The line under it (model parameters).
    pub(crate) subtitle: String,
    /// The timezone of the hour labels.
    pub(crate) tz: &'a TimeZone,
    /// The span and step.
    pub(crate) from: Millis,
    pub(crate) to: Millis,
    pub(crate) step: Millis,
    /// The role that delivers mail (drawn thicker).
    pub(crate) mail_role: &'a str,
}

/// The chart as an SVG document.
pub(crate) fn svg(chart: &Chart<'_>) -> String {
    let replay = chart.replay;
    let span = (chart.to - chart.from).max(1) as f64;
    let x = |at: Millis| LEFT + (at - chart.from) as f64 / span * (WIDTH - LEFT - RIGHT);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">
<title>{}</title>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{LEFT}" y="28" font-size="17" font-weight="600" fill="#222">{}</text>
<text x="{LEFT}" y="48" fill="#555">{}</text>
"##,
        escape(&chart.title),
        escape(&chart.title),
        escape(&chart.subtitle)
    );

    // Schedule windows, shaded across both panels.
    let mut windows: Vec<(Millis, Millis, &str)> = Vec::new();
    for s in &replay.samples {
        let Some(name) = s.schedule.as_deref() else {
            continue;
        };
        match windows.last_mut() {
            Some((_, end, last)) if *last == name && *end == s.at => *end = s.at + chart.step,
            _ => windows.push((s.at, s.at + chart.step, name)),
        }
    }
    let mut labels = LabelRows::default();
    for (start, end, name) in &windows {
        let (x0, x1) = (x(*start), x((*end).min(chart.to)));
        // A label that would overlap the one before goes one row down, or
        // is left out (the shading and its tooltip still name the window).
        let label = labels
            .place(x0 + 4.0, label_width(name))
            .map_or_else(String::new, |row| {
                format!(
                    r##"<text x="{:.1}" y="{}" fill="#a07400" font-size="11">{}</text>"##,
                    x0 + 4.0,
                    POOLS.0 + 13.0 + 13.0 * row as f64,
                    escape(name)
                )
            });
        let _ = writeln!(
            out,
            r##"<g data-window="{n}"><title>{n}</title><rect x="{x0:.1}" y="{}" width="{:.1}" height="{}" fill="#fff4d6"/><rect x="{x0:.1}" y="{}" width="{:.1}" height="{}" fill="#fff4d6"/>{label}</g>"##,
            POOLS.0,
            x1 - x0,
            POOLS.1 - POOLS.0,
            BACKLOG.0,
            x1 - x0,
            BACKLOG.1 - BACKLOG.0,
            n = escape(name),
        );
    }

    // The pools.
    let most = replay
        .samples
        .iter()
        .flat_map(|s| s.published.iter().chain(&s.wanted))
        .copied()
        .max()
        .unwrap_or(0);
    let (top, tick) = nice(f64::from(most), true);
    let y = |n: f64| POOLS.1 - n / top * (POOLS.1 - POOLS.0);
    axis(&mut out, POOLS, top, tick, "hosts published", &|v| format!("{v}"));
    hours(&mut out, chart, POOLS.1, &x);
    let roles = replay.roles.len();
    for (i, role) in replay.roles.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let nudge = (i as f64 - (roles as f64 - 1.0) / 2.0) * 1.5;
        let mut d = String::new();
        let mut previous: Option<f64> = None;
        for s in &replay.samples {
            let value = y(f64::from(s.published[i])) + nudge;
            match previous {
                None => {
                    let _ = write!(d, "M{:.1} {value:.1}", x(s.at));
                }
                Some(p) if (p - value).abs() > 1e-9 => {
                    let _ = write!(d, " H{:.1} V{value:.1}", x(s.at));
                }
                Some(_) => {}
            }
            previous = Some(value);
        }
        if let Some(last) = replay.samples.last() {
            let _ = write!(d, " H{:.1}", x((last.at + chart.step).min(chart.to)));
        }
        let (lo, hi) = replay.summary.range[i];
        let width = if role == chart.mail_role { 3.0 } else { 2.0 };
        let _ = writeln!(
            out,
            r#"<path data-role="{r}" d="{d}" fill="none" stroke="{colour}" stroke-width="{width}" stroke-linejoin="round"><title>{r}: {lo}–{hi} hosts (min {})</title></path>"#,
            replay.mins[i],
            r = escape(role),
        );
    }
    legend(&mut out, chart);

    // The backlog.
    let peak = replay.summary.peak_backlog.0;
    let (top, tick) = nice(peak * 1.1, false);
    let y = |v: f64| BACKLOG.1 - v / top * (BACKLOG.1 - BACKLOG.0);
    axis(&mut out, BACKLOG, top, tick, "mail waiting", &short);
    hours(&mut out, chart, BACKLOG.1, &x);
    let mut d = format!("M{:.1} {:.1}", x(chart.from), BACKLOG.1);
    for s in &replay.samples {
        let _ = write!(
            d,
            " V{:.1} H{:.1}",
            y(s.backlog),
            x((s.at + chart.step).min(chart.to))
        );
    }
    let _ = write!(d, " V{:.1} Z", BACKLOG.1);
    let _ = writeln!(
        out,
        r##"<path data-series="backlog" d="{d}" fill="#9ecae9" fill-opacity="0.6" stroke="#2f6fa7" stroke-width="1.2"><title>backlog: peak {}</title></path>"##,
        short(peak)
    );
    if peak > 0.0 {
        let at = replay.summary.peak_backlog.1;
        let px = x(at).clamp(LEFT + 80.0, WIDTH - RIGHT - 80.0);
        let _ = writeln!(
            out,
            r##"<text data-label="peak" x="{px:.1}" y="{:.1}" text-anchor="middle" fill="#2f6fa7">{}</text>"##,
            y(peak) - 6.0,
            escape(&format!("peak {} at {}", short(peak), clock(at, chart.tz)))
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Rows for window labels: where each row's last label ends.
#[derive(Default)]
struct LabelRows {
    ends: [f64; LABEL_ROWS],
}

/// Window labels stagger over this many rows before one is left out.
const LABEL_ROWS: usize = 2;

impl LabelRows {
    /// The first row where a label from `x` of `width` fits after the
    /// labels already placed (a small gap apart), taking it; `None` when
    /// no row has room.
    fn place(&mut self, x: f64, width: f64) -> Option<usize> {
        let row = self.ends.iter().position(|&end| end == 0.0 || x >= end + 6.0)?;
        self.ends[row] = x + width;
        Some(row)
    }
}

/// About how wide `text` is at font size 11 (no font metrics here: a
/// generous average advance of 6.5 px per character).
fn label_width(text: &str) -> f64 {
    6.5 * text.chars().count() as f64
}

/// A panel's frame, horizontal grid lines with labels, and its title.
fn axis(
    out: &mut String,
    (top_y, bottom_y): (f64, f64),
    top: f64,
    tick: f64,
    label: &str,
    show: &dyn Fn(f64) -> String,
) {
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="{:.1}" fill="#333" font-weight="600">{}</text>"##,
        top_y - 8.0,
        escape(label)
    );
    let mut v = 0.0;
    while v <= top + tick / 2.0 {
        let y = bottom_y - v / top * (bottom_y - top_y);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{}" stroke-width="1"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##,
            WIDTH - RIGHT,
            if v == 0.0 { "#888" } else { "#e6e6e6" },
            LEFT - 6.0,
            y + 4.0,
            escape(&show(v))
        );
        v += tick;
    }
}

/// Hour ticks and labels under a panel, on local hour boundaries.
fn hours(out: &mut String, chart: &Chart<'_>, bottom_y: f64, x: &dyn Fn(Millis) -> f64) {
    const HOUR: Millis = 3_600_000;
    let span = chart.to - chart.from;
    let every = match span / HOUR {
        0..=12 => 1,
        13..=36 => 3,
        37..=96 => 6,
        _ => 24,
    };
    let multi_day = date(chart.from, chart.tz) != date(chart.to - 1, chart.tz);
    // Local hour boundaries: walk the hours (whole-hour offsets keep UTC
    // hours on local ones; half-hour zones get labels at :30, still right).
    let mut at = chart.from - chart.from.rem_euclid(HOUR);
    if at < chart.from {
        at += HOUR;
    }
    while at <= chart.to {
        let label = clock(at, chart.tz);
        let hour: i64 = label.get(..2).and_then(|h| h.parse().ok()).unwrap_or(0);
        if hour % every == 0 {
            let px = x(at);
            let text = if multi_day && label == "00:00" {
                date(at, chart.tz)
            } else {
                label
            };
            let _ = writeln!(
                out,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="{bottom_y:.1}" y2="{:.1}" stroke="#888"/><text x="{px:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}</text>"##,
                bottom_y + 5.0,
                bottom_y + 18.0,
                escape(&text)
            );
        }
        at += HOUR;
    }
}

/// The legend: one swatch per role and the backlog, in a row under the title.
fn legend(out: &mut String, chart: &Chart<'_>) {
    let replay = chart.replay;
    let mut x = LEFT;
    let y = 74.0;
    let _ = writeln!(out, r#"<g data-legend="pools">"#);
    for (i, role) in replay.roles.iter().enumerate() {
        let label = format!("{role} (min {})", replay.mins[i]);
        let _ = writeln!(
            out,
            r##"<rect x="{x:.1}" y="{:.1}" width="18" height="4" fill="{}"/><text x="{:.1}" y="{:.1}" fill="#333">{}</text>"##,
            y - 4.0,
            PALETTE[i % PALETTE.len()],
            x + 24.0,
            y + 2.0,
            escape(&label)
        );
        x += 24.0 + 7.0 * label.chars().count() as f64 + 18.0;
    }
    let _ = writeln!(
        out,
        r##"<rect x="{x:.1}" y="{:.1}" width="18" height="10" fill="#9ecae9" stroke="#2f6fa7"/><text x="{:.1}" y="{:.1}" fill="#333">backlog</text>"##,
        y - 7.0,
        x + 24.0,
        y + 2.0
    );
    let _ = writeln!(out, "</g>");
}

/// A round top for an axis whose largest value is `max`, and its tick
/// (1, 2 or 5 times a power of ten; whole numbers when `integer`).
fn nice(max: f64, integer: bool) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, 1.0);
    }
    let raw = max / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let tick = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|t| *t >= raw)
        .unwrap_or(10.0 * power);
    let tick = if integer { tick.max(1.0).round() } else { tick };
    ((max / tick).ceil() * tick, tick)
}

/// 1200 → `1.2k`, 1500000 → `1.5M`.
pub(crate) fn short(v: f64) -> String {
    let (value, unit) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text}{unit}")
}

/// Text for XML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_round() {
        assert_eq!(nice(13.0, true), (15.0, 5.0));
        assert_eq!(nice(3.0, true), (3.0, 1.0));
        let (top, tick) = nice(312_345.0, false);
        assert_eq!((top, tick), (400_000.0, 100_000.0));
        assert_eq!(nice(0.0, false), (1.0, 1.0));
        assert_eq!(short(1200.0), "1.2k");
        assert_eq!(short(1_500_000.0), "1.5M");
        assert_eq!(short(40.0), "40");
    }

    #[test]
    fn window_labels_stagger_then_give_way() {
        let mut rows = LabelRows::default();
        let w = label_width("digest-send");
        assert_eq!(rows.place(100.0, w), Some(0));
        assert_eq!(rows.place(110.0, w), Some(1), "overlaps: one row down");
        assert_eq!(rows.place(120.0, w), None, "no room: left out");
        assert_eq!(rows.place(100.0 + w + 6.0, w), Some(0), "clear of the first");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape(r#"a<b & "c"'"#), "a&lt;b &amp; &quot;c&quot;&apos;");
        assert_eq!(escape("bell\u{7}"), "bell\u{fffd}");
    }
}
