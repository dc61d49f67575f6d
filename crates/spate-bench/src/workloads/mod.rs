//! The workloads of issue 5, one file each: W1, W2, W5's and W6's write loads are presets of
//! one put runner (`put`); W3 (`catchup`), W4 (`visibility`), W5's shard-count checks
//! (`shards`) and W7 (`recovery`) have their own shapes. `loopback` measures the TCP
//! bandwidth W3 is compared with.

pub mod catchup;
pub mod loopback;
pub mod put;
pub mod recovery;
pub mod shards;
pub mod visibility;

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::conn::Protocol;
use crate::report::{self, Report};

/// Options every measuring subcommand takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// The endpoint under test, e.g. 127.0.0.1:4567 (only loopback addresses are accepted).
    #[arg(long, value_parser = parse_loopback)]
    pub endpoint: SocketAddr,
    /// The server's PID, to report its CPU time per request (and memory where relevant).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// HTTP version: 1 (HTTP/1.1) or 2 (h2c, prior knowledge).
    #[arg(long, value_enum, default_value = "1")]
    pub http: Protocol,
    /// Label of this arm in the JSON line (e.g. `w1@spate`); the workload name by default.
    #[arg(long)]
    pub key: Option<String>,
    /// Round number in the JSON line, for `summarize` to pair arms.
    #[arg(long)]
    pub round: Option<u32>,
    /// Append the report as one JSON line to this file.
    #[arg(long)]
    pub json_out: Option<PathBuf>,
}

impl Common {
    pub fn report(&self, workload: &str) -> Report {
        let mut report = report::labelled(workload, self.key.as_deref(), self.round);
        report.set(
            "http",
            match self.http {
                Protocol::Http1 => "1.1",
                Protocol::Http2 => "2",
            },
        );
        report
    }
}

/// Benchmarks send traffic to this machine only.
pub fn parse_loopback(text: &str) -> Result<SocketAddr, String> {
    let text = text
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .replace("localhost", "127.0.0.1");
    let addr: SocketAddr = text
        .parse()
        .map_err(|e| format!("{text:?} is not an IP:port: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("{addr} is not a loopback address"));
    }
    Ok(addr)
}

/// A positive number of seconds.
pub fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text.parse().map_err(|e| format!("{text:?}: {e}"))?;
    if !(secs.is_finite() && (0.0..=24.0 * 3600.0).contains(&secs)) {
        return Err(format!("{text:?} is not a number of seconds up to a day"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// A byte count with an optional K/M/G (binary) suffix: `1GiB`, `700K`, `4096`.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let trimmed = lower.trim_end_matches('b').trim_end_matches('i');
    let (digits, shift) = match trimmed.chars().last() {
        Some('k') => (&trimmed[..trimmed.len() - 1], 10),
        Some('m') => (&trimmed[..trimmed.len() - 1], 20),
        Some('g') => (&trimmed[..trimmed.len() - 1], 30),
        _ => (trimmed, 0),
    };
    let value: u64 = digits
        .trim()
        .parse()
        .map_err(|e| format!("{text:?} is not a byte count: {e}"))?;
    value
        .checked_shl(shift)
        .filter(|v| v >> shift == value)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_loopback() {
        assert!(parse_loopback("127.0.0.1:4567").is_ok());
        assert!(parse_loopback("http://localhost:80/").is_ok());
        assert!(parse_loopback("[::1]:9").is_ok());
        assert!(parse_loopback("10.0.0.1:4567").is_err());
        assert!(parse_loopback("example.com:80").is_err());
    }

    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("700K"), Ok(700 << 10));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert!(parse_bytes("lots").is_err());
    }
}
