//! `spate serve` settings, layered: defaults < TOML file (`--config`) < `SPATE_*`
//! environment variables < command-line flags. Errors name the layer that was wrong.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use spate_engine::FaultRules;

/// Flags of `spate serve`. Every one is optional here so that an absent flag does not mask a
/// value from the file or the environment; defaults live in [`Settings::default`].
#[derive(Args, Debug, Default, Serialize)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (snake_case keys, e.g. `data_dir`).
    #[arg(long)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on (HTTP/1.1 and HTTP/2 cleartext). Port 0 picks a free port.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Where streams and records are kept.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Keep everything in memory; nothing is written to disk (for tests).
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_memory: bool,
    /// Region in ARNs and of unsigned-region requests.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// 12-digit account id in ARNs.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// When a write is acknowledged: `fsync` (after fdatasync of its group), `interval`
    /// (after write; synced every --fsync-interval-ms) or `none` (after write).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub durability: Option<String>,
    /// Sync period for `--durability interval`.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fsync_interval_ms: Option<u64>,
    /// Open shards allowed per account and region.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_limit: Option<u32>,
    /// On-demand streams allowed per account and region.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_stream_limit: Option<u32>,
    /// Enforce AWS's limits: per-shard write and read throughput, control-plane rates and
    /// UpdateShardCount's daily quota (see docs/operations.md). `[stream_limits.NAME]` in
    /// the config file turns them on or off for one stream.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enforce_limits: bool,
    /// Serve the admin endpoint (fault injection rules) under /_spate/ on the same port.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
    /// `none`: signatures are not checked (any credentials work). `sigv4`: every request's
    /// SigV4 signature is verified against `--credentials`, whose entries name the account
    /// each key acts for.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// TOML file of `[[credentials]]` (access_key_id, secret_access_key, account_id, and
    /// optionally user and policies: see docs/operations.md).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<PathBuf>,
    /// TOML file of `[[keys]]` that StartStreamEncryption's KeyId may name (see
    /// docs/operations.md). Read at start-up.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_file: Option<PathBuf>,
    /// Log lines as `text` (human-readable) or `json` (one object per line). Either way a
    /// request's lines carry its `request_id`. `SPATE_LOG` sets the filter (default `info`).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    /// How long a new stream stays CREATING.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_stream_ms: Option<u64>,
    /// How long a deleted stream stays DELETING.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_stream_ms: Option<u64>,
    /// How long a changed stream stays UPDATING.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_stream_ms: Option<u64>,
    /// How long a registered consumer stays CREATING.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register_consumer_ms: Option<u64>,
    /// How long a deregistered consumer stays DELETING.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deregister_consumer_ms: Option<u64>,
    /// Also serve TLS (ALPN h2 and http/1.1) on this address. Port 0 picks a free port.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_listen: Option<SocketAddr>,
    /// PEM certificate chain for --tls-listen.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-listen.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// Generate a self-signed certificate for localhost at start-up instead; its PEM file
    /// and fingerprint are printed.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_self_signed: bool,
    /// Test only: how long a SubscribeToShard stream lasts (AWS: 300000).
    #[arg(long, hide = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_lifetime_ms: Option<u64>,
    /// Test only: how soon a second SubscribeToShard may take over (AWS: 5000).
    #[arg(long, hide = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_takeover_ms: Option<u64>,
    /// Test only: shard iterator lifetime (AWS: 300000).
    #[arg(long, hide = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterator_ttl_ms: Option<u64>,
    /// Test only: length of one retention hour (AWS: 3600000).
    #[arg(long, hide = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_hour_ms: Option<u64>,
    /// How often on-demand streams' write rates are checked for scaling out (0: never).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_scale_interval_ms: Option<u64>,
    /// Per-shard write rate, in bytes per second, above which an on-demand stream splits
    /// the shard once it has lasted two checks.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_shard_write_bytes: Option<u64>,
    /// Per-shard write rate, in records per second, with the same role.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_shard_write_records: Option<u64>,
    /// Test only: how often expired records are swept from disk.
    #[arg(long, hide = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_sweep_ms: Option<u64>,
    /// Test only: journal segment size in bytes.
    #[arg(long, hide = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_bytes: Option<u64>,
}

/// Every setting's key, as written in the TOML file and (upper-cased) after `SPATE_`.
const SETTINGS: &[&str] = &[
    "listen",
    "data_dir",
    "in_memory",
    "region",
    "account_id",
    "durability",
    "fsync_interval_ms",
    "shard_limit",
    "on_demand_stream_limit",
    "enforce_limits",
    "stream_limits",
    "admin",
    "auth",
    "credentials",
    "kms_key_file",
    "log_format",
    "faults",
    "create_stream_ms",
    "delete_stream_ms",
    "update_stream_ms",
    "register_consumer_ms",
    "deregister_consumer_ms",
    "tls_listen",
    "tls_cert",
    "tls_key",
    "tls_self_signed",
    "subscription_lifetime_ms",
    "subscription_takeover_ms",
    "iterator_ttl_ms",
    "retention_hour_ms",
    "retention_sweep_ms",
    "segment_bytes",
    "on_demand_scale_interval_ms",
    "on_demand_shard_write_bytes",
    "on_demand_shard_write_records",
];

/// `[stream_limits.NAME]`: whether AWS's per-shard and per-stream limits apply to the
/// stream NAME, whatever `enforce_limits` says.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StreamLimits {
    pub enforce: bool,
}

/// The resolved settings.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub in_memory: bool,
    pub region: String,
    pub account_id: String,
    pub durability: String,
    pub fsync_interval_ms: u64,
    pub shard_limit: u32,
    pub on_demand_stream_limit: u32,
    pub enforce_limits: bool,
    /// Per-stream exceptions to `enforce_limits`, by stream name (config file only).
    pub stream_limits: BTreeMap<String, StreamLimits>,
    pub admin: bool,
    pub auth: String,
    pub credentials: Option<PathBuf>,
    pub kms_key_file: Option<PathBuf>,
    pub log_format: String,
    /// Fault injection rules from the start, by operation name or `*` (config file only).
    pub faults: FaultRules,
    pub create_stream_ms: u64,
    pub delete_stream_ms: u64,
    pub update_stream_ms: u64,
    pub register_consumer_ms: u64,
    pub deregister_consumer_ms: u64,
    pub tls_listen: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_self_signed: bool,
    pub subscription_lifetime_ms: u64,
    pub subscription_takeover_ms: u64,
    pub iterator_ttl_ms: u64,
    pub retention_hour_ms: u64,
    pub retention_sweep_ms: u64,
    pub segment_bytes: u64,
    pub on_demand_scale_interval_ms: u64,
    pub on_demand_shard_write_bytes: u64,
    pub on_demand_shard_write_records: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 4567)),
            data_dir: PathBuf::from("./spate-data"),
            in_memory: false,
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            durability: "fsync".to_owned(),
            fsync_interval_ms: 100,
            shard_limit: 20_000,
            on_demand_stream_limit: 50,
            enforce_limits: false,
            stream_limits: BTreeMap::new(),
            admin: false,
            auth: "none".to_owned(),
            credentials: None,
            kms_key_file: None,
            log_format: "text".to_owned(),
            faults: FaultRules::new(),
            create_stream_ms: 0,
            delete_stream_ms: 0,
            update_stream_ms: 0,
            register_consumer_ms: 0,
            deregister_consumer_ms: 0,
            tls_listen: None,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            subscription_lifetime_ms: 300_000,
            subscription_takeover_ms: 5_000,
            iterator_ttl_ms: 300_000,
            retention_hour_ms: 3_600_000,
            retention_sweep_ms: 60_000,
            segment_bytes: 64 << 20,
            on_demand_scale_interval_ms: 30_000,
            on_demand_shard_write_bytes: 1 << 20,
            on_demand_shard_write_records: 1_000,
        }
    }
}

impl Settings {
    pub fn load(args: &ServeArgs) -> anyhow::Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = &args.config {
            if !path.exists() {
                bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        let settings: Settings = figment
            // Only settings: other SPATE_* variables (SPATE_LOG, a script's SPATE_BIN) are
            // not ours to reject.
            // The filter sees the name as written (upper case), so compare without case.
            .merge(Env::prefixed("SPATE_").filter(|key| {
                SETTINGS
                    .iter()
                    .any(|setting| key.as_str().eq_ignore_ascii_case(setting))
            }))
            .merge(Serialized::defaults(args))
            .extract()
            .context("invalid setting")?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.account_id.len() != 12 || !self.account_id.bytes().all(|b| b.is_ascii_digit()) {
            bail!("account_id must be 12 digits, got {:?}", self.account_id);
        }
        if self.region.is_empty() {
            bail!("region must not be empty");
        }
        self.durability()?;
        self.authenticator()?;
        let has_pem = self.tls_cert.is_some() || self.tls_key.is_some();
        match (self.tls_listen, has_pem, self.tls_self_signed) {
            (None, false, false) => {}
            (None, _, _) => bail!("tls_cert, tls_key and tls_self_signed need tls_listen"),
            (Some(_), true, true) => {
                bail!("give tls_cert and tls_key, or tls_self_signed, not both")
            }
            (Some(_), false, false) => {
                bail!("tls_listen needs tls_cert and tls_key, or tls_self_signed")
            }
            (Some(_), true, false) if self.tls_cert.is_none() || self.tls_key.is_none() => {
                bail!("tls_cert and tls_key go together")
            }
            (Some(_), _, _) => {}
        }
        spate_server::check_fault_rules(&self.faults)
            .map_err(|message| anyhow::anyhow!("faults: {message}"))?;
        Ok(())
    }

    /// Whether log lines are JSON objects (`--log-format json`) rather than text.
    pub fn json_logs(&self) -> anyhow::Result<bool> {
        match self.log_format.as_str() {
            "text" => Ok(false),
            "json" => Ok(true),
            other => bail!("log_format must be `text` or `json`, not `{other}`"),
        }
    }

    pub fn durability(&self) -> anyhow::Result<spate_log::Durability> {
        Ok(match self.durability.as_str() {
            "fsync" => spate_log::Durability::Fsync,
            "interval" => {
                spate_log::Durability::Interval(Duration::from_millis(self.fsync_interval_ms))
            }
            "none" => spate_log::Durability::None,
            other => bail!("durability must be fsync, interval or none, got {other:?}"),
        })
    }
}

impl Settings {
    /// How requests are authenticated. Errors never quote a secret.
    pub fn authenticator(&self) -> anyhow::Result<spate_server::Authenticator> {
        match self.auth.as_str() {
            "none" => Ok(spate_server::Authenticator::Off),
            "sigv4" => {
                let Some(path) = &self.credentials else {
                    bail!("auth = \"sigv4\" needs a credentials file (--credentials FILE)");
                };
                let credentials = crate::credentials::load(path)?;
                Ok(spate_server::Authenticator::SigV4 {
                    verifier: spate_auth::Verifier::new(credentials.secrets),
                    principals: credentials.principals,
                })
            }
            other => bail!("auth must be none or sigv4, got {other:?}"),
        }
    }
}
