//! The real binary, queried with the real `dig`, for each rule of an
//! authoritative server (issue 2).

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use support::{Muster, dig, eventually};

/// Only static hosts: no agents needed for a complete zone.
const POLICY: &str = r#"
zone: lists.example.test
ttl: 300
nameservers: [ns1.lists.example.test]
soa: { minimum: 60 }
roles:
  smtp-out:
    min: 1
    records:
      - { name: smtp-out, type: MX, priority: 5 }
      - { name: smtp-out, type: A }
    fallback:
      - { name: smtp-out, type: MX, priority: 20, target: fallback.lists.example.test. }
  smtp-in: { records: [ { name: "@", type: MX, priority: 10 } ] }
  web:
    records: [ { name: www, type: A }, { name: www, type: AAAA } ]
    fallback: [ { name: www, type: A, address: 192.0.2.80 } ]
  bounce: { records: [ { name: mx.bounces, type: MX, priority: 10 } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: fallback, address: 192.0.2.20, static: true }
  - { name: oldmail, address: 192.0.2.5, role: smtp-in, static: true }
  - { name: smurf1, address: 192.0.2.11, role: smtp-out, static: true }
  - { name: smurf2, addresses: [192.0.2.12, "2001:db8::12"], role: smtp-out, static: true }
  - { name: smurf3, address: 192.0.2.13, role: smtp-out, static: true }
  - { name: web1, address: "2001:db8::80", role: web, static: true }
  - { name: bounce1, address: 192.0.2.30, role: bounce, static: true }
"#;

#[test]
fn mx_answer_carries_every_target_address() {
    let m = Muster::start(POLICY);
    let out = dig(m.dns, &["smtp-out.lists.example.test", "MX"]);
    assert_eq!(out.status, "NOERROR");
    assert_eq!(
        out.answer_data("MX"),
        vec![
            "20 fallback.lists.example.test.",
            "5 smurf1.lists.example.test.",
            "5 smurf2.lists.example.test.",
            "5 smurf3.lists.example.test.",
        ]
    );
    let mut glue: Vec<String> = out
        .additional
        .iter()
        .map(|r| format!("{} {} {}", r.name, r.rtype, r.data))
        .collect();
    glue.sort();
    assert_eq!(
        glue,
        vec![
            "fallback.lists.example.test. A 192.0.2.20",
            "smurf1.lists.example.test. A 192.0.2.11",
            "smurf2.lists.example.test. A 192.0.2.12",
            "smurf2.lists.example.test. AAAA 2001:db8::12",
            "smurf3.lists.example.test. A 192.0.2.13",
        ]
    );
    assert!(out.answer.iter().all(|r| r.ttl == 300));
}

#[test]
fn answers_are_authoritative_and_never_recursive() {
    let m = Muster::start(POLICY);
    let out = dig(m.dns, &["+rec", "smtp-out.lists.example.test", "A"]);
    assert!(out.has_flag("aa"), "{}", out.raw);
    assert!(out.has_flag("rd"), "RD is copied: {}", out.raw);
    assert!(!out.has_flag("ra"), "{}", out.raw);
    assert_eq!(
        out.answer_data("A"),
        vec!["192.0.2.11", "192.0.2.12", "192.0.2.13"]
    );
}

#[test]
fn mixed_case_question_is_echoed_exactly() {
    let m = Muster::start(POLICY);
    let out = dig(m.dns, &["SmTp-OuT.LiStS.eXaMpLe.TeSt", "MX"]);
    assert_eq!(out.status, "NOERROR");
    assert!(
        out.question
            .iter()
            .any(|q| q.starts_with("SmTp-OuT.LiStS.eXaMpLe.TeSt.")),
        "question: {:?}",
        out.question
    );
    assert_eq!(out.answer_data("MX").len(), 4);
}

#[test]
fn names_outside_the_zone_are_refused() {
    let m = Muster::start(POLICY);
    for name in ["example.com", "xlists.example.test", "example.test", "."] {
        let out = dig(m.dns, &[name, "A"]);
        assert_eq!(out.status, "REFUSED", "{name}: {}", out.raw);
        assert!(!out.has_flag("aa"), "{name}");
        assert!(out.answer.is_empty());
    }
}

#[test]
fn nxdomain_carries_the_soa_at_the_negative_ttl() {
    let m = Muster::start(POLICY);
    let out = dig(m.dns, &["no-such-host.lists.example.test", "A"]);
    assert_eq!(out.status, "NXDOMAIN");
    assert!(out.has_flag("aa"));
    assert!(out.answer.is_empty());
    assert_eq!(out.authority.len(), 1, "{}", out.raw);
    let soa = &out.authority[0];
    assert_eq!(
        (soa.name.as_str(), soa.rtype.as_str()),
        ("lists.example.test.", "SOA")
    );
    // RFC 2308 §3: min(SOA TTL 300, MINIMUM 60).
    assert_eq!(soa.ttl, 60);
    assert!(soa.data.ends_with(" 60"), "MINIMUM field: {}", soa.data);
}

#[test]
fn nodata_for_missing_types_and_empty_non_terminals() {
    let m = Muster::start(POLICY);
    for (name, qtype) in [
        ("bounces.lists.example.test", "A"),
        ("bounces.lists.example.test", "MX"),
        ("smurf1.lists.example.test", "MX"),
        ("www.lists.example.test", "MX"),
    ] {
        let out = dig(m.dns, &[name, qtype]);
        assert_eq!(out.status, "NOERROR", "{name} {qtype}: {}", out.raw);
        assert!(out.answer.is_empty(), "{name} {qtype}");
        assert_eq!(out.authority.len(), 1);
        assert_eq!(out.authority[0].rtype, "SOA");
        assert_eq!(out.authority[0].ttl, 60);
    }
    let below = dig(m.dns, &["mx.bounces.lists.example.test", "MX"]);
    assert_eq!(below.answer_data("MX"), vec!["10 bounce1.lists.example.test."]);
}

#[test]
fn an_empty_address_pool_publishes_its_fallback() {
    let m = Muster::start(POLICY);
    // web1 has only IPv6, so the A answer comes from the fallback tier.
    let a = dig(m.dns, &["www.lists.example.test", "A"]);
    assert_eq!(a.answer_data("A"), vec!["192.0.2.80"]);
    let aaaa = dig(m.dns, &["www.lists.example.test", "AAAA"]);
    assert_eq!(aaaa.answer_data("AAAA"), vec!["2001:db8::80"]);
}

#[test]
fn big_answers_truncate_over_udp_and_complete_over_tcp() {
    let mut policy = POLICY.to_string();
    for i in 0..60 {
        policy.push_str(&format!(
            "  - {{ name: big{i}, address: 198.51.100.{}, role: smtp-out, static: true }}\n",
            i + 1
        ));
    }
    let m = Muster::start(&policy);
    let udp = dig(
        m.dns,
        &["+noedns", "+ignore", "smtp-out.lists.example.test", "MX"],
    );
    assert!(udp.has_flag("tc"), "{}", udp.raw);
    assert!(udp.answer.is_empty());
    // dig retries a truncated answer over TCP by itself.
    let retried = dig(m.dns, &["+noedns", "smtp-out.lists.example.test", "MX"]);
    assert!(!retried.has_flag("tc"));
    assert_eq!(retried.answer_data("MX").len(), 64);
    assert_eq!(
        retried.additional.len(),
        65,
        "glue for all 64 targets (one has AAAA too)"
    );
    // With EDNS the cap is 1232 bytes: still too big for 64 MX records.
    let edns = dig(
        m.dns,
        &["+bufsize=4096", "+ignore", "smtp-out.lists.example.test", "MX"],
    );
    assert!(edns.has_flag("tc"));
    let tcp = dig(m.dns, &["+tcp", "smtp-out.lists.example.test", "MX"]);
    assert_eq!(tcp.answer_data("MX").len(), 64);
}

#[test]
fn edns_payload_is_capped_at_1232() {
    let m = Muster::start(POLICY);
    let out = dig(m.dns, &["+bufsize=4096", "smtp-out.lists.example.test", "MX"]);
    let edns = out.edns.unwrap_or_default();
    assert!(edns.contains("udp: 1232"), "{edns}");
    let bad_version = dig(
        m.dns,
        &[
            "+edns=1",
            "+noednsnegotiation",
            "smtp-out.lists.example.test",
            "MX",
        ],
    );
    assert_eq!(bad_version.status, "BADVERS", "{}", bad_version.raw);
}

#[test]
fn any_is_answered_with_one_rrset() {
    let m = Muster::start(POLICY);
    let apex = dig(m.dns, &["lists.example.test", "ANY"]);
    assert_eq!(apex.status, "NOERROR");
    let types: std::collections::BTreeSet<&str> = apex.answer.iter().map(|r| r.rtype.as_str()).collect();
    assert_eq!(types.len(), 1, "RFC 8482: one RRset, got {types:?}");
}

#[test]
fn unknown_opcodes_get_notimp() {
    let m = Muster::start(POLICY);
    for op in ["2", "5", "6"] {
        let out = dig(m.dns, &[&format!("+opcode={op}"), "lists.example.test", "SOA"]);
        assert_eq!(out.status, "NOTIMP", "opcode {op}: {}", out.raw);
    }
}

#[test]
fn zone_transfers_are_refused_to_strangers() {
    let m = Muster::start(POLICY);
    let out = std::process::Command::new("dig")
        .args([
            &format!("@{}", m.dns.ip()),
            "-p",
            &m.dns.port().to_string(),
            "lists.example.test",
            "AXFR",
        ])
        .output()
        .expect("dig");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Transfer failed"), "{text}");
    let udp = dig(m.dns, &["+notcp", "lists.example.test", "AXFR"]);
    assert_ne!(udp.status, "NOERROR");
    assert!(udp.answer.is_empty());
}

#[test]
fn malformed_packets_never_stop_the_server() {
    let m = Muster::start(POLICY);
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let query =
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05lists\x07example\x04test\x00\x00\x06\x00\x01";
    let mut garbage: Vec<Vec<u8>> = vec![vec![], vec![0xff; 3], vec![0; 12], vec![0xff; 512]];
    for cut in 0..query.len() {
        garbage.push(query[..cut].to_vec());
    }
    // A compression loop in the question, a label longer than 63, counts that lie.
    garbage.push(b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01".to_vec());
    garbage.push(
        [
            &query[..12],
            &[64u8][..],
            &[b'a'; 64][..],
            b"\x00\x00\x01\x00\x01",
        ]
        .concat(),
    );
    garbage.push(
        [
            &b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\xff\xff"[..],
            &query[12..],
        ]
        .concat(),
    );
    for packet in &garbage {
        socket.send_to(packet, m.dns).expect("send");
    }
    let mut buf = [0u8; 600];
    let mut formerr = 0;
    while let Ok((n, _)) = socket.recv_from(&mut buf) {
        if n >= 4 && buf[3] & 0x0f == 1 {
            formerr += 1;
        }
    }
    assert!(formerr > 0, "hostile queries with a header get FORMERR");
    let out = dig(m.dns, &["lists.example.test", "SOA"]);
    assert_eq!(out.status, "NOERROR", "still serving after garbage");
}

#[test]
fn serial_never_goes_backwards_across_restarts() {
    let mut m = Muster::start(POLICY);
    let first = m.serial();
    m.restart(true);
    assert_eq!(m.serial(), first, "same content, same serial after kill -9");
    std::fs::write(m.policy_path(), POLICY.replace("192.0.2.13", "192.0.2.14")).expect("write");
    m.restart(false);
    let second = m.serial();
    assert!(
        muster_dns::serial::is_newer(second, first),
        "{second} after {first}"
    );
    assert_eq!(
        dig(m.dns, &["smurf3.lists.example.test", "A"]).answer_data("A"),
        vec!["192.0.2.14"]
    );
}

#[test]
fn sighup_reloads_and_a_bad_policy_changes_nothing() {
    let m = Muster::start(POLICY);
    let first = m.serial();
    m.reload(&POLICY.replace(
        "  - { name: smurf3, address: 192.0.2.13, role: smtp-out, static: true }\n",
        "",
    ));
    let second = eventually(Duration::from_secs(5), "the new serial", || {
        let s = m.serial();
        (s != first).then_some(s)
    });
    assert!(muster_dns::serial::is_newer(second, first));
    let out = dig(m.dns, &["smtp-out.lists.example.test", "MX"]);
    assert_eq!(out.answer_data("MX").len(), 3);

    m.reload(&POLICY.replace("priority: 5", "prority: 5"));
    eventually(Duration::from_secs(5), "the rejection in the log", || {
        m.log().contains("prority").then_some(())
    });
    assert_eq!(m.serial(), second, "a bad policy leaves the zone alone");
    assert!(
        m.log().contains("policy.yaml:"),
        "the error names the file:\n{}",
        m.log()
    );
}

#[test]
fn listens_on_ipv6_too() {
    let port = support::free_port("::1");
    let v6: SocketAddr = format!("[::1]:{port}").parse().expect("addr");
    let m = Muster::start_with(POLICY, &["--dns-listen", &v6.to_string()]);
    let out = dig(v6, &["smtp-out.lists.example.test", "MX"]);
    assert_eq!(out.status, "NOERROR", "{}", out.raw);
    let tcp = dig(v6, &["+tcp", "smtp-out.lists.example.test", "MX"]);
    assert_eq!(tcp.answer_data("MX").len(), 4);
    drop(m);
}

#[test]
fn the_api_shows_the_zone_as_served() {
    let m = Muster::start(POLICY);
    let (status, body) = support::http_get(m.api, "/api/v1/zone");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&format!("\"serial\":{}", m.serial())), "{body}");
    assert!(
        body.contains("\"data\":\"5 smurf1.lists.example.test.\""),
        "{body}"
    );
    assert_eq!(support::http_get(m.api, "/healthz").0, 200);
    assert_eq!(support::http_get(m.api, "/readyz").0, 200);
    let (status, body) = support::http_get(m.api, "/api/v1/nope");
    assert_eq!(status, 404);
    assert!(body.contains("\"code\":\"not_found\""), "{body}");
}
