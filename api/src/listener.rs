//! The API's accept loop, for plain HTTP and HTTPS alike: every connection
//! bounded in time and in number, so idle or half-open connections cannot
//! starve the agents' heartbeats, which share the listener.
//!
//! - A request's headers must arrive within [`ConnectionLimits::header_timeout`],
//!   and an idle keep-alive connection is closed after the same time
//!   (hyper starts the timer again while it waits for the next request).
//! - At most [`ConnectionLimits::max_connections`] are open at once; past
//!   that a new connection is closed at once (the client retries) and the
//!   log says so, at most every ten seconds.
//! - TLS handshakes have [`HANDSHAKE_TIMEOUT`].

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::throttle::PeerAddr;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connections get to finish after cancellation.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The log says the connection cap was hit at most this often.
const CAP_LOG_EVERY: Duration = Duration::from_secs(10);

/// Bounds on the API's connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request's headers must arrive within this; an idle keep-alive
    /// connection is closed after it (default 10 s: an agent reports every
    /// second or so on its kept-alive connection).
    pub header_timeout: Duration,
    /// At most this many connections at once (default 10,000).
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            max_connections: 10_000,
        }
    }
}

/// Serves `app` on `listener`, over TLS when `tls` is given, until `cancel`
/// fires; then gives open connections [`SHUTDOWN_GRACE`] to finish.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    cancel: CancellationToken,
) -> io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut last_cap_log: Option<Instant> = None;
    let mut refused_since_log = 0u64;
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(got) => got,
            Err(e) => {
                warn!(error = %e, "API accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            // Closed at once: the client sees the reset and retries.
            drop(tcp);
            refused_since_log += 1;
            if last_cap_log.is_none_or(|at| at.elapsed() >= CAP_LOG_EVERY) {
                warn!(
                    max = limits.max_connections,
                    refused = refused_since_log,
                    %peer,
                    "API connection limit reached: closing new connections until some end"
                );
                last_cap_log = Some(Instant::now());
                refused_since_log = 0;
            }
            continue;
        };
        connections.spawn(serve_connection(
            tcp,
            tls.clone(),
            app.clone(),
            builder.clone(),
            cancel.clone(),
            slot,
        ));
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        debug!(
            open = connections.len(),
            "closing API connections still open after the grace period"
        );
    }
    connections.shutdown().await;
    Ok(())
}

/// One connection: the TLS handshake if any, then HTTP until the peer
/// closes, a timeout ends it, or `cancel` asks for a graceful close. Holds
/// its `slot` until it ends.
async fn serve_connection(
    tcp: TcpStream,
    tls: Option<TlsAcceptor>,
    app: Router,
    builder: auto::Builder<TokioExecutor>,
    cancel: CancellationToken,
    slot: OwnedSemaphorePermit,
) {
    let peer = tcp.peer_addr().ok();
    match tls {
        None => http(tcp, peer, app, builder, cancel).await,
        Some(acceptor) => {
            let handshake = tokio::select! {
                () = cancel.cancelled() => return,
                done = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => done,
            };
            match handshake {
                Ok(Ok(stream)) => http(stream, peer, app, builder, cancel).await,
                Ok(Err(e)) => debug!(?peer, error = %e, "TLS handshake failed"),
                Err(_) => debug!(?peer, "TLS handshake timed out"),
            }
        }
    }
    drop(slot);
}

async fn http<S>(
    stream: S,
    peer: Option<std::net::SocketAddr>,
    app: Router,
    builder: auto::Builder<TokioExecutor>,
    cancel: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Handlers see who is asking (the failed-authentication throttle keys on it).
    let app = app.map_request(move |mut request: Request<Incoming>| {
        if let Some(peer) = peer {
            request.extensions_mut().insert(PeerAddr(peer));
        }
        request
    });
    let connection =
        builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = cancel.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        debug!(?peer, error = %e, "API connection ended");
    }
}
