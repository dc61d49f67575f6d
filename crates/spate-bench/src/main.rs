//! `spate-bench`: the load generator and benchmark workloads of issue 5, usable against any
//! Kinesis endpoint on this machine (Spate, kinesalite, or the built-in echo server).
//!
//! It is not a test: nothing here gates CI on a time, and only the unit tests run with
//! `cargo test`. `bench/compare.sh` drives it; `docs/benchmarks.md` has the results.
//!
//! Layout: `loadgen` is the open/closed-loop engine over `conn` (HTTP/1.1 through the small
//! `http1` client, or HTTP/2 through hyper) sending bodies from `kinesis`; `replies` reads
//! what comes back, `verify` reads a sample back; `procfs` reads CPU, memory and disk
//! flushes; `report` prints and writes JSON lines, which `summarize` turns into per-round
//! ratios. `workloads/` has one file per workload shape, `echo` the HTTP ceiling and the
//! loopback sender, `spawn` a Spate child for W7.

mod api;
mod conn;
mod echo;
mod http1;
mod kinesis;
mod loadgen;
mod procfs;
mod replies;
mod report;
mod sequence;
mod spawn;
mod subscribe;
mod summarize;
mod verify;
mod workloads;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, Subcommand};

use workloads::{catchup, loopback, parse_seconds, put, recovery, shards, visibility};

#[derive(Parser, Debug)]
#[command(
    name = "spate-bench",
    version,
    about = "Load generator and benchmark workloads for Kinesis endpoints"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write load: W1, W2 (JSON/CBOR), W5's many-shard and many-stream loads; W6 is these
    /// against servers of different durability.
    Run(put::RunArgs),
    /// W3: GetRecords catch-up of one shard (optionally filling it first).
    Catchup(catchup::CatchupArgs),
    /// W4: put → consumer-visible latency at a fixed rate, via GetRecords polling.
    Visibility(visibility::VisibilityArgs),
    /// W5: CreateStream(1,000 shards) time, ListShards time, memory per shard.
    Shards(shards::ShardsArgs),
    /// W7: write, kill -9, restart, time to serve, check every acknowledged record.
    Recovery(recovery::RecoveryArgs),
    /// W3's yardstick: loopback TCP bandwidth from a `blast` server.
    Loopback(loopback::LoopbackArgs),
    /// The HTTP ceiling: drains bodies, answers a fixed PutRecord-shaped reply.
    Echo(ServerArgs),
    /// Sends bytes to every connection as fast as it can (for `loopback`).
    Blast(ServerArgs),
    /// Per-round ratios, medians and ranges from JSON lines.
    Summarize(summarize::SummarizeArgs),
}

#[derive(clap::Args, Debug)]
struct ServerArgs {
    #[arg(long, value_parser = workloads::parse_loopback, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Stop by itself after this long.
    #[arg(long, value_parser = parse_seconds, default_value = "3600")]
    exit_after: Duration,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        // Servers get a multi-threaded runtime like Spate's (one worker per CPU they may use).
        Command::Echo(args) => multi_threaded()?.block_on(async {
            let listener = echo::bind(args.listen).await?;
            announce(listener.local_addr()?)?;
            echo::serve(listener, args.exit_after, Duration::ZERO).await
        }),
        Command::Blast(args) => multi_threaded()?.block_on(async {
            let listener = echo::bind(args.listen).await?;
            announce(listener.local_addr()?)?;
            echo::blast(listener, args.exit_after).await
        }),
        Command::Summarize(args) => summarize::run(args),
        // The load generator is one thread: it is pinned to one core, and one thread there
        // costs the least per request.
        command => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async move {
                match command {
                    Command::Run(args) => put::run(args).await,
                    Command::Catchup(args) => catchup::run(args).await,
                    Command::Visibility(args) => visibility::run(args).await,
                    Command::Shards(args) => shards::run(args).await,
                    Command::Recovery(args) => recovery::run(args).await,
                    Command::Loopback(args) => loopback::run(args).await,
                    Command::Echo(_) | Command::Blast(_) | Command::Summarize(_) => Ok(()),
                }
            }),
    }
}

fn multi_threaded() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// The line scripts read to learn the port, as Spate prints it.
fn announce(addr: SocketAddr) -> std::io::Result<()> {
    println!("listening on http://{addr}");
    std::io::stdout().flush()
}
