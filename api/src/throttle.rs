//! Failed authentication, slowed down per peer.
//!
//! Every request refused with 401 waits at least [`FLOOR`] before its
//! answer leaves, so a refusal never comes back faster than a good token's
//! answer (which does real work behind the check) and timing tells nothing.
//! Each peer address has an allowance of [`ALLOWANCE`] failures, earned back
//! at one every [`EARN_BACK`]: a person mistyping a token, or a script
//! checking the rules, never notices it. Past the allowance each refusal
//! waits twice as long as the one before, up to [`MAX_DELAY`], so a peer
//! guessing tokens gets about one try per [`EARN_BACK`].
//!
//! Requests with a good token are never delayed, even from a peer that also
//! fails: agents behind the same NAT as a guesser keep reporting. The table
//! is bounded ([`MAX_PEERS`]): when full, peers that have earned their whole
//! allowance back are forgotten first, then the quietest, so a flood of
//! addresses costs memory once, not without end.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use tokio::time::Instant;
use tracing::warn;

/// The least any refusal waits.
pub(crate) const FLOOR: Duration = Duration::from_millis(50);
/// Failures a peer may have before its refusals slow down.
pub(crate) const ALLOWANCE: f64 = 30.0;
/// One failure of the allowance is earned back per this much time.
pub(crate) const EARN_BACK: Duration = Duration::from_secs(2);
/// The longest a refusal waits.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(5);
/// At most this many peers are remembered.
pub(crate) const MAX_PEERS: usize = 10_000;

/// The address a request came from, put into its extensions by the listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// Failures per peer address; cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub(crate) struct AuthThrottle {
    peers: Arc<Mutex<HashMap<IpAddr, Failures>>>,
}

/// A peer's recent failures: a count that drains by one per [`EARN_BACK`].
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: f64,
    at: Instant,
}

impl Failures {
    fn at(self, now: Instant) -> f64 {
        let earned = now.duration_since(self.at).as_secs_f64() / EARN_BACK.as_secs_f64();
        (self.count - earned).max(0.0)
    }
}

impl AuthThrottle {
    /// Records a failure from `peer` and returns how long its refusal waits.
    pub(crate) fn failed(&self, peer: IpAddr, now: Instant) -> Duration {
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        if peers.len() >= MAX_PEERS && !peers.contains_key(&peer) {
            make_room(&mut peers, now);
        }
        let failures = peers.entry(peer).or_insert(Failures { count: 0.0, at: now });
        let count = failures.at(now) + 1.0;
        *failures = Failures { count, at: now };
        if count > ALLOWANCE && count <= ALLOWANCE + 1.0 {
            warn!(%peer, "repeated failed authentication: slowing this peer's refusals down");
        }
        delay_for(count)
    }
}

/// Forgets peers with nothing left to earn back, or else the quietest one.
fn make_room(peers: &mut HashMap<IpAddr, Failures>, now: Instant) {
    peers.retain(|_, f| f.at(now) > 0.0);
    if peers.len() >= MAX_PEERS
        && let Some(quietest) = peers.iter().min_by_key(|(_, f)| f.at).map(|(ip, _)| *ip)
    {
        peers.remove(&quietest);
    }
}

/// The wait of a refusal when the peer's failure count is `count`: the
/// floor within the allowance, then doubling per failure past it.
pub(crate) fn delay_for(count: f64) -> Duration {
    let past = (count - ALLOWANCE).ceil().clamp(0.0, 16.0) as u32;
    if past == 0 {
        return FLOOR;
    }
    (FLOOR * 2).saturating_mul(1 << (past - 1)).min(MAX_DELAY)
}

/// Middleware: a 401 leaves only after its peer's delay.
pub(crate) async fn slow_failed_auth(
    State(throttle): State<AuthThrottle>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<PeerAddr>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0.ip().to_canonical());
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        let delay = throttle.failed(peer, Instant::now());
        tokio::time::sleep(delay).await;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_wait_the_floor_within_the_allowance_then_double() {
        assert_eq!(delay_for(1.0), FLOOR);
        assert_eq!(delay_for(ALLOWANCE), FLOOR);
        assert_eq!(delay_for(ALLOWANCE + 1.0), FLOOR * 2);
        assert_eq!(delay_for(ALLOWANCE + 2.0), FLOOR * 4);
        let delays: Vec<_> = (0..60).map(|n| delay_for(f64::from(n))).collect();
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert_eq!(delay_for(ALLOWANCE + 20.0), MAX_DELAY);
        assert_eq!(delay_for(f64::MAX), MAX_DELAY);
    }

    #[tokio::test(start_paused = true)]
    async fn each_peer_has_its_own_allowance_earned_back_over_time() {
        let throttle = AuthThrottle::default();
        let (a, b) = (IpAddr::from([127, 0, 0, 2]), IpAddr::from([127, 0, 0, 3]));
        let now = Instant::now();
        for _ in 0..ALLOWANCE as u32 {
            assert_eq!(throttle.failed(a, now), FLOOR);
        }
        assert_eq!(throttle.failed(a, now), FLOOR * 2, "past the allowance");
        assert_eq!(
            throttle.failed(b, now),
            FLOOR,
            "another peer has its own allowance"
        );
        let later = now + EARN_BACK * 3;
        assert_eq!(throttle.failed(a, later), FLOOR, "failures are earned back");
    }

    #[tokio::test(start_paused = true)]
    async fn the_table_stays_bounded() {
        let throttle = AuthThrottle::default();
        let now = Instant::now();
        let remembered = || throttle.peers.lock().map(|p| p.len()).unwrap_or(0);
        for i in 0..(MAX_PEERS as u32 + 50) {
            throttle.failed(IpAddr::from(i.to_be_bytes()), now);
        }
        assert_eq!(remembered(), MAX_PEERS, "the quietest are forgotten");
        throttle.failed(IpAddr::from([10, 0, 0, 1]), now + EARN_BACK * 2);
        assert_eq!(
            remembered(),
            1,
            "peers with their allowance back are forgotten first"
        );
    }
}
