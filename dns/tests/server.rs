//! The real listeners on 127.0.0.1:0: UDP and TCP queries, transfers and
//! their allow-list, pipelining, snapshot swaps and shutdown.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use muster_dns::server::{DnsConfig, DnsServer, spawn_dns_server};
use muster_dns::{RecordData, SoaFields, Zone, ZonePublisher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_util::sync::CancellationToken;

const ORIGIN: &str = "lists.example.test.";
/// Every network step must finish within this.
const DEADLINE: Duration = Duration::from_secs(10);

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("valid name")
}

fn zone(serial: u32, secondaries: Vec<SocketAddr>) -> Zone {
    let origin = name(ORIGIN);
    let soa = SoaFields {
        mname: name("ns1.lists.example.test."),
        rname: name("hostmaster.lists.example.test."),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 300,
        ttl: 3600,
    };
    let mut zone = Zone::new(&origin, serial, soa).expect("zone");
    zone.set_secondaries(secondaries);
    zone.add(&origin, 3600, RecordData::Ns(name("ns1.lists.example.test.")))
        .expect("ns");
    zone.add(
        &name("ns1.lists.example.test."),
        3600,
        RecordData::A(Ipv4Addr::new(192, 0, 2, 53)),
    )
    .expect("glue");
    zone.add(
        &name("www.lists.example.test."),
        300,
        RecordData::A(Ipv4Addr::new(192, 0, 2, 80)),
    )
    .expect("www");
    for i in 1..=40u8 {
        let host = name(&format!("smurf{i}.{ORIGIN}"));
        zone.add(&host, 300, RecordData::A(Ipv4Addr::new(198, 51, 100, i)))
            .expect("a");
        zone.add(
            &name(&format!("smtp-out.{ORIGIN}")),
            300,
            RecordData::Mx {
                preference: 10,
                exchange: host,
            },
        )
        .expect("mx");
    }
    zone
}

struct Running {
    publisher: ZonePublisher,
    server: DnsServer,
    cancel: CancellationToken,
    addr: SocketAddr,
}

async fn start(zone: Zone) -> Running {
    let publisher = ZonePublisher::new(zone);
    let cancel = CancellationToken::new();
    let config = DnsConfig {
        listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
        udp_workers: 2,
        tcp_idle: Duration::from_secs(5),
        max_tcp_connections: 16,
        ..DnsConfig::default()
    };
    let server = spawn_dns_server(&config, publisher.shared(), cancel.clone())
        .await
        .expect("server starts");
    let addr = server.local_addrs()[0];
    assert_eq!(server.local_addrs().len(), 1);
    assert_ne!(addr.port(), 0, "the real port is reported");
    Running {
        publisher,
        server,
        cancel,
        addr,
    }
}

impl Running {
    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(DEADLINE, self.server.join())
            .await
            .expect("server stops within the deadline");
    }
}

fn query(id: u16, qname: &str, qtype: RecordType) -> Vec<u8> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(name(qname), qtype));
    msg.to_vec().expect("encodes")
}

fn ixfr_query(id: u16, client_serial: u32) -> Vec<u8> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(name(ORIGIN), RecordType::IXFR));
    msg.add_authority(Record::from_rdata(
        name(ORIGIN),
        0,
        RData::SOA(SOA::new(name("a."), name("b."), client_serial, 1, 1, 1, 1)),
    ));
    msg.to_vec().expect("encodes")
}

async fn udp_ask(addr: SocketAddr, packet: &[u8]) -> (Vec<u8>, Message) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    socket.send_to(packet, addr).await.expect("send");
    let mut buf = vec![0u8; 65_536];
    let (len, from) = tokio::time::timeout(DEADLINE, socket.recv_from(&mut buf))
        .await
        .expect("UDP answer in time")
        .expect("recv");
    assert_eq!(from, addr);
    buf.truncate(len);
    let msg = Message::from_vec(&buf).expect("hickory parses the UDP answer");
    (buf, msg)
}

async fn tcp_send(stream: &mut TcpStream, packet: &[u8]) {
    let len = u16::try_from(packet.len()).expect("small query");
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(packet);
    stream.write_all(&framed).await.expect("write");
}

async fn tcp_read(stream: &mut TcpStream) -> Message {
    let read = async {
        let len = stream.read_u16().await.expect("length prefix");
        let mut buf = vec![0u8; usize::from(len)];
        stream.read_exact(&mut buf).await.expect("message");
        buf
    };
    let buf = tokio::time::timeout(DEADLINE, read)
        .await
        .expect("TCP answer in time");
    Message::from_vec(&buf).expect("hickory parses the TCP answer")
}

async fn connect(addr: SocketAddr) -> TcpStream {
    tokio::time::timeout(DEADLINE, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// Reads an AXFR/IXFR stream until the closing SOA; returns its records.
async fn read_transfer(stream: &mut TcpStream, id: u16) -> Vec<Record> {
    let mut records = Vec::new();
    let mut soas = 0;
    let mut messages = 0;
    while soas < 2 {
        let msg = tcp_read(stream).await;
        messages += 1;
        assert_eq!(msg.metadata.id, id);
        assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
        assert!(!msg.answers.is_empty());
        for rec in msg.answers {
            if rec.record_type() == RecordType::SOA {
                soas += 1;
            }
            records.push(rec);
        }
        assert!(messages < 1000, "runaway transfer");
    }
    records
}

fn soa_serial(msg: &Message) -> u32 {
    match msg.answers.first().map(|r| &r.data) {
        Some(RData::SOA(soa)) => soa.serial,
        other => panic!("expected an SOA answer, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_and_tcp_answer_queries() {
    let running = start(zone(1, Vec::new())).await;

    let (raw, msg) = udp_ask(running.addr, &query(7, "www.lists.example.test.", RecordType::A)).await;
    assert_eq!(msg.metadata.id, 7);
    assert_eq!(msg.metadata.message_type, MessageType::Response);
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    assert!(msg.metadata.authoritative);
    assert_eq!(msg.answers.len(), 1);
    assert_eq!(msg.answers[0].data, RData::A(A(Ipv4Addr::new(192, 0, 2, 80))));
    assert!(raw.len() <= 512);

    // 40 MX do not fit 512 bytes: TC over UDP, everything over TCP.
    let (raw, msg) = udp_ask(
        running.addr,
        &query(8, "smtp-out.lists.example.test.", RecordType::MX),
    )
    .await;
    assert!(raw.len() <= 512);
    assert!(msg.metadata.truncation);
    assert!(msg.answers.is_empty());
    let mut stream = connect(running.addr).await;
    tcp_send(
        &mut stream,
        &query(9, "smtp-out.lists.example.test.", RecordType::MX),
    )
    .await;
    let msg = tcp_read(&mut stream).await;
    assert_eq!(msg.metadata.id, 9);
    assert!(!msg.metadata.truncation);
    assert_eq!(msg.answers.len(), 40);
    assert_eq!(msg.additionals.len(), 40);

    // NXDOMAIN and REFUSED travel too.
    let (_, msg) = udp_ask(
        running.addr,
        &query(10, "nosuch.lists.example.test.", RecordType::A),
    )
    .await;
    assert_eq!(msg.metadata.response_code, ResponseCode::NXDomain);
    let (_, msg) = udp_ask(running.addr, &query(11, "example.org.", RecordType::A)).await;
    assert_eq!(msg.metadata.response_code, ResponseCode::Refused);

    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_tcp_queries_are_answered_in_order() {
    let running = start(zone(1, Vec::new())).await;
    let mut stream = connect(running.addr).await;
    let questions = [
        (100, "www.lists.example.test.", RecordType::A),
        (101, ORIGIN, RecordType::SOA),
        (102, "nosuch.lists.example.test.", RecordType::A),
        (103, ORIGIN, RecordType::NS),
        (104, "smtp-out.lists.example.test.", RecordType::MX),
        (105, "www.example.org.", RecordType::A),
    ];
    // All in one write.
    let mut burst = Vec::new();
    for (id, qname, qtype) in questions {
        let packet = query(id, qname, qtype);
        burst.extend_from_slice(&u16::try_from(packet.len()).expect("small").to_be_bytes());
        burst.extend_from_slice(&packet);
    }
    stream.write_all(&burst).await.expect("write");
    let expected = [
        ResponseCode::NoError,
        ResponseCode::NoError,
        ResponseCode::NXDomain,
        ResponseCode::NoError,
        ResponseCode::NoError,
        ResponseCode::Refused,
    ];
    for ((id, qname, qtype), rcode) in questions.into_iter().zip(expected) {
        let msg = tcp_read(&mut stream).await;
        assert_eq!(msg.metadata.id, id);
        assert_eq!(msg.metadata.response_code, rcode, "{qname} {qtype}");
        assert_eq!(msg.queries[0].name(), &name(qname));
    }
    // The connection stays open for more.
    tcp_send(&mut stream, &query(106, ORIGIN, RecordType::SOA)).await;
    assert_eq!(soa_serial(&tcp_read(&mut stream).await), 1);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axfr_is_refused_to_strangers_and_served_to_secondaries() {
    let mut running = start(zone(1, Vec::new())).await;

    // No secondaries: refused over TCP.
    let mut stream = connect(running.addr).await;
    tcp_send(&mut stream, &query(20, ORIGIN, RecordType::AXFR)).await;
    let msg = tcp_read(&mut stream).await;
    assert_eq!(msg.metadata.id, 20);
    assert_eq!(msg.metadata.response_code, ResponseCode::Refused);
    assert!(msg.answers.is_empty());
    // IXFR over UDP too.
    let (_, msg) = udp_ask(running.addr, &ixfr_query(21, 0)).await;
    assert_eq!(msg.metadata.response_code, ResponseCode::Refused);

    // 127.0.0.1 becomes a secondary (any port: NOTIFY goes to 53, transfers
    // come from anywhere).
    let secondary = SocketAddr::from(([127, 0, 0, 1], 53));
    assert_eq!(
        running.publisher.publish(vec![zone(2, vec![secondary])]),
        Ok(true)
    );
    tcp_send(&mut stream, &query(22, ORIGIN, RecordType::AXFR)).await;
    let records = read_transfer(&mut stream, 22).await;
    // SOA + NS + glue + www + 40 × (A + MX) + SOA.
    assert_eq!(records.len(), 2 + 2 + 1 + 80);
    assert_eq!(records[0].record_type(), RecordType::SOA);
    assert_eq!(records[records.len() - 1].record_type(), RecordType::SOA);

    // IXFR over TCP from serial 1: one diff.
    let mut changed = zone(3, vec![secondary]);
    changed
        .add(
            &name("new.lists.example.test."),
            60,
            RecordData::A(Ipv4Addr::new(192, 0, 2, 9)),
        )
        .expect("new");
    assert_eq!(running.publisher.publish(vec![changed]), Ok(true));
    tcp_send(&mut stream, &ixfr_query(23, 2)).await;
    let msg = tcp_read(&mut stream).await;
    let serials: Vec<String> = msg
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::SOA(soa) => format!("SOA {}", soa.serial),
            other => format!("{} {other}", r.name),
        })
        .collect();
    assert_eq!(
        serials,
        vec![
            "SOA 3",
            "SOA 2",
            "SOA 3",
            "new.lists.example.test. 192.0.2.9",
            "SOA 3"
        ]
    );

    // AXFR over UDP stays refused, even to a secondary; IXFR over UDP gets
    // our SOA.
    let (_, msg) = udp_ask(running.addr, &query(24, ORIGIN, RecordType::AXFR)).await;
    assert_eq!(msg.metadata.response_code, ResponseCode::Refused);
    let (_, msg) = udp_ask(running.addr, &ixfr_query(25, 2)).await;
    assert_eq!(msg.metadata.response_code, ResponseCode::NoError);
    assert_eq!(msg.answers.len(), 1);
    assert_eq!(soa_serial(&msg), 3);

    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_snapshot_is_served_at_once() {
    let mut running = start(zone(1, Vec::new())).await;
    let (_, msg) = udp_ask(running.addr, &query(30, ORIGIN, RecordType::SOA)).await;
    assert_eq!(soa_serial(&msg), 1);
    let mut stream = connect(running.addr).await;

    for serial in 2..=4 {
        let mut next = zone(serial, Vec::new());
        next.add(
            &name(&format!("v{serial}.lists.example.test.")),
            60,
            RecordData::A(Ipv4Addr::new(192, 0, 2, 100)),
        )
        .expect("add");
        assert_eq!(running.publisher.publish(vec![next]), Ok(true));
        let (_, msg) = udp_ask(running.addr, &query(31, ORIGIN, RecordType::SOA)).await;
        assert_eq!(soa_serial(&msg), serial, "UDP sees the new serial");
        // The same TCP connection sees it too.
        tcp_send(&mut stream, &query(32, ORIGIN, RecordType::SOA)).await;
        assert_eq!(soa_serial(&tcp_read(&mut stream).await), serial);
        let vname = format!("v{serial}.lists.example.test.");
        let (_, msg) = udp_ask(running.addr, &query(33, &vname, RecordType::A)).await;
        assert_eq!(msg.answers.len(), 1, "the new name exists");
        if serial > 2 {
            let old = format!("v{}.lists.example.test.", serial - 1);
            let (_, msg) = udp_ask(running.addr, &query(34, &old, RecordType::A)).await;
            assert_eq!(
                msg.metadata.response_code,
                ResponseCode::NXDomain,
                "the old one is gone"
            );
        }
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_closes_the_tcp_connection_but_not_the_server() {
    let running = start(zone(1, Vec::new())).await;
    let mut stream = connect(running.addr).await;
    // A response (QR set) is not worth answering: the server hangs up.
    let mut response = Message::new(40, MessageType::Response, OpCode::Query);
    response.add_query(Query::query(name(ORIGIN), RecordType::SOA));
    tcp_send(&mut stream, &response.to_vec().expect("encodes")).await;
    let mut buf = [0u8; 2];
    let read = tokio::time::timeout(DEADLINE, stream.read(&mut buf))
        .await
        .expect("closed in time");
    assert!(matches!(read, Ok(0) | Err(_)), "connection closed: {read:?}");

    // UDP garbage gets nothing back, and the server keeps answering.
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    socket.send_to(&[1, 2, 3], running.addr).await.expect("send");
    let (_, msg) = udp_ask(running.addr, &query(41, ORIGIN, RecordType::SOA)).await;
    assert_eq!(soa_serial(&msg), 1);
    let mut nothing = [0u8; 512];
    let got = tokio::time::timeout(Duration::from_millis(300), socket.recv_from(&mut nothing)).await;
    assert!(got.is_err(), "no reply to a runt");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_an_open_connection_is_prompt() {
    let running = start(zone(1, Vec::new())).await;
    let addr = running.addr;
    // An idle client connection must not hold the shutdown.
    let mut stream = connect(addr).await;
    tcp_send(&mut stream, &query(50, ORIGIN, RecordType::SOA)).await;
    assert_eq!(soa_serial(&tcp_read(&mut stream).await), 1);
    let started = std::time::Instant::now();
    running.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    // The listener is gone.
    let refused = tokio::time::timeout(DEADLINE, TcpStream::connect(addr)).await;
    assert!(matches!(refused, Ok(Err(_))), "TCP listener closed");
    // The open connection was closed by the server.
    let mut buf = [0u8; 2];
    let read = tokio::time::timeout(DEADLINE, stream.read(&mut buf))
        .await
        .expect("closed in time");
    assert!(matches!(read, Ok(0) | Err(_)));
}
