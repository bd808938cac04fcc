//! `muster plan`: what the first reconcile at a moment would do, and why.
//! Changes nothing.
//!
//! - `--policy FILE`: the file's policy against its own inventory (every
//!   host alive, in its `role:`).
//! - `--policy FILE --api URL`: the file's policy against the live farm
//!   (`GET /api/v1/hosts`): preview an edit before reloading it.
//! - `--api URL` alone: the server's own plan with the policy in force
//!   (`GET /api/v1/plan?at=`).
//!
//! The local forms go through `muster_controller::simulate::preview`, the
//! server's through the same function; all print one [`PlanView`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use muster_api::client::{Client, ClientConfig, ClientError};
use muster_api::{HostView, PlanStep, PlanView};
use muster_controller::autoscale::AutoscaleState;
use muster_controller::farm::{Assignment, Farm, HostRecord, Phase};
use muster_controller::observed::Report;
use muster_controller::policy;
use muster_controller::runner::now_millis;
use muster_controller::simulate::settle::MOVES_FOLLOWED;
use muster_controller::simulate::time::{default_zone, parse_instant, parse_zone};
use muster_controller::simulate::{self, inventory_farm};

/// Arguments of `muster plan`.
#[derive(clap::Args)]
#[command(
    override_usage = "muster plan --policy FILE [--at TIME] [--api URL] [OPTIONS]\n       \
                      muster plan --api URL [--at TIME] [OPTIONS]",
    after_help = "Exit status: 0 planned; 1 the policy is invalid or the server refused; \
2 usage error; 3 cannot reach the API."
)]
pub(crate) struct PlanArgs {
    /// The policy to plan with. Without --api, against its inventory.
    #[arg(long, value_name = "FILE", required_unless_present = "api")]
    policy: Option<PathBuf>,
    /// The moment: `now`, relative (`+2h`, `-30m`, `+1d`), RFC 3339
    /// (`2026-11-24T06:30:00-08:00`), or a local `2026-11-24T06:30` in --tz.
    #[arg(long, value_name = "TIME", default_value = "now")]
    at: String,
    /// Plan against the live farm of this muster API. With --policy, the
    /// file's policy against it; alone, the server's policy in force.
    #[arg(long, env = "MUSTER_API", value_name = "URL")]
    api: Option<String>,
    /// Operator bearer token (a read token is enough).
    #[arg(long, env = "MUSTER_TOKEN", hide_env_values = true, value_name = "T")]
    token: Option<String>,
    /// PEM file of CA certificates to trust for an https URL.
    #[arg(long = "ca-file", env = "MUSTER_CA_FILE", value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Timezone local times are read in (default: the policy's first
    /// schedule's, else UTC).
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Print the plan as JSON (the shape of `GET /api/v1/plan`).
    #[arg(long)]
    json: bool,
}

// Written by hand so the token never shows.
impl std::fmt::Debug for PlanArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanArgs")
            .field("policy", &self.policy)
            .field("at", &self.at)
            .field("api", &self.api)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("tz", &self.tz)
            .field("json", &self.json)
            .finish()
    }
}

/// Why `muster plan` failed, with its exit status.
enum Failure {
    Policy(String),
    Usage(String),
    Client(ClientError),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Self::Client(e)
    }
}

pub(crate) fn run(args: &PlanArgs) -> ExitCode {
    let planned = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(plan(args)),
        Err(e) => Err(Failure::Usage(format!("cannot start the runtime: {e}"))),
    };
    match planned {
        Ok(view) => {
            if args.json {
                match serde_json::to_string_pretty(&view) {
                    Ok(text) => println!("{text}"),
                    Err(e) => {
                        eprintln!("muster plan: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", render(&view, args.api.as_deref()));
            }
            ExitCode::SUCCESS
        }
        Err(Failure::Policy(message)) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("muster plan: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Client(e)) => {
            eprintln!("muster plan: {e}");
            match e {
                ClientError::Unreachable { .. } => ExitCode::from(3),
                ClientError::Config(_) => ExitCode::from(2),
                _ => ExitCode::from(1),
            }
        }
    }
}

async fn plan(args: &PlanArgs) -> Result<PlanView, Failure> {
    let client = match &args.api {
        None => None,
        Some(api) => Some(Client::try_new(&ClientConfig {
            api: api.clone(),
            token: args.token.clone().filter(|t| !t.is_empty()),
            ca_file: args.ca_file.clone(),
        })?),
    };
    let Some(file) = &args.policy else {
        // The server's own plan with the policy in force.
        let Some(client) = client else {
            return Err(Failure::Usage(
                "give --policy FILE, --api URL, or both".to_owned(),
            ));
        };
        if args.tz.is_some() {
            return Err(Failure::Usage(
                "--tz needs --policy (the server reads local times in its policy's timezone)".to_owned(),
            ));
        }
        // Checked here so a typo is a usage error (exit 2) before any
        // request; UTC has no gaps, so every well-formed local time passes
        // and the server reads it in its own timezone.
        parse_instant(&args.at, now_millis(), &jiff::tz::TimeZone::UTC)
            .map_err(|e| Failure::Usage(format!("--at {e}")))?;
        return Ok(client.plan(Some(&args.at)).await?.value);
    };
    let policy = policy::load_file(file).map_err(|e| Failure::Policy(e.to_string()))?;
    let tz = match &args.tz {
        Some(name) => parse_zone(name).map_err(|e| Failure::Usage(format!("--tz {e}")))?,
        None => default_zone(&policy),
    };
    let now = now_millis();
    let at = parse_instant(&args.at, now, &tz).map_err(|e| Failure::Usage(format!("--at {e}")))?;
    let (farm, reports, against) = match client {
        None => (inventory_farm(&policy, at), BTreeMap::new(), "inventory"),
        Some(client) => {
            let hosts = client.hosts().await?.value;
            let (farm, reports) = live_farm(&hosts);
            (farm, reports, "live")
        }
    };
    // The file's load rules are not the running ones: they start fresh.
    let preview = simulate::preview(
        &policy,
        &farm,
        |host| reports.get(host),
        &AutoscaleState::new(),
        at,
    );
    let mut view = PlanView::from_preview(&policy, &preview, against);
    if against == "live" {
        view.note.push_str(
            " Host cooldowns are not visible over GET /api/v1/hosts and are not applied here \
             (the server's own plan, --api without --policy, applies them).",
        );
    }
    Ok(view)
}

/// The farm and the agents' latest reports as `GET /api/v1/hosts` shows them.
fn live_farm(hosts: &[HostView]) -> (Farm, BTreeMap<String, Report>) {
    let mut farm = Farm::default();
    let mut reports = BTreeMap::new();
    for h in hosts {
        farm.hosts.insert(
            h.name.clone(),
            HostRecord {
                name: h.name.clone(),
                addresses: h.addresses.clone(),
                eligible: h.eligible.clone(),
                labels: h.labels.clone(),
                is_static: h.is_static,
                pinned: h.pinned,
                cordoned: h.cordoned,
                dead: h.dead,
                token_hash: None,
            },
        );
        let phase = match &h.drain {
            None => Phase::Active,
            Some(d) => Phase::Draining {
                to: d.to.clone(),
                started: d.started,
                actor: d.actor.clone(),
                reason: d.reason.clone(),
            },
        };
        farm.assignments.insert(
            h.name.clone(),
            Assignment {
                role: h.role.clone(),
                phase,
                since: h.since,
                last_moved: None,
            },
        );
        if h.heartbeat_age_ms.is_some() {
            reports.insert(
                h.name.clone(),
                Report {
                    role: h.reported_role.clone(),
                    probe_failures: h.failing_probes.clone(),
                    metrics: h.metrics.clone(),
                    hook_failure: h.hook_failure.clone(),
                },
            );
        }
    }
    (farm, reports)
}

/// The plan for people.
fn render(view: &PlanView, api: Option<&str>) -> String {
    let mut out = String::new();
    let line = |out: &mut String, text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(&mut out, format!("plan at {} ({})", view.at, view.timezone));
    let against = match (view.against.as_str(), api) {
        ("live", Some(api)) => format!("the live farm at {api}"),
        ("live", None) => "the live farm".to_owned(),
        _ => "its inventory, every host alive in its starting role".to_owned(),
    };
    line(
        &mut out,
        format!(
            "policy {} against {against}: {} live hosts",
            view.policy, view.live_hosts
        ),
    );
    match &view.schedule {
        Some(s) => line(
            &mut out,
            format!(
                "in force: schedule {} (window opened {} {})",
                s.name, s.opened, s.timezone
            ),
        ),
        None => line(
            &mut out,
            "in force: default_want (no schedule window open)".to_owned(),
        ),
    }
    out.push('\n');

    let mut rows = vec![vec![
        "ROLE".to_owned(),
        "MIN".to_owned(),
        "NOW".to_owned(),
        "WANTED".to_owned(),
        "SET BY".to_owned(),
        "WHY".to_owned(),
    ]];
    for r in &view.roles {
        let now = match r.incoming {
            0 => r.members.to_string(),
            n => format!("{}+{n}", r.members),
        };
        rows.push(vec![
            r.role.clone(),
            r.min.to_string(),
            now,
            r.wanted.to_string(),
            r.wanted_by.clone().unwrap_or_else(|| "-".to_owned()),
            r.reason.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&table(&rows, &[1, 2, 3]));
    if view.roles.iter().any(|r| r.incoming > 0) {
        line(&mut out, "(NOW: serving + draining in)".to_owned());
    }
    out.push('\n');

    // Nothing now and nothing later: one line says it all.
    let at_rest = view.steps.is_empty() && view.then.is_empty() && view.settles.outcome == "settled";
    if view.steps.is_empty() {
        let rest = if at_rest { ": every role has its count" } else { "" };
        line(
            &mut out,
            format!("the first reconcile at that moment would change nothing{rest}"),
        );
    } else {
        line(
            &mut out,
            format!(
                "the first reconcile at that moment would take these steps (at most {} moves per reconcile, {} out of each role at once):",
                view.moves_per_tick, view.moves_per_role
            ),
        );
        let mut rows = Vec::new();
        for s in &view.steps {
            let what = match s.kind.as_str() {
                "drain-start" => "drain",
                "move" => "finish drain",
                "death" => "mark dead",
                other => other,
            };
            rows.push(vec![
                format!("  {what}"),
                s.host.clone().unwrap_or_default(),
                change(s),
                s.actor.clone(),
                s.reason.clone(),
            ]);
        }
        out.push_str(&table(&rows, &[]));
    }
    out.push('\n');
    if !at_rest {
        render_then(&mut out, view);
        out.push('\n');
    }
    out.push_str(&wrap(&view.note, 100));
    out
}

/// At most this many later moves are listed (`--json` has them all).
const MOVES_SHOWN: usize = 40;

/// The reconciles after the first: the moves they start, and how they end.
fn render_then(out: &mut String, view: &PlanView) {
    let moves: Vec<_> = view
        .then
        .iter()
        .filter(|s| matches!(s.step.kind.as_str(), "drain-start" | "assign"))
        .collect();
    let settles = &view.settles;
    let when = |at_ms: Option<i64>, at: &Option<String>| match (at_ms, at) {
        (Some(ms), Some(at)) => format!("{} ({})", clock(at), after(ms - view.at_ms)),
        _ => "-".to_owned(),
    };
    let more = match moves.len() {
        0 => "then".to_owned(),
        1 => "then 1 more move;".to_owned(),
        n => format!("then {n} more moves;"),
    };
    let from = when(settles.at_ms, &settles.at);
    let summary = match settles.outcome.as_str() {
        "frozen" => "fail-static is in force: automation moves nothing until the silent hosts are heard from"
            .to_owned(),
        "settled" => format!("{more} every role has its count from {from}"),
        "short" => {
            let short: Vec<String> = settles
                .short
                .iter()
                .map(|r| format!("{} stays at {} of {}", r.role, r.members, r.wanted))
                .collect();
            format!(
                "{more} from {from} nothing more can move and {} (no other live host may hold it, \
                 carries its labels, and is free to leave its role)",
                short.join(", ")
            )
        }
        _ => format!(
            "{more} still moving at {from}, where looking stopped (a plan follows at most \
             {MOVES_FOLLOWED} moves, or a day)"
        ),
    };
    let summary = if moves.is_empty() {
        summary
    } else {
        format!("{summary}:")
    };
    out.push_str(&summary);
    out.push('\n');
    if moves.is_empty() {
        return;
    }
    let rows: Vec<Vec<String>> = moves
        .iter()
        .take(MOVES_SHOWN)
        .map(|m| {
            vec![
                format!("  {}", clock(&m.at)),
                after(m.at_ms - view.at_ms),
                m.step.host.clone().unwrap_or_default(),
                change(&m.step),
                m.step.actor.clone(),
            ]
        })
        .collect();
    out.push_str(&table(&rows, &[1]));
    if moves.len() > MOVES_SHOWN {
        out.push_str(&format!(
            "  … and {} more (--json lists every step)\n",
            moves.len() - MOVES_SHOWN
        ));
    }
}

/// The role change a step makes: `web → smtp-out`, `→ web`, or nothing.
fn change(step: &PlanStep) -> String {
    let role = |r: &Option<String>| r.clone().unwrap_or_else(|| "(none)".to_owned());
    match step.kind.as_str() {
        "drain-start" | "move" => format!("{} → {}", role(&step.from), role(&step.to)),
        "assign" => format!("→ {}", role(&step.to)),
        _ => String::new(),
    }
}

/// The wall-clock time of an RFC 3339 instant (`06:30:00`).
fn clock(rfc3339: &str) -> &str {
    rfc3339.get(11..19).unwrap_or(rfc3339)
}

/// A span after the moment planned: `+30s`, `+4m30s`, `+1h02m`.
fn after(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, 0) if ms > 0 => format!("+{:.1}s", ms as f64 / 1000.0),
        (0, 0, s) => format!("+{s}s"),
        (0, m, 0) => format!("+{m}m"),
        (0, m, s) => format!("+{m}m{s:02}s"),
        (h, m, _) => format!("+{h}h{m:02}m"),
    }
}

/// Columns as wide as their widest cell, two spaces apart; the columns
/// in `right` aligned right; the last column unpadded.
fn table(rows: &[Vec<String>], right: &[usize]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            if c > 0 {
                line.push_str("  ");
            }
            if right.contains(&c) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if c + 1 < row.len() {
                    line.push_str(&" ".repeat(pad));
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `text` wrapped at `width` columns.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut length = 0;
    for word in text.split_whitespace() {
        if length > 0 && length + 1 + word.len() > width {
            out.push('\n');
            length = 0;
        } else if length > 0 {
            out.push(' ');
            length += 1;
        }
        out.push_str(word);
        length += word.len();
    }
    out.push('\n');
    out
}
