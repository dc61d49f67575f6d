//! Counters the writer thread keeps for operators (exported as metrics by the server). Plain
//! relaxed atomics: each is read on its own, and a scrape that sees one a group ahead of
//! another is harmless.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds, in seconds, of the sync-latency buckets (a last bucket takes the rest).
pub const SYNC_SECONDS_BOUNDS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_2, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0,
];

/// Upper bounds, in records, of the group-size buckets (a last bucket takes the rest).
pub const GROUP_RECORDS_BOUNDS: [f64; 11] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

#[derive(Default)]
pub(crate) struct Stats {
    sync_nanos: AtomicU64,
    sync_buckets: [AtomicU64; SYNC_SECONDS_BOUNDS.len() + 1],
    group_records: AtomicU64,
    group_buckets: [AtomicU64; GROUP_RECORDS_BOUNDS.len() + 1],
    journal_bytes: AtomicU64,
    /// Mirrors the queue's `poisoned` flag, so readiness checks need not take the queue lock.
    poisoned: AtomicBool,
}

/// The bucket of `value`: the first whose bound is not below it, else the last.
fn bucket(bounds: &[f64], value: f64) -> usize {
    bounds.partition_point(|bound| *bound < value)
}

impl Stats {
    pub(crate) fn sync_done(&self, took: Duration) {
        self.sync_nanos
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
        let at = bucket(&SYNC_SECONDS_BOUNDS, took.as_secs_f64());
        self.sync_buckets[at].fetch_add(1, Ordering::Relaxed);
    }

    /// Records with no record in them (registrations, drops) are not counted.
    pub(crate) fn group_written(&self, records: usize, bytes: usize) {
        self.journal_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        if records == 0 {
            return;
        }
        self.group_records
            .fetch_add(records as u64, Ordering::Relaxed);
        let at = bucket(&GROUP_RECORDS_BOUNDS, records as f64);
        self.group_buckets[at].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn poisoned(&self) {
        self.poisoned.store(true, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> LogStats {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        LogStats {
            sync_time: Duration::from_nanos(load(&self.sync_nanos)),
            sync_buckets: self.sync_buckets.each_ref().map(load),
            group_records: load(&self.group_records),
            group_buckets: self.group_buckets.each_ref().map(load),
            journal_bytes: load(&self.journal_bytes),
            poisoned: self.poisoned.load(Ordering::Relaxed),
        }
    }
}

/// What the log has done since it opened, from [`crate::Log::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Time spent in journal `fdatasync` calls, in total.
    pub sync_time: Duration,
    /// How many syncs took at most each of [`SYNC_SECONDS_BOUNDS`] (and more than the
    /// previous one), then how many took longer than the last. Their sum is the sync count.
    pub sync_buckets: [u64; SYNC_SECONDS_BOUNDS.len() + 1],
    /// Records written by group commits, in total.
    pub group_records: u64,
    /// Group commits holding records, bucketed by record count over
    /// [`GROUP_RECORDS_BOUNDS`] the same way. Their sum is the number of such groups.
    pub group_buckets: [u64; GROUP_RECORDS_BOUNDS.len() + 1],
    /// Bytes appended to the journal.
    pub journal_bytes: u64,
    /// Whether a failed write or sync has made the log refuse writes.
    pub poisoned: bool,
}

impl LogStats {
    pub fn syncs(&self) -> u64 {
        self.sync_buckets.iter().sum()
    }

    pub fn groups(&self) -> u64 {
        self.group_buckets.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_the_first_bucket_that_holds_them() {
        let stats = Stats::default();
        stats.group_written(1, 10);
        stats.group_written(3, 10);
        stats.group_written(4, 10);
        stats.group_written(5000, 10);
        stats.group_written(0, 10);
        stats.sync_done(Duration::from_secs(2));
        let s = stats.snapshot();
        assert_eq!(&s.group_buckets[..4], &[1, 0, 2, 0]);
        assert_eq!(s.group_buckets[GROUP_RECORDS_BOUNDS.len()], 1);
        assert_eq!((s.groups(), s.group_records), (4, 5008));
        assert_eq!(s.journal_bytes, 50);
        assert_eq!(s.sync_buckets[SYNC_SECONDS_BOUNDS.len()], 1);
        assert_eq!(s.syncs(), 1);
    }
}
