//! The operator API's client, as the `muster` CLI speaks it: one method per
//! endpoint, each answering with the typed value *and* the JSON exactly as
//! the server sent it (for `--json`), and an [`EventFollower`] that reads
//! the Server-Sent Events of `GET /api/v1/events/stream`.
//!
//! Every failure is a [`ClientError`] that says whether the server refused
//! (its `{"error": {"code", "message"}}`), could not be reached (which URL),
//! or answered something that is not the API.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Url};
use serde::de::DeserializeOwned;

use crate::{
    AliasBody, AliasView, ErrorResponse, EventView, EventsQuery, HostView, MoveAccepted, MoveBody, MoveQuery,
    NewHostBody, NewRecordBody, PinBody, PoolsView, RecordQuery, RecordsRemoved, ReloadView,
    StaticRecordView, StreamQuery, ZoneView,
};

/// Where the CLI looks for the API when told nothing.
pub const DEFAULT_API: &str = "http://127.0.0.1:8700";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A whole request, reply included (not the event stream).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Silence after which the event stream counts as lost (the server sends a
/// keep-alive every 10 s).
const STREAM_SILENCE: Duration = Duration::from_secs(35);
/// Most of an event stream line kept before the stream counts as broken.
const MAX_LINE: usize = 1 << 20;

/// How to reach the API.
#[derive(Clone, Default)]
pub struct ClientConfig {
    /// Its base URL (`http://127.0.0.1:8700`, `https://muster.example:8700`).
    pub api: String,
    /// The bearer token to present, if any.
    pub token: Option<String>,
    /// A PEM file of CA certificates to trust besides the system's.
    pub ca_file: Option<PathBuf>,
}

// Written by hand so the token never shows.
impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api", &self.api)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The client cannot be set up: a bad URL or CA file.
    #[error("{0}")]
    Config(String),
    /// No answer: nothing listens there, TLS failed, or it timed out.
    #[error("cannot reach the muster API at {url}: {reason}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// Why, with every cause.
        reason: String,
    },
    /// The server refused, with its error.
    #[error("{message} (HTTP {status}, {code})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The error's `code` (`forbidden`, `not_found`, …).
        code: String,
        /// The error's `message`.
        message: String,
    },
    /// The answer is not what the API sends.
    #[error("unexpected answer from {url}: {reason}")]
    BadReply {
        /// The URL asked.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl ClientError {
    /// True when the server could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
    }

    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An answer: the value and the JSON document it was read from, as sent.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    /// The parsed value.
    pub value: T,
    /// The body exactly as the server sent it.
    pub json: String,
}

/// A client of one muster API.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

impl Client {
    /// A client for `config.api`, trusting `config.ca_file` too.
    pub fn try_new(config: &ClientConfig) -> Result<Self, ClientError> {
        let base = parse_base(&config.api)?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(STREAM_SILENCE)
            .user_agent(concat!("muster-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| ClientError::Config(format!("CA file {}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ClientError::Config(format!("CA file {}: {}", path.display(), chain(&e))))?;
            if certs.is_empty() {
                return Err(ClientError::Config(format!(
                    "CA file {}: no PEM certificate in it",
                    path.display()
                )));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Config(format!("HTTP client: {}", chain(&e))))?;
        Ok(Self {
            http,
            base,
            token: config.token.clone(),
        })
    }

    /// The API's base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `GET /api/v1/pools`.
    pub async fn pools(&self) -> Result<Reply<PoolsView>, ClientError> {
        self.call(Method::GET, &["pools"], |r| r).await
    }

    /// `GET /api/v1/hosts`.
    pub async fn hosts(&self) -> Result<Reply<Vec<HostView>>, ClientError> {
        self.call(Method::GET, &["hosts"], |r| r).await
    }

    /// `GET /api/v1/hosts/{name}`.
    pub async fn host(&self, name: &str) -> Result<Reply<HostView>, ClientError> {
        self.call(Method::GET, &["hosts", name], |r| r).await
    }

    /// `POST /api/v1/hosts`: registers a static host.
    pub async fn register(&self, body: &NewHostBody) -> Result<Reply<HostView>, ClientError> {
        self.call(Method::POST, &["hosts"], |r| r.json(body)).await
    }

    /// `DELETE /api/v1/hosts/{name}`.
    pub async fn remove(&self, name: &str, force: bool) -> Result<(), ClientError> {
        let (url, response) = self
            .send(Method::DELETE, &["hosts", name], |r| r.query(&[("force", force)]))
            .await?;
        let _ = read_body(&url, response).await?;
        Ok(())
    }

    /// `POST /api/v1/hosts/{name}/move`: drain, then the new role (or at
    /// once with `query.now`).
    pub async fn move_host(
        &self,
        name: &str,
        role: &str,
        query: &MoveQuery,
    ) -> Result<Reply<MoveAccepted>, ClientError> {
        let body = MoveBody {
            role: role.to_owned(),
            force: query.force,
        };
        self.call(Method::POST, &["hosts", name, "move"], |r| {
            r.query(query).json(&body)
        })
        .await
    }

    /// `POST /api/v1/hosts/{name}/drain`.
    pub async fn drain(&self, name: &str, force: bool) -> Result<Reply<HostView>, ClientError> {
        self.call(Method::POST, &["hosts", name, "drain"], |r| {
            r.query(&[("force", force)])
        })
        .await
    }

    /// `POST /api/v1/hosts/{name}/cordon`.
    pub async fn cordon(&self, name: &str, force: bool) -> Result<Reply<HostView>, ClientError> {
        self.call(Method::POST, &["hosts", name, "cordon"], |r| {
            r.query(&[("force", force)])
        })
        .await
    }

    /// `POST /api/v1/hosts/{name}/uncordon`.
    pub async fn uncordon(&self, name: &str) -> Result<Reply<HostView>, ClientError> {
        self.call(Method::POST, &["hosts", name, "uncordon"], |r| r).await
    }

    /// `POST /api/v1/hosts/{name}/pin`, in `role` or (without) its own.
    pub async fn pin(
        &self,
        name: &str,
        role: Option<&str>,
        force: bool,
    ) -> Result<Reply<HostView>, ClientError> {
        let body = role.map(|role| PinBody {
            role: Some(role.to_owned()),
        });
        self.call(Method::POST, &["hosts", name, "pin"], |r| {
            let r = r.query(&[("force", force)]);
            match &body {
                Some(body) => r.json(body),
                None => r,
            }
        })
        .await
    }

    /// `POST /api/v1/hosts/{name}/unpin`.
    pub async fn unpin(&self, name: &str) -> Result<Reply<HostView>, ClientError> {
        self.call(Method::POST, &["hosts", name, "unpin"], |r| r).await
    }

    /// `GET /api/v1/events`, oldest first.
    pub async fn events(&self, query: &EventsQuery) -> Result<Reply<Vec<EventView>>, ClientError> {
        self.call(Method::GET, &["events"], |r| r.query(query)).await
    }

    /// `GET /api/v1/zone`: the forward zone, or the served zone `name`.
    pub async fn zone(&self, name: Option<&str>) -> Result<Reply<ZoneView>, ClientError> {
        self.call(Method::GET, &["zone"], |r| match name {
            Some(name) => r.query(&[("name", name)]),
            None => r,
        })
        .await
    }

    /// `GET /api/v1/zones`: every zone served, the forward zone first.
    pub async fn zones(&self) -> Result<Reply<Vec<ZoneView>>, ClientError> {
        self.call(Method::GET, &["zones"], |r| r).await
    }

    /// `GET /api/v1/records`: the policy's static records and the API's.
    pub async fn records(&self) -> Result<Reply<Vec<StaticRecordView>>, ClientError> {
        self.call(Method::GET, &["records"], |r| r).await
    }

    /// `POST /api/v1/records`: adds a static record.
    pub async fn add_record(&self, body: &NewRecordBody) -> Result<Reply<StaticRecordView>, ClientError> {
        self.call(Method::POST, &["records"], |r| r.json(body)).await
    }

    /// `DELETE /api/v1/records?name=&type=[&data=]`: removes records
    /// added through the API.
    pub async fn remove_records(&self, query: &RecordQuery) -> Result<Reply<RecordsRemoved>, ClientError> {
        self.call(Method::DELETE, &["records"], |r| r.query(query)).await
    }

    /// `GET /api/v1/aliases`.
    pub async fn aliases(&self) -> Result<Reply<Vec<AliasView>>, ClientError> {
        self.call(Method::GET, &["aliases"], |r| r).await
    }

    /// `PUT /api/v1/aliases/{name}`: points the alias at `host`.
    pub async fn set_alias(&self, name: &str, host: &str) -> Result<Reply<AliasView>, ClientError> {
        let body = AliasBody {
            host: host.to_owned(),
        };
        self.call(Method::PUT, &["aliases", name], |r| r.json(&body))
            .await
    }

    /// `DELETE /api/v1/aliases/{name}`.
    pub async fn remove_alias(&self, name: &str) -> Result<(), ClientError> {
        let (url, response) = self.send(Method::DELETE, &["aliases", name], |r| r).await?;
        let _ = read_body(&url, response).await?;
        Ok(())
    }

    /// `POST /api/v1/policy/reload`.
    pub async fn reload(&self) -> Result<Reply<ReloadView>, ClientError> {
        self.call(Method::POST, &["policy", "reload"], |r| r).await
    }

    /// `GET /api/v1/plan?at=`: the first reconcile at `at` (`None`: now).
    pub async fn plan(&self, at: Option<&str>) -> Result<Reply<crate::PlanView>, ClientError> {
        self.call(Method::GET, &["plan"], |r| match at {
            Some(at) => r.query(&[("at", at)]),
            None => r,
        })
        .await
    }

    /// Opens `GET /api/v1/events/stream`; read it with
    /// [`EventFollower::next`].
    pub async fn follow(&self, query: &StreamQuery) -> Result<EventFollower, ClientError> {
        let (url, response) = self
            .send_untimed(Method::GET, &["events", "stream"], |r| {
                r.query(query).header("Accept", "text/event-stream")
            })
            .await?;
        Ok(EventFollower {
            url,
            response,
            buffer: Vec::new(),
            data: None,
            last_id: None,
        })
    }

    /// The URL of `/api/v1/{segments…}`, each segment escaped.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        url
    }

    /// Sends a request bounded by [`REQUEST_TIMEOUT`] and parses its JSON.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<Reply<T>, ClientError> {
        let (url, response) = self
            .send(method, segments, |r| build(r.timeout(REQUEST_TIMEOUT)))
            .await?;
        let json = read_body(&url, response).await?;
        let value = serde_json::from_str(&json).map_err(|e| ClientError::BadReply {
            url: url.to_string(),
            reason: format!("not the JSON expected: {e}"),
        })?;
        Ok(Reply { value, json })
    }

    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<(Url, reqwest::Response), ClientError> {
        self.send_untimed(method, segments, |r| build(r.timeout(REQUEST_TIMEOUT)))
            .await
    }

    /// Sends a request; a non-2xx answer is the server's error.
    async fn send_untimed(
        &self,
        method: Method,
        segments: &[&str],
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<(Url, reqwest::Response), ClientError> {
        let url = self.url(segments);
        let mut request = build(self.http.request(method, url.clone()));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| unreachable(&url, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok((url, response));
        }
        let text = response.text().await.unwrap_or_default();
        Err(refusal(status, &text))
    }
}

/// An open event stream.
#[derive(Debug)]
pub struct EventFollower {
    url: Url,
    response: reqwest::Response,
    /// Bytes received and not yet a whole line.
    buffer: Vec<u8>,
    /// The `data:` lines of the event being read.
    data: Option<String>,
    last_id: Option<i64>,
}

impl EventFollower {
    /// The next event, waiting for it; `None` when the server ended the
    /// stream. An error means the connection broke (the stream may be
    /// opened again after [`EventFollower::last_id`]).
    pub async fn next(&mut self) -> Result<Option<Reply<EventView>>, ClientError> {
        loop {
            while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                if let Some(event) = self.line(line.trim_end_matches(['\n', '\r']))? {
                    return Ok(Some(event));
                }
            }
            if self.buffer.len() > MAX_LINE {
                return Err(self.bad("a line longer than 1 MiB".to_owned()));
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.buffer.extend_from_slice(&bytes),
                Ok(None) => return Ok(None),
                Err(e) => return Err(unreachable(&self.url, &e)),
            }
        }
    }

    /// The id of the last event read, to resume from.
    pub fn last_id(&self) -> Option<i64> {
        self.last_id
    }

    /// Takes one line of the stream; an event when it completes one.
    fn line(&mut self, line: &str) -> Result<Option<Reply<EventView>>, ClientError> {
        if line.is_empty() {
            let Some(json) = self.data.take() else {
                return Ok(None);
            };
            let value: EventView = serde_json::from_str(&json)
                .map_err(|e| self.bad(format!("an event that is not an event: {e}")))?;
            self.last_id = Some(value.id);
            return Ok(Some(Reply { value, json }));
        }
        if line.starts_with(':') {
            return Ok(None); // a comment: the keep-alive
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        if field == "data" {
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
        }
        Ok(None)
    }

    fn bad(&self, reason: String) -> ClientError {
        ClientError::BadReply {
            url: self.url.to_string(),
            reason,
        }
    }
}

/// The API's base URL from what a user typed: http or https, no query.
fn parse_base(text: &str) -> Result<Url, ClientError> {
    let url = Url::parse(text.trim())
        .map_err(|e| ClientError::Config(format!("API URL {text:?}: {e} (expected e.g. {DEFAULT_API})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ClientError::Config(format!(
            "API URL {text:?}: the scheme must be http or https"
        )));
    }
    if url.cannot_be_a_base() || url.query().is_some() || url.fragment().is_some() {
        return Err(ClientError::Config(format!(
            "API URL {text:?}: expected a base URL such as {DEFAULT_API}"
        )));
    }
    Ok(url)
}

async fn read_body(url: &Url, response: reqwest::Response) -> Result<String, ClientError> {
    response.text().await.map_err(|e| unreachable(url, &e))
}

fn unreachable(url: &Url, e: &reqwest::Error) -> ClientError {
    ClientError::Unreachable {
        url: url.to_string(),
        reason: chain(e),
    }
}

/// The server's error for a non-2xx answer with body `text`.
fn refusal(status: reqwest::StatusCode, text: &str) -> ClientError {
    match serde_json::from_str::<ErrorResponse>(text) {
        Ok(e) => ClientError::Api {
            status: status.as_u16(),
            code: e.error.code,
            message: e.error.message,
        },
        // Not the API's error shape (a proxy, another server).
        Err(_) => ClientError::Api {
            status: status.as_u16(),
            code: status.canonical_reason().unwrap_or("error").to_lowercase(),
            message: match text.trim() {
                "" => format!("the server answered {status}"),
                t => t.chars().take(300).collect(),
            },
        },
    }
}

/// An error with its causes, `outer: inner: …`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(api: &str) -> Client {
        Client::try_new(&ClientConfig {
            api: api.to_owned(),
            ..ClientConfig::default()
        })
        .expect("client")
    }

    #[test]
    fn urls_escape_names_and_keep_a_base_path() {
        let c = client("http://127.0.0.1:8700");
        assert_eq!(
            c.url(&["hosts", "smurf1", "move"]).as_str(),
            "http://127.0.0.1:8700/api/v1/hosts/smurf1/move"
        );
        assert_eq!(
            c.url(&["hosts", "a/b c"]).as_str(),
            "http://127.0.0.1:8700/api/v1/hosts/a%2Fb%20c"
        );
        let c = client("https://ops.example/muster/");
        assert_eq!(
            c.url(&["pools"]).as_str(),
            "https://ops.example/muster/api/v1/pools"
        );
    }

    #[test]
    fn bad_urls_and_ca_files_are_config_errors() {
        for bad in ["127.0.0.1:8700", "ftp://x", "http://x/?a=1", "not a url"] {
            let err = Client::try_new(&ClientConfig {
                api: bad.to_owned(),
                ..ClientConfig::default()
            })
            .expect_err(bad);
            assert!(matches!(err, ClientError::Config(_)), "{bad}: {err}");
        }
        let dir = std::env::temp_dir().join(format!("muster-client-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, "not a certificate").expect("write");
        let err = Client::try_new(&ClientConfig {
            api: DEFAULT_API.to_owned(),
            token: None,
            ca_file: Some(ca),
        })
        .expect_err("no certificate");
        assert!(err.to_string().contains("ca.pem"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn refusals_carry_the_servers_error_or_its_text() {
        let e = refusal(
            reqwest::StatusCode::FORBIDDEN,
            r#"{"error":{"code":"forbidden","message":"token \"w\" may only read"}}"#,
        );
        assert_eq!(e.status(), Some(403));
        assert_eq!(e.to_string(), r#"token "w" may only read (HTTP 403, forbidden)"#);
        let e = refusal(reqwest::StatusCode::BAD_GATEWAY, "");
        assert!(e.to_string().contains("502"), "{e}");
    }

    #[tokio::test]
    async fn the_event_stream_is_read_event_by_event() {
        let event = |id: i64| {
            format!(
                r#"{{"id":{id},"at":1,"kind":"cordon","host":"smurf1","from":null,"to":null,"actor":"ops","reason":"r","serial":7}}"#
            )
        };
        let body = format!(
            ": keep-alive\r\n\r\nid: 4\ndata: {}\n\ndata:{}\r\n\r\n",
            event(4),
            event(5)
        );
        let response = axum::http::Response::new(body);
        let mut follower = EventFollower {
            url: Url::parse(DEFAULT_API).expect("url"),
            response: reqwest::Response::from(response),
            buffer: Vec::new(),
            data: None,
            last_id: None,
        };
        let first = follower.next().await.expect("read").expect("an event");
        assert_eq!((first.value.id, first.json), (4, event(4)));
        let second = follower.next().await.expect("read").expect("an event");
        assert_eq!(second.value.kind, "cordon");
        assert_eq!(follower.last_id(), Some(5));
        assert!(follower.next().await.expect("read").is_none(), "the stream ended");
    }

    #[test]
    fn the_config_never_shows_the_token() {
        let config = ClientConfig {
            api: DEFAULT_API.to_owned(),
            token: Some("s3cret".to_owned()),
            ca_file: None,
        };
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
