//! The KMS key ring at start-up: the key file's keys, and the master key from which
//! `alias/aws/kinesis` is derived when the file does not give that alias a key of its own.
//! The master key comes from `SPATE_KMS_MASTER_KEY`; without it, from a key generated once
//! and kept in the data directory (which cannot protect a stolen disk, so it is logged);
//! in memory, from a key that lives as long as the process.

use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use spate_engine::kms::{DEFAULT_ALIAS, KEY_LEN, KeyRing, generate_material, parse_key_file};

use crate::config::Settings;

/// Where the generated master key is kept, inside the data directory.
const MASTER_KEY_FILE: &str = "kms-master.key";
const MASTER_KEY_ENV: &str = "SPATE_KMS_MASTER_KEY";

pub fn key_ring(settings: &Settings) -> anyhow::Result<KeyRing> {
    let specs = match &settings.kms_key_file {
        Some(path) => {
            warn_if_shared(path);
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the KMS key file {}", path.display()))?;
            parse_key_file(&text)
                .map_err(|why| anyhow::anyhow!("KMS key file {}: {why}", path.display()))?
        }
        None => Vec::new(),
    };
    let pinned = specs
        .iter()
        .any(|s| s.aliases.iter().any(|a| a == DEFAULT_ALIAS));
    let master = match std::env::var(MASTER_KEY_ENV) {
        Ok(text) => decode(&text)
            .with_context(|| format!("{MASTER_KEY_ENV} must be {KEY_LEN} bytes in base64"))?,
        Err(std::env::VarError::NotUnicode(_)) => {
            bail!("{MASTER_KEY_ENV} must be {KEY_LEN} bytes in base64")
        }
        // The key file gives the alias its own key: no master is needed.
        Err(_) if pinned => generate_material(),
        Err(_) if settings.in_memory => generate_material(),
        Err(_) => stored_master(&settings.data_dir)?,
    };
    let ring = KeyRing::new(specs, &master).map_err(|why| anyhow::anyhow!("KMS keys: {why}"))?;
    tracing::info!(keys = ?ring, "KMS keys loaded");
    Ok(ring)
}

fn decode(text: &str) -> Option<[u8; KEY_LEN]> {
    let bytes = STANDARD.decode(text.trim()).ok()?;
    <[u8; KEY_LEN]>::try_from(bytes).ok()
}

/// The master key kept in the data directory, generated (mode 0600) on first use.
fn stored_master(data_dir: &Path) -> anyhow::Result<[u8; KEY_LEN]> {
    let path = data_dir.join(MASTER_KEY_FILE);
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path);
    match created {
        Ok(mut file) => {
            let master = generate_material();
            file.write_all(format!("{}\n", STANDARD.encode(master)).as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            tracing::warn!(
                path = %path.display(),
                "generated the master key of {DEFAULT_ALIAS} beside the data: encryption at rest then does not protect a stolen disk; set {MASTER_KEY_ENV} or give {DEFAULT_ALIAS} a key in --kms-key-file"
            );
            Ok(master)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            warn_if_shared(&path);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            tracing::info!(
                path = %path.display(),
                "the master key of {DEFAULT_ALIAS} is kept beside the data, which does not protect a stolen disk; set {MASTER_KEY_ENV} to keep it elsewhere"
            );
            decode(&text)
                .with_context(|| format!("{} must hold {KEY_LEN} bytes in base64", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

/// Key material readable by other users is worth a warning, not a refusal: the operator may
/// have reasons (a container's single user), but should know.
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "this file holds KMS key material and other users may read it; chmod 600 it"
        );
    }
}
