//! Fuzzes the API's untrusted bodies — heartbeats, host registrations,
//! moves, pins, records, aliases — and path segments and query strings,
//! through the real router, controller and SQLite store in process. The
//! first byte picks the endpoint, the next up to 16 bytes (to a newline)
//! the path segment or query, the rest is the body. Every answer must be a
//! status below 500, with the API's JSON error on 4xx.
//! Run with `bench/fuzz.sh api_request`.

#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use muster_api::{OperatorToken, Scope, Tokens};
use tower::ServiceExt;

/// The same in-process app as the API's own tests.
#[path = "../../api/tests/support/mod.rs"]
mod support;

use support::App;

const ADMIN: &str = "admin-secret";
const AGENT: &str = "agent-secret";

fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        App::start(Tokens {
            agent: vec![AGENT.to_owned()],
            operators: vec![OperatorToken::parse(ADMIN, Scope::Admin)],
            ..Tokens::default()
        })
    })
}

fn endpoint(which: u8, part: &str) -> (Method, String, &'static str) {
    match which % 12 {
        0 => (Method::POST, "/api/v1/agents/heartbeat".to_owned(), AGENT),
        1 => (Method::POST, "/api/v1/hosts".to_owned(), ADMIN),
        2 => (Method::POST, format!("/api/v1/hosts/{part}/move"), ADMIN),
        3 => (Method::POST, format!("/api/v1/hosts/{part}/drain"), ADMIN),
        4 => (Method::POST, format!("/api/v1/hosts/{part}/pin"), ADMIN),
        5 => (Method::POST, format!("/api/v1/hosts/{part}/cordon"), ADMIN),
        6 => (Method::POST, "/api/v1/records".to_owned(), ADMIN),
        7 => (Method::DELETE, format!("/api/v1/records?{part}"), ADMIN),
        8 => (Method::PUT, format!("/api/v1/aliases/{part}"), ADMIN),
        9 => (Method::GET, format!("/api/v1/events?{part}"), ADMIN),
        10 => (Method::GET, format!("/api/v1/plan?{part}"), ADMIN),
        _ => (Method::DELETE, format!("/api/v1/hosts/{part}"), ADMIN),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let cut = rest.iter().take(16).position(|&b| b == b'\n').unwrap_or(rest.len().min(16));
    let part: String = String::from_utf8_lossy(&rest[..cut])
        .chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '/' | '#' | '?'))
        .collect();
    let body = rest.get(cut + 1..).unwrap_or_default().to_vec();
    let (method, uri, token) = endpoint(which, &part);
    let Ok(request) = Request::builder()
        .method(method)
        .uri(&uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
    else {
        return; // not a URI a client could send
    };
    let app = app();
    let router = app.router.clone();
    let (status, reply) = app
        .runtime
        .block_on(app.runtime.spawn(async move {
            let response = router.oneshot(request).await.expect("router answers");
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
            (status, body)
        }))
        .expect("the handler did not panic");
    assert!(!status.is_server_error(), "{uri} → {status}: {}", String::from_utf8_lossy(&reply));
    if status.is_client_error() {
        let error: serde_json::Value = serde_json::from_slice(&reply).expect("a JSON error");
        assert!(error["error"]["code"].is_string() && error["error"]["message"].is_string(), "{error}");
    }
});
