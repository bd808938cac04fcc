//! The status page's HTML: pure, from a [`Status`] to one self-contained
//! document (inline CSS and SVG, no script, no external resource).
//!
//! Every string that comes from hosts, events or the policy goes through
//! [`Esc`], in text and in attributes alike.

use std::fmt::{self, Write as _};

use muster_controller::farm::{EventKind, HostState, Millis};
use muster_controller::stats::PolicyStatus;

use super::aliases::{self, AliasRow};
use super::chart::{self, Line};
use super::history::Sample;

/// Everything the page shows, gathered by the handler.
pub(crate) struct Status {
    /// When the page was made.
    pub(crate) now: Millis,
    /// The zone's origin.
    pub(crate) zone: String,
    /// The serial being served.
    pub(crate) serial: u32,
    /// Fail-static in force.
    pub(crate) panic: bool,
    /// The page reloads itself after this many seconds.
    pub(crate) refresh_secs: u32,
    /// Every role of the policy, in order.
    pub(crate) pools: Vec<Pool>,
    /// Hosts holding no role.
    pub(crate) unassigned: Vec<Member>,
    /// The newest events, newest first, or why they could not be read.
    pub(crate) events: Result<Vec<EventRow>, String>,
    /// Pool sizes over the window, oldest first.
    pub(crate) samples: Vec<Sample>,
    /// How far back the chart looks.
    pub(crate) window: Millis,
    /// When the policy was loaded and how its last reload went.
    pub(crate) policy: Option<PolicyStatus>,
    /// Every alias, flagged ones first.
    pub(crate) aliases: Vec<AliasRow>,
}

/// One role and its hosts.
pub(crate) struct Pool {
    /// The role.
    pub(crate) role: String,
    /// Its `min`.
    pub(crate) min: u32,
    /// How many hosts it should have now.
    pub(crate) wanted: u32,
    /// How many are published.
    pub(crate) published: u32,
    /// Every host assigned to it.
    pub(crate) members: Vec<Member>,
}

/// One host.
pub(crate) struct Member {
    /// Its name.
    pub(crate) name: String,
    /// Its addresses.
    pub(crate) addresses: Vec<String>,
    /// Its state, as the API shows it.
    pub(crate) state: HostState,
    /// Where a draining host goes.
    pub(crate) draining_to: Option<String>,
    /// In DNS now.
    pub(crate) published: bool,
    /// No agent: always healthy, never moved.
    pub(crate) is_static: bool,
    /// The queue depth its agent reported.
    pub(crate) queue_depth: Option<f64>,
    /// The load average its agent reported.
    pub(crate) load1: Option<f64>,
    /// When its agent last reported.
    pub(crate) last_seen: Option<Millis>,
}

/// One event.
pub(crate) struct EventRow {
    /// When.
    pub(crate) at: Millis,
    /// What kind of change.
    pub(crate) kind: String,
    /// The host concerned.
    pub(crate) host: Option<String>,
    /// Role before.
    pub(crate) from: Option<String>,
    /// Role after.
    pub(crate) to: Option<String>,
    /// Who.
    pub(crate) actor: String,
    /// Why.
    pub(crate) reason: String,
}

/// Text made safe for HTML text and quoted attribute values.
pub(crate) struct Esc<'a>(pub(crate) &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// `HH:MM` (or `HH:MM:SS`) in UTC.
pub(crate) fn clock(at: Millis, seconds: bool) -> String {
    let secs = at.div_euclid(1000).rem_euclid(86_400);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if seconds {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}")
    }
}

/// The header's policy fact: when the policy in force was loaded, the last
/// reload in its tooltip.
fn policy_fact(p: &PolicyStatus) -> String {
    let last = match &p.last_reload {
        None => "no reload since start".to_owned(),
        Some(r) => format!(
            "last reload {} at {} UTC by {}: {}",
            if r.accepted { "accepted" } else { "rejected" },
            clock(r.at, true),
            r.actor,
            r.message
        ),
    };
    let bad = p.last_reload.as_ref().is_some_and(|r| !r.accepted);
    format!(
        r#"<div title="{}"><dt>policy loaded</dt><dd id="policy-loaded" class="{}">{} UTC</dd></div>"#,
        Esc(&last),
        if bad { "bad" } else { "" },
        clock(p.loaded_at, true)
    )
}

/// The colours of the roles, in policy order (also used by the chart).
const PALETTE: [&str; 10] = [
    "#2563eb", "#ea580c", "#0d9488", "#9333ea", "#db2777", "#65a30d", "#0891b2", "#ca8a04", "#78350f",
    "#475569",
];

fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// The whole document.
pub(crate) fn render(s: &Status) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let published: u32 = s.pools.iter().map(|p| p.published).sum();
    let hosts = s.pools.iter().map(|p| p.members.len()).sum::<usize>() + s.unassigned.len();
    let dead = s
        .pools
        .iter()
        .flat_map(|p| &p.members)
        .chain(&s.unassigned)
        .filter(|m| m.state == HostState::Dead)
        .count();
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{refresh}">
<link rel="icon" href="data:,">
<title>{panic_mark}muster · {zone}</title>
<style>{CSS}</style>
</head><body>
<header class="top"><div class="brand"><span class="logo">muster</span><span class="zone">{zone}</span></div>
<dl class="facts"><div><dt>serial</dt><dd id="serial">{serial}</dd></div><div><dt>hosts</dt><dd>{hosts}</dd></div><div><dt>in DNS</dt><dd>{published}</dd></div><div><dt>dead</dt><dd class="{dead_class}">{dead}</dd></div>{policy}<div><dt>updated</dt><dd>{updated} UTC</dd></div></dl></header>
"#,
        refresh = s.refresh_secs,
        panic_mark = if s.panic { "PANIC · " } else { "" },
        zone = Esc(&s.zone),
        serial = s.serial,
        dead_class = if dead > 0 { "bad" } else { "" },
        updated = clock(s.now, true),
        policy = s.policy.as_ref().map_or_else(String::new, policy_fact),
    );
    if s.panic {
        out.push_str(
            r#"<div class="panic" id="panic" role="alert"><strong>Fail-static: panic</strong> Many hosts went silent at once: muster suspects itself and keeps the last good set published until they report again.</div>
"#,
        );
    }
    if let Some(r) = s
        .policy
        .as_ref()
        .and_then(|p| p.last_reload.as_ref())
        .filter(|r| !r.accepted)
    {
        let _ = writeln!(
            out,
            r#"<div class="reload-rejected" id="reload" role="alert"><strong>Reload rejected</strong> at {} UTC (by {}): {} </div>"#,
            clock(r.at, true),
            Esc(&r.actor),
            Esc(&r.message)
        );
    }
    out.push_str("<main>\n");
    chart_card(&mut out, s);
    out.push_str(r#"<section class="pools" id="pools">"#);
    for (i, pool) in s.pools.iter().enumerate() {
        pool_card(&mut out, pool, colour(i), s.now);
    }
    if !s.unassigned.is_empty() {
        out.push_str(
            r#"<article class="pool none" data-role=""><header><h2>no role</h2></header><p class="targets">not in any pool</p>"#,
        );
        members_table(&mut out, &s.unassigned, false, s.now);
        out.push_str("</article>");
    }
    out.push_str("</section>\n");
    aliases::card(&mut out, &s.aliases);
    events_card(&mut out, s);
    let _ = write!(
        out,
        r#"</main>
<footer>Refreshes every {} s · times in UTC · JSON: <a href="/api/v1/pools">pools</a> · <a href="/api/v1/events">events</a> · <a href="/api/v1/zone">zone</a></footer>
</body></html>
"#,
        s.refresh_secs
    );
    out
}

fn chart_card(out: &mut String, s: &Status) {
    let current = s.pools.iter().map(|p| (p.role.clone(), p.published)).collect();
    let lines: Vec<Line<'_>> = s
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| Line {
            role: &p.role,
            colour: colour(i),
        })
        .collect();
    let _ = write!(
        out,
        r#"<section class="card chart-card" id="chart"><header><h2>Hosts in DNS per pool <span class="sub">last {} min</span></h2><ul class="legend">"#,
        chart::span(&s.samples, s.now, s.window) / 60_000
    );
    for (i, p) in s.pools.iter().enumerate() {
        let _ = write!(
            out,
            r#"<li><span class="swatch" style="background:{}"></span>{} <b>{}</b></li>"#,
            colour(i),
            Esc(&p.role),
            p.published
        );
    }
    out.push_str("</ul></header>");
    chart::render(out, &lines, &s.samples, &current, s.now, s.window);
    out.push_str("</section>\n");
}

fn pool_card(out: &mut String, pool: &Pool, colour: &str, now: Millis) {
    let health = if pool.published < pool.min {
        "below"
    } else if pool.published < pool.wanted {
        "short"
    } else {
        "ok"
    };
    let _ = write!(
        out,
        r#"<article class="pool {health}" data-role="{role}" style="--role:{colour}"><header><h2>{role}</h2><span class="count"><b>{n}</b> in DNS</span></header><p class="targets">min <b>{min}</b> · wanted <b>{wanted}</b>{note}</p>"#,
        role = Esc(&pool.role),
        n = pool.published,
        min = pool.min,
        wanted = pool.wanted,
        note = match health {
            "below" => r#" <span class="warn">below min</span>"#,
            "short" => r#" <span class="warn soft">below wanted</span>"#,
            _ => "",
        },
    );
    if pool.members.is_empty() {
        out.push_str(r#"<p class="empty">no hosts</p>"#);
    } else {
        members_table(out, &pool.members, true, now);
    }
    out.push_str("</article>");
}

/// The hosts of a pool (`pooled`: with whether each is in DNS) or of none.
fn members_table(out: &mut String, members: &[Member], pooled: bool, now: Millis) {
    out.push_str(
        r#"<table class="members"><thead><tr><th>host</th><th>state</th><th class="num">queue</th><th class="num">load</th><th class="num">seen</th></tr></thead><tbody>"#,
    );
    for m in members {
        let _ = write!(
            out,
            r#"<tr data-host="{name}"><td class="hostcell">{dot}<b class="host">{name}</b>{stat}<span class="addr">{addr}</span></td><td><span class="state {state}">{label}</span>{to}</td><td class="num">{queue}</td><td class="num">{load}</td><td class="num">{seen}</td></tr>"#,
            name = Esc(&m.name),
            dot = match (pooled, m.published) {
                (false, _) => "",
                (true, true) => r#"<span class="dns in" title="in DNS"></span>"#,
                (true, false) => r#"<span class="dns out" title="not in DNS"></span>"#,
            },
            addr = Esc(&m.addresses.join(", ")),
            state = m.state,
            // A static host outside every pool is infrastructure, not idle.
            label = if m.is_static && m.state == HostState::Unassigned {
                "static"
            } else {
                m.state.as_str()
            },
            to = match &m.draining_to {
                Some(to) => format!(r#"<span class="dest">→ {}</span>"#, Esc(to)),
                None => String::new(),
            },
            stat = if m.is_static && m.state != HostState::Unassigned {
                r#"<span class="tag">static</span>"#
            } else {
                ""
            },
            queue = m.queue_depth.map_or_else(|| "–".to_owned(), count),
            load = m.load1.map_or_else(|| "–".to_owned(), |l| format!("{l:.2}")),
            seen = if m.is_static {
                "–".to_owned()
            } else {
                m.last_seen.map_or_else(|| "never".to_owned(), |t| ago(now - t))
            },
        );
    }
    out.push_str("</tbody></table>");
}

fn events_card(out: &mut String, s: &Status) {
    out.push_str(r#"<section class="card events" id="events"><header><h2>Recent events</h2></header>"#);
    match &s.events {
        Err(e) => {
            let _ = write!(out, r#"<p class="empty">event log unavailable: {}</p>"#, Esc(e));
        }
        Ok(events) if events.is_empty() => out.push_str(r#"<p class="empty">no events yet</p>"#),
        Ok(events) => {
            out.push_str(
                r#"<table><thead><tr><th>time</th><th>host</th><th>change</th><th>actor</th><th>reason</th></tr></thead><tbody>"#,
            );
            for e in events {
                let role = |r: &Option<String>| {
                    r.as_deref()
                        .map_or_else(|| "–".to_owned(), |r| Esc(r).to_string())
                };
                let change = if e.from.is_some() && e.from == e.to {
                    format!(r#"<span class="to">{}</span>"#, role(&e.to))
                } else if e.from.is_some() || e.to.is_some() {
                    format!(
                        r#"<span class="from">{}</span> → <span class="to">{}</span>"#,
                        role(&e.from),
                        role(&e.to)
                    )
                } else {
                    String::new()
                };
                let _ = write!(
                    out,
                    r#"<tr class="event"><td class="time">{time}</td><td><b>{host}</b></td><td><span class="kind {kind_class}">{kind}</span> {change}</td><td>{actor}</td><td class="reason">{reason}</td></tr>"#,
                    time = if s.now - e.at < 86_400_000 {
                        clock(e.at, true)
                    } else {
                        format!("{} d ago", (s.now - e.at) / 86_400_000)
                    },
                    host = Esc(e.host.as_deref().unwrap_or("–")),
                    kind_class = kind_class(&e.kind),
                    kind = Esc(&e.kind),
                    actor = Esc(&e.actor),
                    reason = Esc(&e.reason),
                );
            }
            out.push_str("</tbody></table>");
        }
    }
    out.push_str("</section>\n");
}

/// A CSS class for an event kind (a fixed set: never the kind itself).
fn kind_class(kind: &str) -> &'static str {
    match EventKind::parse(kind) {
        Some(EventKind::Death | EventKind::Panic) => "bad",
        Some(EventKind::Revival | EventKind::PanicEnd | EventKind::Publish) => "good",
        Some(EventKind::DrainStart | EventKind::Unpublish) => "warn",
        Some(EventKind::Move) => "move",
        _ => "",
    }
}

/// A count with thousands separators (`12,345`); fractions rounded.
fn count(v: f64) -> String {
    if !v.is_finite() {
        return "?".to_owned();
    }
    let n = v.round().abs() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    if v.round() < 0.0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A short age: `0.4 s`, `12 s`, `3 min`, `2 h`.
fn ago(ms: Millis) -> String {
    let ms = ms.max(0);
    match ms {
        0..10_000 => format!("{:.1} s", ms as f64 / 1000.0),
        10_000..120_000 => format!("{} s", ms / 1000),
        120_000..7_200_000 => format!("{} min", ms / 60_000),
        _ => format!("{} h", ms / 3_600_000),
    }
}

const CSS: &str = r#"
:root{--bg:#f4f5f7;--card:#fff;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--ok:#15803d;--bad:#b91c1c;--warn:#b45309}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
b{font-weight:600}
.top{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:12px 32px;padding:14px 28px;background:#111827;color:#f9fafb}
.brand{display:flex;align-items:baseline;gap:14px}
.logo{font-size:20px;font-weight:700;letter-spacing:.02em}
.zone{color:#9ca3af;font-size:15px}
.facts{display:flex;gap:28px;margin:0}
.facts div{display:flex;flex-direction:column}
.facts dt{color:#9ca3af;font-size:11px;text-transform:uppercase;letter-spacing:.06em}
.facts dd{margin:0;font-size:16px;font-weight:600;font-variant-numeric:tabular-nums}
.facts dd.bad{color:#fca5a5}
.panic{margin:16px 28px 0;padding:14px 18px;border-radius:10px;background:#b91c1c;color:#fff;font-size:15px;box-shadow:0 2px 8px rgba(185,28,28,.35)}
.panic strong{margin-right:10px;text-transform:uppercase;letter-spacing:.05em}
.reload-rejected{margin:16px 28px 0;padding:12px 18px;border-radius:10px;background:#fef3c7;color:#78350f;border:1px solid #f59e0b}
.reload-rejected strong{margin-right:10px}
main{padding:18px 28px 8px;display:flex;flex-direction:column;gap:18px;max-width:1600px;margin:0 auto}
.card,.pool{background:var(--card);border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.08),0 1px 2px rgba(0,0,0,.04);padding:16px 18px}
h2{margin:0;font-size:16px;font-weight:650}
h2 .sub{color:var(--muted);font-weight:400;font-size:13px;margin-left:6px}
.card>header{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:8px 20px;margin-bottom:8px}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:0;padding:0;list-style:none;font-size:13px}
.legend li{display:flex;align-items:center;gap:6px}
.swatch{display:inline-block;width:14px;height:4px;border-radius:2px}
.chart{display:block;width:100%;height:auto}
.chart .grid line{stroke:#eef0f3}
.chart .xaxis line{stroke:#cbd5e1}
.chart text{fill:var(--muted);font-size:12px;font-family:inherit}
.chart .now{fill:var(--ink);font-weight:600}
.chart .line{stroke-width:2.5;stroke-linejoin:round;stroke-linecap:round}
.pools{display:grid;grid-template-columns:repeat(auto-fill,minmax(350px,1fr));gap:18px}
.pool{border-top:5px solid var(--role,#9ca3af)}
.pool>header{display:flex;align-items:baseline;justify-content:space-between}
.pool h2{font-size:17px}
.count{color:var(--muted)}
.count b{color:var(--ink);font-size:22px;margin-right:2px;font-variant-numeric:tabular-nums}
.targets{margin:2px 0 10px;color:var(--muted);font-size:13px}
.targets b{color:var(--ink)}
.warn{display:inline-block;margin-left:8px;padding:0 8px;border-radius:999px;background:#fee2e2;color:var(--bad);font-weight:600;font-size:12px}
.warn.soft{background:#fef3c7;color:var(--warn)}
.pool.below{box-shadow:0 0 0 2px #fca5a5}
.empty{color:var(--muted);margin:6px 0}
table{width:100%;border-collapse:collapse;font-size:13px}
th{text-align:left;color:var(--muted);font-weight:500;font-size:11px;text-transform:uppercase;letter-spacing:.05em;padding:4px 5px;border-bottom:1px solid var(--line)}
td{padding:5px 5px;border-bottom:1px solid #f3f4f6;vertical-align:middle}
tr:last-child td{border-bottom:0}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.hostcell{white-space:nowrap;line-height:1.25}
.host{margin-right:6px}
.addr{display:block;color:var(--muted);font-size:12px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.dns{display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:6px;vertical-align:1px}
.dns~.addr{margin-left:14px}
.dns.in{background:#22c55e}
.dns.out{background:transparent;box-shadow:inset 0 0 0 1.5px #cbd5e1}
.state{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.state.active{background:#dcfce7;color:#166534}
.state.draining{background:#fef3c7;color:#92400e}
.state.dead{background:#fee2e2;color:#991b1b}
.state.cordoned{background:#e2e8f0;color:#334155}
.state.pinned{background:#e0e7ff;color:#3730a3}
.state.unassigned{background:#f3f4f6;color:#6b7280}
.dest{display:block;margin:1px 0 0 8px;color:#92400e;font-size:12px;white-space:nowrap}
.tag{font-size:11px;color:var(--muted);border:1px solid var(--line);border-radius:4px;padding:0 4px}
.events td{white-space:nowrap}
.aliases tr.flagged td{background:#fff7ed}
.events td.reason{white-space:normal;color:#374151;width:45%}
.time{font-variant-numeric:tabular-nums;color:var(--muted)}
.kind{display:inline-block;min-width:84px;padding:0 6px;border-radius:4px;background:#f3f4f6;color:#374151;font-size:12px;text-align:center}
.kind.bad{background:#fee2e2;color:#991b1b}
.kind.good{background:#dcfce7;color:#166534}
.kind.warn{background:#fef3c7;color:#92400e}
.kind.move{background:#dbeafe;color:#1e40af}
.from{color:var(--muted)}
.to{font-weight:600}
footer{padding:6px 28px 22px;color:var(--muted);font-size:12px;text-align:center}
footer a{color:inherit}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, state: HostState) -> Member {
        Member {
            name: name.to_owned(),
            addresses: vec!["192.0.2.1".to_owned()],
            state,
            draining_to: None,
            published: state == HostState::Active,
            is_static: false,
            queue_depth: Some(1234.0),
            load1: Some(0.5),
            last_seen: Some(0),
        }
    }

    fn status() -> Status {
        Status {
            now: 3_600_000,
            zone: "lists.example.test".to_owned(),
            serial: 42,
            panic: false,
            refresh_secs: 5,
            pools: vec![Pool {
                role: "smtp-out".to_owned(),
                min: 2,
                wanted: 2,
                published: 1,
                members: vec![
                    member("smurf1", HostState::Active),
                    member("smurf2", HostState::Dead),
                ],
            }],
            unassigned: Vec::new(),
            events: Ok(vec![EventRow {
                at: 3_000_000,
                kind: "death".to_owned(),
                host: Some("smurf2".to_owned()),
                from: Some("smtp-out".to_owned()),
                to: None,
                actor: "failure-detector".to_owned(),
                reason: "silent for 3 s".to_owned(),
            }]),
            samples: Vec::new(),
            window: 3_600_000,
            policy: None,
            aliases: Vec::new(),
        }
    }

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            Esc(r#"<a href="x">'&'</a>"#).to_string(),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(Esc("plain").to_string(), "plain");
        assert_eq!(Esc("é → ü").to_string(), "é → ü");
    }

    #[test]
    fn markup_from_hosts_events_and_policy_is_shown_as_text() {
        let evil = r#"<script>alert(1)</script><img src=x onerror="alert(2)">"#;
        let mut s = status();
        s.zone = evil.to_owned();
        s.pools[0].role = evil.to_owned();
        s.pools[0].members[0].name = evil.to_owned();
        s.pools[0].members[0].addresses = vec![evil.to_owned()];
        s.pools[0].members[1].draining_to = Some(evil.to_owned());
        s.samples = vec![Sample {
            at: 3_000_000,
            sizes: [(evil.to_owned(), 1)].into_iter().collect(),
        }];
        s.unassigned = vec![member(evil, HostState::Unassigned)];
        if let Ok(events) = &mut s.events {
            let e = &mut events[0];
            e.kind = evil.to_owned();
            e.host = Some(evil.to_owned());
            e.from = Some(evil.to_owned());
            e.to = Some(evil.to_owned());
            e.actor = evil.to_owned();
            e.reason = evil.to_owned();
        }
        let html = render(&s);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("onerror=\""), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        let mut broken = status();
        broken.events = Err(evil.to_owned());
        let html = render(&broken);
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn shows_pools_members_events_and_the_chart() {
        let html = render(&status());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains(r#"<link rel="icon" href="data:,">"#));
        assert!(html.contains(r#"<meta http-equiv="refresh" content="5">"#));
        assert!(html.contains(r#"data-role="smtp-out""#));
        assert!(html.contains(r#"data-host="smurf1""#));
        assert!(html.contains(r#"<span class="state dead">dead</span>"#));
        assert!(html.contains("below min"), "1 published of min 2");
        assert!(html.contains("1,234"));
        assert!(html.contains("failure-detector"));
        assert!(html.contains(r#"<svg class="chart""#));
        assert!(html.contains(r#"<dd id="serial">42</dd>"#));
        assert!(!html.contains(r#"id="panic""#));
        assert!(!html.contains("<script"), "no script on the page");
    }

    #[test]
    fn shows_the_panic_banner_in_panic() {
        let mut s = status();
        s.panic = true;
        let html = render(&s);
        assert!(html.contains(r#"id="panic""#));
        assert!(html.contains("<title>PANIC · "));
    }

    #[test]
    fn formats_counts_ages_and_clock_times() {
        assert_eq!(count(0.0), "0");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(1234567.4), "1,234,567");
        assert_eq!(count(f64::NAN), "?");
        assert_eq!(ago(400), "0.4 s");
        assert_eq!(ago(45_000), "45 s");
        assert_eq!(ago(600_000), "10 min");
        assert_eq!(clock(3_723_000, true), "01:02:03");
        assert_eq!(clock(86_400_000 + 60_000, false), "00:01");
    }
}
