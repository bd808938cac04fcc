//! `GET /metrics` on the real binary: real `dig` queries show up in the DNS
//! counters, pool sizes follow the policy, an operator's move is counted,
//! and the whole text parses as Prometheus exposition format 0.0.4.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use support::{Muster, SimAgent, dig, eventually, http};

const AGENT: &str = "agent-secret";
const ADMIN: &str = "s3cret";
const READ: &str = "r3ad";

/// Two static mail hosts and a static web host, plus smurf1, an agent
/// host, in smtp-out.
const POLICY: &str = r#"
zone: lists.example.test
ttl: 1
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 2, panic_threshold: 50% }
roles:
  smtp-out:
    min: 1
    records:
      - { name: smtp-out, type: MX, priority: 5 }
      - { name: smtp-out, type: A }
    drain: { until: queue_empty, timeout: 5m }
  web: { min: 0, records: [ { name: www, type: A } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: mx1, address: 192.0.2.1, role: smtp-out, static: true }
  - { name: mx2, address: 192.0.2.2, role: smtp-out, static: true }
  - { name: www1, address: 192.0.2.10, role: web, static: true }
  - { name: smurf1, address: 127.0.1.1, role: smtp-out }
"#;

/// One sample: its labels and value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition: samples by metric name, and the declared families.
#[derive(Debug, Default)]
struct Exposition {
    samples: BTreeMap<String, Vec<Sample>>,
    types: BTreeMap<String, String>,
}

impl Exposition {
    /// The value of `name` with exactly `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .get(name)?
            .iter()
            .find(|s| s.labels == want)
            .map(|s| s.value)
    }

    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels)
            .unwrap_or_else(|| panic!("no sample {name}{labels:?} in {:#?}", self.samples))
    }
}

/// Parses the text format strictly: every line is a HELP, a TYPE or a
/// sample `name{k="v",…} value`; every sample belongs to a family with both
/// HELP and TYPE declared before it.
fn parse(text: &str) -> Exposition {
    let mut out = Exposition::default();
    let mut helped = BTreeSet::new();
    for line in text.lines() {
        assert!(!line.is_empty(), "empty line in:\n{text}");
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(valid_name(name), "bad metric name {name:?}");
            assert!(!help.trim().is_empty(), "empty HELP for {name}");
            assert!(helped.insert(name.to_string()), "HELP twice for {name}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name type");
            assert!(helped.contains(name), "TYPE before HELP for {name}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad type {kind:?} for {name}"
            );
            assert!(
                out.types.insert(name.to_string(), kind.to_string()).is_none(),
                "TYPE twice for {name}"
            );
            continue;
        }
        assert!(!line.starts_with('#'), "stray comment {line:?}");
        let (name, labels, value) = parse_sample(line);
        let family = family_of(&name, &out.types);
        let kind = out
            .types
            .get(&family)
            .unwrap_or_else(|| panic!("sample {name} without HELP/TYPE (line {line:?})"));
        if kind == "counter" {
            assert!(name.ends_with("_total"), "counter {name} should end in _total");
            assert!(value >= 0.0, "negative counter {line:?}");
        }
        out.samples
            .entry(name)
            .or_default()
            .push(Sample { labels, value });
    }
    out
}

/// The family a sample belongs to (`x_bucket` of histogram `x` is `x`).
fn family_of(name: &str, types: &BTreeMap<String, String>) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && matches!(types.get(base).map(String::as_str), Some("histogram" | "summary"))
        {
            return base.to_string();
        }
    }
    name.to_string()
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `name{k="v",…} value` → parts; panics on anything else.
fn parse_sample(line: &str) -> (String, BTreeMap<String, String>, f64) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while chars.get(i).is_some_and(|c| *c != '{' && *c != ' ') {
        i += 1;
    }
    let name: String = chars[..i].iter().collect();
    assert!(valid_name(&name), "bad metric name in {line:?}");
    let mut labels = BTreeMap::new();
    if chars.get(i) == Some(&'{') {
        i += 1;
        loop {
            let start = i;
            while chars.get(i).is_some_and(|c| *c != '=') {
                i += 1;
            }
            let key: String = chars[start..i].iter().collect();
            assert!(valid_name(&key), "bad label name {key:?} in {line:?}");
            assert_eq!(chars.get(i + 1), Some(&'"'), "unquoted label value in {line:?}");
            i += 2;
            let mut value = String::new();
            loop {
                match chars.get(i) {
                    Some('\\') => {
                        value.push(match chars.get(i + 1) {
                            Some('n') => '\n',
                            Some(c) => *c,
                            None => panic!("dangling escape in {line:?}"),
                        });
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        value.push(*c);
                        i += 1;
                    }
                    None => panic!("unterminated label value in {line:?}"),
                }
            }
            labels.insert(key, value);
            match chars.get(i) {
                Some(',') => i += 1,
                Some('}') => {
                    i += 1;
                    break;
                }
                other => panic!("expected , or }} after a label, got {other:?} in {line:?}"),
            }
        }
    }
    let rest: String = chars[i..].iter().collect();
    let value = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no space before the value in {line:?}"));
    assert!(!value.contains(' '), "timestamps are not used: {line:?}");
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("bad value {v:?} in {line:?}")),
    };
    (name, labels, value)
}

fn scrape(m: &Muster) -> Exposition {
    let (status, body) = http(m.api, "GET", "/metrics", Some(READ), None);
    assert_eq!(status, 200, "{body}");
    parse(&body)
}

#[test]
fn the_parser_rejects_what_prometheus_would() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"\"} 2\n";
    assert_eq!(parse(ok).get("a_total", &[("x", "1"), ("y", "q\"")]), 2.0);
    for bad in [
        "a 1\n",
        "# HELP a A.\na 1\n",
        "# HELP a A.\n# TYPE a gauge\na{x=1} 1\n",
        "# HELP a A.\n# TYPE a gauge\na one\n",
        "# HELP a A.\n# TYPE a counter\na 1\n",
    ] {
        let result = std::panic::catch_unwind(|| parse(bad));
        assert!(result.is_err(), "accepted {bad:?}");
    }
}

#[test]
fn metrics_count_queries_and_show_the_farm() {
    let m = Muster::start_with(
        POLICY,
        &[
            "--agent-token",
            AGENT,
            "--admin-token",
            &format!("alice={ADMIN}"),
            "--read-token",
            &format!("reader={READ}"),
        ],
    );
    let mut smurf1 = SimAgent::start(
        m.api,
        AGENT,
        "smurf1",
        "127.0.1.1",
        "smtp-out",
        Duration::from_millis(200),
    );

    // Same access as every read.
    let (status, body) = http(m.api, "GET", "/metrics", None, None);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains(r#""code":"unauthorized""#), "{body}");

    // The text format, with its content type.
    let (status, head_and_body) = raw_get(m.api, "/metrics", READ);
    assert_eq!(status, 200);
    assert!(
        head_and_body
            .to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head_and_body}"
    );

    // smurf1 is published once its heartbeats say it holds its role.
    eventually(Duration::from_secs(10), "smurf1 published", || {
        let out = dig(m.dns, &["smtp-out.lists.example.test", "A"]);
        out.answer_data("A")
            .contains(&"127.0.1.1".to_string())
            .then_some(())
    });

    let before = scrape(&m);
    let q = |e: &Exposition, t: &str| e.get("muster_dns_queries_total", &[("qtype", t)]);
    let r = |e: &Exposition, c: &str| e.get("muster_dns_responses_total", &[("rcode", c)]);

    assert_eq!(dig(m.dns, &["www.lists.example.test", "A"]).status, "NOERROR");
    assert_eq!(
        dig(m.dns, &["smtp-out.lists.example.test", "MX"]).status,
        "NOERROR"
    );
    assert_eq!(dig(m.dns, &["www.lists.example.test", "AAAA"]).status, "NOERROR");
    assert_eq!(dig(m.dns, &["nope.lists.example.test", "A"]).status, "NXDOMAIN");
    assert_eq!(dig(m.dns, &["example.com", "A"]).status, "REFUSED");
    assert_eq!(
        dig(m.dns, &["+tcp", "lists.example.test", "SOA"]).status,
        "NOERROR"
    );
    let axfr = dig(m.dns, &["lists.example.test", "AXFR"]);
    assert!(
        axfr.answer.is_empty(),
        "only secondaries may transfer: {}",
        axfr.raw
    );

    let after = scrape(&m);
    assert_eq!(q(&after, "A") - q(&before, "A"), 3.0);
    assert_eq!(q(&after, "MX") - q(&before, "MX"), 1.0);
    assert_eq!(q(&after, "AAAA") - q(&before, "AAAA"), 1.0);
    assert_eq!(q(&after, "SOA") - q(&before, "SOA"), 1.0);
    assert_eq!(q(&after, "AXFR") - q(&before, "AXFR"), 1.0);
    assert_eq!(q(&after, "other") - q(&before, "other"), 0.0);
    assert_eq!(r(&after, "NOERROR") - r(&before, "NOERROR"), 4.0);
    assert_eq!(r(&after, "NXDOMAIN") - r(&before, "NXDOMAIN"), 1.0);
    assert_eq!(r(&after, "REFUSED") - r(&before, "REFUSED"), 2.0);
    assert_eq!(r(&after, "FORMERR") - r(&before, "FORMERR"), 0.0);
    assert_eq!(after.get("muster_dns_dropped_total", &[]), 0.0);

    // The farm as the policy says.
    assert_eq!(after.get("muster_pool_size", &[("role", "smtp-out")]), 3.0);
    assert_eq!(after.get("muster_pool_size", &[("role", "web")]), 1.0);
    assert_eq!(after.get("muster_pool_min", &[("role", "smtp-out")]), 1.0);
    assert_eq!(after.get("muster_pool_min", &[("role", "web")]), 0.0);
    assert_eq!(after.get("muster_pool_wanted", &[("role", "smtp-out")]), 1.0);
    assert_eq!(after.get("muster_hosts", &[("state", "active")]), 4.0);
    assert_eq!(after.get("muster_hosts", &[("state", "unassigned")]), 1.0);
    assert_eq!(after.get("muster_hosts", &[("state", "dead")]), 0.0);
    assert_eq!(after.get("muster_panic", &[]), 0.0);
    assert_eq!(
        after.get("muster_zone_serial", &[]),
        f64::from(m.serial()),
        "the serial dig sees"
    );

    // One live agent, heard from within its interval.
    assert_eq!(after.get("muster_heartbeat_age_seconds_count", &[]), 1.0);
    let oldest = after.get("muster_heartbeat_age_seconds", &[("quantile", "1")]);
    assert!((0.0..2.0).contains(&oldest), "oldest heartbeat {oldest}s");
    assert_eq!(after.get("muster_heartbeat_stale_hosts", &[]), 0.0);

    // Reconciles are timed: the histogram is cumulative and ends at +Inf.
    let ticks = eventually(Duration::from_secs(5), "reconciles timed", || {
        let e = scrape(&m);
        (e.get("muster_reconcile_duration_seconds_count", &[]) > 0.0).then_some(e)
    });
    let buckets = &ticks.samples["muster_reconcile_duration_seconds_bucket"];
    assert!(
        buckets.windows(2).all(|w| w[0].value <= w[1].value),
        "{buckets:?}"
    );
    let last = buckets.last().expect("buckets");
    assert_eq!(last.labels["le"], "+Inf");
    assert_eq!(
        last.value,
        ticks.get("muster_reconcile_duration_seconds_count", &[])
    );

    // An operator's move is counted as the operator's.
    assert_eq!(
        after.get("muster_moves_total", &[("actor_kind", "operator")]),
        0.0
    );
    let (status, body) = http(
        m.api,
        "POST",
        "/api/v1/hosts/smurf1/move",
        Some(ADMIN),
        Some(r#"{"role":"web"}"#),
    );
    assert!((200..300).contains(&status), "move: {status} {body}");
    let moved = scrape(&m);
    assert_eq!(
        moved.get("muster_moves_total", &[("actor_kind", "operator")]),
        1.0
    );
    for kind in ["schedule", "autoscale", "reconciler", "failure-detector"] {
        assert!(
            moved
                .value("muster_moves_total", &[("actor_kind", kind)])
                .is_some(),
            "{kind}"
        );
    }

    // A silent agent counts as stale once silent beyond dead_after.
    smurf1.kill();
    eventually(Duration::from_secs(10), "smurf1 stale", || {
        (scrape(&m).get("muster_heartbeat_stale_hosts", &[]) == 1.0).then_some(())
    });
}

/// A GET returning the status and the whole response, headers included.
fn raw_get(addr: std::net::SocketAddr, path: &str, token: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    (status, response)
}
