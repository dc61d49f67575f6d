//! The TLS listener's certificate, from `--tls-cert`/`--tls-key` or made at start-up with
//! `--tls-self-signed`, in which case its PEM is written to a file (so clients can trust it)
//! and the path and fingerprint are printed before the `listening on` lines.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::config::Settings;

/// The self-signed certificate's PEM in the temporary directory, for a server that keeps
/// nothing on disk: removed when this is dropped, as the server stops.
pub struct TempPem(PathBuf);

impl Drop for TempPem {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The TLS configuration, and the PEM file to remove at exit, if any.
pub fn server_config(
    settings: &Settings,
) -> anyhow::Result<(Arc<rustls::ServerConfig>, Option<TempPem>)> {
    if let (Some(cert), Some(key)) = (&settings.tls_cert, &settings.tls_key) {
        let config =
            spate_server::tls::from_pem_files(cert, key).context("loading the TLS certificate")?;
        return Ok((config, None));
    }
    let made = spate_server::tls::self_signed()?;
    let path = pem_path(settings);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, &made.cert_pem)
        .with_context(|| format!("writing the certificate to {}", path.display()))?;
    let temporary = settings.in_memory.then(|| TempPem(path.clone()));
    println!(
        "tls certificate (self-signed, SHA-256 {}): {}",
        made.fingerprint,
        path.display()
    );
    std::io::stdout().flush()?;
    Ok((made.config, temporary))
}

/// Beside the data, or in the temporary directory when nothing is kept on disk.
fn pem_path(settings: &Settings) -> PathBuf {
    if settings.in_memory {
        std::env::temp_dir().join(format!("spate-{}-self-signed.pem", std::process::id()))
    } else {
        settings.data_dir.join("tls").join("self-signed.pem")
    }
}
