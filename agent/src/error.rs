//! The agent's one error type, sorted into fatal and retry-with-backoff.

use std::path::PathBuf;

/// Why the agent could not do something.
///
/// [`AgentError::is_retryable`] sorts them: the run loop backs off and tries
/// again on a retryable error and stops (the process exits non-zero) on any
/// other. A failed role-change hook is not an error of the agent: it is
/// reported to the controller in the next heartbeat.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The configuration is unusable (bad flag, bad value, bad file).
    #[error("configuration: {0}")]
    Config(String),
    /// The configuration file cannot be read.
    #[error("cannot read {path}: {source}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP client cannot be built (e.g. a bad `ca_file`).
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// The controller cannot be reached, or did not answer in time.
    #[error("controller unreachable: {0}")]
    Unreachable(String),
    /// The controller failed (5xx) or asked us to slow down (429).
    #[error("controller answered {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The error message it gave, if any.
        message: String,
    },
    /// The controller refused the agent token (401). Retried with backoff:
    /// an operator may fix the token on the controller.
    #[error(
        "the controller refused the agent token (401: {0}); check --token / MUSTER_AGENT_TOKEN \
         and the controller's --agent-token"
    )]
    Unauthorized(String),
    /// The controller accepts only the hosts its policy lists, and not this
    /// one (403). Retried with backoff: an operator may add the host to the
    /// policy and reload it.
    #[error("the controller does not accept this host (403: {0})")]
    NotListed(String),
    /// Another agent holds this host name (409): two boxes must not report
    /// under one name.
    #[error("the controller says host name {name:?} belongs to another agent (409: {message})")]
    NameTaken {
        /// Our name.
        name: String,
        /// What the controller said.
        message: String,
    },
    /// The controller rejected the heartbeat itself (400, 404, 422, …):
    /// sending it again will not help.
    #[error("the controller rejected the heartbeat ({status}: {message})")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// What the controller said.
        message: String,
    },
    /// The controller's reply was not a heartbeat reply.
    #[error("unreadable reply from the controller: {0}")]
    BadReply(String),
    /// The role file cannot be read or written.
    #[error("role state {path}: {source}")]
    State {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl AgentError {
    /// True when trying again later may succeed: the controller is away,
    /// failing, busy, or does not (yet) accept our token.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unreachable(_)
                | Self::Server { .. }
                | Self::Unauthorized(_)
                | Self::NotListed(_)
                | Self::BadReply(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_of_the_controller_are_retried_and_ours_are_fatal() {
        let retry = [
            AgentError::Unreachable("refused".into()),
            AgentError::Server {
                status: 503,
                message: "busy".into(),
            },
            AgentError::Unauthorized("no".into()),
            AgentError::NotListed("not in the inventory".into()),
            AgentError::BadReply("eof".into()),
        ];
        assert!(retry.iter().all(AgentError::is_retryable));
        let fatal = [
            AgentError::Config("x".into()),
            AgentError::Client("ca".into()),
            AgentError::NameTaken {
                name: "smurf1".into(),
                message: "held".into(),
            },
            AgentError::Rejected {
                status: 422,
                message: "bad name".into(),
            },
        ];
        assert!(!fatal.iter().any(AgentError::is_retryable));
    }
}
