//! The API listener under idle and half-open connections (issue 15):
//! heartbeats share it, so connections that never finish a request must not
//! stay, nor crowd out the agents.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{Muster, SimAgent, dig, eventually, http};

const AGENT: &str = "agent-secret";

const POLICY: &str = r#"
zone: lists.example.test
ttl: 1
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 3, panic_threshold: 50% }
limits: { moves_per_tick: 20, moves_per_role: 20, host_cooldown: 1s }
roles:
  web: { min: 20, records: [ { name: www, type: A } ], fallback: [ { name: www, type: A, address: 127.0.0.99 } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
"#;

/// How many idle connections this test may hold: 2,000, or fewer when the
/// process may not open that many files (both ends are on this machine).
fn idle_budget() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    2000.min(soft.saturating_sub(300))
}

/// A connection that sends half a request's headers and then nothing.
fn half_open(api: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(api).expect("connect");
    s.write_all(b"POST /api/v1/agents/heartbeat HTTP/1.1\r\nHost: muster\r\n")
        .expect("half a request");
    s
}

/// True when the server has closed `s` (end of stream, perhaps after a
/// short error response, or a reset) within `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

fn published(m: &Muster) -> usize {
    dig(m.dns, &["www.lists.example.test", "A"])
        .answer_data("A")
        .iter()
        .filter(|a| a.starts_with("127.0.40."))
        .count()
}

#[test]
fn half_open_connections_are_closed_and_never_silence_the_agents() {
    let m = Muster::start_with(POLICY, &["--agent-token", AGENT]);
    let _agents: Vec<SimAgent> = (1..=20)
        .map(|i| {
            let name = format!("smurf{i}");
            let address = format!("127.0.40.{i}");
            SimAgent::start(m.api, AGENT, &name, &address, "web", Duration::from_millis(300))
        })
        .collect();
    eventually(Duration::from_secs(15), "twenty agents published", || {
        (published(&m) == 20).then_some(())
    });

    let n = idle_budget();
    let mut idle: Vec<TcpStream> = (0..n).map(|_| half_open(m.api)).collect();
    let held = Instant::now();
    // Longer than the header timeout (10 s) and dead_after (3 s): every
    // agent keeps reporting and stays published throughout.
    while held.elapsed() < Duration::from_secs(13) {
        assert_eq!(
            published(&m),
            20,
            "after {:?} with {n} half-open connections",
            held.elapsed()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The server closed every one of them after the header timeout.
    let mut open = 0;
    for s in &mut idle {
        if !closed_within(s, Duration::from_millis(100)) {
            open += 1;
        }
    }
    assert_eq!(
        open, 0,
        "{open} of {n} half-open connections still open after 13 s"
    );
    let (_, events) = http(m.api, "GET", "/api/v1/events?limit=1000", None, None);
    assert!(
        !events.contains("\"death\""),
        "an agent was declared dead: {events}"
    );
}

#[test]
fn past_the_connection_cap_new_connections_are_closed_at_once_and_logged() {
    let m = Muster::start_with(POLICY, &["--agent-token", AGENT, "--api-max-connections", "50"]);
    let held: Vec<TcpStream> = (0..50).map(|_| half_open(m.api)).collect();
    // Give the server a moment to take all fifty in.
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = half_open(m.api);
    assert!(
        closed_within(&mut extra, Duration::from_secs(2)),
        "the 51st connection stayed open"
    );
    eventually(Duration::from_secs(5), "the cap in the log", || {
        m.log().contains("API connection limit reached").then_some(())
    });
    drop(held);
    // Once they end, the API answers again.
    eventually(Duration::from_secs(5), "the API back", || {
        (http(m.api, "GET", "/healthz", None, None).0 == 200).then_some(())
    });
}

/// One request from `source` with a wrong token: its status and how long
/// the answer took.
fn guess_from(source: &str, api: std::net::SocketAddr) -> (u16, Duration) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let source: std::net::SocketAddr = format!("{source}:0").parse().expect("address");
    socket.bind(&source.into()).expect("bind the source address");
    let started = Instant::now();
    socket.connect(&api.into()).expect("connect");
    let mut s: TcpStream = socket.into();
    s.write_all(
        b"GET /api/v1/events HTTP/1.1\r\nHost: muster\r\nAuthorization: Bearer guess\r\nConnection: close\r\n\r\n",
    )
    .expect("request");
    let mut reply = String::new();
    s.read_to_string(&mut reply).expect("reply");
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, started.elapsed())
}

#[test]
fn a_peer_guessing_tokens_is_slowed_down_and_no_one_else_is() {
    let m = Muster::start_with(
        POLICY,
        &["--agent-token", AGENT, "--read-token", "good-read-token"],
    );
    let mut waits = Vec::new();
    for _ in 0..34 {
        let (status, took) = guess_from("127.0.0.2", m.api);
        assert_eq!(status, 401);
        waits.push(took);
    }
    assert!(
        waits[..30].iter().all(|w| *w >= Duration::from_millis(50)),
        "every refusal waits: {waits:?}"
    );
    assert!(
        waits[33] >= Duration::from_millis(350),
        "past its allowance the guesser waits longer and longer: {waits:?}"
    );
    // Another address is not punished for the guesser.
    let (status, took) = guess_from("127.0.0.3", m.api);
    assert_eq!(status, 401);
    assert!(took < Duration::from_millis(500), "127.0.0.3 waited {took:?}");
    // A good token is never delayed, whoever sends it.
    let started = Instant::now();
    let (status, _) = http(m.api, "GET", "/api/v1/events", Some("good-read-token"), None);
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_millis(500));
    eventually(Duration::from_secs(2), "the guesser named in the log", || {
        m.log()
            .lines()
            .any(|l| l.contains("repeated failed authentication") && l.contains("127.0.0.2"))
            .then_some(())
    });
}
