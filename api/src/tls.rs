//! HTTPS for the API: rustls over the same axum router.
//!
//! [`TlsConfig::from_pem_files`] reads a PEM certificate chain and a PEM
//! private key (PKCS#8, RSA or SEC1) and says which file is wrong and how.
//! [`serve_tls`] accepts TCP, does the handshake in the connection's own task
//! (a slow client never holds up the accept loop), and hands the stream to
//! hyper-util's HTTP/1-or-2 connection builder with the router as the
//! service. On cancellation every connection finishes its request in flight
//! and closes, within a grace period.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connections get to finish after cancellation.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why the certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{}: cannot read it: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (part of the message, so not a separate source).
        error: io::Error,
    },
    /// A file is not valid PEM.
    #[error("{}: not valid PEM: {reason}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The certificate file holds no certificate.
    #[error("{}: no certificate in it (expected PEM blocks \"-----BEGIN CERTIFICATE-----\")", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no private key.
    #[error(
        "{}: no private key in it (expected a PEM \"PRIVATE KEY\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\" block)",
        path.display()
    )]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// rustls refused the pair (unsupported key, key not matching the
    /// certificate, …).
    #[error("{} with {}: {reason}", cert.display(), key.display())]
    Rejected {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        reason: String,
    },
}

/// A server certificate and key, ready to serve.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    server: Arc<ServerConfig>,
}

impl TlsConfig {
    /// Reads the certificate chain (leaf first) from `cert` and the private
    /// key from `key`, both PEM.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|error| TlsError::Read {
                path: path.to_owned(),
                error,
            })
        };
        let pem_error = |path: &Path, e: pem::Error| TlsError::Pem {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let chain = CertificateDer::pem_slice_iter(&read(cert)?)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error(cert, e))?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate {
                path: cert.to_owned(),
            });
        }
        let private = match PrivateKeyDer::from_pem_slice(&read(key)?) {
            Ok(k) => k,
            Err(pem::Error::NoItemsFound) => return Err(TlsError::NoKey { path: key.to_owned() }),
            Err(e) => return Err(pem_error(key, e)),
        };
        let rejected = |reason: String| TlsError::Rejected {
            cert: cert.to_owned(),
            key: key.to_owned(),
            reason,
        };
        let mut server = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| rejected(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|e| match e {
                rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                    rejected("the private key is not the certificate's (the first in the file)".to_owned())
                }
                e => rejected(e.to_string()),
            })?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            server: Arc::new(server),
        })
    }
}

/// Serves `app` over TLS on `listener` until `cancel` fires.
pub(crate) async fn serve_tls(
    listener: TcpListener,
    app: Router,
    tls: TlsConfig,
    cancel: CancellationToken,
) -> io::Result<()> {
    let acceptor = TlsAcceptor::from(tls.server);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, _) = match accepted {
            Ok(got) => got,
            Err(e) => {
                warn!(error = %e, "API accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        connections.spawn(serve_connection(
            tcp,
            acceptor.clone(),
            app.clone(),
            builder.clone(),
            cancel.clone(),
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

/// One connection: the handshake, then HTTP until the peer closes or
/// `cancel` asks for a graceful close.
async fn serve_connection(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    app: Router,
    builder: auto::Builder<TokioExecutor>,
    cancel: CancellationToken,
) {
    let peer = tcp.peer_addr().ok();
    let handshake = tokio::select! {
        () = cancel.cancelled() => return,
        done = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => done,
    };
    let stream = match handshake {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            debug!(?peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            debug!(?peer, "TLS handshake timed out");
            return;
        }
    };
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
