//! The controller's heartbeat endpoint over HTTP(S), with keep-alive. Sorts
//! every answer into a reply or an [`AgentError`] the run loop understands.

use std::time::Duration;

use muster_api::{HeartbeatBody, HeartbeatReply};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::config::{AgentConfig, Token};
use crate::{AgentError, probes::error_chain};

/// The path agents post to.
pub const HEARTBEAT_PATH: &str = "/api/v1/agents/heartbeat";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Posts heartbeats to one controller.
#[derive(Clone, Debug)]
pub struct ControllerClient {
    http: reqwest::Client,
    url: String,
    token: Option<Token>,
    name: String,
}

impl ControllerClient {
    /// A client for `config.controller`, trusting `config.ca_file` too.
    pub fn try_new(config: &AgentConfig) -> Result<Self, AgentError> {
        let http = http_client(config.ca_file.as_deref(), true)?;
        Ok(Self {
            http,
            url: format!("{}{HEARTBEAT_PATH}", config.controller),
            token: config.token.clone(),
            name: config.name.clone(),
        })
    }

    /// Presents `token` from now on (the host's own, once issued).
    pub fn set_token(&mut self, token: Token) {
        self.token = Some(token);
    }

    /// The URL heartbeats go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one heartbeat and reads the reply.
    pub async fn heartbeat(&self, body: &HeartbeatBody) -> Result<HeartbeatReply, AgentError> {
        let mut request = self.http.post(&self.url).json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| AgentError::Unreachable(error_chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            let bytes = response
                .bytes()
                .await
                .map_err(|e| AgentError::Unreachable(error_chain(&e)))?;
            return serde_json::from_slice(&bytes).map_err(|e| AgentError::BadReply(e.to_string()));
        }
        let text = response.text().await.unwrap_or_default();
        Err(classify(status, &text, &self.name))
    }
}

/// A client with keep-alive and bounded waits; `ca_file` adds trusted roots.
pub fn http_client(
    ca_file: Option<&std::path::Path>,
    follow_redirects: bool,
) -> Result<reqwest::Client, AgentError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("muster-agent/", env!("CARGO_PKG_VERSION")));
    if !follow_redirects {
        builder = builder.redirect(reqwest::redirect::Policy::none());
    }
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|source| AgentError::ConfigFile {
            path: path.to_owned(),
            source,
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| AgentError::Client(format!("{}: {}", path.display(), error_chain(&e))))?;
        if certs.is_empty() {
            return Err(AgentError::Client(format!(
                "{}: no PEM certificate in it",
                path.display()
            )));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| AgentError::Client(error_chain(&e)))
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
}

/// The error for a non-2xx answer with body `text`.
pub fn classify(status: StatusCode, text: &str, name: &str) -> AgentError {
    let message = serde_json::from_str::<ErrorEnvelope>(text)
        .map(|e| e.error.message)
        .unwrap_or_else(|_| text.chars().take(200).collect::<String>().trim().to_owned());
    let code = status.as_u16();
    match status {
        StatusCode::UNAUTHORIZED => AgentError::Unauthorized(message),
        StatusCode::FORBIDDEN => AgentError::NotListed(message),
        StatusCode::CONFLICT => AgentError::NameTaken {
            name: name.to_owned(),
            message,
        },
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => AgentError::Server {
            status: code,
            message,
        },
        s if s.is_server_error() => AgentError::Server {
            status: code,
            message,
        },
        _ => AgentError::Rejected {
            status: code,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::{Ipv4Addr, SocketAddr};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::config::{AgentFlags, FileConfig};

    /// A one-answer-per-connection HTTP stub; returns its address and the
    /// requests it saw.
    async fn stub(
        status: &'static str,
        body: &'static str,
    ) -> (SocketAddr, tokio::sync::mpsc::Receiver<String>) {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
        let addr = l.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = vec![0u8; 16 * 1024];
                let mut seen = Vec::new();
                // Read the head and the body (Content-Length is small here).
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen);
                    if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().to_owned())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if rest.len() >= len {
                            break;
                        }
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&seen).into_owned()).await;
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(response.as_bytes()).await;
            }
        });
        (addr, rx)
    }

    fn client(addr: SocketAddr) -> ControllerClient {
        let flags = AgentFlags {
            controller: format!("http://{addr}"),
            name: "smurf1".into(),
            addresses: vec!["127.0.1.1".parse().expect("ip")],
            token: Some(Token::new("t0ken")),
            on_role_change: None,
            config: None,
        };
        ControllerClient::try_new(&AgentConfig::from_parts(flags, FileConfig::default()).expect("config"))
            .expect("client")
    }

    fn body() -> HeartbeatBody {
        HeartbeatBody {
            name: "smurf1".into(),
            addresses: vec!["127.0.1.1".parse().expect("ip")],
            role: Some("web".into()),
            probes: Vec::new(),
            metrics: BTreeMap::from([("queue_depth".to_owned(), 0.0)]),
            hook_failure: None,
        }
    }

    #[tokio::test]
    async fn a_reply_is_parsed_and_the_request_carries_token_and_body() {
        let (addr, mut seen) = stub(
            "200 OK",
            r#"{"role":"web","state":"active","interval_ms":1000,"probes":[{"type":"tcp","name":"p","port":80,"timeout_ms":500}]}"#,
        )
        .await;
        let reply = client(addr).heartbeat(&body()).await.expect("reply");
        assert_eq!(reply.role.as_deref(), Some("web"));
        assert_eq!(reply.interval_ms, 1000);
        assert_eq!(reply.probes.len(), 1);
        let request = seen.recv().await.expect("request");
        assert!(
            request.starts_with("POST /api/v1/agents/heartbeat HTTP/1.1"),
            "{request}"
        );
        assert!(request.contains("authorization: Bearer t0ken"), "{request}");
        assert!(request.contains(r#""name":"smurf1""#), "{request}");
        assert!(request.contains(r#""queue_depth":0.0"#), "{request}");
    }

    #[tokio::test]
    async fn a_409_is_fatal_and_names_the_host() {
        let (addr, _seen) = stub(
            "409 Conflict",
            r#"{"error":{"code":"name_taken","message":"smurf1 reports with another token"}}"#,
        )
        .await;
        let err = client(addr).heartbeat(&body()).await.expect_err("409");
        assert!(!err.is_retryable());
        let text = err.to_string();
        assert!(
            text.contains("smurf1") && text.contains("another token"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_401_and_a_503_are_retried_and_the_token_is_not_in_the_error() {
        let (addr, _seen) = stub(
            "401 Unauthorized",
            r#"{"error":{"code":"unauthorized","message":"bad agent token"}}"#,
        )
        .await;
        let err = client(addr).heartbeat(&body()).await.expect_err("401");
        assert!(matches!(err, AgentError::Unauthorized(_)) && err.is_retryable());
        assert!(!format!("{err} {err:?}").contains("t0ken"));
        let (addr, _seen) = stub("503 Service Unavailable", "busy").await;
        let err = client(addr).heartbeat(&body()).await.expect_err("503");
        assert!(matches!(err, AgentError::Server { status: 503, .. }) && err.is_retryable());
        let (addr, _seen) = stub("422 Unprocessable Entity", "{}").await;
        assert!(
            !client(addr)
                .heartbeat(&body())
                .await
                .expect_err("422")
                .is_retryable()
        );
        let (addr, _seen) = stub("200 OK", "not json").await;
        assert!(matches!(
            client(addr).heartbeat(&body()).await,
            Err(AgentError::BadReply(_))
        ));
    }

    #[tokio::test]
    async fn nobody_listening_is_retried() {
        let addr = {
            let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
            l.local_addr().expect("addr")
        };
        let err = client(addr).heartbeat(&body()).await.expect_err("refused");
        assert!(
            matches!(err, AgentError::Unreachable(_)) && err.is_retryable(),
            "{err}"
        );
    }

    #[test]
    fn a_bad_ca_file_is_a_config_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not a certificate").expect("write");
        let err = http_client(Some(&ca), true).expect_err("no certs");
        assert!(err.to_string().contains("ca.pem"), "{err}");
        assert!(http_client(Some(&dir.path().join("missing.pem")), true).is_err());
    }
}
