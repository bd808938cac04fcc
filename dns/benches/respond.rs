//! What one answer costs in `respond`, without sockets: a plain `main`
//! (no criterion), run by
//!
//! ```text
//! cargo bench -p muster-dns --bench respond
//! ```
//!
//! Each case answers the same mix of UDP queries (an MX with glue, an A, an
//! NXDOMAIN, a PTR in a reverse zone, a name in no zone) from:
//! 1. one snapshot alone (what a server with one zone did before catalogs);
//! 2. a catalog of that one zone (what the servers do now with one zone);
//! 3. a catalog of the forward zone and four reverse zones, one an RFC 2317
//!    child (the common multi-zone site; forward names are checked against
//!    the longer reverse origins first, the worst order for them).
//!
//! 4. the UDP threads' whole per-answer path on that catalog: `respond_to`
//!    with the cookie secrets and the rate-limit setting loaded from the
//!    thread's caches of their `ArcSwap`s, the shared second read, and `RateTable::decide` — with the source
//!    exempt, under the limit (every answer takes a token: a hash and a
//!    compare-and-swap), over it (a flood: the bucket is only read), and
//!    for queries carrying a valid server cookie (two SipHashes).
//!
//! Prints the fastest and the median of `BENCH_ROUNDS` (30) rounds of ns
//! per query, the cases taking turns in every round.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Instant;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use arc_swap::{ArcSwap, Cache};
use muster_dns::cookie::CookieSecrets;
use muster_dns::rrl::{RateLimitConfig, RateTable, SlipCounter};
use muster_dns::{
    Catalog, Client, Outcome, RecordData, Snapshot, SoaFields, Transport, Zone, Zones, respond, respond_to,
};

const FORWARD: &str = "lists.example.test.";

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("valid name")
}

fn soa() -> SoaFields {
    SoaFields {
        mname: name("ns1.lists.example.test."),
        rname: name("hostmaster.lists.example.test."),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 300,
        ttl: 3600,
    }
}

fn forward() -> Zone {
    let origin = name(FORWARD);
    let mut zone = Zone::new(&origin, 1, soa()).expect("zone");
    zone.add(&origin, 3600, RecordData::Ns(name("ns1.lists.example.test.")))
        .expect("ns");
    for i in 1..=20u8 {
        let host = name(&format!("smurf{i}.{FORWARD}"));
        zone.add(&host, 300, RecordData::A(Ipv4Addr::new(192, 0, 2, i)))
            .expect("a");
        if i <= 8 {
            zone.add(
                &name(&format!("smtp-out.{FORWARD}")),
                300,
                RecordData::Mx {
                    preference: 10,
                    exchange: host,
                },
            )
            .expect("mx");
        }
    }
    zone
}

fn reverse(origin: &str) -> Zone {
    let mut zone = Zone::new(&name(origin), 1, soa()).expect("zone");
    for i in 1..=20u8 {
        zone.add(
            &name(&format!("{i}.{origin}")),
            300,
            RecordData::Ptr(name(&format!("smurf{i}.{FORWARD}"))),
        )
        .expect("ptr");
    }
    zone
}

fn query(id: u16, qname: &str, qtype: RecordType) -> Vec<u8> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(name(qname), qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    msg.set_edns(edns);
    msg.to_vec().expect("encodes")
}

/// ns per query of one block of `PER_ROUND` answers.
fn block(zones: &(impl Zones + ?Sized), packets: &[Vec<u8>], out: &mut Vec<u8>) -> f64 {
    const PER_ROUND: usize = 100_000;
    let start = Instant::now();
    for i in 0..PER_ROUND {
        let packet = &packets[i % packets.len()];
        if let Outcome::Reply = respond(zones, black_box(packet), Transport::Udp, out) {
            black_box(&*out);
        }
    }
    start.elapsed().as_nanos() as f64 / PER_ROUND as f64
}

/// What the UDP threads share besides the zones.
struct Udp {
    cookies: ArcSwap<CookieSecrets>,
    limits: ArcSwap<RateLimitConfig>,
    table: RateTable,
    clock: AtomicU32,
}

/// ns per query of one block through the UDP threads' whole path; `second`
/// maps a query's number to the second it is counted in.
fn block_udp(
    zones: &Catalog,
    packets: &[Vec<u8>],
    out: &mut Vec<u8>,
    udp: &Udp,
    source: std::net::IpAddr,
    second: impl Fn(usize) -> u32,
) -> f64 {
    const PER_ROUND: usize = 100_000;
    let mut slips = SlipCounter::default();
    let mut cookies = Cache::new(&udp.cookies);
    let mut limits = Cache::new(&udp.limits);
    let start = Instant::now();
    for i in 0..PER_ROUND {
        let packet = &packets[i % packets.len()];
        let client = Client {
            transport: Transport::Udp,
            addr: source,
            now: udp.clock.load(Relaxed),
            cookies: Some(cookies.load()),
        };
        let (outcome, facts) = respond_to(zones, black_box(packet), &client, out);
        let verdict = udp
            .table
            .decide(limits.load(), source, out, &facts, second(i), &mut slips);
        if let Outcome::Reply = outcome {
            black_box((&*out, verdict));
        }
    }
    start.elapsed().as_nanos() as f64 / PER_ROUND as f64
}

/// One case: answers a block of queries into the buffer, returns ns per query.
type Case<'a> = dyn Fn(&mut Vec<u8>) -> f64 + 'a;

/// (fastest, median) of `rounds` blocks per case; the cases take turns in
/// every round so that other load on the machine weighs on all alike.
fn measure(cases: &[(&str, &Case)], rounds: usize) {
    let mut results = vec![Vec::with_capacity(rounds); cases.len()];
    let mut out = Vec::with_capacity(4096);
    for _ in 0..rounds {
        for ((_, case), got) in cases.iter().zip(&mut results) {
            got.push(case(&mut out));
        }
    }
    for ((label, _), got) in cases.iter().zip(&mut results) {
        got.sort_by(f64::total_cmp);
        println!("  {label:<44} {:6.1} {:6.1}", got[0], got[got.len() / 2]);
    }
}

fn main() {
    let packets = [
        query(1, "smtp-out.lists.example.test.", RecordType::MX),
        query(2, "smurf7.lists.example.test.", RecordType::A),
        query(3, "nowhere.lists.example.test.", RecordType::A),
        query(4, "5.2.0.192.in-addr.arpa.", RecordType::PTR),
        query(5, "example.org.", RecordType::A),
    ];
    let forward_only = &packets[..3];

    let one = Catalog::from(Snapshot::compile(forward(), Vec::new()));
    // The very snapshot the catalog holds: only the lookup differs.
    let alone: &Snapshot = one.iter().next().expect("one zone");
    let five = Catalog::try_new(
        [
            forward(),
            reverse("2.0.192.in-addr.arpa."),
            reverse("100.51.198.in-addr.arpa."),
            reverse("0-26.113.0.203.in-addr.arpa."),
            reverse("0.0.0.0.0.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa."),
        ]
        .map(|z| Arc::new(Snapshot::compile(z, Vec::new()))),
    )
    .expect("catalog");

    let secrets = CookieSecrets::new(*b"0123456789abcdef");
    let source: std::net::IpAddr = "192.0.2.99".parse().expect("ip");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    let client_cookie = [5u8; 8];
    let cookie = [
        &client_cookie[..],
        &secrets.server_cookie(&client_cookie, source, now),
    ]
    .concat();
    let with_cookie: Vec<Vec<u8>> = packets.iter().map(|p| add_cookie(p, &cookie)).collect();
    let udp = |limits: RateLimitConfig| Udp {
        cookies: ArcSwap::from_pointee(secrets.clone()),
        limits: ArcSwap::from_pointee(limits),
        table: RateTable::default(),
        clock: AtomicU32::new(now),
    };
    let exempt = udp(RateLimitConfig {
        exempt: vec!["192.0.2.0/24".parse().expect("cidr")],
        ..RateLimitConfig::default()
    });
    let under = udp(RateLimitConfig {
        responses_per_second: 10_000,
        ..RateLimitConfig::default()
    });
    let flood = udp(RateLimitConfig::default());
    let off = udp(RateLimitConfig::off());

    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    println!("respond() per UDP query, ns: fastest and median of {rounds} rounds");
    measure(
        &[
            ("one snapshot alone, forward names", &|o| {
                block(alone, forward_only, o)
            }),
            ("catalog of one zone, forward names", &|o| {
                block(&one, forward_only, o)
            }),
            ("catalog of five zones, forward names", &|o| {
                block(&five, forward_only, o)
            }),
            ("one snapshot alone, mix", &|o| block(alone, &packets, o)),
            ("catalog of one zone, mix", &|o| block(&one, &packets, o)),
            ("catalog of five zones, mix", &|o| block(&five, &packets, o)),
            ("UDP path, five zones, mix, rate limiting off", &|o| {
                block_udp(&five, &packets, o, &off, source, |_| 0)
            }),
            ("UDP path, five zones, mix, source exempt", &|o| {
                block_udp(&five, &packets, o, &exempt, source, |_| 0)
            }),
            ("UDP path, five zones, mix, under the limit", &|o| {
                block_udp(&five, &packets, o, &under, source, |i| (i / 5_000) as u32)
            }),
            ("UDP path, five zones, mix, flood over it", &|o| {
                block_udp(&five, &packets, o, &flood, source, |_| 0)
            }),
            ("UDP path, five zones, mix, valid cookies", &|o| {
                block_udp(&five, &with_cookie, o, &flood, source, |_| 0)
            }),
        ],
        rounds,
    );
}

/// `packet` (ending with an option-less OPT record) with a COOKIE option.
fn add_cookie(packet: &[u8], cookie: &[u8]) -> Vec<u8> {
    let mut p = packet.to_vec();
    let len = p.len();
    let option_len = (4 + cookie.len()) as u16;
    p[len - 2..].copy_from_slice(&option_len.to_be_bytes());
    p.extend_from_slice(&10u16.to_be_bytes());
    p.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
    p.extend_from_slice(cookie);
    p
}
