//! Failed authentication is slowed down per peer, in process (the router
//! driven with `oneshot`, time paused): a guesser's refusals wait longer and
//! longer, a good token from the same address is never delayed.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use muster_api::{OperatorToken, PeerAddr, Scope, Tokens};
use support::App;
use tokio::time::Instant;
use tower::ServiceExt;

/// Sends GET /api/v1/pools from `peer` with `token`; returns the status and
/// how long (in paused time) the answer took.
async fn ask(app: &axum::Router, peer: &str, token: &str) -> (StatusCode, Duration) {
    let peer: SocketAddr = peer.parse().expect("test address");
    let mut request = Request::get("/api/v1/pools")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    request.extensions_mut().insert(PeerAddr(peer));
    let started = Instant::now();
    let response = app.clone().oneshot(request).await.expect("router answers");
    (response.status(), started.elapsed())
}

#[test]
fn refusals_slow_down_per_peer_and_good_tokens_never_wait() {
    let app = App::start(Tokens {
        operators: vec![OperatorToken::parse("ops=good-secret", Scope::Read)],
        ..Tokens::default()
    });
    // The requests on a runtime of their own whose clock stands still
    // between events: the waits are measured exactly, and take no time.
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    paused.block_on(refusals_and_good_tokens(&app.router));
}

async fn refusals_and_good_tokens(app: &axum::Router) {
    let mut waits = Vec::new();
    for _ in 0..45 {
        let (status, took) = ask(app, "127.0.0.7:40000", "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        waits.push(took);
    }
    assert!(
        waits[0] >= Duration::from_millis(50),
        "even the first refusal waits: {waits:?}"
    );
    assert!(
        waits[..36].windows(2).all(|w| w[0] <= w[1]) && waits[35] >= Duration::from_secs(1),
        "past the allowance each refusal waits longer: {waits:?}"
    );
    // Waiting earns some allowance back: a guesser settles at about one
    // try per two seconds.
    let last_ten: Duration = waits[35..].iter().sum();
    assert!(
        last_ten >= Duration::from_secs(15),
        "ten guesses past the allowance take a while: {waits:?}"
    );

    // A good token from the same address is answered at once.
    let (status, took) = ask(app, "127.0.0.7:40001", "good-secret").await;
    assert_ne!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(took, Duration::ZERO, "a good token is never delayed");

    // Another peer starts from the first delay.
    let (status, took) = ask(app, "127.0.0.8:40000", "guess").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        took < Duration::from_millis(100),
        "another peer is not punished: {took:?}"
    );
}
