//! `GET /`: the status page an operator keeps open. One server-rendered
//! HTML document with inline CSS and an inline SVG chart; no script, no
//! external resource (the Content-Security-Policy forbids both); it reloads
//! itself every few seconds.
//!
//! Access follows the read rule: open until operator tokens exist, then a
//! token is needed. A browser cannot send a bearer header, so this page
//! (and only this page) also takes the token as `?token=`; the reload keeps
//! the URL, and `Referrer-Policy: no-referrer` keeps it from leaking
//! through the page's links.

mod aliases;
mod chart;
mod history;
mod page;

use std::cmp::Ordering;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use muster_controller::engine::assignment_state;
use muster_controller::farm::Phase;
use muster_controller::runner::now_millis;
use muster_controller::store::EventFilter;
use serde::Deserialize;

pub(crate) use history::spawn_sampler;
pub use history::{History, Sample};

use history::pool_sizes;

use crate::ApiState;
use page::{Esc, EventRow, Member, Pool, Status};

/// How often the page reloads itself, in seconds.
const REFRESH_SECS: u32 = 5;

/// How many events the page lists.
const EVENTS: u32 = 20;

/// How long the page waits for the event log before showing it as
/// unavailable (the rest of the page does not need the store).
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the page allows the browser to load: its own inline styles and the
/// `data:` favicon, nothing else (no script at all).
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Query of `GET /`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    /// An operator token, for browsers (which cannot send a bearer header).
    token: Option<String>,
}

/// `GET /`.
pub(crate) async fn page(
    State(state): State<ApiState>,
    mut headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    if !headers.contains_key(AUTHORIZATION)
        && let Some(token) = query.token
    {
        // A token that cannot be a header value matches no token.
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
            headers.insert(AUTHORIZATION, value);
        }
    }
    if state.tokens.require_read(&headers).is_err() {
        return html(StatusCode::UNAUTHORIZED, unauthorized_page());
    }
    let status = gather(&state).await;
    html(StatusCode::OK, page::render(&status))
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    response
}

fn unauthorized_page() -> String {
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>muster · token needed</title></head><body style="font:15px system-ui,sans-serif;margin:3em auto;max-width:40em;color:#1f2937"><h1 style="font-size:20px">A read token is needed</h1><p>Operator tokens are configured, so the status page needs one: open <code>{}</code> with a <code>read</code> (or <code>admin</code>) token.</p></body></html>"#,
        Esc("/?token=TOKEN")
    )
}

/// Everything the page shows, read from the controller's view, the
/// observations, the store's event log, the snapshot and the history.
async fn gather(state: &ApiState) -> Status {
    let now = now_millis();
    // The forward zone's serial (the first zone served).
    let serial = state.zone.load().iter().next().map_or(0, |s| s.serial());
    let events = recent_events(state).await;
    let mut status = Status {
        now,
        zone: String::new(),
        serial,
        panic: false,
        refresh_secs: REFRESH_SECS,
        pools: Vec::new(),
        unassigned: Vec::new(),
        events,
        samples: state.history.samples(),
        window: i64::try_from(state.history.window().as_millis()).unwrap_or(i64::MAX),
        policy: Some(state.controller.stats().policy_status()),
        aliases: Vec::new(),
    };
    let controller = &state.controller;
    let view = controller.view();
    let decision = controller.decision();
    let observed = controller.observations();
    // Keep the chart's history in step with what this page shows.
    state.history.observe(now, pool_sizes(&view));
    status.panic = view.farm.panic;
    status.zone = view.policy.zone.to_string().trim_end_matches('.').to_owned();
    let mut pools: Vec<Pool> = view
        .policy
        .roles
        .iter()
        .map(|(role, spec)| Pool {
            role: role.clone(),
            min: spec.min,
            wanted: decision.wanted.get(role).copied().unwrap_or(spec.min),
            published: view
                .membership
                .get(role)
                .map_or(0, |m| u32::try_from(m.len()).unwrap_or(u32::MAX)),
            members: Vec::new(),
        })
        .collect();
    for (name, host) in &view.farm.hosts {
        let assignment = view.farm.assignments.get(name);
        let role = assignment.and_then(|a| a.role.as_deref());
        let obs = observed.get(name);
        let member = Member {
            name: name.clone(),
            addresses: host.addresses.iter().map(ToString::to_string).collect(),
            state: assignment_state(host, assignment),
            draining_to: assignment.and_then(|a| match &a.phase {
                Phase::Draining { to, .. } => to.clone(),
                Phase::Active | Phase::Arriving => None,
            }),
            published: role.is_some_and(|r| view.membership.get(r).is_some_and(|m| m.contains(name))),
            is_static: host.is_static,
            queue_depth: obs.and_then(|o| o.report.metrics.get("queue_depth").copied()),
            load1: obs.and_then(|o| o.report.metrics.get("load1").copied()),
            last_seen: obs.map(|o| o.last_heartbeat),
        };
        match role.and_then(|r| pools.iter_mut().find(|p| p.role == r)) {
            Some(pool) => pool.members.push(member),
            None => status.unassigned.push(member),
        }
    }
    for pool in &mut pools {
        pool.members.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    }
    status.unassigned.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    status.pools = pools;
    status.aliases = view
        .farm
        .aliases
        .iter()
        .map(|(owner, host)| aliases::AliasRow {
            name: owner.to_string().trim_end_matches('.').to_owned(),
            host: host.clone(),
            flag: crate::aliases::alias_flag(&view, host),
        })
        .collect();
    aliases::order(&mut status.aliases);
    status
}

/// The newest events, newest first.
async fn recent_events(state: &ApiState) -> Result<Vec<EventRow>, String> {
    let store = &state.store;
    let filter = EventFilter {
        host: None,
        since: None,
        after_id: None,
        limit: EVENTS,
    };
    let events = tokio::time::timeout(STORE_TIMEOUT, store.events(&filter))
        .await
        .map_err(|_| "the store did not answer in time".to_owned())?
        .map_err(|e| e.to_string())?;
    Ok(events
        .into_iter()
        .rev()
        .map(|s| EventRow {
            at: s.event.at,
            kind: s.event.kind.as_str().to_owned(),
            host: s.event.host,
            from: s.event.from_role,
            to: s.event.to_role,
            actor: s.event.actor,
            reason: s.event.reason,
        })
        .collect())
}

/// Orders `smurf2` before `smurf10`: runs of digits compare as numbers.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (na, ra) = split_digits(a);
                let (nb, rb) = split_digits(b);
                let trimmed = |n: &[u8]| {
                    let zeros = n.iter().take_while(|&&c| c == b'0').count();
                    n.len() - zeros
                };
                let order = trimmed(na)
                    .cmp(&trimmed(nb))
                    .then_with(|| na[na.len() - trimmed(na)..].cmp(&nb[nb.len() - trimmed(nb)..]))
                    .then_with(|| na.len().cmp(&nb.len()));
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (ra, rb);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    s.split_at(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_sort_naturally() {
        let mut names = vec!["smurf10", "smurf2", "ns1", "smurf1", "smurf02", "web"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["ns1", "smurf1", "smurf2", "smurf02", "smurf10", "web"]);
    }
}
