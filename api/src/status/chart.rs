//! The inline SVG step chart of pool sizes over the last hour.
//!
//! Pure: samples, the current sizes and `now` in, SVG text out. A count
//! holds until the next sample, so each role is drawn as a step line
//! (horizontal, then vertical at the change), extended to `now` with the
//! sizes the page shows.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use muster_controller::farm::Millis;

use super::history::Sample;
use super::page::{Esc, clock};

/// The chart's drawing size (the SVG scales to the page's width).
const WIDTH: f64 = 1200.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 30.0;

/// The shortest time the chart shows: right after a start the history is
/// short, and is drawn over this rather than squeezed into the right edge.
const MIN_SPAN: Millis = 5 * 60_000;

/// The time the chart covers: back to the oldest sample, at least
/// [`MIN_SPAN`] and at most `window`.
pub(crate) fn span(samples: &[Sample], now: Millis, window: Millis) -> Millis {
    let since_first = samples.first().map_or(0, |s| now - s.at);
    since_first.clamp(MIN_SPAN.min(window), window).max(1)
}

/// A role's line: its name and colour.
pub(crate) struct Line<'a> {
    /// The role.
    pub(crate) role: &'a str,
    /// A CSS colour from the page's palette.
    pub(crate) colour: &'static str,
}

/// Appends the SVG chart of `lines` to `out`: the last `window` before
/// `now`, or less when the history is shorter (see [`span`]).
pub(crate) fn render(
    out: &mut String,
    lines: &[Line<'_>],
    samples: &[Sample],
    current: &BTreeMap<String, u32>,
    now: Millis,
    window: Millis,
) {
    let window = span(samples, now, window);
    let start = now - window;
    let last = Sample {
        at: now,
        sizes: current.clone(),
    };
    let points: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at < now)
        .chain(std::iter::once(&last))
        .collect();
    let top_value = points
        .iter()
        .flat_map(|s| s.sizes.values())
        .copied()
        .max()
        .unwrap_or(0);
    let (y_step, y_max) = y_scale(top_value);
    let x = |t: Millis| {
        LEFT + (WIDTH - LEFT - RIGHT) * ((t.clamp(start, now) - start) as f64 / (now - start) as f64)
    };
    let y = |v: u32| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - f64::from(v) / f64::from(y_max));

    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">Published hosts per pool, last {} minutes</title>"#,
        window / 60_000
    );

    // Horizontal grid and the count axis.
    out.push_str(r#"<g class="grid">"#);
    let mut v = 0;
    while v <= y_max {
        let yy = y(v);
        let _ = write!(
            out,
            r#"<line x1="{LEFT}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}"/><text class="ylabel" x="{lx}" y="{ty:.1}" text-anchor="end">{v}</text>"#,
            x2 = WIDTH - RIGHT,
            lx = LEFT - 8.0,
            ty = yy + 4.0,
        );
        v += y_step;
    }
    out.push_str("</g>");

    // The time axis: ticks on round clock times, and `now` at the right.
    out.push_str(r#"<g class="xaxis">"#);
    let base = HEIGHT - BOTTOM;
    let _ = write!(
        out,
        r#"<line x1="{LEFT}" x2="{x2}" y1="{base}" y2="{base}"/>"#,
        x2 = WIDTH - RIGHT
    );
    let step = x_step(window);
    let mut t = start.div_euclid(step) * step + step;
    while t < now {
        let xx = x(t);
        // Leave room for the `now` label at the right.
        if WIDTH - RIGHT - xx > 150.0 {
            let _ = write!(
                out,
                r#"<line x1="{xx:.1}" x2="{xx:.1}" y1="{base}" y2="{b2}"/><text class="xlabel" x="{xx:.1}" y="{ty}" text-anchor="middle">{}</text>"#,
                clock(t, false),
                b2 = base + 5.0,
                ty = base + 20.0,
            );
        }
        t += step;
    }
    let _ = write!(
        out,
        r#"<text class="xlabel now" x="{xx}" y="{ty}" text-anchor="end">now · {} UTC</text></g>"#,
        clock(now, true),
        xx = WIDTH - RIGHT,
        ty = base + 20.0,
    );

    // One step line per role; lines at equal counts are set a little apart.
    let n = lines.len() as f64;
    for (i, line) in lines.iter().enumerate() {
        let offset = (i as f64 - (n - 1.0) / 2.0) * 2.0;
        let d = step_path(&points, line.role, &x, &|v| y(v) + offset);
        let now_value = current.get(line.role).copied();
        let _ = write!(
            out,
            r#"<g class="series" data-role="{role}"><title>{role}</title>"#,
            role = Esc(line.role)
        );
        if !d.is_empty() {
            let _ = write!(
                out,
                r#"<path class="line" d="{d}" stroke="{c}" fill="none"/>"#,
                c = line.colour
            );
        }
        if let Some(v) = now_value {
            let _ = write!(
                out,
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="4" fill="{c}"/>"#,
                cx = x(now),
                cy = y(v) + offset,
                c = line.colour
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
}

/// The SVG path of one role's step line (empty when the role has no value).
fn step_path(points: &[&Sample], role: &str, x: &dyn Fn(Millis) -> f64, y: &dyn Fn(u32) -> f64) -> String {
    let mut d = String::new();
    let mut prev_y: Option<f64> = None;
    for s in points {
        let xx = x(s.at);
        match (s.sizes.get(role).copied(), prev_y) {
            (Some(v), None) => {
                let yy = y(v);
                let _ = write!(d, "M{xx:.1},{yy:.1}");
                prev_y = Some(yy);
            }
            (Some(v), Some(py)) => {
                let yy = y(v);
                let _ = write!(d, "H{xx:.1}");
                if (yy - py).abs() > f64::EPSILON {
                    let _ = write!(d, "V{yy:.1}");
                }
                prev_y = Some(yy);
            }
            // The role left the policy: its line ends here.
            (None, Some(_)) => {
                let _ = write!(d, "H{xx:.1}");
                prev_y = None;
            }
            (None, None) => {}
        }
    }
    d
}

/// The count axis: a round step and the top of the axis, for values up to
/// `top` (at least 1, at most about six gridlines).
fn y_scale(top: u32) -> (u32, u32) {
    let top = top.max(1);
    let mut magnitude = 1u32;
    loop {
        for factor in [1, 2, 5] {
            let step = magnitude.saturating_mul(factor);
            if top.div_ceil(step) <= 6 {
                return (step, top.div_ceil(step) * step);
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

/// Time between labelled ticks: a round number of minutes, about six ticks.
fn x_step(window: Millis) -> Millis {
    const MINUTE: Millis = 60_000;
    [1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440]
        .into_iter()
        .map(|m| m * MINUTE)
        .find(|step| window / step <= 7)
        .unwrap_or(1440 * MINUTE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: Millis, pairs: &[(&str, u32)]) -> Sample {
        Sample {
            at,
            sizes: pairs.iter().map(|(r, n)| ((*r).to_owned(), *n)).collect(),
        }
    }

    #[test]
    fn a_count_holds_until_the_next_sample_then_steps() {
        let points = [
            sample(0, &[("web", 1)]),
            sample(50, &[("web", 3)]),
            sample(100, &[("web", 3)]),
        ];
        let refs: Vec<&Sample> = points.iter().collect();
        let d = step_path(&refs, "web", &|t| t as f64, &|v| f64::from(v) * 10.0);
        assert_eq!(d, "M0.0,10.0H50.0V30.0H100.0");
    }

    #[test]
    fn a_role_that_leaves_ends_its_line_and_may_start_again() {
        let points = [
            sample(0, &[("web", 1)]),
            sample(10, &[]),
            sample(20, &[("web", 2)]),
        ];
        let refs: Vec<&Sample> = points.iter().collect();
        let d = step_path(&refs, "web", &|t| t as f64, &|v| f64::from(v));
        assert_eq!(d, "M0.0,1.0H10.0M20.0,2.0");
    }

    #[test]
    fn the_count_axis_uses_round_steps() {
        assert_eq!(y_scale(0), (1, 1));
        assert_eq!(y_scale(4), (1, 4));
        assert_eq!(y_scale(7), (2, 8));
        assert_eq!(y_scale(12), (2, 12));
        assert_eq!(y_scale(13), (5, 15));
        assert_eq!(y_scale(230), (50, 250));
    }

    #[test]
    fn a_short_history_is_spread_over_at_least_five_minutes() {
        let hour = 3_600_000;
        assert_eq!(span(&[], hour, hour), 300_000);
        assert_eq!(span(&[sample(hour - 60_000, &[])], hour, hour), 300_000);
        assert_eq!(span(&[sample(hour - 1_800_000, &[])], hour, hour), 1_800_000);
        assert_eq!(span(&[sample(0, &[])], 5 * hour, hour), hour);
    }

    #[test]
    fn an_hour_has_ticks_every_ten_minutes() {
        assert_eq!(x_step(3_600_000), 600_000);
        assert_eq!(x_step(600_000), 120_000);
    }

    #[test]
    fn draws_a_line_per_role_extended_to_now() {
        let mut out = String::new();
        let current = [("web".to_owned(), 2)].into_iter().collect();
        render(
            &mut out,
            &[Line {
                role: "web",
                colour: "#123456",
            }],
            &[sample(0, &[("web", 1)]), sample(3_000_000, &[("web", 1)])],
            &current,
            3_600_000,
            3_600_000,
        );
        assert!(out.starts_with("<svg class=\"chart\""), "{out}");
        assert!(out.contains(r#"data-role="web""#), "{out}");
        assert!(out.contains(r##"stroke="#123456""##), "{out}");
        // From 50 min (x = 40 + 1140 * 50/60 = 990) to now (x = 1180).
        assert!(out.contains("M40.0,"), "{out}");
        assert!(out.contains("H990.0"), "{out}");
        assert!(out.contains("H1180.0V"), "{out}");
        assert!(out.ends_with("</svg>"));
    }
}
