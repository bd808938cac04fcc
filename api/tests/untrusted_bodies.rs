//! Whatever a client sends, the API answers with a status and a JSON error,
//! never a panic and never a 5xx: random bodies and query strings, shaped
//! like the real ones and not, sent in process (the router driven with
//! `oneshot`) to every write endpoint and the heartbeat, against a real
//! controller on a real SQLite store.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use muster_api::{OperatorToken, Scope, Tokens};
use proptest::prelude::*;
use serde_json::{Map, Value};
use support::App;
use tower::ServiceExt;

const ADMIN: &str = "admin-secret";
const AGENT: &str = "agent-secret";

fn app() -> App {
    App::start(Tokens {
        agent: vec![AGENT.to_owned()],
        operators: vec![OperatorToken::parse(ADMIN, Scope::Admin)],
        ..Tokens::default()
    })
}

/// Sends one request; returns the status and the body.
fn send(app: &App, method: Method, uri: &str, token: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    let router = app.router.clone();
    // On a runtime thread: handler futures are large for the test thread's stack.
    let answer = app.runtime.spawn(async move {
        let response = router.oneshot(request).await.expect("router answers");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body")
            .to_vec();
        (status, body)
    });
    app.runtime.block_on(answer).expect("the handler did not panic")
}

/// Field names the real bodies use, so random bodies reach past the parser.
const FIELDS: &[&str] = &[
    "name",
    "addresses",
    "role",
    "probes",
    "metrics",
    "hook_failure",
    "ok",
    "reason",
    "force",
    "owner",
    "type",
    "data",
    "ttl",
    "host",
    "target",
    "queue_depth",
    "load1",
];

fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("smurf1".to_owned()),
            Just("web".to_owned()),
            Just("127.0.1.9".to_owned()),
            Just("::1".to_owned()),
            Just("TXT \"v=spf1 -all\"".to_owned()),
            Just("www.lists.example.test.".to_owned()),
            "\\PC{0,40}",
        ]
        .prop_map(Value::String),
    ]
    .boxed()
}

fn json() -> BoxedStrategy<Value> {
    scalar()
        .prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(FIELDS), inner), 0..6).prop_map(|pairs| {
                    Value::Object(
                        pairs
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect::<Map<_, _>>(),
                    )
                }),
            ]
        })
        .boxed()
}

fn word() -> BoxedStrategy<String> {
    prop_oneof![
        Just("smurf1".to_owned()),
        Just("smurf3".to_owned()),
        Just("web".to_owned()),
        Just("smtp-out".to_owned()),
        Just("ns1".to_owned()),
        "[a-z0-9.*_-]{0,20}",
        "\\PC{0,20}",
    ]
    .boxed()
}

fn address() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| Value::from(std::net::Ipv4Addr::from(o).to_string())),
        any::<[u8; 16]>().prop_map(|o| Value::from(std::net::Ipv6Addr::from(o).to_string())),
        Just(Value::from("127.0.1.9")),
        scalar(),
    ]
    .boxed()
}

fn metric() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (0.0..1e6f64).prop_map(Value::from),
        scalar(),
    ]
    .boxed()
}

fn heartbeat_body() -> BoxedStrategy<Value> {
    (
        word(),
        prop::collection::vec(address(), 0..3),
        prop::option::of(word()),
        prop::collection::btree_map("[a-z_0-9]{1,12}", metric(), 0..4),
        prop::collection::vec((word(), any::<bool>(), prop::option::of(word())), 0..3),
        prop::option::of(word()),
    )
        .prop_map(|(name, addresses, role, metrics, probes, hook)| {
            let probes: Vec<Value> = probes
                .into_iter()
                .map(|(n, ok, r)| serde_json::json!({"name": n, "ok": ok, "reason": r}))
                .collect();
            serde_json::json!({
                "name": name, "addresses": addresses, "role": role, "metrics": metrics,
                "probes": probes, "hook_failure": hook,
            })
        })
        .boxed()
}

fn new_host_body() -> BoxedStrategy<Value> {
    (
        word(),
        prop::collection::vec(address(), 0..3),
        prop::option::of(word()),
    )
        .prop_map(
            |(name, addresses, role)| serde_json::json!({"name": name, "addresses": addresses, "role": role}),
        )
        .boxed()
}

fn move_body() -> BoxedStrategy<Value> {
    (word(), any::<bool>())
        .prop_map(|(role, force)| serde_json::json!({"role": role, "force": force}))
        .boxed()
}

fn pin_body() -> BoxedStrategy<Value> {
    prop::option::of(word())
        .prop_map(|role| serde_json::json!({"role": role}))
        .boxed()
}

fn alias_body() -> BoxedStrategy<Value> {
    word().prop_map(|host| serde_json::json!({"host": host})).boxed()
}

const TYPES: &[&str] = &[
    "A", "AAAA", "TXT", "MX", "CNAME", "SRV", "CAA", "TLSA", "PTR", "NS", "TYPE999", "SOA", "x",
];

fn record_body() -> BoxedStrategy<Value> {
    let data = prop_oneof![
        Just("127.0.0.9".to_owned()),
        Just("10 mx.lists.example.test.".to_owned()),
        Just("\"v=spf1 -all\"".to_owned()),
        Just("0 issue \"letsencrypt.org\"".to_owned()),
        "\\PC{0,60}",
    ];
    (word(), prop::sample::select(TYPES), data, prop::option::of(any::<u32>())).prop_map(
        |(name, rtype, data, ttl)| serde_json::json!({"name": name, "type": rtype, "data": data, "ttl": ttl}),
    )
    .boxed()
}

/// A body for endpoint `which`: mostly its own shape with random contents
/// (these get past the parser to the checks and the controller behind
/// them), else another endpoint's shape, random JSON built from our field
/// names, or random bytes.
fn body_for(which: usize) -> impl Strategy<Value = Vec<u8>> {
    let own = match which {
        0 => heartbeat_body().boxed(),
        1 => new_host_body().boxed(),
        2 | 3 => move_body().boxed(),
        4 => pin_body().boxed(),
        6 => record_body().boxed(),
        8 => alias_body().boxed(),
        _ => Just(Value::Null).boxed(),
    };
    let any_shape = prop_oneof![
        heartbeat_body(),
        new_host_body(),
        move_body(),
        pin_body(),
        alias_body(),
        record_body(),
        json()
    ];
    prop_oneof![
        6 => own.prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        2 => any_shape.prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

/// An endpoint that takes a body or a query (method, path, token), and a
/// body for it.
fn request() -> impl Strategy<Value = ((Method, String, &'static str), Vec<u8>)> {
    (0..12usize).prop_flat_map(|which| (endpoint(which), body_for(which)))
}

/// Endpoint `which`: method, path, token.
fn endpoint(which: usize) -> impl Strategy<Value = (Method, String, &'static str)> {
    let host = prop_oneof![
        Just("smurf1".to_owned()),
        Just("smurf2".to_owned()),
        Just("smurf3".to_owned()),
        "[a-z0-9.%-]{0,12}"
    ];
    let query = prop_oneof![
        Just("now=true".to_owned()),
        Just("force=true".to_owned()),
        Just("name=www&type=A".to_owned()),
        "[a-z=&%0-9._-]{0,24}"
    ];
    (host, query).prop_map(move |(host, query)| {
        let host = if host.is_empty() { "x".to_owned() } else { host };
        match which {
            0 => (Method::POST, "/api/v1/agents/heartbeat".to_owned(), AGENT),
            1 => (Method::POST, "/api/v1/hosts".to_owned(), ADMIN),
            2 => (Method::POST, format!("/api/v1/hosts/{host}/move?{query}"), ADMIN),
            3 => (Method::POST, format!("/api/v1/hosts/{host}/drain?{query}"), ADMIN),
            4 => (Method::POST, format!("/api/v1/hosts/{host}/pin"), ADMIN),
            5 => (Method::POST, format!("/api/v1/hosts/{host}/cordon"), ADMIN),
            6 => (Method::POST, "/api/v1/records".to_owned(), ADMIN),
            7 => (Method::DELETE, format!("/api/v1/records?{query}"), ADMIN),
            8 => (Method::PUT, format!("/api/v1/aliases/{host}"), ADMIN),
            9 => (Method::GET, format!("/api/v1/events?{query}"), ADMIN),
            10 => (Method::GET, format!("/api/v1/plan?{query}"), ADMIN),
            _ => (Method::DELETE, format!("/api/v1/hosts/{host}?{query}"), ADMIN),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn every_untrusted_request_gets_a_status_and_a_json_error(
        ((method, uri, token), body) in request(),
    ) {
        thread_local! {
            static APP: Arc<App> = Arc::new(app());
        }
        let app = APP.with(Arc::clone);
        let (status, reply) = send(&app, method.clone(), &uri, token, body.clone());
        prop_assert!(
            !status.is_server_error(),
            "{method} {uri} {:?} → {status}: {}",
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&reply)
        );
        if status.is_client_error() {
            let error: Value = serde_json::from_slice(&reply).map_err(|e| {
                TestCaseError::fail(format!("{status} without a JSON body ({e}): {}", String::from_utf8_lossy(&reply)))
            })?;
            let code = error["error"]["code"].as_str().unwrap_or_default();
            let message = error["error"]["message"].as_str().unwrap_or_default();
            prop_assert!(!code.is_empty() && !message.is_empty(), "{status}: {error}");
        }
    }
}
