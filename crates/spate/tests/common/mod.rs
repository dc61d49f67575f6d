//! Helpers for black-box tests: run the real `spate` binary on 127.0.0.1:0 and talk to it
//! with the official AWS SDK.

#![allow(dead_code)] // each test binary uses a different subset

pub mod efo;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};

/// A `spate serve` child process, killed when dropped.
pub struct Spate {
    pub child: Child,
    pub addr: SocketAddr,
    /// The TLS listener's address, when started with `--tls-listen`.
    pub tls_addr: Option<SocketAddr>,
    /// The self-signed certificate's PEM file, when started with `--tls-self-signed`.
    pub tls_cert: Option<std::path::PathBuf>,
}

/// The start-up lines tests care about.
enum Printed {
    Http(SocketAddr),
    Https(SocketAddr),
    Certificate(std::path::PathBuf),
}

impl Spate {
    /// Starts the binary with `args` after `serve --listen 127.0.0.1:0` and waits (with a
    /// deadline) for it to print its address.
    pub fn start(args: &[&str]) -> Spate {
        Spate::start_with_env(args, &[])
    }

    /// [`Spate::start`] with extra environment variables (`SPATE_*` settings).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Spate {
        let mut child = Command::new(env!("CARGO_BIN_EXE_spate"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("SPATE_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn spate");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let printed = if let Some(addr) = line.strip_prefix("listening on http://") {
                    Printed::Http(addr.parse().expect("address"))
                } else if let Some(addr) = line.strip_prefix("listening on https://") {
                    Printed::Https(addr.parse().expect("address"))
                } else if line.starts_with("tls certificate") {
                    let (_, path) = line.rsplit_once(": ").expect("a path");
                    Printed::Certificate(path.into())
                } else {
                    continue;
                };
                let _ = tx.send(printed);
            }
        });
        let wants_tls = args.contains(&"--tls-listen");
        let (mut addr, mut tls_addr, mut tls_cert) = (None, None, None);
        while addr.is_none() || (wants_tls && tls_addr.is_none()) {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(Printed::Http(a)) => addr = Some(a),
                Ok(Printed::Https(a)) => tls_addr = Some(a),
                Ok(Printed::Certificate(path)) => tls_cert = Some(path),
                Err(_) => panic!("spate did not print its addresses in time"),
            }
        }
        Spate {
            child,
            addr: addr.expect("address"),
            tls_addr,
            tls_cert,
        }
    }

    pub fn in_memory() -> Spate {
        Spate::start(&["--in-memory"])
    }

    pub fn on_disk(dir: &Path, extra: &[&str]) -> Spate {
        let mut args = vec!["--data-dir", dir.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        Spate::start(&args)
    }

    pub fn client(&self) -> Client {
        client(self.addr)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: no shutdown work at all.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait (with a deadline) for a clean exit.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "spate exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("spate did not stop within 30 s of SIGTERM");
    }
}

impl Drop for Spate {
    fn drop(&mut self) {
        let running = matches!(self.child.try_wait(), Ok(None));
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A server that keeps nothing on disk writes its self-signed certificate to the
        // temporary directory and removes it at a clean stop, which a kill skips.
        if running
            && let Some(cert) = &self.tls_cert
            && cert.starts_with(std::env::temp_dir())
        {
            let _ = std::fs::remove_file(cert);
        }
    }
}

pub fn client(addr: SocketAddr) -> Client {
    Client::from_conf(config(addr).build())
}

/// A client that reports throttling instead of retrying it (the SDK retries
/// ProvisionedThroughputExceeded, LimitExceeded and 500s by default).
pub fn client_without_retries(addr: SocketAddr) -> Client {
    let config = config(addr)
        .retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

fn config(addr: SocketAddr) -> aws_sdk_kinesis::config::Builder {
    aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(format!("http://{addr}"))
}

/// Polls `check` until it returns `Some`, failing after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "condition not reached within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The AWS error code of a failed SDK call.
pub fn code<E, R>(
    result: Result<impl std::fmt::Debug, aws_sdk_kinesis::error::SdkError<E, R>>,
) -> String
where
    E: aws_sdk_kinesis::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    use aws_sdk_kinesis::error::ProvideErrorMetadata;
    let error = result.expect_err("call should fail");
    error
        .code()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no error code in {error:?}"))
}

pub async fn create_active(client: &Client, name: &str, shards: i32) {
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .expect("create");
    eventually(Duration::from_secs(10), || async {
        let d = client
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .ok()?;
        let status = d.stream_description_summary()?.stream_status().clone();
        (status == aws_sdk_kinesis::types::StreamStatus::Active).then_some(())
    })
    .await;
}

/// A plain HTTP/1.1 GET: status and body.
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a full reply");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, body.to_owned())
}

/// The server's `/metrics` text.
pub fn scrape(spate: &Spate) -> String {
    let (status, body) = get(spate.addr, "/metrics");
    assert_eq!(status, 200);
    body
}

/// The value of the series `name` whose labels include every one of `labels`
/// (`key="value"` each), or `None` if there is no such series.
pub fn metric_value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .find(|line| labels.iter().all(|l| line.contains(l)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
