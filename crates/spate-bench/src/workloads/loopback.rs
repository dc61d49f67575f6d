//! W3's yardstick: one TCP connection over loopback reading what `spate-bench blast` sends as
//! fast as it can, with the same pinning as the servers (sender on the server core, reader
//! on the load generator's). It plays iperf3's part without needing it installed.

use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use super::{Common, parse_seconds};
use crate::report::round2;

#[derive(clap::Args, Debug)]
pub struct LoopbackArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, value_parser = parse_seconds, default_value = "3")]
    pub duration: Duration,
    #[arg(long, value_parser = parse_seconds, default_value = "0.5")]
    pub warmup: Duration,
}

pub async fn run(args: LoopbackArgs) -> anyhow::Result<()> {
    let mut tcp = tokio::net::TcpStream::connect(args.common.endpoint).await?;
    let mut buffer = vec![0u8; 1 << 20];
    let started = Instant::now();
    while started.elapsed() < args.warmup {
        if tcp.read(&mut buffer).await? == 0 {
            anyhow::bail!("the blast server closed the connection");
        }
    }
    let measured = Instant::now();
    let mut bytes = 0u64;
    while measured.elapsed() < args.duration {
        let read = tcp.read(&mut buffer).await?;
        if read == 0 {
            anyhow::bail!("the blast server closed the connection");
        }
        bytes += read as u64;
    }
    let secs = measured.elapsed().as_secs_f64();
    let mut report = args.common.report("loopback");
    report.set("seconds", round2(secs));
    report.set("mb_per_s", round2(bytes as f64 / secs / 1e6));
    report.finish(args.common.json_out.as_deref())
}
