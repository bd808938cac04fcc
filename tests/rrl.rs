//! Response rate limiting and DNS cookies on the real binary: a burst from
//! one /24 of loopback is mostly dropped with some truncated slips, another
//! /24 is unaffected, an exempt block and a client returning our server
//! cookie (learned by the real `kdig +cookie`, and by a raw client) are never
//! limited, limited cookie clients get BADCOOKIE, `/metrics` counts it all,
//! and a policy reload turns rate limiting off (a bad one changes nothing).

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Muster, eventually, http_get};

const POLICY_HEAD: &str = r#"
zone: lists.example.test
ttl: 300
nameservers: [ns1.lists.example.test]
roles:
  web: { min: 0, records: [ { name: www, type: A } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: www1, address: 192.0.2.10, role: web, static: true }
"#;

/// Five answers a second per key, every second limited one slips.
fn policy(rate_limit: &str) -> String {
    format!("{POLICY_HEAD}rate_limit: {rate_limit}\n")
}

const LIMITED: &str = "{ responses_per_second: 5, slip: 2, exempt: [127.0.3.0/24] }";

/// A query for www A with EDNS and, when given, a COOKIE option.
fn query(id: u16, cookie: Option<&[u8]>) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    q.extend_from_slice(b"\x03www\x05lists\x07example\x04test\x00\x00\x01\x00\x01");
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    let option = cookie.map(|c| [&10u16.to_be_bytes()[..], &(c.len() as u16).to_be_bytes(), c].concat());
    let option = option.unwrap_or_default();
    q.extend_from_slice(&(option.len() as u16).to_be_bytes());
    q.extend_from_slice(&option);
    q
}

/// One reply as far as these tests look at it.
#[derive(Debug)]
struct Reply {
    truncated: bool,
    answers: u16,
    /// The RCODE with the OPT record's upper bits.
    rcode: u16,
    cookie: Option<Vec<u8>>,
}

fn read_reply(m: &[u8]) -> Option<Reply> {
    let answers = u16::from_be_bytes([*m.get(6)?, *m.get(7)?]);
    let mut reply = Reply {
        truncated: m[2] & 0x02 != 0,
        answers,
        rcode: u16::from(m[3] & 0x0F),
        cookie: None,
    };
    // Our OPT record is always last: find the OPT type after a root owner.
    let opt = (12..m.len().saturating_sub(10))
        .rev()
        .find(|&i| m[i] == 0 && m[i + 1..i + 3] == [0, 41])?;
    reply.rcode |= u16::from(m[opt + 5]) << 4;
    let mut options = &m[opt + 11..];
    while options.len() >= 4 {
        let code = u16::from_be_bytes([options[0], options[1]]);
        let len = usize::from(u16::from_be_bytes([options[2], options[3]]));
        let data = options.get(4..4 + len)?;
        if code == 10 {
            reply.cookie = Some(data.to_vec());
        }
        options = &options[4 + len..];
    }
    Some(reply)
}

/// Sends `n` queries from `source` as fast as it can, then collects what
/// comes back within a short while.
fn burst(server: SocketAddr, source: &str, n: u16, cookie: Option<&[u8]>) -> Vec<Reply> {
    let socket = UdpSocket::bind((source, 0)).expect("bind a loopback source");
    for id in 0..n {
        socket.send_to(&query(id, cookie), server).expect("send");
    }
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut replies = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok((len, _)) = socket.recv_from(&mut buf) {
        replies.extend(read_reply(&buf[..len]));
    }
    replies
}

fn full(replies: &[Reply]) -> usize {
    replies.iter().filter(|r| !r.truncated && r.answers > 0).count()
}

fn truncated(replies: &[Reply]) -> usize {
    replies.iter().filter(|r| r.truncated && r.answers == 0).count()
}

/// A counter of `/metrics`, by its whole label set as printed.
fn metric(m: &Muster, series: &str) -> f64 {
    let (status, body) = http_get(m.api, "/metrics");
    assert_eq!(status, 200);
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in /metrics:\n{body}"))
}

#[test]
fn a_burst_from_one_prefix_is_limited_and_others_are_not() {
    let m = Muster::start(&policy(LIMITED));
    let started = Instant::now();
    let flood = burst(m.dns, "127.0.1.1", 60, None);
    // At most two seconds' worth of full answers (the burst may straddle a
    // second); the rest dropped, every second one of them slipped.
    let within = 5 * (started.elapsed().as_secs() as usize + 2);
    assert!(
        (5..=within).contains(&full(&flood)),
        "{} full answers",
        full(&flood)
    );
    assert!(truncated(&flood) >= 20, "{} truncated slips", truncated(&flood));
    assert!(flood.len() < 50, "{} replies to 60 queries", flood.len());

    // Another /24 of loopback has its own buckets.
    let other = burst(m.dns, "127.0.2.1", 5, None);
    assert_eq!(full(&other), 5, "{other:?}");
    // The exempt block is never limited.
    let exempt = burst(m.dns, "127.0.3.1", 60, None);
    assert_eq!(full(&exempt), 60);

    assert!(metric(&m, "muster_dns_rate_limit_total{action=\"dropped\"}") >= 10.0);
    assert!(metric(&m, "muster_dns_rate_limit_total{action=\"slipped\"}") >= 20.0);
    assert!(metric(&m, "muster_dns_rate_limit_total{action=\"exempt_listed\"}") >= 60.0);
}

#[test]
fn a_client_returning_our_cookie_is_not_limited() {
    let m = Muster::start(&policy(LIMITED));
    // The real kdig learns a server cookie and shows it back.
    let out = Command::new("kdig")
        .args([
            &format!("@{}", m.dns.ip()),
            "-p",
            &m.dns.port().to_string(),
            "-b",
            "127.0.4.1",
            "+cookie",
            "+norec",
            "www.lists.example.test",
            "A",
        ])
        .output()
        .expect("kdig is installed (knot-dnsutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("COOKIE"))
        .unwrap_or_else(|| panic!("no cookie in:\n{text}"));
    let hex: String = line
        .rsplit(' ')
        .next()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(hex.len(), 48, "client and server cookie in {line:?}");
    // Sent back by kdig, it is accepted (no BADCOOKIE, an answer).
    let again = Command::new("kdig")
        .args([
            &format!("@{}", m.dns.ip()),
            "-p",
            &m.dns.port().to_string(),
            "-b",
            "127.0.4.1",
            &format!("+cookie={hex}"),
            "+norec",
            "www.lists.example.test",
            "A",
        ])
        .output()
        .expect("kdig");
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        text.contains("status: NOERROR") && text.contains("192.0.2.10"),
        "{text}"
    );

    // A raw client learns its cookie, then bursts with it: never limited.
    let client = [7u8; 8];
    let first = burst(m.dns, "127.0.5.1", 1, Some(&client));
    let cookie = first[0].cookie.clone().expect("a cookie back");
    assert_eq!((cookie.len(), &cookie[..8]), (24, &client[..]));
    let replies = burst(m.dns, "127.0.5.1", 60, Some(&cookie));
    assert_eq!(full(&replies), 60);
    assert!(
        replies
            .iter()
            .all(|r| r.cookie.as_ref().is_some_and(|c| c[..8] == client))
    );

    // Over the limit with only a client cookie (or a forged server cookie):
    // dropped, and the slips are BADCOOKIE with a fresh cookie.
    let mut forged = cookie.clone();
    forged[20] ^= 1;
    for (source, sent) in [("127.0.6.1", &client[..]), ("127.0.7.1", &forged[..])] {
        let replies = burst(m.dns, source, 60, Some(sent));
        let bad: Vec<_> = replies.iter().filter(|r| r.rcode == 23).collect();
        assert!(
            bad.len() >= 20,
            "{} BADCOOKIE from {source}: {replies:?}",
            bad.len()
        );
        assert!(
            bad.iter()
                .all(|r| r.answers == 0 && r.cookie.as_ref().is_some_and(|c| c.len() == 24))
        );
        assert!(full(&replies) <= 15, "{source}");
    }

    assert!(metric(&m, "muster_dns_rate_limit_total{action=\"exempt_cookie\"}") >= 60.0);
    assert!(metric(&m, "muster_dns_rate_limit_total{action=\"badcookie\"}") >= 40.0);
    assert!(metric(&m, "muster_dns_cookies_total{status=\"valid\"}") >= 61.0);
    assert!(metric(&m, "muster_dns_cookies_total{status=\"client_only\"}") >= 61.0);
    assert!(metric(&m, "muster_dns_cookies_total{status=\"invalid\"}") >= 60.0);
}

#[test]
fn a_malformed_cookie_is_a_format_error() {
    let m = Muster::start(&policy(LIMITED));
    let replies = burst(m.dns, "127.0.8.1", 1, Some(&[1, 2, 3]));
    // FORMERR is written from the header alone, without OPT.
    let socket = UdpSocket::bind("127.0.8.2:0").expect("bind");
    socket.send_to(&query(9, Some(&[1; 12])), m.dns).expect("send");
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let mut buf = [0u8; 512];
    let (len, _) = socket.recv_from(&mut buf).expect("an answer");
    assert_eq!(buf[3] & 0x0F, 1, "FORMERR: {:02x?}", &buf[..len]);
    assert!(replies.is_empty(), "no OPT to read in a FORMERR");
}

#[test]
fn a_reload_applies_rate_limit_and_a_bad_one_is_refused() {
    let m = Muster::start(&policy(LIMITED));
    let limited = burst(m.dns, "127.0.9.1", 40, None);
    assert!(full(&limited) < 40);
    m.reload(&policy("{ responses_per_second: 0 }"));
    eventually(Duration::from_secs(10), "rate limiting to be off", || {
        let replies = burst(m.dns, "127.0.10.1", 40, None);
        (full(&replies) == 40).then_some(())
    });
    m.reload(&policy("{ responses_per_second: 5, slip: -1 }"));
    eventually(Duration::from_secs(10), "the bad policy to be refused", || {
        m.log().contains("policy rejected").then_some(())
    });
    std::thread::sleep(Duration::from_millis(600));
    let replies = burst(m.dns, "127.0.11.1", 40, None);
    assert_eq!(full(&replies), 40, "the policy in force stays");
}
