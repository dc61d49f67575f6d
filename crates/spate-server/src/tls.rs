//! TLS for the optional second listener: the KPL speaks only TLS, and the Rust SDK (like
//! other clients that can) negotiates HTTP/2 only through ALPN. The server offers `h2` and
//! `http/1.1`; after the handshake the connection is served exactly like a cleartext one.
//!
//! The certificate comes from PEM files, or is made at start-up (self-signed for
//! `localhost`, `127.0.0.1` and `::1`) for tests and local use. rustls runs on aws-lc-rs,
//! the provider the AWS SDK already builds, so the binary carries one crypto library.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// Why no TLS configuration could be made.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {reason}")]
    Pem { path: String, reason: String },
    #[error("{0} holds no certificate")]
    NoCertificate(String),
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("generating a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// A certificate made at start-up, with what a client needs to trust it.
pub struct SelfSigned {
    pub config: Arc<ServerConfig>,
    /// The certificate in PEM, for a client's trust store.
    pub cert_pem: String,
    /// SHA-256 of the DER certificate, colon-separated hex, for people comparing by eye.
    pub fingerprint: String,
}

/// A server configuration from a PEM certificate chain and a PEM private key.
pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let pem_error = |path: &Path, e: rustls_pki_types::pem::Error| TlsError::Pem {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| pem_error(cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert, e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(cert.display().to_string()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_error(key, e))?;
    server_config(chain, key_der)
}

/// A fresh self-signed certificate for the loopback names, and its configuration.
pub fn self_signed() -> Result<SelfSigned, TlsError> {
    let names = ["localhost", "127.0.0.1", "::1"]
        .map(str::to_owned)
        .to_vec();
    let certified = rcgen::generate_simple_self_signed(names)?;
    let der = certified.cert.der().clone();
    let fingerprint = Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let key = PrivateKeyDer::try_from(certified.signing_key.serialize_der())
        .map_err(|e| TlsError::Rustls(rustls::Error::General(e.to_owned())))?;
    Ok(SelfSigned {
        config: server_config(vec![der], key)?,
        cert_pem: certified.cert.pem(),
        fingerprint,
    })
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
