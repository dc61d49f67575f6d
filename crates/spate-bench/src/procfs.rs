//! What /proc says about a process (CPU time, resident memory) and about the disks (flush
//! requests, which is what an fdatasync becomes on a disk with a volatile write cache).

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

/// Clock ticks per second for /proc/PID/stat's utime and stime.
fn clock_ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .filter(|ticks| *ticks > 0)
            .unwrap_or(100)
    })
}

/// User plus system CPU time a process has used, dead threads included.
pub fn cpu_time(pid: u32) -> io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks = parse_cpu_ticks(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable /proc stat"))?;
    let per_second = clock_ticks_per_second();
    Ok(Duration::from_micros(ticks * 1_000_000 / per_second))
}

/// utime + stime, fields 14 and 15; the command name (field 2) may hold spaces and parens,
/// so fields are counted from the last ')'.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Resident set size in KiB.
pub fn rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS"))
}

/// Flush requests completed by all whole disks (field 16 of /proc/diskstats after the name;
/// kernels since 5.5). Counts every process on this machine, so it is an upper bound on the
/// server's fsyncs; `None` where the kernel does not report it.
pub fn disk_flushes() -> Option<u64> {
    let stats = std::fs::read_to_string("/proc/diskstats").ok()?;
    parse_flushes(&stats, |name| {
        std::path::Path::new("/sys/block").join(name).exists()
    })
}

fn parse_flushes(stats: &str, is_whole_disk: impl Fn(&str) -> bool) -> Option<u64> {
    let mut total = None;
    for line in stats.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(name) = fields.get(2) else { continue };
        if name.starts_with("loop")
            || name.starts_with("ram")
            || name.starts_with("zram")
            || !is_whole_disk(name)
        {
            continue;
        }
        if let Some(flushes) = fields.get(18).and_then(|f| f.parse::<u64>().ok()) {
            total = Some(total.unwrap_or(0) + flushes);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_skip_a_command_name_with_spaces() {
        let stat = "1234 (tokio (rt) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
    }

    #[test]
    fn flushes_count_whole_disks_only() {
        let stats = "   7  0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 9 9\n \
                     254  0 vda 1 2 3 4 5 6 7 8 0 10 11 12 13 14 15 13256 515\n \
                     254  1 vda1 1 2 3 4 5 6 7 8 0 10 11 12 13 14 15 100 5\n";
        assert_eq!(parse_flushes(stats, |name| name == "vda"), Some(13256));
    }

    #[test]
    fn own_process_is_readable() {
        let pid = std::process::id();
        assert!(rss_kib(pid).unwrap() > 0);
        assert!(cpu_time(pid).is_ok());
    }
}
