//! Talking to the REST API from tests: JSON calls and a Server-Sent Events
//! reader over a plain TCP connection.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http;

/// A request; the body parsed as JSON (`Value::Null` when it is not JSON,
/// e.g. an empty 204).
pub fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let (status, text) = http(addr, method, path, token, body);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The `error.code` of an error body.
pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// The `error.message` of an error body.
pub fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}

/// An open `text/event-stream` response.
pub struct EventStream {
    reader: BufReader<TcpStream>,
    /// The response's status.
    pub status: u16,
}

impl EventStream {
    /// Opens `GET path` with `token` and reads the response head.
    pub fn open(addr: SocketAddr, path: &str, token: Option<&str>) -> Self {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
        if let Some(t) = token {
            request.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).expect("send");
        let mut reader = BufReader::new(stream);
        let mut status = 0;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let line = read_line(&mut reader, deadline).expect("response head");
            if status == 0 {
                status = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
            }
            if line.trim_end().is_empty() {
                break;
            }
        }
        Self { reader, status }
    }

    /// The next `data:` payload within `within`, parsed; `None` on timeout
    /// or when the stream ended.
    pub fn next_event(&mut self, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        loop {
            let line = read_line(&mut self.reader, deadline)?;
            // Chunked transfer framing lines (sizes) carry no `data:`.
            if let Some(data) = line.trim_end().strip_prefix("data:") {
                return serde_json::from_str(data.trim()).ok();
            }
        }
    }

    /// Waits for the event for which `wanted` holds, skipping others.
    pub fn wait_for(&mut self, within: Duration, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let event = self.next_event(deadline.saturating_duration_since(Instant::now()))?;
            if wanted(&event) {
                return Some(event);
            }
        }
        None
    }

    /// True when the server closes the stream within `within`.
    pub fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut line = String::new();
        while Instant::now() < deadline {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {}
                Err(_) => return true,
            }
        }
        false
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// One line, waiting until `deadline`; `None` on timeout or end of stream.
fn read_line(reader: &mut BufReader<TcpStream>, deadline: Instant) -> Option<String> {
    let mut line = String::new();
    loop {
        match reader.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) if line.ends_with('\n') => return Some(line),
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {
                if Instant::now() > deadline {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}
