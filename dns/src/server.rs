//! UDP and TCP listeners answering from the current catalog of zones.
//!
//! UDP runs on dedicated threads, one per `SO_REUSEPORT` socket, each a
//! plain receive–answer–send loop with its own buffers: no task per
//! datagram, no allocation per answer, no lock. TCP runs on tokio, one task
//! per connection, and is where zone transfers happen. Each UDP thread
//! counts its answers in counters only it writes ([`crate::stats`]).
//! UDP answers pass response rate limiting ([`crate::rrl`]) on their way
//! out; every answer to a query with a COOKIE option carries our server
//! cookie ([`crate::cookie`]), made with a secret rotated daily.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::{ArcSwap, Cache};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::answer::{Client, Outcome, Transport, respond_to, write_slip};
use crate::cookie::{CookieSecrets, CookieStatus, SharedCookieSecrets};
use crate::publish::SharedCatalog;
use crate::rrl::{RateLimitConfig, RateTable, SharedRateLimit, SlipCounter, Verdict};
use crate::stats::{DnsStats, QueryType, RateLimitAction, TcpCounter, UdpCounter, reply_qtype};
use transfer::{log_rejection, tcp_transfer, udp_transfer};

mod transfer;

/// How the DNS listeners are set up.
#[derive(Clone, Debug)]
pub struct DnsConfig {
    /// Addresses to answer on, UDP and TCP each.
    pub listen: Vec<SocketAddr>,
    /// UDP worker threads (sockets) per address.
    pub udp_workers: usize,
    /// A TCP connection idle this long is closed (RFC 7766 §6.2.3).
    pub tcp_idle: Duration,
    /// At most this many TCP connections at once.
    pub max_tcp_connections: usize,
    /// Response rate limiting for UDP; store a new setting to change it
    /// while serving.
    pub rate_limit: SharedRateLimit,
    /// The secret server cookies are made with, when several instances
    /// must share it; `None`: a random one, rolled over every
    /// [`Self::cookie_rotation`].
    pub cookie_secret: Option<CookieSecrets>,
    /// How often a random cookie secret is replaced (the previous one is
    /// still accepted until the next rollover).
    pub cookie_rotation: Duration,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 5300))],
            udp_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            tcp_idle: Duration::from_secs(10),
            max_tcp_connections: 512,
            rate_limit: Arc::new(ArcSwap::from_pointee(RateLimitConfig::default())),
            cookie_secret: None,
            cookie_rotation: COOKIE_ROTATION,
        }
    }
}

/// Running DNS listeners.
pub struct DnsServer {
    local: Vec<SocketAddr>,
    udp_threads: Vec<JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    cancel: CancellationToken,
    stats: DnsStats,
}

impl DnsServer {
    /// The addresses actually bound (with ports resolved when 0 was asked).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// A handle on the query counters (cheap to clone, read at any time).
    pub fn stats(&self) -> DnsStats {
        self.stats.clone()
    }

    /// Waits for every listener to stop (after the cancellation token fires).
    pub async fn join(self) {
        self.cancel.cancelled().await;
        for task in self.tasks {
            let _ = task.await;
        }
        let threads = self.udp_threads;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

/// How often a random cookie secret is rolled over by default: a day, far
/// longer than the hour a server cookie lasts (RFC 9018 §5 asks for at
/// least monthly).
pub const COOKIE_ROTATION: Duration = Duration::from_secs(24 * 3600);

/// What every UDP worker shares besides the zones.
struct UdpShared {
    cookies: SharedCookieSecrets,
    rate_limit: SharedRateLimit,
    table: Arc<RateTable>,
    clock: Arc<AtomicU32>,
}

/// How often the UDP threads' clock (whole seconds) is brought up to date.
const CLOCK_TICK: Duration = Duration::from_millis(100);

/// How often a blocked UDP worker looks at the cancellation token.
const UDP_POLL: Duration = Duration::from_millis(200);
/// Kernel receive buffer asked for per UDP socket: bursts queue, not drop.
const UDP_RECV_BUFFER: usize = 4 << 20;

/// Binds every listener and starts serving the zones of `zones` until
/// `cancel` fires. Binding errors are returned before anything is spawned
/// for that address.
pub async fn spawn_dns_server(
    config: &DnsConfig,
    zones: SharedCatalog,
    cancel: CancellationToken,
) -> io::Result<DnsServer> {
    let udp_workers = config.udp_workers.max(1);
    let stats = DnsStats::new(config.listen.len() * udp_workers);
    let tcp_counter = stats.tcp_writer();
    let mut server = DnsServer {
        local: Vec::new(),
        udp_threads: Vec::new(),
        tasks: Vec::new(),
        cancel: cancel.clone(),
        stats: stats.clone(),
    };
    let permits = Arc::new(Semaphore::new(config.max_tcp_connections.max(1)));
    let secrets = match &config.cookie_secret {
        Some(secret) => secret.clone(),
        None => CookieSecrets::random()?,
    };
    let cookies: SharedCookieSecrets = Arc::new(ArcSwap::from_pointee(secrets));
    let table = Arc::new(RateTable::default());
    // Seconds for cookies and rate limiting: reading the system clock for
    // every datagram costs more than answering it from the table does.
    let clock = Arc::new(AtomicU32::new(unix_seconds()));
    for &addr in &config.listen {
        let (udp, tcp) = bind_pair(addr, udp_workers)?;
        let local = tcp.local_addr()?;
        info!(%local, udp_workers = udp.len(), "DNS listening on UDP and TCP");
        server.local.push(local);
        for (i, socket) in udp.into_iter().enumerate() {
            let zones = Arc::clone(&zones);
            let cancel = cancel.clone();
            let counter = stats.udp_writer(server.udp_threads.len());
            let shared = UdpShared {
                cookies: Arc::clone(&cookies),
                rate_limit: Arc::clone(&config.rate_limit),
                table: Arc::clone(&table),
                clock: Arc::clone(&clock),
            };
            let thread = std::thread::Builder::new()
                .name(format!("dns-udp-{i}"))
                .spawn(move || run_udp(&socket, &zones, &shared, &counter, &cancel))?;
            server.udp_threads.push(thread);
        }
        let listener = TcpListener::from_std(tcp)?;
        server.tasks.push(tokio::spawn(run_tcp_listener(
            listener,
            Arc::clone(&zones),
            Arc::clone(&cookies),
            Arc::clone(&permits),
            tcp_counter.clone(),
            config.tcp_idle,
            cancel.clone(),
        )));
    }
    server
        .tasks
        .push(tokio::spawn(tick_clock(Arc::clone(&clock), cancel.clone())));
    if config.cookie_secret.is_none() {
        server.tasks.push(tokio::spawn(rotate_cookie_secret(
            cookies,
            config.cookie_rotation,
            cancel,
        )));
    }
    Ok(server)
}

/// Binds `workers` UDP sockets and one TCP listener on the same address and
/// port; with port 0 the kernel's choice for UDP is reused for TCP.
fn bind_pair(addr: SocketAddr, workers: usize) -> io::Result<(Vec<UdpSocket>, std::net::TcpListener)> {
    let mut last_err = None;
    for _ in 0..16 {
        let first = udp_socket(addr)?;
        let bound = first.local_addr()?;
        match tcp_listener(bound) {
            Ok(tcp) => {
                let mut udp = vec![first];
                for _ in 1..workers {
                    udp.push(udp_socket(bound)?);
                }
                return Ok((udp, tcp));
            }
            Err(e) if addr.port() == 0 => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no free port")))
}

fn udp_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_port(true)?;
    if let Err(e) = socket.set_recv_buffer_size(UDP_RECV_BUFFER) {
        debug!(error = %e, "could not enlarge the UDP receive buffer");
    }
    socket.bind(&addr.into())?;
    socket.set_read_timeout(Some(UDP_POLL))?;
    Ok(socket.into())
}

fn tcp_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Rolls the cookie secret over to a new random one every `period`.
async fn rotate_cookie_secret(cookies: SharedCookieSecrets, period: Duration, cancel: CancellationToken) {
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(period) => {}
        }
        match CookieSecrets::random() {
            Ok(next) => {
                cookies.rcu(|old| old.rolled_from(&next));
                info!("DNS cookie secret rolled over");
            }
            Err(e) => warn!(error = %e, "no randomness for a new DNS cookie secret; keeping the old one"),
        }
    }
}

/// Keeps `clock` at the current Unix second (at most [`CLOCK_TICK`] late).
async fn tick_clock(clock: Arc<AtomicU32>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(CLOCK_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => clock.store(unix_seconds(), Relaxed),
        }
    }
}

/// Seconds since the Unix epoch, modulo 2^32 (cookie timestamps and
/// rate-limit buckets).
fn unix_seconds() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

fn run_udp(
    socket: &UdpSocket,
    zones: &SharedCatalog,
    shared: &UdpShared,
    counter: &UdpCounter,
    cancel: &CancellationToken,
) {
    let mut packet = [0u8; 4096];
    let mut out = Vec::with_capacity(4096);
    let mut slips = SlipCounter::default();
    // This thread's copies of the shared settings: a load is one atomic
    // read while nothing changes.
    let mut cookies = Cache::new(&*shared.cookies);
    let mut rate_limit = Cache::new(&*shared.rate_limit);
    while !cancel.is_cancelled() {
        let (len, peer) = match socket.recv_from(&mut packet) {
            Ok(got) => got,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            Err(e) => {
                debug!(error = %e, "UDP receive failed");
                continue;
            }
        };
        let catalog = zones.load();
        let secrets = cookies.load();
        let client = Client {
            transport: Transport::Udp,
            addr: peer.ip(),
            now: shared.clock.load(Relaxed),
            cookies: Some(secrets),
        };
        let (outcome, facts) = respond_to(&**catalog, &packet[..len], &client, &mut out);
        counter.cookie(facts.cookie);
        let qtype = match outcome {
            Outcome::Reply => reply_qtype(&out),
            Outcome::Drop => {
                counter.dropped();
                continue;
            }
            Outcome::Rejected(rejection) => {
                log_rejection(&rejection, peer);
                QueryType::of(rejection.qtype)
            }
            Outcome::Transfer(req, signer) => {
                udp_transfer(&catalog, &req, signer.as_ref(), peer, &mut out);
                QueryType::of(req.qtype)
            }
        };
        match shared
            .table
            .decide(rate_limit.load(), peer.ip(), &out, &facts, client.now, &mut slips)
        {
            Verdict::Send => {}
            Verdict::ExemptListed => counter.rate_limited(RateLimitAction::ExemptListed),
            Verdict::ExemptCookie => counter.rate_limited(RateLimitAction::ExemptCookie),
            Verdict::Drop => {
                counter.rate_limited(RateLimitAction::Dropped);
                continue;
            }
            Verdict::Slip => {
                // Unparseable queries get their (header-only) FORMERR as is.
                write_slip(&packet[..len], &client, true, &mut out);
                counter.rate_limited(match facts.cookie {
                    CookieStatus::None => RateLimitAction::Slipped,
                    _ => RateLimitAction::BadCookie,
                });
            }
        }
        counter.answered(qtype, &out);
        if let Err(e) = socket.send_to(&out, peer) {
            debug!(error = %e, %peer, "UDP send failed");
        }
    }
}

async fn run_tcp_listener(
    listener: TcpListener,
    zones: SharedCatalog,
    cookies: SharedCookieSecrets,
    permits: Arc<Semaphore>,
    counter: TcpCounter,
    idle: Duration,
    cancel: CancellationToken,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(got) => got,
            Err(e) => {
                warn!(error = %e, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            debug!(%peer, "too many TCP connections; closing");
            continue;
        };
        let zones = Arc::clone(&zones);
        let cookies = Arc::clone(&cookies);
        let cancel = cancel.clone();
        let counter = counter.clone();
        connections.spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                result = serve_tcp(stream, peer, &zones, &cookies, &counter, idle) => {
                    if let Err(e) = result {
                        debug!(%peer, error = %e, "TCP connection ended");
                    }
                }
            }
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
}

/// Serves length-prefixed queries on one connection until it is idle,
/// closed, or sends something not worth answering.
async fn serve_tcp(
    mut stream: TcpStream,
    peer: SocketAddr,
    zones: &SharedCatalog,
    cookies: &SharedCookieSecrets,
    counter: &TcpCounter,
    idle: Duration,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut packet = Vec::with_capacity(512);
    let mut out = Vec::with_capacity(512);
    loop {
        let len = match tokio::time::timeout(idle, stream.read_u16()).await {
            Err(_) => return Ok(()),
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(result) => usize::from(result?),
        };
        packet.resize(len, 0);
        tokio::time::timeout(idle, stream.read_exact(&mut packet))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "slow query"))??;
        let catalog = zones.load_full();
        let secrets = cookies.load_full();
        let client = Client {
            transport: Transport::Tcp,
            addr: peer.ip(),
            now: unix_seconds(),
            cookies: Some(&secrets),
        };
        let (outcome, facts) = respond_to(&*catalog, &packet, &client, &mut out);
        counter.cookie(facts.cookie);
        let (qtype, messages) = match outcome {
            Outcome::Reply => (reply_qtype(&out), vec![std::mem::take(&mut out)]),
            Outcome::Drop => {
                counter.dropped();
                return Ok(());
            }
            Outcome::Rejected(rejection) => {
                log_rejection(&rejection, peer);
                (QueryType::of(rejection.qtype), vec![std::mem::take(&mut out)])
            }
            Outcome::Transfer(req, signer) => (
                QueryType::of(req.qtype),
                tcp_transfer(&catalog, &req, signer.as_ref(), peer, &mut out),
            ),
        };
        if let Some(first) = messages.first() {
            counter.answered(qtype, first);
        }
        for message in &messages {
            let len = u16::try_from(message.len()).map_err(|_| io::Error::other("message over 64 KiB"))?;
            let mut framed = Vec::with_capacity(message.len() + 2);
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(message);
            stream.write_all(&framed).await?;
        }
        out = messages.into_iter().next().unwrap_or_default();
    }
}
