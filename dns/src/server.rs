//! UDP and TCP listeners answering from the current catalog of zones.
//!
//! UDP runs on dedicated threads, one per `SO_REUSEPORT` socket, each a
//! plain receive–answer–send loop with its own buffers: no task per
//! datagram, no allocation per answer, no lock. TCP runs on tokio, one task
//! per connection, and is where zone transfers happen. Each UDP thread
//! counts its answers in counters only it writes ([`crate::stats`]).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::answer::{Outcome, Transport, respond};
use crate::publish::SharedCatalog;
use crate::stats::{DnsStats, QueryType, TcpCounter, UdpCounter, reply_qtype};
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
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 5300))],
            udp_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            tcp_idle: Duration::from_secs(10),
            max_tcp_connections: 512,
        }
    }
}

/// Running DNS listeners.
pub struct DnsServer {
    local: Vec<SocketAddr>,
    udp_threads: Vec<JoinHandle<()>>,
    tcp_tasks: Vec<tokio::task::JoinHandle<()>>,
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
        for task in self.tcp_tasks {
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
        tcp_tasks: Vec::new(),
        cancel: cancel.clone(),
        stats: stats.clone(),
    };
    let permits = Arc::new(Semaphore::new(config.max_tcp_connections.max(1)));
    for &addr in &config.listen {
        let (udp, tcp) = bind_pair(addr, udp_workers)?;
        let local = tcp.local_addr()?;
        info!(%local, udp_workers = udp.len(), "DNS listening on UDP and TCP");
        server.local.push(local);
        for (i, socket) in udp.into_iter().enumerate() {
            let zones = Arc::clone(&zones);
            let cancel = cancel.clone();
            let counter = stats.udp_writer(server.udp_threads.len());
            let thread = std::thread::Builder::new()
                .name(format!("dns-udp-{i}"))
                .spawn(move || run_udp(&socket, &zones, &counter, &cancel))?;
            server.udp_threads.push(thread);
        }
        let listener = TcpListener::from_std(tcp)?;
        server.tcp_tasks.push(tokio::spawn(run_tcp_listener(
            listener,
            Arc::clone(&zones),
            Arc::clone(&permits),
            tcp_counter.clone(),
            config.tcp_idle,
            cancel.clone(),
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

fn run_udp(socket: &UdpSocket, zones: &SharedCatalog, counter: &UdpCounter, cancel: &CancellationToken) {
    let mut packet = [0u8; 4096];
    let mut out = Vec::with_capacity(4096);
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
        let qtype = match respond(&**catalog, &packet[..len], Transport::Udp, &mut out) {
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
        counter.answered(qtype, &out);
        if let Err(e) = socket.send_to(&out, peer) {
            debug!(error = %e, %peer, "UDP send failed");
        }
    }
}

async fn run_tcp_listener(
    listener: TcpListener,
    zones: SharedCatalog,
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
        let cancel = cancel.clone();
        let counter = counter.clone();
        connections.spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                result = serve_tcp(stream, peer, &zones, &counter, idle) => {
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
        let (qtype, messages) = match respond(&*catalog, &packet, Transport::Tcp, &mut out) {
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
