//! Checks a role's `probes:`: the health checks its members' agents run.

use std::time::Duration;

use super::locate::YamlPath;
use super::raw::RawProbe;
use super::validate::Checker;
use super::values;
use super::{Probe, ProbeCheck};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) fn probes(c: &mut Checker, at: &YamlPath, raw: &[RawProbe]) -> Vec<Probe> {
    let mut out: Vec<Probe> = Vec::new();
    for (i, probe) in raw.iter().enumerate() {
        let at = at.index(i);
        if let Some(p) = one(c, &at, probe) {
            if out.iter().any(|q| q.name == p.name) {
                c.report(
                    &at,
                    format!(
                        "probe name {:?} is used twice in this role; give one a `name:`",
                        p.name
                    ),
                );
            }
            out.push(p);
        }
    }
    out
}

fn one(c: &mut Checker, at: &YamlPath, raw: &RawProbe) -> Option<Probe> {
    let port = |text: &str| values::integer(text, 1, 65_535).map(|n| n as u16);
    let timeout = c
        .field(at, "timeout", raw.timeout.as_ref(), |t| {
            match values::duration(t)? {
                Duration::ZERO => Err("must be longer than 0".to_owned()),
                d => Ok(d),
            }
        })
        .unwrap_or(DEFAULT_TIMEOUT);
    let kind = raw.kind.as_str().trim().to_ascii_lowercase();
    let allowed: &[&str] = match kind.as_str() {
        "tcp" | "smtp" => &["port"],
        "http" => &["url", "expect"],
        "command" => &["run"],
        other => {
            c.report(
                &at.key("type"),
                format!("probe type \"{other}\" is not known; expected tcp, smtp, http or command"),
            );
            return None;
        }
    };
    for (key, given) in [
        ("port", raw.port.is_some()),
        ("url", raw.url.is_some()),
        ("expect", raw.expect.is_some()),
        ("run", raw.run.is_some()),
    ] {
        if given && !allowed.contains(&key) {
            c.report(
                &at.key(key),
                format!(
                    "{key} does not apply to a {kind} probe; it takes {}",
                    allowed.join(", ")
                ),
            );
        }
    }
    let check = match kind.as_str() {
        "tcp" => match raw.port.as_ref() {
            Some(_) => ProbeCheck::Tcp {
                port: c.field(at, "port", raw.port.as_ref(), port)?,
            },
            None => {
                c.report(at, "a tcp probe needs a port");
                return None;
            }
        },
        "smtp" => ProbeCheck::Smtp {
            port: c.field(at, "port", raw.port.as_ref(), port).unwrap_or(25),
        },
        "http" => {
            let Some(url) = raw.url.as_ref().map(|u| u.as_str().trim().to_owned()) else {
                c.report(at, "an http probe needs a url");
                return None;
            };
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                c.report(
                    &at.key("url"),
                    format!("url {url:?} must start with http:// or https://"),
                );
            }
            ProbeCheck::Http {
                url,
                expect: c
                    .field(at, "expect", raw.expect.as_ref(), |t| {
                        values::integer(t, 100, 599).map(|n| n as u16)
                    })
                    .unwrap_or(200),
            }
        }
        _ => {
            let run = raw
                .run
                .as_ref()
                .map(|r| r.as_str().trim().to_owned())
                .unwrap_or_default();
            if run.is_empty() {
                c.report(at, "a command probe needs `run:` with the command line");
                return None;
            }
            ProbeCheck::Command { run }
        }
    };
    let name = raw
        .name
        .as_ref()
        .map_or_else(|| kind.clone(), |n| n.as_str().trim().to_owned());
    Some(Probe { name, check, timeout })
}
