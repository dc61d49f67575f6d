//! Starting a Spate server for workloads that must own it (W7 kills and restarts it). The
//! child is ended by its own PID when dropped, and its data directory is removed by
//! [`TempDir`]'s drop, so a failed run leaves nothing behind.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};

/// How long a server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Spawned {
    child: Child,
    pub addr: SocketAddr,
    pub pid: u32,
    /// From spawn to the `listening on` line.
    pub time_to_listen: Duration,
}

impl Spawned {
    /// Starts `spate serve` on 127.0.0.1:0 over `data_dir`, pinned to `cpus` when given and
    /// `taskset` exists.
    pub fn spate(
        bin: &Path,
        data_dir: &Path,
        durability: &str,
        cpus: Option<&str>,
    ) -> anyhow::Result<Spawned> {
        let mut command = match cpus.filter(|_| Path::new("/usr/bin/taskset").exists()) {
            Some(cpus) => {
                let mut c = Command::new("/usr/bin/taskset");
                c.arg("-c").arg(cpus).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--durability",
                durability,
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no stdout from the server"))?;
        let (sender, receiver) = mpsc::channel();
        // Reads the address, then keeps draining so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sender = Some(sender);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on http://")
                    && let Some(sender) = sender.take()
                {
                    let _ = sender.send(addr.trim().to_owned());
                }
            }
        });
        let mut spawned = Spawned {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            pid,
            time_to_listen: Duration::ZERO,
        };
        let addr = receiver
            .recv_timeout(START_TIMEOUT)
            .map_err(|_| anyhow!("the server did not print its address"))?;
        spawned.time_to_listen = started.elapsed();
        spawned.addr = addr
            .parse()
            .with_context(|| format!("server address {addr:?}"))?;
        Ok(spawned)
    }

    /// `kill -9`, and reaps it.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill().context("killing the server")?;
        self.child.wait().context("reaping the server")?;
        Ok(())
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A directory of our own, removed when dropped.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(parent: &Path, label: &str) -> anyhow::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = parent.join(format!(
            "spate-bench-{label}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dir_is_removed_on_drop() {
        let dir = TempDir::new(&std::env::temp_dir(), "test").unwrap();
        let path = dir.path.clone();
        std::fs::write(path.join("f"), b"x").unwrap();
        drop(dir);
        assert!(!path.exists());
    }
}
