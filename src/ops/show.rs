//! The read commands: `muster hosts [HOST]`, `muster pools`, `muster zone`.

use std::fmt::Write as _;

use muster_api::{DnsPresence, HostView, PoolsView, ZoneView};

use super::table::{Cell, Style, Table};
use super::time::{age, ago, now_ms, utc};
use super::{Ctx, OpsError, print, print_json};

/// `muster hosts [HOST]`.
pub(super) async fn hosts(ctx: &Ctx, host: Option<&str>) -> Result<(), OpsError> {
    match host {
        None => {
            let reply = ctx.client.hosts().await?;
            if ctx.json {
                return print_json(&reply.json);
            }
            print(&hosts_table(&reply.value, now_ms(), ctx.colour))
        }
        Some(name) => {
            let reply = ctx.client.host(name).await?;
            if ctx.json {
                return print_json(&reply.json);
            }
            print(&host_detail(&reply.value, now_ms(), ctx.colour))
        }
    }
}

/// `muster pools`.
pub(super) async fn pools(ctx: &Ctx) -> Result<(), OpsError> {
    let reply = ctx.client.pools().await?;
    if ctx.json {
        return print_json(&reply.json);
    }
    print(&pools_text(&reply.value, ctx.colour))
}

/// `muster zone [ZONE] [--all]`: one zone (the forward zone by default),
/// or every zone served.
pub(super) async fn zone(ctx: &Ctx, name: Option<&str>, all: bool) -> Result<(), OpsError> {
    if all {
        let reply = ctx.client.zones().await?;
        if ctx.json {
            return print_json(&reply.json);
        }
        let texts: Vec<String> = reply.value.iter().map(zone_text).collect();
        return print(&texts.join("\n"));
    }
    let reply = ctx.client.zone(name).await?;
    if ctx.json {
        return print_json(&reply.json);
    }
    let mut text = zone_text(&reply.value);
    if name.is_none() {
        // Say which other zones there are, so the reverse zones are found.
        let zones = ctx.client.zones().await?;
        let others: Vec<String> = zones
            .value
            .iter()
            .skip(1)
            .map(|z| format!("{} (serial {})", z.zone, z.serial))
            .collect();
        if !others.is_empty() {
            text.push_str(&format!(
                "; also served: {}; `muster zone NAME` or `--all` shows them\n",
                others.join(", ")
            ));
        }
    }
    print(&text)
}

fn state_cell(state: &str) -> Cell {
    Cell::new(state, Style::of_state(state))
}

/// The DNS column: `pool` (its role's records name it), `own` (only its
/// own address records), `no`.
fn dns_cell(dns: DnsPresence) -> Cell {
    let style = match dns {
        DnsPresence::Pool => Style::Green,
        DnsPresence::Own | DnsPresence::None => Style::Dim,
    };
    Cell::new(dns.word(), style)
}

/// Under a table with a DNS column, what its words mean.
const DNS_LEGEND: &str =
    "\nDNS: pool = named by its role's records; own = only its own address record; no = nothing\n";

fn or_dash(s: Option<&str>) -> String {
    s.unwrap_or("-").to_owned()
}

/// The short notes on a host: where its drain goes, what is wrong.
fn notes(h: &HostView) -> String {
    let mut notes = Vec::new();
    if let Some(d) = &h.drain {
        notes.push(format!("draining to {} ({})", or_dash(d.to.as_deref()), d.actor));
    }
    if h.is_static {
        notes.push("static".to_owned());
    }
    if h.pinned && h.state != "pinned" {
        notes.push("pinned".to_owned());
    }
    if h.dead && h.state != "dead" {
        notes.push("dead".to_owned());
    }
    if !h.is_static && h.reported_role != h.role && h.heartbeat_age_ms.is_some() {
        notes.push(format!("agent holds {}", or_dash(h.reported_role.as_deref())));
    }
    if !h.failing_probes.is_empty() {
        notes.push(format!("failing: {}", h.failing_probes.join(", ")));
    }
    if let Some(hook) = &h.hook_failure {
        notes.push(format!("hook failed: {hook}"));
    }
    if let Some(aliases) = aliases_note(h) {
        notes.push(aliases);
    }
    notes.join("; ")
}

/// Most aliases named in a host's notes; the rest are counted.
const ALIASES_NAMED: usize = 3;

/// The aliases that follow a host, flagged when it is dead or cordoned
/// (they stay: an operator moves them with `muster alias set`).
fn aliases_note(h: &HostView) -> Option<String> {
    if h.aliases.is_empty() {
        return None;
    }
    let names: Vec<&str> = h
        .aliases
        .iter()
        .take(ALIASES_NAMED)
        .map(|a| a.strip_suffix('.').unwrap_or(a))
        .collect();
    let more = h.aliases.len().saturating_sub(ALIASES_NAMED);
    let more = if more > 0 {
        format!(" +{more} more")
    } else {
        String::new()
    };
    let list = format!("{}{more}", names.join(", "));
    let out_of_service = if h.dead {
        Some("dead")
    } else if h.cordoned {
        Some("cordoned")
    } else {
        None
    };
    Some(match out_of_service {
        Some(why) => format!("aliases still pointing at this {why} host: {list}"),
        None => format!("aliases: {list}"),
    })
}

fn addresses(h: &HostView) -> String {
    h.addresses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn heartbeat(h: &HostView) -> String {
    match (h.is_static, h.heartbeat_age_ms) {
        (true, _) => "static".to_owned(),
        (false, Some(ms)) => format!("{} ago", age(ms)),
        (false, None) => "never".to_owned(),
    }
}

fn hosts_table(hosts: &[HostView], now: i64, colour: bool) -> String {
    if hosts.is_empty() {
        return "no hosts\n".to_owned();
    }
    let mut t = Table::with_header(&[
        "HOST",
        "ROLE",
        "STATE",
        "DNS",
        "ADDRESS",
        "HEARTBEAT",
        "SINCE",
        "NOTES",
    ]);
    for h in hosts {
        t.row(vec![
            h.name.as_str().into(),
            or_dash(h.role.as_deref()).into(),
            state_cell(&h.state),
            dns_cell(h.dns),
            addresses(h).into(),
            heartbeat(h).into(),
            ago(h.since, now).into(),
            notes(h).into(),
        ]);
    }
    let mut out = t.render(colour);
    if hosts.iter().any(|h| h.dns != DnsPresence::Pool) {
        out.push_str(DNS_LEGEND);
    }
    out
}

fn host_detail(h: &HostView, now: i64, colour: bool) -> String {
    let mut t = Table::plain();
    let mut kv = |k: &str, v: Cell| t.row(vec![Cell::new(k, Style::Bold), v]);
    kv("host", h.name.as_str().into());
    kv("addresses", addresses(h).into());
    kv("role", or_dash(h.role.as_deref()).into());
    kv("state", state_cell(&h.state));
    let in_dns = match (h.dns, h.role.as_deref()) {
        (DnsPresence::Pool, Some(role)) => format!("pool: {role}'s records and its own address"),
        (DnsPresence::Pool, None) => "pool".to_owned(),
        (DnsPresence::Own, Some(role)) if h.published => {
            format!("own address only ({role} publishes no records)")
        }
        (DnsPresence::Own, _) => "own address only".to_owned(),
        (DnsPresence::None, _) => "no".to_owned(),
    };
    kv("in DNS", Cell::new(in_dns, dns_cell(h.dns).style()));
    if h.since > 0 {
        kv(
            "since",
            format!("{} UTC ({})", utc(h.since), ago(h.since, now)).into(),
        );
    }
    if let Some(d) = &h.drain {
        kv(
            "drain",
            format!(
                "to {} since {} by {}: {}",
                or_dash(d.to.as_deref()),
                ago(d.started, now),
                d.actor,
                d.reason
            )
            .into(),
        );
    }
    let flags: Vec<&str> = [
        (h.is_static, "static"),
        (h.pinned, "pinned"),
        (h.cordoned, "cordoned"),
        (h.dead, "dead"),
        (h.in_policy, "in the policy file"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| *name)
    .collect();
    kv(
        "flags",
        if flags.is_empty() {
            "-".into()
        } else {
            flags.join(", ").into()
        },
    );
    if !h.aliases.is_empty() {
        let names: Vec<&str> = h
            .aliases
            .iter()
            .map(|a| a.strip_suffix('.').unwrap_or(a))
            .collect();
        let text = names.join(", ");
        let cell = if h.dead || h.cordoned {
            Cell::new(
                format!("{text} (still pointing here: move them with `muster alias set`)"),
                Style::Red,
            )
        } else {
            text.into()
        };
        kv("aliases", cell);
    }
    kv(
        "eligible",
        if h.eligible.is_empty() {
            "any role".into()
        } else {
            h.eligible.join(", ").into()
        },
    );
    if !h.labels.is_empty() {
        let labels: Vec<String> = h.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        kv("labels", labels.join(" ").into());
    }
    kv("heartbeat", heartbeat(h).into());
    if !h.is_static {
        kv("agent holds", or_dash(h.reported_role.as_deref()).into());
    }
    if !h.metrics.is_empty() {
        let metrics: Vec<String> = h
            .metrics
            .iter()
            .map(|(k, v)| format!("{k}={}", number(*v)))
            .collect();
        kv("metrics", metrics.join(" ").into());
    }
    if !h.failing_probes.is_empty() {
        kv("failing", Cell::new(h.failing_probes.join("; "), Style::Red));
    }
    if let Some(hook) = &h.hook_failure {
        kv("hook failed", Cell::new(hook.as_str(), Style::Red));
    }
    t.render(colour)
}

fn metric(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), number)
}

/// A number for people: whole numbers without decimals, others to two
/// places (`0.5050505050505051` is `0.51`); `--json` keeps the full value.
pub(super) fn number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let text = if v.fract() == 0.0 || v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    };
    // `-0.00` is 0.
    if text.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        "0".to_owned()
    } else {
        text
    }
}

fn pools_text(p: &PoolsView, colour: bool) -> String {
    let mut out = String::new();
    if p.panic {
        out.push_str(
            "FAIL-STATIC: too many hosts went silent at once; nothing is declared dead \
             and nothing moves until they report again.\n\n",
        );
    }
    let mut summary = Table::with_header(&["ROLE", "MIN", "WANTED", "PUBLISHED", "MEMBERS", "WANTED BY"]);
    let mut members = Table::with_header(&["ROLE", "HOST", "STATE", "DNS", "QUEUE", "LOAD1", "CPU"]);
    for pool in &p.pools {
        let published = pool.published.len();
        let short = published < pool.wanted as usize;
        let why = match (&pool.wanted_by, &pool.wanted_reason) {
            (Some(by), Some(why)) => format!("{by}: {why}"),
            (Some(by), None) => by.clone(),
            (None, Some(why)) => why.clone(),
            (None, None) => "-".to_owned(),
        };
        summary.row(vec![
            pool.role.as_str().into(),
            pool.min.to_string().into(),
            pool.wanted.to_string().into(),
            Cell::new(
                published.to_string(),
                if (published as u32) < pool.min {
                    Style::Red
                } else if short {
                    Style::Yellow
                } else {
                    Style::Plain
                },
            ),
            pool.members.len().to_string().into(),
            why.into(),
        ]);
        for m in &pool.members {
            members.row(vec![
                pool.role.as_str().into(),
                m.host.as_str().into(),
                state_cell(&m.state),
                dns_cell(m.dns),
                metric(m.queue_depth).into(),
                metric(m.load1).into(),
                metric(m.cpu).into(),
            ]);
        }
    }
    out.push_str(&summary.render(colour));
    if !members.is_empty() {
        out.push('\n');
        out.push_str(&members.render(colour));
        let all_pool = p
            .pools
            .iter()
            .flat_map(|pool| &pool.members)
            .all(|m| m.dns == DnsPresence::Pool);
        if !all_pool {
            out.push_str(DNS_LEGEND);
        }
    }
    out
}

/// The zone file, its columns aligned, under a line naming the serial.
fn zone_text(z: &ZoneView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "; zone {} serial {} ({} records)",
        z.zone,
        z.serial,
        z.records.len()
    );
    // Directives ($ORIGIN, at the top) stay as they are, out of the table.
    let mut t = Table::plain();
    for line in z.zone_file.lines() {
        if line.starts_with('$') || line.starts_with(';') || line.trim().is_empty() {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        // owner ttl class type rdata…
        let mut fields = line.splitn(5, ' ');
        let cells: Vec<Cell> = (0..5).map(|_| fields.next().unwrap_or("").into()).collect();
        t.row(cells);
    }
    out.push_str(&t.render(false));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_for_people() {
        assert_eq!(number(0.505_050_505_050_505_1), "0.51");
        assert_eq!(number(9000.0), "9000");
        assert_eq!(number(12.0), "12");
        assert_eq!(number(1234.567), "1235");
        assert_eq!(number(0.001), "0");
        assert_eq!(number(-0.25), "-0.25");
        assert_eq!(metric(None), "-");
    }

    #[test]
    fn zone_lines_align_and_name_the_serial() {
        let z = ZoneView {
            zone: "lists.example.test.".into(),
            serial: 42,
            records: Vec::new(),
            zone_file: "$ORIGIN lists.example.test.\n\
                lists.example.test. 60 IN SOA ns1. h. 42 1 2 3 4\n\
                www.lists.example.test. 1 IN A 127.0.1.3\n"
                .into(),
        };
        assert_eq!(
            zone_text(&z),
            "; zone lists.example.test. serial 42 (0 records)\n\
             $ORIGIN lists.example.test.\n\
             lists.example.test.      60  IN  SOA  ns1. h. 42 1 2 3 4\n\
             www.lists.example.test.  1   IN  A    127.0.1.3\n"
        );
    }
}
