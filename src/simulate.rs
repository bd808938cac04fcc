//! `muster simulate`: replays a span of time through the controller's own
//! decisions (`muster_controller::simulate::replay`) with a mail backlog,
//! prints what happened, and draws it (`--svg`).

mod chart;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use jiff::tz::TimeZone;
use muster_controller::farm::{EventKind, Millis};
use muster_controller::policy::{self, Policy};
use muster_controller::runner::now_millis;
use muster_controller::simulate::time::{
    clock, date, default_zone, human, parse_instant, parse_step, parse_zone, rfc3339, zone_name,
};
use muster_controller::simulate::{self, Model, Replay, Sample, Trace};
use serde_json::json;

/// Arguments of `muster simulate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The trace is CSV, `time,messages` per line (a header line and # comments \
allowed): from each row's time until the next row's, that many messages arrive, spread evenly; \
the last row lasts as long as the gap before it. A time is HH:MM (local in --tz, on --from's date; a row earlier \
than the one before is on the next day) or RFC 3339. See docs/preview.md.\n\n\
Exit status: 0 done; 1 the policy or the trace is invalid; 2 usage error."
)]
pub(crate) struct SimulateArgs {
    /// The policy to replay.
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Replace the inventory's agent hosts with N synthetic ones
    /// (smurf1…smurfN, any role), starting where the wanted counts at
    /// --from put them. Without it, the inventory as written.
    #[arg(long, value_name = "N")]
    hosts: Option<u32>,
    /// The mail arriving: a CSV trace `time,messages`.
    #[arg(long, value_name = "TRACE.csv")]
    load: Option<PathBuf>,
    /// The first step: RFC 3339, a local `2026-11-24T00:00` or a date
    /// (its midnight) in --tz, `now`, or relative (`-1d`).
    #[arg(long, value_name = "T1")]
    from: String,
    /// Steps run while before this (default: a day after --from).
    #[arg(long, value_name = "T2")]
    to: Option<String>,
    /// Time between reconciles.
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    step: String,
    /// Messages one published mail host delivers per minute.
    #[arg(long, value_name = "R")]
    rate: f64,
    /// The role that delivers mail.
    #[arg(long, value_name = "ROLE", default_value = "smtp-out")]
    mail_role: String,
    /// Timezone of local times in the options, the trace and the output
    /// (default: the policy's first schedule's, else UTC).
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Also draw the replay: pool sizes and backlog over time.
    #[arg(long, value_name = "OUT.svg")]
    svg: Option<PathBuf>,
    /// Print every step and the summary as JSON instead.
    #[arg(long)]
    json: bool,
    /// Plan at every step, even when only the clock changed and the plan
    /// is known to be empty (slower; the outcome is the same).
    #[arg(long)]
    every_step: bool,
    /// Print only the hourly lines and the summary, not each move.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// What was run, for the header, the JSON and the chart.
struct Setup {
    policy: Policy,
    tz: TimeZone,
    model: Model,
    hosts: String,
    trace: Option<(PathBuf, usize)>,
}

pub(crate) fn run(args: &SimulateArgs) -> ExitCode {
    let policy = match policy::load_file(&args.policy) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let usage = |message: String| {
        eprintln!("muster simulate: {message}");
        ExitCode::from(2)
    };
    let tz = match &args.tz {
        Some(name) => match parse_zone(name) {
            Ok(tz) => tz,
            Err(e) => return usage(format!("--tz {e}")),
        },
        None => default_zone(&policy),
    };
    let now = now_millis();
    let from = match parse_instant(&args.from, now, &tz) {
        Ok(t) => t,
        Err(e) => return usage(format!("--from {e}")),
    };
    let to = match args.to.as_deref().map(|t| parse_instant(t, now, &tz)) {
        None => parse_instant("+1d", from, &tz),
        Some(t) => t,
    };
    let to = match to {
        Ok(t) => t,
        Err(e) => return usage(format!("--to {e}")),
    };
    let step = match parse_step(&args.step) {
        Ok(s) => s,
        Err(e) => return usage(format!("--step {e}")),
    };
    let trace = match &args.load {
        None => Trace::default(),
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("cannot read the trace {}: {e}", path.display());
                    return ExitCode::from(1);
                }
            };
            match Trace::parse(&text, from, &tz) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{}:{e}", path.display());
                    return ExitCode::from(1);
                }
            }
        }
    };
    let farm = match args.hosts {
        Some(n) => simulate::synthetic_farm(&policy, n, from),
        None => simulate::inventory_farm(&policy, from),
    };
    let agents = farm.hosts.values().filter(|h| !h.is_static).count();
    let statics = farm.hosts.len() - agents;
    let hosts = match args.hosts {
        Some(n) => format!("{n} synthetic hosts"),
        None => format!("{agents} hosts from its inventory"),
    } + &match statics {
        0 => String::new(),
        n => format!(" (+{n} static)"),
    };
    let setup = Setup {
        model: Model {
            from,
            to,
            step,
            rate_per_minute: args.rate,
            mail_role: args.mail_role.clone(),
            every_step: args.every_step,
        },
        policy,
        tz,
        hosts,
        trace: args.load.clone().map(|p| (p, trace.len())),
    };
    let started = Instant::now();
    let replay = match simulate::replay(&setup.policy, farm, &trace, &setup.model) {
        Ok(r) => r,
        Err(e) => return usage(e.to_string()),
    };
    let took = started.elapsed();
    tracing::debug!(?took, steps = replay.samples.len(), "replayed");

    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&to_json(&setup, &replay)).unwrap_or_default();
        text.push('\n');
        text
    } else {
        render(&setup, &replay, args.quiet, took.as_secs_f64())
    };
    if let Some(path) = &args.svg {
        let document = chart::svg(&chart::Chart {
            replay: &replay,
            title: format!("{} — {}", setup.policy.source.display(), span_label(&setup)),
            subtitle: format!(
                "{}; {} messages/min per published {} host; step {}{}",
                setup.hosts,
                setup.model.rate_per_minute,
                setup.model.mail_role,
                human(step),
                setup
                    .trace
                    .as_ref()
                    .map(|(p, _)| format!("; load {}", p.display()))
                    .unwrap_or_default()
            ),
            tz: &setup.tz,
            from,
            to,
            step,
            mail_role: &setup.model.mail_role,
        });
        if let Err(e) = std::fs::write(path, document) {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    print!("{text}");
    ExitCode::SUCCESS
}

/// `2026-11-24 00:00 → 2026-11-25 00:00 America/Los_Angeles`.
fn span_label(setup: &Setup) -> String {
    let (from, to, tz) = (setup.model.from, setup.model.to, &setup.tz);
    format!(
        "{} {} → {} {} {}",
        date(from, tz),
        clock(from, tz),
        date(to, tz),
        clock(to, tz),
        zone_name(tz)
    )
}

/// A time in the output: `06:00`, `06:00:30` when steps are not whole
/// minutes, or `11-25 06:00` when the span covers more than one local date.
fn when(setup: &Setup, at: Millis) -> String {
    let tz = &setup.tz;
    let mut time = clock(at, tz);
    if setup.model.step % 60_000 != 0 || setup.model.from % 60_000 != 0 {
        let _ = write!(time, ":{:02}", at.div_euclid(1000).rem_euclid(60));
    }
    if date(setup.model.from, tz) == date(setup.model.to - 1, tz) {
        time
    } else {
        format!("{} {time}", date(at, tz).get(5..).unwrap_or(""))
    }
}

/// 1234567.8 → `1,234,568`.
fn count(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn render(setup: &Setup, replay: &Replay, quiet: bool, took: f64) -> String {
    let model = &setup.model;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "simulate {}: {}, {}, step {}",
        setup.policy.source.display(),
        setup.hosts,
        span_label(setup),
        human(model.step)
    );
    let _ = writeln!(
        out,
        "each published {} host delivers {} messages/min; {}",
        model.mail_role,
        model.rate_per_minute,
        match &setup.trace {
            Some((path, rows)) => format!("mail arrives as {} says ({rows} rows)", path.display()),
            None => "no mail arrives (no --load)".to_owned(),
        }
    );
    let _ = writeln!(
        out,
        "pools: hosts published (/wanted when it differs; ! below its min); the backlog is what waits at the end of the step\n"
    );

    let mut header: Vec<String> = vec!["time".to_owned(), "in force".to_owned()];
    header.extend(replay.roles.iter().cloned());
    header.extend(["draining".to_owned(), "backlog".to_owned()]);
    let row = |s: &Sample| -> Vec<String> {
        let mut cells = vec![
            when(setup, s.at),
            s.schedule
                .clone()
                .unwrap_or_else(|| muster_controller::wanted::DEFAULT_WANT.to_owned()),
        ];
        cells.extend(
            s.published
                .iter()
                .zip(&s.wanted)
                .zip(&replay.mins)
                .map(|((p, w), min)| {
                    let below = if p < min { "!" } else { "" };
                    if p == w {
                        format!("{p}{below}")
                    } else {
                        format!("{p}{below}/{w}")
                    }
                }),
        );
        cells.extend([s.draining.to_string(), count(s.backlog)]);
        cells
    };
    // Column widths from every row that could print.
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for s in &replay.samples {
        for (w, c) in widths.iter_mut().zip(row(s)) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            if i < 2 {
                let _ = write!(text, "{cell:<w$}");
            } else {
                let _ = write!(text, "{cell:>w$}");
            }
        }
        text.trim_end().to_owned() + "\n"
    };
    out.push_str(&line(&header));
    let hour = 3_600_000;
    let mut previous_schedule: Option<Option<String>> = None;
    let mut previous_below: Option<Vec<bool>> = None;
    let last = replay.samples.len().saturating_sub(1);
    for (k, s) in replay.samples.iter().enumerate() {
        let hourly = (s.at - model.from) % hour == 0;
        // A window opening or closing gets a line, but not with --quiet:
        // that prints only the hourly lines (and the min crossings).
        let changed = previous_schedule.as_ref() != Some(&s.schedule) && !quiet;
        previous_schedule = Some(s.schedule.clone());
        // A pool falling below its min, or back: always worth a line.
        let below: Vec<bool> = s.published.iter().zip(&replay.mins).map(|(p, m)| p < m).collect();
        let crossed = previous_below.as_ref().is_some_and(|b| *b != below);
        previous_below = Some(below);
        let eventful = !s.events.is_empty() && !quiet;
        if !(k == 0 || k == last || hourly || changed || crossed || eventful) {
            continue;
        }
        out.push_str(&line(&row(s)));
        if quiet {
            continue;
        }
        let mut finished = Vec::new();
        for e in &s.events {
            let host = e.host.as_deref().unwrap_or("-");
            let role = |r: &Option<String>| r.clone().unwrap_or_else(|| "(none)".to_owned());
            match e.kind {
                EventKind::Move => finished.push(format!("{host} → {}", role(&e.to_role))),
                EventKind::DrainStart => {
                    let _ = writeln!(
                        out,
                        "        drain {host}: {} → {}  [{}] {}",
                        role(&e.from_role),
                        role(&e.to_role),
                        e.actor,
                        e.reason
                    );
                }
                EventKind::Assign => {
                    let _ = writeln!(
                        out,
                        "        assign {host} → {}  [{}] {}",
                        role(&e.to_role),
                        e.actor,
                        e.reason
                    );
                }
                kind => {
                    let _ = writeln!(out, "        {kind} {host}  [{}] {}", e.actor, e.reason);
                }
            }
        }
        if !finished.is_empty() {
            let _ = writeln!(out, "        drained, now serving: {}", finished.join(", "));
        }
    }

    let sum = &replay.summary;
    let _ = writeln!(
        out,
        "\nsummary: {} steps over {} (replayed in {took:.2} s)",
        sum.steps,
        human(model.to - model.from)
    );
    let _ = writeln!(
        out,
        "  moves started: {} (drains finished: {})",
        sum.moves, sum.drains_finished
    );
    let _ = writeln!(
        out,
        "  mail: {} arrived, {} delivered, {} still waiting",
        count(sum.arrived),
        count(sum.delivered),
        count(sum.left)
    );
    if sum.peak_backlog.0 > 0.0 {
        let _ = writeln!(
            out,
            "  peak backlog: {} at {}",
            count(sum.peak_backlog.0),
            when(setup, sum.peak_backlog.1)
        );
        let _ = match sum.cleared_at {
            Some(at) => writeln!(
                out,
                "  backlog cleared: {} ({} after the peak)",
                when(setup, at),
                human(at - sum.peak_backlog.1)
            ),
            None => writeln!(out, "  backlog cleared: not by the end"),
        };
    } else {
        let _ = writeln!(
            out,
            "  peak backlog: none (every step's mail was delivered within it)"
        );
    }
    let below: Vec<String> = replay
        .roles
        .iter()
        .zip(&sum.below_min)
        .filter(|(_, t)| **t > 0)
        .map(|(r, t)| format!("{r} {}", human(*t)))
        .collect();
    let _ = writeln!(
        out,
        "  time below min: {}",
        if below.is_empty() {
            "none".to_owned()
        } else {
            below.join(", ")
        }
    );
    let ranges: Vec<String> = replay
        .roles
        .iter()
        .zip(&sum.range)
        .map(|(r, (lo, hi))| {
            if lo == hi {
                format!("{r} {lo}")
            } else {
                format!("{r} {lo}–{hi}")
            }
        })
        .collect();
    let _ = writeln!(out, "  pool sizes: {}", ranges.join(", "));
    out
}

fn to_json(setup: &Setup, replay: &Replay) -> serde_json::Value {
    let tz = &setup.tz;
    let per_role = |values: &[u32]| -> serde_json::Map<String, serde_json::Value> {
        replay
            .roles
            .iter()
            .zip(values)
            .map(|(r, v)| (r.clone(), json!(v)))
            .collect()
    };
    let samples: Vec<serde_json::Value> = replay
        .samples
        .iter()
        .map(|s| {
            json!({
                "at": rfc3339(s.at, tz),
                "at_ms": s.at,
                "schedule": s.schedule,
                "published": per_role(&s.published),
                "wanted": per_role(&s.wanted),
                "draining": s.draining,
                "arrived": s.arrived,
                "delivered": s.delivered,
                "backlog": s.backlog,
                "events": s.events.iter().map(|e| json!({
                    "kind": e.kind.as_str(),
                    "host": e.host,
                    "from": e.from_role,
                    "to": e.to_role,
                    "actor": e.actor,
                    "reason": e.reason,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let sum = &replay.summary;
    json!({
        "policy": setup.policy.source.display().to_string(),
        "hosts": setup.hosts,
        "from": rfc3339(setup.model.from, tz),
        "to": rfc3339(setup.model.to, tz),
        "timezone": zone_name(tz),
        "step_ms": setup.model.step,
        "rate_per_minute": setup.model.rate_per_minute,
        "mail_role": setup.model.mail_role,
        "roles": replay.roles,
        "mins": per_role(&replay.mins),
        "samples": samples,
        "summary": {
            "steps": sum.steps,
            "moves": sum.moves,
            "drains_finished": sum.drains_finished,
            "arrived": sum.arrived,
            "delivered": sum.delivered,
            "left": sum.left,
            "peak_backlog": sum.peak_backlog.0,
            "peak_at": rfc3339(sum.peak_backlog.1, tz),
            "cleared_at": sum.cleared_at.map(|t| rfc3339(t, tz)),
            "below_min_ms": replay.roles.iter().zip(&sum.below_min).map(|(r, t)| (r.clone(), json!(t))).collect::<serde_json::Map<_, _>>(),
            "range": replay.roles.iter().zip(&sum.range).map(|(r, (lo, hi))| (r.clone(), json!([lo, hi]))).collect::<serde_json::Map<_, _>>(),
        },
    })
}
