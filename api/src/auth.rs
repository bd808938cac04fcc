//! Bearer tokens.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

/// True when the request carries `Authorization: Bearer T` for one of
/// `tokens`. With no tokens configured nothing matches (secure by default).
pub(crate) fn bearer_matches(headers: &HeaderMap, tokens: &[String]) -> bool {
    let Some(given) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    tokens
        .iter()
        .any(|t| constant_time_eq(t.as_bytes(), given.trim().as_bytes()))
}

/// Compares without an early exit, so timing tells nothing about the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
