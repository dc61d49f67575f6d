//! The `spate` binary: `spate serve` runs a Kinesis-compatible server; `spate tail STREAM`
//! follows a stream through enhanced fan-out, as any Kinesis consumer would.

mod allocator;
mod config;
mod credentials;
mod kms;
mod tail;
mod tls;

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use spate_engine::{Engine, EngineConfig, LimitsConfig, OnDemandScaling, SystemClock};
use spate_log::{Log, LogConfig};
use spate_meta::{MetaStore, RedbStore};
use spate_server::Server;

use crate::config::{ServeArgs, Settings};

/// Requests allocate per record (keys, data, replies) and free whole bodies; mimalloc's
/// thread-local free lists cost less than glibc's arenas on that pattern (measured with
/// `bench/callgrind.sh`, see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "spate",
    version,
    about = "A streaming data service that speaks the Amazon Kinesis Data Streams API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Print a stream's records as they arrive, from every shard, following resharding
    /// (an enhanced fan-out consumer of any Kinesis endpoint).
    Tail(tail::TailArgs),
}

fn main() -> anyhow::Result<()> {
    allocator::keep_freed_memory_longer();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let settings = Settings::load(&args)?;
            init_logging(settings.json_logs()?);
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?
                .block_on(serve(settings))
        }
        Command::Tail(args) => {
            init_logging(false);
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?
                .block_on(tail::run(args))
        }
    }
}

/// Logs to stderr, filtered by `SPATE_LOG` (default `info`), as text or one JSON object a
/// line. Request handling runs inside a span carrying the request id, so both forms show it.
fn init_logging(json: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SPATE_LOG").unwrap_or_else(|_| "info".into());
    // Colour only for a terminal: escape codes are noise in a log file, and colouring the
    // request id of every request's span costs about 3,000 instructions per request.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let (meta, log_dir): (Arc<dyn MetaStore>, _) = if settings.in_memory {
        (Arc::new(RedbStore::in_memory()?), None)
    } else {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
        let meta = RedbStore::open(&settings.data_dir.join("meta.redb"))
            .with_context(|| format!("opening metadata in {}", settings.data_dir.display()))?;
        (Arc::new(meta), Some(settings.data_dir.join("log")))
    };
    let log = Log::open(LogConfig {
        dir: log_dir,
        durability: settings.durability()?,
        segment_bytes: settings.segment_bytes,
        retention_sweep_interval: Duration::from_millis(settings.retention_sweep_ms),
        ..LogConfig::default()
    })
    .context("opening the record log")?;
    let engine = Engine::open(
        EngineConfig {
            region: settings.region.clone(),
            account_id: settings.account_id.clone(),
            shard_limit: settings.shard_limit,
            on_demand_stream_limit: settings.on_demand_stream_limit,
            limits: LimitsConfig {
                enforce: settings.enforce_limits,
                streams: settings
                    .stream_limits
                    .iter()
                    .map(|(name, limits)| (name.clone(), limits.enforce))
                    .collect(),
            },
            faults: settings.faults.clone(),
            create_stream_delay: Duration::from_millis(settings.create_stream_ms),
            delete_stream_delay: Duration::from_millis(settings.delete_stream_ms),
            update_stream_delay: Duration::from_millis(settings.update_stream_ms),
            register_consumer_delay: Duration::from_millis(settings.register_consumer_ms),
            deregister_consumer_delay: Duration::from_millis(settings.deregister_consumer_ms),
            subscription_lifetime: Duration::from_millis(settings.subscription_lifetime_ms),
            subscription_takeover: Duration::from_millis(settings.subscription_takeover_ms),
            subscription_heartbeat: EngineConfig::default().subscription_heartbeat,
            iterator_ttl: Duration::from_millis(settings.iterator_ttl_ms),
            retention_hour: Duration::from_millis(settings.retention_hour_ms),
            on_demand_scaling: OnDemandScaling {
                interval: Duration::from_millis(settings.on_demand_scale_interval_ms),
                shard_bytes_per_sec: settings.on_demand_shard_write_bytes,
                shard_records_per_sec: settings.on_demand_shard_write_records,
                ..OnDemandScaling::default()
            },
            kms: Arc::new(kms::key_ring(&settings)?),
        },
        meta,
        log,
        Arc::new(SystemClock),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
    .context("loading streams")?;
    let mut server = Server::bind(settings.listen, engine)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?
        .with_admin(settings.admin)
        .with_auth(settings.authenticator()?);
    if settings.admin {
        tracing::info!("admin endpoint enabled under /_spate/");
    }
    // Held until the server stops.
    let mut _temporary_pem = None;
    if let Some(tls_addr) = settings.tls_listen {
        let (config, pem) = tls::server_config(&settings)?;
        _temporary_pem = pem;
        server = server
            .bind_tls(tls_addr, config)
            .await
            .with_context(|| format!("listening on {tls_addr} (TLS)"))?;
    }
    let addr = server.local_addr()?;
    // Tests and scripts read these lines to learn the ports; they must be the real addresses.
    println!("listening on http://{addr}");
    if let Some(tls_addr) = server.tls_local_addr() {
        println!("listening on https://{}", tls_addr?);
    }
    std::io::stdout().flush()?;
    server.run(shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::error!(%error, "cannot watch SIGTERM");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
