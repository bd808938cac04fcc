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

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

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
    /// The acceptor that runs the handshake of each connection.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.server))
    }

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
