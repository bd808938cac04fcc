//! The status page (`GET /`) in a real headless Chromium (Debian's
//! `chromium`): the real `muster serve` with simulated agents, the page's
//! DOM after load, and chromium's log checked for console errors. The test
//! fails, with a message saying to install it, when chromium is missing.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use support::chromium::Chromium;
use support::{Muster, SimAgent, dig, eventually, http, http_get};

const TOKEN: &str = "agent-secret";

const POLICY: &str = r#"
zone: lists.example.test
ttl: 1
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 3, panic_threshold: 50% }
roles:
  smtp-out:
    min: 2
    records:
      - { name: smtp-out, type: MX, priority: 5 }
      - { name: smtp-out, type: A }
  web: { min: 1, records: [ { name: www, type: A } ] }
  bounce: { min: 0, records: [ { name: bounces, type: MX, priority: 10 } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: web0, address: 127.0.1.10, role: web, static: true }
  - { name: smurf1, address: 127.0.1.1, role: smtp-out }
  - { name: smurf2, address: 127.0.1.2, role: smtp-out }
  - { name: smurf3, address: 127.0.1.3, role: smtp-out }
  - { name: smurf4, address: 127.0.1.4, role: smtp-out }
  - { name: smurf5, address: 127.0.1.5, role: bounce }
"#;

const ROLES: [&str; 3] = ["smtp-out", "web", "bounce"];

fn start_agents(m: &Muster) -> Vec<SimAgent> {
    (1..=5)
        .map(|i| {
            let role = if i == 5 { "bounce" } else { "smtp-out" };
            SimAgent::start(
                m.api,
                TOKEN,
                &format!("smurf{i}"),
                &format!("127.0.1.{i}"),
                role,
                Duration::from_millis(300),
            )
        })
        .collect()
}

/// The table row of `host` on the page (the `<tr>` up to its end).
fn row<'a>(html: &'a str, host: &str) -> Option<&'a str> {
    let start = html.find(&format!(r#"<tr data-host="{host}">"#))?;
    let len = html[start..].find("</tr>")?;
    Some(&html[start..start + len])
}

#[test]
fn the_status_page_shows_pools_members_and_the_chart_in_chromium_without_console_errors() {
    let m = Muster::start_with(POLICY, &["--agent-token", TOKEN]);
    let mut agents = start_agents(&m);
    eventually(Duration::from_secs(10), "smtp-out to publish four hosts", || {
        let answer = dig(m.dns, &["smtp-out.lists.example.test", "A"]).answer_data("A");
        (answer.len() == 4).then_some(())
    });
    // One box dies: the page shows it dead and the death in the events.
    agents[3].kill();
    eventually(Duration::from_secs(8), "the page to show smurf4 dead", || {
        let (status, body) = http_get(m.api, "/");
        (status == 200 && row(&body, "smurf4").is_some_and(|r| r.contains("state dead"))).then_some(())
    });

    let before = m.serial();
    let url = format!("http://{}/", m.api);
    let run = Chromium::dump_dom(&url);
    let after = m.serial();
    let dom = &run.stdout;

    let origin = format!("http://{}", m.api);
    let errors = run.page_errors(&origin);
    assert!(
        errors.is_empty(),
        "the page caused console errors:\n{}",
        errors.join("\n")
    );
    assert!(
        dom.contains("<title>muster · lists.example.test</title>"),
        "{dom}"
    );
    let pools = dom.split(r#"id="pools""#).nth(1).expect("the pools section");
    for role in ROLES {
        assert!(
            pools.contains(&format!(r#"data-role="{role}" style="--role:"#))
                && pools.contains(&format!("<h2>{role}</h2>")),
            "no card for {role}:\n{dom}"
        );
        assert!(
            dom.contains(&format!(
                r#"<g class="series" data-role="{role}"><title>{role}</title><path class="line""#
            )),
            "no chart line for {role}:\n{dom}"
        );
    }
    for host in ["smurf1", "smurf2", "smurf3", "smurf5", "web0"] {
        let r = row(dom, host).unwrap_or_else(|| panic!("no row for {host}:\n{dom}"));
        assert!(r.contains("state active"), "{host} should be active: {r}");
        assert!(r.contains(r#"class="dns in""#), "{host} should be in DNS: {r}");
    }
    let dead = row(dom, "smurf4").expect("a row for smurf4");
    assert!(
        dead.contains("state dead") && dead.contains(r#"class="dns out""#),
        "{dead}"
    );
    assert!(row(dom, "smurf1").is_some_and(|r| r.contains("127.0.1.1")));
    assert!(dom.contains(r#"<svg class="chart""#), "no chart:\n{dom}");
    assert!(dom.contains(r#"<ul class="legend">"#), "no legend:\n{dom}");
    let serial: u32 = dom
        .split(r#"<dd id="serial">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .and_then(|s| s.parse().ok())
        .expect("the serial on the page");
    assert!(
        (before..=after).contains(&serial),
        "page serial {serial}, DNS {before}..{after}"
    );
    let events = dom.split(r#"id="events""#).nth(1).expect("the events card");
    assert!(
        events.contains(r#"<span class="kind bad">death</span>"#) && events.contains("<b>smurf4</b>"),
        "the death of smurf4 is not among the events:\n{events}"
    );
    assert!(
        !dom.contains(r#"id="panic""#),
        "no panic with one host of six dead"
    );
    for external in ["src=\"http", "href=\"http", "url(http", "<script"] {
        assert!(
            !dom.contains(external),
            "the page loads or runs {external}…:\n{dom}"
        );
    }

    if let Some(png) = std::env::var_os("MUSTER_STATUS_SCREENSHOT") {
        Chromium::screenshot(&url, std::path::Path::new(&png), 1280, 1000);
    }
}

#[test]
fn the_page_is_html_that_forbids_scripts_and_external_resources() {
    let m = Muster::start_with(POLICY, &["--agent-token", TOKEN]);
    let (head, body) = get_with_headers(m.api, "/");
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/html; charset=utf-8"), "{head}");
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert!(head.contains("referrer-policy: no-referrer"), "{head}");
    assert!(body.contains(r#"<meta http-equiv="refresh" content="5">"#));
    assert!(body.contains(r#"<link rel="icon" href="data:,">"#));
}

#[test]
fn with_operator_tokens_the_page_takes_a_read_token_in_its_url() {
    let m = Muster::start_with(
        POLICY,
        &[
            "--agent-token",
            TOKEN,
            "--read-token",
            "viewer=look-only",
            "--admin-token",
            "root=all-powers",
        ],
    );
    let (status, body) = http_get(m.api, "/");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("/?token=TOKEN"), "the 401 page says how: {body}");
    assert!(!body.contains("data-role"), "nothing of the farm without a token");
    assert_eq!(http_get(m.api, "/?token=wrong").0, 401);
    assert_eq!(http_get(m.api, "/?token=").0, 401);
    assert_eq!(http_get(m.api, "/?token=bad%0D%0Avalue").0, 401);
    for token in ["look-only", "all-powers"] {
        let (status, body) = http_get(m.api, &format!("/?token={token}"));
        assert_eq!(status, 200, "{token}: {body}");
        assert!(body.contains(r#"data-role="smtp-out""#));
    }
    let (status, body) = http(m.api, "GET", "/", Some("look-only"), None);
    assert_eq!(status, 200, "a bearer header works too: {body}");
    // The query token is for the page only, not the JSON API.
    assert_eq!(http_get(m.api, "/api/v1/pools?token=look-only").0, 401);
}

/// A page with a deliberate console error and an uncaught exception: proof
/// that the check above can fail.
const BROKEN: &str = r#"<!DOCTYPE html><html><head><link rel="icon" href="data:,"><title>broken</title></head><body><p>broken</p><script>console.error("deliberate console error"); notDefinedAnywhere();</script></body></html>"#;
const CLEAN: &str = r#"<!DOCTYPE html><html><head><link rel="icon" href="data:,"><title>clean</title></head><body><p>clean</p></body></html>"#;

#[test]
fn the_console_error_check_catches_a_page_with_errors() {
    let server = TinyServer::start();
    let origin = format!("http://{}", server.addr);

    let broken = Chromium::dump_dom(&format!("{origin}/broken"));
    assert!(broken.stdout.contains("<p>broken</p>"), "{}", broken.stdout);
    let errors = broken.page_errors(&origin);
    assert!(
        errors.iter().any(|l| l.contains("deliberate console error")),
        "console.error not found in chromium's log:\n{}",
        broken.log
    );
    assert!(
        errors.iter().any(|l| l.contains("Uncaught ReferenceError")),
        "the uncaught exception not found in chromium's log:\n{}",
        broken.log
    );

    let clean = Chromium::dump_dom(&format!("{origin}/clean"));
    assert!(clean.stdout.contains("<p>clean</p>"), "{}", clean.stdout);
    assert_eq!(clean.page_errors(&origin), Vec::<&str>::new(), "{}", clean.log);
}

/// GET `path`; returns the response head and body.
fn get_with_headers(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    (head.to_owned(), body.to_owned())
}

/// Serves [`BROKEN`] at `/broken` and [`CLEAN`] elsewhere, until dropped.
struct TinyServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TinyServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut request = [0u8; 4096];
                let n = stream.read(&mut request).unwrap_or(0);
                let line = String::from_utf8_lossy(&request[..n]);
                let page = if line.starts_with("GET /broken ") {
                    BROKEN
                } else {
                    CLEAN
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TinyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
