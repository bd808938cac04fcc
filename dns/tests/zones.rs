//! Several zones from one server, end to end on 127.0.0.x: a forward zone,
//! the reverse zone `10.0.127.in-addr.arpa.` and its RFC 2317 child
//! `64-26.10.0.127.in-addr.arpa.`, asked with the real `dig`, transferred
//! zone by zone, NOTIFY per zone to that zone's secondaries only, and a real
//! NSD secondary that follows a change to the reverse zone alone.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData};
use muster_dns::notify::{NotifyConfig, spawn_notifier};
use muster_dns::server::{DnsConfig, DnsServer, spawn_dns_server};
use muster_dns::{QueryType, RecordData, SoaFields, Zone, ZonePublisher};
use tokio::runtime::Runtime;
use tokio_util::sync::{CancellationToken, DropGuard};

const FORWARD: &str = "lists.example.test.";
const REVERSE: &str = "10.0.127.in-addr.arpa.";
const CHILD: &str = "64-26.10.0.127.in-addr.arpa.";

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
        minimum: 60,
        ttl: 3600,
    }
}

fn ns(zone: &mut Zone, owner: &str) {
    zone.add(
        &name(owner),
        3600,
        RecordData::Ns(name("ns1.lists.example.test.")),
    )
    .expect("ns");
}

/// The forward zone: the name server and hosts smurf1..3 and smurf65.
fn forward(serial: u32, secondaries: Vec<SocketAddr>) -> Zone {
    let mut zone = Zone::new(&name(FORWARD), serial, soa()).expect("zone");
    zone.set_secondaries(secondaries);
    ns(&mut zone, FORWARD);
    zone.add(
        &name("ns1.lists.example.test."),
        3600,
        RecordData::A(Ipv4Addr::LOCALHOST),
    )
    .expect("ns1");
    for i in [1, 2, 3, 65] {
        zone.add(
            &name(&format!("smurf{i}.{FORWARD}")),
            300,
            RecordData::A(Ipv4Addr::new(127, 0, 10, i)),
        )
        .expect("a");
    }
    zone
}

fn ptr(zone: &mut Zone, owner: &str, host: u8) {
    zone.add(
        &name(owner),
        300,
        RecordData::Ptr(name(&format!("smurf{host}.{FORWARD}"))),
    )
    .expect("ptr");
}

/// The /24's zone: PTRs for `hosts`, and the RFC 2317 delegation of
/// 127.0.10.64/26 (NS at `64-26`, a CNAME for each address in it).
fn reverse(serial: u32, hosts: &[u8], secondaries: Vec<SocketAddr>) -> Zone {
    let mut zone = Zone::new(&name(REVERSE), serial, soa()).expect("zone");
    zone.set_secondaries(secondaries);
    ns(&mut zone, REVERSE);
    for &i in hosts {
        ptr(&mut zone, &format!("{i}.{REVERSE}"), i);
    }
    ns(&mut zone, CHILD);
    zone.add(
        &name(&format!("65.{REVERSE}")),
        300,
        RecordData::Cname(name(&format!("65.{CHILD}"))),
    )
    .expect("cname");
    zone
}

/// The classless child zone: the PTR of 127.0.10.65.
fn child(serial: u32, secondaries: Vec<SocketAddr>) -> Zone {
    let mut zone = Zone::new(&name(CHILD), serial, soa()).expect("zone");
    zone.set_secondaries(secondaries);
    ns(&mut zone, CHILD);
    ptr(&mut zone, &format!("65.{CHILD}"), 65);
    zone
}

/// The publisher, DNS on 127.0.0.1 at a port the kernel picked, and the
/// notifier; all stop when this is dropped.
struct Primary {
    publisher: ZonePublisher,
    server: Option<DnsServer>,
    notifier: Option<tokio::task::JoinHandle<()>>,
    addr: SocketAddr,
    rt: Runtime,
    cancel: CancellationToken,
    _stop: DropGuard,
}

impl Primary {
    fn start(zones: Vec<Zone>) -> Self {
        let rt = Runtime::new().expect("runtime");
        let publisher = ZonePublisher::try_new(zones).expect("publisher");
        let cancel = CancellationToken::new();
        let config = DnsConfig {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            udp_workers: 1,
            tcp_idle: Duration::from_secs(5),
            max_tcp_connections: 16,
            ..DnsConfig::default()
        };
        let server = rt
            .block_on(spawn_dns_server(&config, publisher.shared(), cancel.clone()))
            .expect("server starts");
        let notify = NotifyConfig {
            first_timeout: Duration::from_millis(200),
            attempts: 4,
            // From the address the zones are served on, as `muster serve` does.
            sources: vec![config.listen[0].ip()],
        };
        let notifier = {
            let _inside = rt.enter();
            spawn_notifier(publisher.subscribe(), notify, cancel.clone())
        };
        Self {
            publisher,
            addr: server.local_addrs()[0],
            server: Some(server),
            notifier: Some(notifier),
            rt,
            _stop: cancel.clone().drop_guard(),
            cancel,
        }
    }

    fn transfers(&self, kind: QueryType) -> u64 {
        let server = self.server.as_ref().expect("running");
        server
            .stats()
            .counts()
            .queries_by_type()
            .find(|(t, _)| *t == kind)
            .map_or(0, |(_, n)| n)
    }
}

impl Drop for Primary {
    fn drop(&mut self) {
        self.cancel.cancel();
        let (server, notifier) = (self.server.take(), self.notifier.take());
        self.rt.block_on(async {
            if let Some(server) = server {
                let _ = tokio::time::timeout(Duration::from_secs(10), server.join()).await;
            }
            if let Some(notifier) = notifier {
                let _ = tokio::time::timeout(Duration::from_secs(10), notifier).await;
            }
        });
    }
}

/// What `dig` printed, in the parts these tests read.
#[derive(Debug, Default)]
struct Dig {
    status: String,
    flags: Vec<String>,
    answer: Vec<Vec<String>>,
    authority: Vec<Vec<String>>,
    /// Every record line (AXFR prints no sections).
    records: Vec<Vec<String>>,
    raw: String,
}

impl Dig {
    fn aa(&self) -> bool {
        self.flags.iter().any(|f| f == "aa")
    }
}

/// `dig @server +norec [-b source] ARGS…`.
fn dig(server: SocketAddr, source: Option<&str>, args: &[&str]) -> Dig {
    let mut cmd = Command::new("dig");
    cmd.arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string()])
        .args(["+norec", "+time=2", "+tries=1", "+nocookie"]);
    if let Some(source) = source {
        cmd.args(["-b", source]);
    }
    let output = cmd
        .args(args)
        .output()
        .expect("dig is installed (bind9-dnsutils)");
    let raw = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut d = Dig {
        raw: raw.clone(),
        ..Dig::default()
    };
    let mut section = "";
    for line in raw.lines().map(str::trim_end) {
        if let Some(rest) = line.strip_prefix(";; ->>HEADER<<- ") {
            if let Some(status) = rest.split("status: ").nth(1) {
                d.status = status.split(',').next().unwrap_or("").to_owned();
            }
        } else if let Some(rest) = line.strip_prefix(";; flags: ") {
            let flags = rest.split(';').next().unwrap_or("");
            d.flags = flags.split_whitespace().map(str::to_owned).collect();
        } else if line.starts_with(";; ANSWER SECTION") {
            section = "an";
        } else if line.starts_with(";; AUTHORITY SECTION") {
            section = "ns";
        } else if line.is_empty() || line.starts_with(";;") {
            section = "";
        } else if !line.starts_with(';') {
            let fields: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            match section {
                "an" => d.answer.push(fields.clone()),
                "ns" => d.authority.push(fields.clone()),
                _ => {}
            }
            d.records.push(fields);
        }
    }
    d
}

/// An owner, type and data as dig prints a record line.
fn rr(fields: &[String]) -> (String, String, String) {
    (fields[0].clone(), fields[3].clone(), fields[4..].join(" "))
}

/// The serial in a negative answer's SOA, checking the SOA's owner.
fn negative_soa(d: &Dig, origin: &str) -> u32 {
    assert_eq!(d.authority.len(), 1, "{}", d.raw);
    let (owner, rtype, data) = rr(&d.authority[0]);
    assert_eq!((owner.as_str(), rtype.as_str()), (origin, "SOA"), "{}", d.raw);
    data.split_whitespace()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .expect("serial")
}

fn soa_serial(server: SocketAddr, origin: &str) -> Option<u32> {
    let d = dig(server, None, &[origin, "SOA"]);
    let (_, _, data) = d.answer.iter().map(|f| rr(f)).find(|(_, t, _)| t == "SOA")?;
    data.split_whitespace().nth(2)?.parse().ok()
}

fn eventually<T>(within: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A port free for UDP and TCP on `ip`.
fn free_port(ip: &str) -> u16 {
    for _ in 0..100 {
        let udp = UdpSocket::bind((ip, 0)).expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on {ip}");
}

#[test]
fn each_name_is_answered_from_its_own_zone() {
    let primary = Primary::start(vec![
        forward(1000, Vec::new()),
        reverse(200, &[1, 2, 3], Vec::new()),
        child(30, Vec::new()),
    ]);
    let at = primary.addr;

    // dig -x for an address of the /24: its PTR, authoritatively.
    let d = dig(at, None, &["-x", "127.0.10.2"]);
    assert_eq!((d.status.as_str(), d.aa()), ("NOERROR", true), "{}", d.raw);
    assert_eq!(
        d.answer.iter().map(|f| rr(f)).collect::<Vec<_>>(),
        [(format!("2.{REVERSE}"), "PTR".into(), format!("smurf2.{FORWARD}"))]
    );
    // An address of the /26: the parent holds its RFC 2317 CNAME (asked as
    // such: chasing it is the answer logic's business, not the catalog's)…
    let d = dig(at, None, &[&format!("65.{REVERSE}"), "CNAME"]);
    assert_eq!((d.status.as_str(), d.aa()), ("NOERROR", true), "{}", d.raw);
    assert_eq!(
        rr(&d.answer[0]),
        (format!("65.{REVERSE}"), "CNAME".into(), format!("65.{CHILD}")),
        "{}",
        d.raw
    );
    // …whose target the child zone answers.
    let d = dig(at, None, &[&format!("65.{CHILD}"), "PTR"]);
    assert_eq!((d.status.as_str(), d.aa()), ("NOERROR", true), "{}", d.raw);
    assert_eq!(
        d.answer.iter().map(|f| rr(f)).collect::<Vec<_>>(),
        [(format!("65.{CHILD}"), "PTR".into(), format!("smurf65.{FORWARD}"))]
    );
    // Each zone's apex is its own, in any case.
    for (origin, serial) in [(FORWARD, 1000), (REVERSE, 200), (CHILD, 30)] {
        assert_eq!(soa_serial(at, origin), Some(serial), "{origin}");
        assert_eq!(
            soa_serial(at, &origin.to_uppercase()),
            Some(serial),
            "{origin} in capitals"
        );
    }

    // Negative answers carry the SOA of the zone that holds the name.
    let d = dig(at, None, &["-x", "127.0.10.9"]);
    assert_eq!((d.status.as_str(), d.aa()), ("NXDOMAIN", true), "{}", d.raw);
    assert_eq!(negative_soa(&d, REVERSE), 200);
    let d = dig(at, None, &[&format!("99.{CHILD}"), "PTR"]);
    assert_eq!((d.status.as_str(), d.aa()), ("NXDOMAIN", true), "{}", d.raw);
    assert_eq!(negative_soa(&d, CHILD), 30);
    let d = dig(at, None, &[&format!("65.{CHILD}"), "TXT"]);
    assert_eq!((d.status.as_str(), d.aa()), ("NOERROR", true), "{}", d.raw);
    assert!(d.answer.is_empty(), "NODATA: {}", d.raw);
    assert_eq!(negative_soa(&d, CHILD), 30);
    let d = dig(at, None, &[&format!("nowhere.{FORWARD}"), "A"]);
    assert_eq!((d.status.as_str(), d.aa()), ("NXDOMAIN", true), "{}", d.raw);
    assert_eq!(negative_soa(&d, FORWARD), 1000);

    // Names in no zone served are refused.
    for qname in [
        "example.org.",
        "0.127.in-addr.arpa.",
        "in-addr.arpa.",
        "-x 127.0.9.1",
    ] {
        let args: Vec<&str> = qname.split(' ').collect();
        let d = dig(at, None, &args);
        assert_eq!(
            (d.status.as_str(), d.aa()),
            ("REFUSED", false),
            "{qname}: {}",
            d.raw
        );
        assert!(d.answer.is_empty() && d.authority.is_empty());
    }
}

/// The records of an AXFR, in order, as (owner, type, data).
fn axfr(server: SocketAddr, source: &str, origin: &str) -> Vec<(String, String, String)> {
    let d = dig(server, Some(source), &["AXFR", origin]);
    d.records.iter().map(|f| rr(f)).collect()
}

#[test]
fn each_zone_is_transferred_alone_and_only_to_its_own_secondaries() {
    // 127.0.0.2 is a secondary of the forward and the /24 zone; 127.0.0.3 of
    // the /26 zone only (nobody listens there: NOTIFY goes unanswered).
    let two = SocketAddr::from(([127, 0, 0, 2], 53));
    let three = SocketAddr::from(([127, 0, 0, 3], 53));
    let primary = Primary::start(vec![
        forward(1000, vec![two]),
        reverse(200, &[1, 2, 3], vec![two]),
        child(30, vec![three]),
    ]);
    let at = primary.addr;

    let fwd = axfr(at, "127.0.0.2", FORWARD);
    assert_eq!(fwd.first().map(|r| r.1.as_str()), Some("SOA"), "{fwd:?}");
    assert_eq!(fwd.last().map(|r| r.1.as_str()), Some("SOA"));
    // SOA, NS, ns1, four hosts, SOA: nothing of the reverse zones.
    assert_eq!(fwd.len(), 8, "{fwd:#?}");
    assert!(fwd.iter().all(|(owner, _, _)| owner.ends_with(FORWARD)));

    let rev = axfr(at, "127.0.0.2", REVERSE);
    // SOA, NS, 3 PTR, the child's NS and a CNAME, SOA: nothing of the child's own.
    assert_eq!(rev.len(), 8, "{rev:#?}");
    assert!(rev.iter().all(|(owner, _, _)| owner.ends_with(REVERSE)));
    assert_eq!(rev.iter().filter(|(_, t, _)| t == "PTR").count(), 3, "{rev:#?}");

    let kid = axfr(at, "127.0.0.3", CHILD);
    assert_eq!(
        kid.iter().map(|(o, t, _)| format!("{o} {t}")).collect::<Vec<_>>(),
        [
            format!("{CHILD} SOA"),
            format!("{CHILD} NS"),
            format!("65.{CHILD} PTR"),
            format!("{CHILD} SOA"),
        ]
    );
    assert!(kid[0].2.contains(" 30 "), "the child's own serial: {kid:?}");

    // A secondary of one zone may not transfer another; strangers none.
    for (source, origin) in [
        ("127.0.0.3", FORWARD),
        ("127.0.0.3", REVERSE),
        ("127.0.0.2", CHILD),
        ("127.0.0.1", FORWARD),
        ("127.0.0.1", CHILD),
    ] {
        let d = dig(at, Some(source), &["AXFR", origin]);
        assert!(d.records.is_empty(), "{origin} to {source}: {}", d.raw);
        assert!(
            d.raw.contains("Transfer failed"),
            "{origin} to {source}: {}",
            d.raw
        );
    }
    // Below an apex no zone is transferred.
    let d = dig(at, Some("127.0.0.3"), &["AXFR", &format!("65.{CHILD}")]);
    assert!(d.records.is_empty(), "{}", d.raw);
}

/// One NOTIFY a fake secondary received: (zone, serial).
fn read_notify(socket: &UdpSocket) -> Option<(Name, u32)> {
    let mut buf = [0u8; 512];
    let (len, from) = socket.recv_from(&mut buf).ok()?;
    let msg = Message::from_vec(&buf[..len]).ok()?;
    // Acknowledge it so the primary stops retrying.
    let mut ack = msg.clone();
    ack.metadata.message_type = hickory_proto::op::MessageType::Response;
    ack.answers.clear();
    socket
        .send_to(&ack.to_vec().expect("encodes"), from)
        .expect("ack");
    let serial = msg.answers.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.serial),
        _ => None,
    })?;
    Some((msg.queries.first()?.name().clone(), serial))
}

/// Every NOTIFY arriving at each of `sockets` within `window`, answered as
/// they come.
fn notifies(sockets: &[UdpSocket], window: Duration) -> Vec<Vec<(Name, u32)>> {
    let deadline = Instant::now() + window;
    let mut got = vec![Vec::new(); sockets.len()];
    while Instant::now() < deadline {
        for (socket, got) in sockets.iter().zip(&mut got) {
            if let Some(n) = read_notify(socket) {
                got.push(n);
            }
        }
    }
    got
}

#[test]
fn notify_goes_per_zone_to_that_zones_secondaries_for_its_new_serials() {
    let sockets: Vec<UdpSocket> = (0..3)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
            s.set_read_timeout(Some(Duration::from_millis(10)))
                .expect("timeout");
            s
        })
        .collect();
    let addr = |i: usize| sockets[i].local_addr().expect("addr");
    let zones = |fwd: u32, rev: u32, hosts: &[u8]| {
        vec![
            forward(fwd, vec![addr(0)]),
            reverse(rev, hosts, vec![addr(1)]),
            child(30, vec![addr(2)]),
        ]
    };
    let mut primary = Primary::start(zones(1000, 200, &[1]));
    // At start every zone's secondaries hear of it, each of its own zone.
    let window = Duration::from_millis(600);
    assert_eq!(
        notifies(&sockets, window),
        [
            [(name(FORWARD), 1000)],
            [(name(REVERSE), 200)],
            [(name(CHILD), 30)]
        ]
    );

    // Only the /24 zone changes: only its secondary is told.
    assert_eq!(primary.publisher.publish(zones(1000, 201, &[1, 2])), Ok(true));
    assert_eq!(
        notifies(&sockets, window),
        [vec![], vec![(name(REVERSE), 201)], vec![]]
    );
    // Then the forward zone alone.
    assert_eq!(primary.publisher.publish(zones(1001, 201, &[1, 2])), Ok(true));
    assert_eq!(
        notifies(&sockets, window),
        [vec![(name(FORWARD), 1001)], vec![], vec![]]
    );
}

/// NSD in a temp dir on `ip`:`port`, secondary of `primary` for `zones`,
/// taking NOTIFY from the primary's address only; killed when dropped.
struct Nsd {
    child: Child,
    dir: tempfile::TempDir,
    addr: SocketAddr,
}

impl Drop for Nsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nsd {
    fn start(ip: &str, port: u16, primary: SocketAddr, zones: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let mut conf = format!(
            r#"server:
    ip-address: {ip}@{port}
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    pidfile: "{d}/nsd.pid"
    logfile: "{d}/nsd.log"
    server-count: 1
    zonefiles-write: 0
    verbosity: 3
    rrl-ratelimit: 0
remote-control:
    control-enable: no
"#
        );
        for zone in zones {
            conf.push_str(&format!(
                r#"zone:
    name: "{zone}"
    zonefile: "{zone}zone"
    request-xfr: {pip}@{pport} NOKEY
    allow-notify: {pip} NOKEY
    outgoing-interface: {ip}
"#,
                pip = primary.ip(),
                pport = primary.port()
            ));
        }
        std::fs::write(dir.path().join("nsd.conf"), conf).expect("nsd.conf");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
        let child = Command::new("nsd")
            .arg("-d")
            .arg("-c")
            .arg(dir.path().join("nsd.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("nsd is installed");
        let addr = SocketAddr::new(ip.parse().expect("ip"), port);
        let nsd = Self { child, dir, addr };
        eventually(Duration::from_secs(10), "NSD to listen", || {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
        });
        nsd
    }

    fn log(&self) -> String {
        let mut s = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        s.push_str(&std::fs::read_to_string(self.dir.path().join("nsd.log")).unwrap_or_default());
        s
    }

    /// The serials of the NOTIFYs NSD logged for `zone` (from the primary's
    /// address: NSD takes no other).
    fn notifies_for(&self, zone: &str) -> Vec<u32> {
        let prefix = format!("notify for {zone} from 127.0.0.1 serial ");
        self.log()
            .lines()
            .filter_map(|l| l.split_once(&prefix)?.1.trim().parse().ok())
            .collect()
    }
}

#[test]
fn nsd_follows_a_change_to_the_reverse_zone_alone() {
    let ip = "127.0.0.2";
    let port = free_port(ip);
    let secondary = SocketAddr::new(IpAddr::from([127, 0, 0, 2]), port);
    let zones = |rev: u32, hosts: &[u8]| {
        vec![
            forward(1000, vec![secondary]),
            reverse(rev, hosts, vec![secondary]),
            child(30, Vec::new()),
        ]
    };
    let mut primary = Primary::start(zones(200, &[1, 2]));
    let nsd = Nsd::start(ip, port, primary.addr, &[FORWARD, REVERSE]);

    eventually(Duration::from_secs(15), "NSD's first transfers", || {
        let both = soa_serial(nsd.addr, FORWARD) == Some(1000) && soa_serial(nsd.addr, REVERSE) == Some(200);
        both.then_some(())
    });
    let d = dig(nsd.addr, None, &["-x", "127.0.10.2"]);
    assert_eq!(d.answer.len(), 1, "{}\n{}", d.raw, nsd.log());
    // NSD answers for the zones it holds, not for the child it does not.
    let d = dig(nsd.addr, None, &[&format!("65.{CHILD}"), "PTR"]);
    assert!(d.answer.is_empty(), "{}", d.raw);

    // The start-up NOTIFYs, one per zone.
    eventually(Duration::from_secs(5), "the start-up NOTIFYs", || {
        (!nsd.notifies_for(FORWARD).is_empty() && !nsd.notifies_for(REVERSE).is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    let forward_told = nsd.notifies_for(FORWARD);
    let ixfr_before = primary.transfers(QueryType::Ixfr);

    // Change the /24 zone alone.
    assert_eq!(primary.publisher.publish(zones(201, &[1, 2, 3])), Ok(true));
    let changed = Instant::now();
    // Refresh is an hour: only NOTIFY brings NSD up to date this fast.
    eventually(Duration::from_secs(3), "NSD to follow the /24 zone", || {
        (soa_serial(nsd.addr, REVERSE) == Some(201)).then_some(())
    });
    let took = changed.elapsed();
    let d = dig(nsd.addr, None, &["-x", "127.0.10.3"]);
    assert_eq!(
        d.answer.iter().map(|f| rr(f)).collect::<Vec<_>>(),
        [(format!("3.{REVERSE}"), "PTR".into(), format!("smurf3.{FORWARD}"))],
        "after {took:?}: {}\n{}",
        d.raw,
        nsd.log()
    );
    assert_eq!(soa_serial(nsd.addr, FORWARD), Some(1000));
    // By IXFR, after a NOTIFY for the /24 zone, and none for the forward zone.
    assert!(
        primary.transfers(QueryType::Ixfr) > ixfr_before,
        "NSD asked IXFR\n{}",
        nsd.log()
    );
    assert_eq!(nsd.notifies_for(REVERSE).last(), Some(&201), "{}", nsd.log());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        nsd.notifies_for(FORWARD),
        forward_told,
        "no NOTIFY for the forward zone\n{}",
        nsd.log()
    );
}
