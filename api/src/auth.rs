//! Bearer tokens: agents on the heartbeat path, operators (read or admin)
//! everywhere else.
//!
//! Secure by default: with no agent token, heartbeats are refused; with no
//! admin token, writes are refused; reads are open until any operator token
//! is configured, and then need one.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};

use muster_controller::runner::AgentCredential;
use muster_controller::tokens::token_hash;

use crate::{ApiError, ApiState};

/// A request allowed to read: any operator token, or anyone while no
/// operator token is configured. Agent tokens are not operator tokens.
#[derive(Debug)]
pub(crate) struct Reader;

/// A request allowed to write: an admin token. Holds the token's name,
/// recorded as the actor of every change made with it.
#[derive(Debug)]
pub(crate) struct Admin(pub(crate) String);

impl FromRequestParts<ApiState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        state.tokens.require_read(&parts.headers).map(|()| Self)
    }
}

impl FromRequestParts<ApiState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        state.tokens.require_admin(&parts.headers).map(Self)
    }
}

/// What an operator token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Reads only.
    Read,
    /// Reads and writes.
    Admin,
}

/// An operator's token; its name is the actor recorded in events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorToken {
    /// Recorded as the actor of every change made with it.
    pub name: String,
    /// The secret.
    pub secret: String,
    /// Read or admin.
    pub scope: Scope,
}

impl OperatorToken {
    /// Parses `NAME=SECRET` or a bare `SECRET` (named after its scope).
    pub fn parse(text: &str, scope: Scope) -> Self {
        let default = match scope {
            Scope::Read => "read",
            Scope::Admin => "admin",
        };
        let (name, secret) = match text.split_once('=') {
            Some((name, secret)) if !name.is_empty() => (name, secret),
            _ => (default, text),
        };
        Self {
            name: name.to_owned(),
            secret: secret.to_owned(),
            scope,
        }
    }
}

/// Every token the API accepts.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    /// Tokens any agent may present on the heartbeat endpoint.
    pub agent: Vec<String>,
    /// Enrolment tokens: a new host presenting one gets its own token.
    pub enrolment: Vec<String>,
    /// Operator tokens.
    pub operators: Vec<OperatorToken>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Compares without an early exit, so timing tells nothing about the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        format!("{what} (Authorization: Bearer …)"),
    )
}

impl Tokens {
    /// The heartbeat endpoint's check: which kind of agent token this is.
    /// Any other token may be a per-host one; the controller decides.
    pub(crate) fn agent_credential(&self, headers: &HeaderMap) -> Result<AgentCredential, ApiError> {
        let given = bearer(headers).ok_or_else(|| unauthorized("an agent token is required"))?;
        let matches = |list: &[String]| {
            list.iter()
                .any(|t| constant_time_eq(t.as_bytes(), given.as_bytes()))
        };
        Ok(if matches(&self.agent) {
            AgentCredential::Shared
        } else if matches(&self.enrolment) {
            AgentCredential::Enrolment
        } else {
            AgentCredential::Token(token_hash(given))
        })
    }

    fn operator(&self, headers: &HeaderMap) -> Option<&OperatorToken> {
        let given = bearer(headers)?;
        self.operators
            .iter()
            .find(|t| constant_time_eq(t.secret.as_bytes(), given.as_bytes()))
    }

    /// Reads: open until operator tokens exist, then any operator token.
    pub(crate) fn require_read(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if self.operators.is_empty() || self.operator(headers).is_some() {
            Ok(())
        } else {
            Err(unauthorized("an operator token is required"))
        }
    }

    /// Writes: an admin token; returns its name (the event's actor).
    pub(crate) fn require_admin(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        match self.operator(headers) {
            Some(t) if t.scope == Scope::Admin => Ok(t.name.clone()),
            Some(t) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("token {:?} may only read", t.name),
            )),
            None => Err(unauthorized("an admin token is required")),
        }
    }
}
