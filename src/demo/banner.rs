//! What `muster demo` prints first: what runs where, what the simulation
//! does, and the commands to try.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use muster_controller::policy::MemberRecord;
use muster_controller::runner::now_millis;
use muster_controller::schedule;

use super::agents::DemoAgent;
use super::mail::fqdn_key;
use super::progress;
use super::simulation::{Simulation, reachable};
use crate::serve::Server;

/// Where the CLI looks for the API unless told otherwise.
const DEFAULT_API: &str = "127.0.0.1:8700";

/// `2m`, `90s`, `3h`.
fn human(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// What runs where, what the demo does, and what to try.
pub(super) fn banner(server: &Server, sim: &Simulation, source: &str, dir: &Path, speed: f64) -> String {
    let view = server.controller.view();
    let policy = &view.policy;
    let zone = fqdn_key(&policy.zone);
    let dns = reachable(server.dns_addrs.first().copied().unwrap_or(server.api_addr));
    let api = reachable(server.api_addr);
    let exe = std::env::args().next().unwrap_or_else(|| "muster".to_owned());
    let dig = format!("dig @{} -p {}", dns.ip(), dns.port());
    let now = now_millis();
    let mut b = String::new();
    let _ = writeln!(
        b,
        "muster demo: the whole system on this machine; Ctrl-C stops it.\n"
    );
    let _ = writeln!(
        b,
        "  policy   {source}: zone {zone}, {} roles, {} hosts",
        policy.roles.len(),
        policy.hosts.len()
    );
    let _ = writeln!(b, "  store    SQLite in {} (removed at exit)", dir.display());
    let dns_list: Vec<String> = server.dns_addrs.iter().map(ToString::to_string).collect();
    let _ = writeln!(b, "  DNS      {} (UDP and TCP)", dns_list.join(", "));
    let _ = writeln!(b, "  API      http://{api}/api/v1  (status page: http://{api}/)");
    let _ = writeln!(
        b,
        "  agents   {} simulated, reporting over HTTP: {}",
        sim.agents.len(),
        agent_list(&sim.agents)
    );
    if let (Some(bulge), Some(role)) = (&sim.bulge, &sim.mail_role) {
        let factor = if speed == 1.0 {
            String::new()
        } else {
            format!(" (replayed {speed}x faster)")
        };
        let _ = writeln!(
            b,
            "  mail     a list server sends to the {role} MX set it looks up in this DNS; each host delivers {:.0} msg/s.\n           \
             Every {}: quiet {}, a bulge rising to {:.0} msg/s over {}, then the backlog is delivered{factor}.",
            bulge.delivery,
            human(Duration::from_secs_f64(bulge.period)),
            human(Duration::from_secs_f64(bulge.quiet)),
            bulge.peak,
            human(Duration::from_secs_f64(bulge.rise)),
        );
    }
    for s in &policy.schedules {
        let tz = s
            .timezone
            .iana_name()
            .map_or_else(String::new, |tz| format!(" ({tz})"));
        let when = match schedule::open_since(s, now) {
            Some(start) => {
                let end = start.saturating_add(i64::try_from(s.duration.as_millis()).unwrap_or(i64::MAX));
                format!("a window is open now, until {}", progress::clock(end))
            }
            None => match schedule::firings(s, now, now.saturating_add(86_400_000), 1).first() {
                Some(&next) => format!("next window {}", progress::clock(next)),
                None => "no window within a day".to_owned(),
            },
        };
        let _ = writeln!(
            b,
            "  schedule {}: \"{}\" for {}{tz}; {when} UTC",
            s.name,
            s.cron,
            human(s.duration)
        );
    }
    for rule in &policy.autoscale {
        let mut line = format!(
            "  load     {}: {} on {}, {} per host",
            rule.name, rule.role, rule.metric, rule.target_per_host
        );
        if !rule.borrow_from.is_empty() {
            let _ = write!(line, ", borrowing from {}", rule.borrow_from.join(" then "));
        }
        if let Some(to) = &rule.give_back_to {
            let _ = write!(line, ", giving back to {to}");
        }
        let _ = writeln!(b, "{line}");
    }
    let mx = sim
        .mail_role
        .as_ref()
        .and_then(|role| policy.roles.get(role))
        .and_then(|r| {
            r.records
                .iter()
                .find(|t| matches!(t.kind, MemberRecord::Mx { .. }))
        })
        .map_or_else(|| format!("smtp-out.{zone}"), |t| fqdn_key(&t.owner));
    let api_flag = if api.to_string() == DEFAULT_API {
        String::new()
    } else {
        format!(" --api http://{api}")
    };
    let tries = [
        (
            format!("{dig} +norec MX {mx}"),
            "the pool senders use, glue included",
        ),
        (format!("watch -n1 {dig} +short MX {mx}"), "see it shift"),
        (
            format!("{dig} +norec SOA {zone}"),
            "the serial grows with every change",
        ),
        (
            format!("{exe} pools{api_flag}"),
            "who holds which role, wanted counts and why",
        ),
        (format!("{exe} hosts{api_flag}"), "every host: role, state, queue"),
        (
            format!("{exe} events --follow{api_flag}"),
            "the event log as it grows",
        ),
        (format!("open http://{api}/"), "the status page"),
    ];
    let width = tries.iter().map(|(c, _)| c.chars().count()).max().unwrap_or(0);
    let _ = writeln!(b, "\nTry, in another terminal:");
    for (command, what) in &tries {
        let _ = writeln!(b, "  {command:<width$}  # {what}");
    }
    let _ = writeln!(
        b,
        "\nChanges as they happen (times UTC): host, from → to, what, actor: why"
    );
    b
}

/// `smurf1…smurf12 on 127.0.1.1…127.0.1.12`, or every name when few.
fn agent_list(agents: &[DemoAgent]) -> String {
    let address = |a: &DemoAgent| a.addresses.first().map(ToString::to_string).unwrap_or_default();
    match agents {
        [] => "none".to_owned(),
        [first, .., last] if agents.len() > 3 => format!(
            "{}…{} on {}…{}",
            first.name,
            last.name,
            address(first),
            address(last)
        ),
        few => few
            .iter()
            .map(|a| format!("{} on {}", a.name, address(a)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_secs(120)), "2m");
        assert_eq!(human(Duration::from_secs(90)), "90s");
        assert_eq!(human(Duration::from_secs(3 * 3600)), "3h");
    }
}
