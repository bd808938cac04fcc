//! `GET /metrics`: Prometheus text exposition format 0.0.4.
//!
//! Everything is read at scrape time from what already exists — the
//! controller's view, its counters and heartbeat times, the zone snapshot
//! and the DNS counters — so a scrape costs nothing between scrapes and
//! never waits for the controller. Per-host numbers are summarised (10,000
//! hosts must not make 10,000 series).

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use muster_controller::engine::assignment_state;
use muster_controller::farm::HostState;
use muster_controller::runner::{ControllerHandle, now_millis};
use muster_dns::DnsStats;
use muster_dns::stats::cookie_label;

use crate::{ApiError, ApiState};

/// The content type of the text format.
const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Heartbeat-age quantiles reported.
const AGE_QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 1.0];

/// The handler: same access as every other read.
pub(crate) async fn metrics(State(state): State<ApiState>, headers: HeaderMap) -> Result<Response, ApiError> {
    state.tokens.require_read(&headers)?;
    let body = render(&state);
    Ok(([(CONTENT_TYPE, CONTENT_TYPE_TEXT)], body).into_response())
}

/// The whole exposition.
fn render(state: &ApiState) -> String {
    let mut out = Exposition::default();
    controller_metrics(&mut out, &state.controller);
    out.family(
        "muster_zone_serial",
        "gauge",
        "The SOA serial of the zone being served.",
    );
    if let Some(forward) = state.zone.load().iter().next() {
        out.sample("muster_zone_serial", &[], f64::from(forward.serial()));
    }
    dns_metrics(&mut out, &state.dns_stats);
    out.text
}

fn controller_metrics(out: &mut Exposition, controller: &ControllerHandle) {
    let view = controller.view();
    let decision = controller.decision();
    let policy = &view.policy;

    out.family(
        "muster_pool_size",
        "gauge",
        "Hosts published in each role's records now.",
    );
    for role in policy.roles.keys() {
        let size = view.membership.get(role).map_or(0, Vec::len);
        out.sample("muster_pool_size", &[("role", role)], count(size));
    }
    out.family(
        "muster_pool_min",
        "gauge",
        "The policy's minimum host count for each role.",
    );
    for (name, role) in &policy.roles {
        out.sample("muster_pool_min", &[("role", name)], f64::from(role.min));
    }
    out.family(
        "muster_pool_wanted",
        "gauge",
        "Hosts each role should have now (its min, a schedule's or a load rule's count).",
    );
    for (name, role) in &policy.roles {
        let wanted = decision.wanted.get(name).copied().unwrap_or(role.min);
        out.sample("muster_pool_wanted", &[("role", name)], f64::from(wanted));
    }

    let mut by_state = [0usize; HostState::ALL.len()];
    for host in view.farm.hosts.values() {
        let state = assignment_state(host, view.farm.assignments.get(&host.name));
        if let Some(i) = HostState::ALL.iter().position(|s| *s == state) {
            by_state[i] += 1;
        }
    }
    out.family("muster_hosts", "gauge", "Hosts of the farm by assignment state.");
    for (state, n) in HostState::ALL.iter().zip(by_state) {
        out.sample("muster_hosts", &[("state", state.as_str())], count(n));
    }

    out.family(
        "muster_panic",
        "gauge",
        "1 while fail-static holds the published set, else 0.",
    );
    out.sample("muster_panic", &[], if view.farm.panic { 1.0 } else { 0.0 });

    let policy_status = controller.stats().policy_status();
    out.family(
        "muster_policy_loaded_timestamp_seconds",
        "gauge",
        "When the policy in force was loaded (at start or by the last accepted reload), in seconds since the epoch.",
    );
    out.sample(
        "muster_policy_loaded_timestamp_seconds",
        &[],
        policy_status.loaded_at as f64 / 1000.0,
    );
    out.family(
        "muster_policy_reload_success",
        "gauge",
        "1 if the last reload (SIGHUP or POST /api/v1/policy/reload) put its policy in force, or none was tried; 0 if it was rejected.",
    );
    let success = policy_status.last_reload.as_ref().is_none_or(|r| r.accepted);
    out.sample(
        "muster_policy_reload_success",
        &[],
        if success { 1.0 } else { 0.0 },
    );
    out.family(
        "muster_policy_reloads_total",
        "counter",
        "Reloads tried since start, by result (accepted or rejected).",
    );
    out.sample(
        "muster_policy_reloads_total",
        &[("result", "accepted")],
        policy_status.accepted as f64,
    );
    out.sample(
        "muster_policy_reloads_total",
        &[("result", "rejected")],
        policy_status.rejected as f64,
    );

    let ages = controller.heartbeat_ages(now_millis());
    out.family(
        "muster_heartbeat_age_seconds",
        "summary",
        "Seconds since the last heartbeat of agent hosts not declared dead (quantile 1 is the oldest).",
    );
    for q in AGE_QUANTILES {
        let label = q.to_string();
        out.sample(
            "muster_heartbeat_age_seconds",
            &[("quantile", &label)],
            ages.quantile(q),
        );
    }
    out.sample("muster_heartbeat_age_seconds_sum", &[], ages.sum());
    out.sample("muster_heartbeat_age_seconds_count", &[], count(ages.live.len()));
    out.family(
        "muster_heartbeat_stale_hosts",
        "gauge",
        "Agent hosts, dead ones included, silent for longer than the policy's dead_after.",
    );
    out.sample("muster_heartbeat_stale_hosts", &[], count(ages.stale));

    let counts = controller.stats().counts();
    out.family(
        "muster_moves_total",
        "counter",
        "Moves started (drains towards a role and roles given outright), by who started them.",
    );
    for (kind, n) in counts.moves_by_actor() {
        out.sample("muster_moves_total", &[("actor_kind", kind.label())], n as f64);
    }
    let ticks = &counts.ticks;
    out.family(
        "muster_reconcile_duration_seconds",
        "histogram",
        "How long each reconcile (plan, apply, commit, publish) took.",
    );
    for (le, n) in &ticks.buckets {
        let le = le.to_string();
        out.sample(
            "muster_reconcile_duration_seconds_bucket",
            &[("le", &le)],
            *n as f64,
        );
    }
    out.sample(
        "muster_reconcile_duration_seconds_bucket",
        &[("le", "+Inf")],
        ticks.count as f64,
    );
    out.sample("muster_reconcile_duration_seconds_sum", &[], ticks.sum_seconds);
    out.sample("muster_reconcile_duration_seconds_count", &[], ticks.count as f64);
    out.family(
        "muster_reconcile_last_duration_seconds",
        "gauge",
        "How long the latest reconcile took.",
    );
    out.sample("muster_reconcile_last_duration_seconds", &[], ticks.last_seconds);
}

fn dns_metrics(out: &mut Exposition, dns: &DnsStats) {
    let counts = dns.counts();
    out.family(
        "muster_dns_queries_total",
        "counter",
        "DNS queries answered over UDP and TCP, by query type.",
    );
    for (qtype, n) in counts.queries_by_type() {
        out.sample("muster_dns_queries_total", &[("qtype", qtype.label())], n as f64);
    }
    out.family(
        "muster_dns_responses_total",
        "counter",
        "DNS answers sent, by response code.",
    );
    for (rcode, n) in counts.responses_by_code() {
        out.sample(
            "muster_dns_responses_total",
            &[("rcode", rcode.label())],
            n as f64,
        );
    }
    out.family(
        "muster_dns_dropped_total",
        "counter",
        "DNS packets dropped unanswered (shorter than a header, or a response).",
    );
    out.sample("muster_dns_dropped_total", &[], counts.dropped as f64);
    out.family(
        "muster_dns_rate_limit_total",
        "counter",
        "UDP answers response rate limiting held back (dropped; slipped: sent empty and truncated; badcookie: BADCOOKIE sent instead) or let through unlimited (exempt_listed, exempt_cookie).",
    );
    for (action, n) in counts.rate_limit_by_action() {
        out.sample(
            "muster_dns_rate_limit_total",
            &[("action", action.label())],
            n as f64,
        );
    }
    out.family(
        "muster_dns_cookies_total",
        "counter",
        "Queries with a DNS cookie, by what it proved (client_only: no server cookie yet; valid: one we made for that address within the hour; invalid: any other).",
    );
    for (status, n) in counts.cookies_by_status() {
        out.sample(
            "muster_dns_cookies_total",
            &[("status", cookie_label(status))],
            n as f64,
        );
    }
}

/// A host count as a sample value.
fn count(n: usize) -> f64 {
    n as f64
}

/// The text being built.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    /// `# HELP` and `# TYPE` of a metric family.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    /// One sample line: `name{label="value",…} value`.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{key}=\"");
                for c in value.chars() {
                    match c {
                        '\\' => self.text.push_str("\\\\"),
                        '"' => self.text.push_str("\\\""),
                        '\n' => self.text.push_str("\\n"),
                        c => self.text.push(c),
                    }
                }
                self.text.push('"');
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", format_value(value));
    }
}

/// A sample value as the text format writes it.
fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_escape_label_values() {
        let mut out = Exposition::default();
        out.family("m", "gauge", "Help with \\ and\nnewline.");
        out.sample("m", &[("a", "x\"y\\z\nw"), ("b", "c")], 2.5);
        out.sample("m", &[], 3.0);
        out.sample("m", &[], f64::INFINITY);
        assert_eq!(
            out.text,
            "# HELP m Help with \\\\ and\\nnewline.\n# TYPE m gauge\n\
             m{a=\"x\\\"y\\\\z\\nw\",b=\"c\"} 2.5\nm 3\nm +Inf\n"
        );
    }
}
