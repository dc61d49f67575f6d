//! Per-shard throughput budgets: one small mutex per side (writes, reads) of each shard, found
//! through a map that is only write-locked when a shard is metered for the first time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use spate_log::ShardKey;

use crate::limits::bucket::TokenBucket;

const MIB: u64 = 1 << 20;

/// Writes: 1 MiB/s of data plus partition keys, burst 1 MiB (one second's worth).
pub const WRITE_BYTES_PER_SEC: u64 = MIB;
pub const WRITE_BYTES_BURST: u64 = MIB;
/// Writes: 1,000 records/s, burst 1,000.
pub const WRITE_RECORDS_PER_SEC: u64 = 1_000;
pub const WRITE_RECORDS_BURST: u64 = 1_000;
/// GetRecords: 5 calls/s, burst 5.
pub const READ_CALLS_PER_SEC: u64 = 5;
pub const READ_CALLS_BURST: u64 = 5;
/// GetRecords: 2 MiB/s, charged after each response. No stored burst: a call is admitted
/// when earlier responses are paid for, so one response may be as large as a call allows
/// (10 MiB), and a 10 MiB response holds the shard's reads back for 5 s, as AWS documents.
pub const READ_BYTES_PER_SEC: u64 = 2 * MIB;
pub const READ_BYTES_BURST: u64 = 0;
/// GetShardIterator: 5 calls/s per shard, burst 5.
pub const ITERATORS_PER_SEC: u64 = 5;
pub const ITERATORS_BURST: u64 = 5;

/// A meter idle this long has refilled completely (the deepest debt, a 10 MiB record on a
/// 1 MiB/s shard, is repaid in 9 s), so dropping it is indistinguishable from keeping it.
const IDLE_MS: i64 = 60_000;
/// Idle meters are swept when the map grows past this many, and then past twice what is left.
const FIRST_SWEEP_AT: usize = 1_024;

struct WriteBudget {
    bytes: TokenBucket,
    records: TokenBucket,
}

struct ReadBudget {
    calls: TokenBucket,
    bytes: TokenBucket,
    iterators: TokenBucket,
}

/// One shard's budgets. Writers and readers take different mutexes, each held for a few
/// arithmetic operations.
pub struct ShardMeter {
    write: Mutex<WriteBudget>,
    read: Mutex<ReadBudget>,
    /// When the meter was last used (ms), so idle meters can be swept.
    last_used_ms: AtomicI64,
}

impl ShardMeter {
    fn new(now_ms: i64) -> ShardMeter {
        ShardMeter {
            write: Mutex::new(WriteBudget {
                bytes: TokenBucket::full(WRITE_BYTES_PER_SEC, WRITE_BYTES_BURST, now_ms),
                records: TokenBucket::full(WRITE_RECORDS_PER_SEC, WRITE_RECORDS_BURST, now_ms),
            }),
            read: Mutex::new(ReadBudget {
                calls: TokenBucket::full(READ_CALLS_PER_SEC, READ_CALLS_BURST, now_ms),
                bytes: TokenBucket::full(READ_BYTES_PER_SEC, READ_BYTES_BURST, now_ms),
                iterators: TokenBucket::full(ITERATORS_PER_SEC, ITERATORS_BURST, now_ms),
            }),
            last_used_ms: AtomicI64::new(now_ms),
        }
    }

    /// Admits one record of `bytes` (data plus partition key): both budgets or neither.
    pub fn admit_write(&self, bytes: usize, now_ms: i64) -> bool {
        let mut write = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = bytes as u64;
        if write.records.allows(1, now_ms) && write.bytes.allows(bytes, now_ms) {
            write.records.try_take(1, now_ms);
            write.bytes.try_take(bytes, now_ms);
            true
        } else {
            false
        }
    }

    /// Admits one GetRecords call, unless earlier responses are still being paid for.
    pub fn admit_read(&self, now_ms: i64) -> bool {
        let mut read = self.read.lock().unwrap_or_else(|p| p.into_inner());
        !read.bytes.in_debt(now_ms) && read.calls.try_take(1, now_ms)
    }

    /// Charges a GetRecords response of `bytes` to the shard's read budget.
    pub fn charge_read(&self, bytes: usize, now_ms: i64) {
        let mut read = self.read.lock().unwrap_or_else(|p| p.into_inner());
        read.bytes.charge(bytes as u64, now_ms);
    }

    /// Admits one GetShardIterator call.
    pub fn admit_iterator(&self, now_ms: i64) -> bool {
        let mut read = self.read.lock().unwrap_or_else(|p| p.into_inner());
        read.iterators.try_take(1, now_ms)
    }
}

/// Every metered shard's budgets.
pub struct ShardMeters {
    meters: RwLock<HashMap<ShardKey, Arc<ShardMeter>>>,
    sweep_at: AtomicUsize,
}

impl Default for ShardMeters {
    fn default() -> ShardMeters {
        ShardMeters {
            meters: RwLock::default(),
            sweep_at: AtomicUsize::new(FIRST_SWEEP_AT),
        }
    }
}

impl ShardMeters {
    /// The shard's meter, created full on first use.
    pub fn get(&self, shard: ShardKey, now_ms: i64) -> Arc<ShardMeter> {
        let found = self
            .meters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&shard)
            .cloned();
        let meter = found.unwrap_or_else(|| {
            let mut meters = self.meters.write().unwrap_or_else(|p| p.into_inner());
            if meters.len() >= self.sweep_at.load(Ordering::Relaxed) {
                meters.retain(|_, m| now_ms - m.last_used_ms.load(Ordering::Relaxed) < IDLE_MS);
                self.sweep_at
                    .store((meters.len() * 2).max(FIRST_SWEEP_AT), Ordering::Relaxed);
            }
            meters
                .entry(shard)
                .or_insert_with(|| Arc::new(ShardMeter::new(now_ms)))
                .clone()
        });
        meter.last_used_ms.fetch_max(now_ms, Ordering::Relaxed);
        meter
    }

    #[cfg(test)]
    fn metered(&self) -> usize {
        self.meters.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(shard: u32) -> ShardKey {
        ShardKey { stream: 1, shard }
    }

    #[test]
    fn writes_stop_at_a_thousand_records_or_a_mebibyte() {
        let meters = ShardMeters::default();
        let meter = meters.get(key(0), 0);
        for _ in 0..1_000 {
            assert!(meter.admit_write(10, 0));
        }
        assert!(!meter.admit_write(10, 0));
        // Another shard has its own budget: 100 records of 10 KiB fill a mebibyte.
        let other = meters.get(key(1), 0);
        for _ in 0..102 {
            assert!(other.admit_write(10_240, 0));
        }
        assert!(!other.admit_write(10_240, 0));
        // A refused record took nothing: a small one still fits.
        assert!(other.admit_write(100, 0));
        // 100 ms later, 10% of both budgets is back.
        assert!(other.admit_write(10_240, 100));
    }

    #[test]
    fn a_ten_mebibyte_response_blocks_reads_for_five_seconds() {
        let meter = ShardMeter::new(0);
        assert!(meter.admit_read(0));
        meter.charge_read(10 << 20, 0);
        assert!(!meter.admit_read(4_999));
        assert!(meter.admit_read(5_000));
    }

    #[test]
    fn reads_stop_after_five_calls_in_a_second() {
        let meter = ShardMeter::new(0);
        for _ in 0..5 {
            assert!(meter.admit_read(0));
        }
        assert!(!meter.admit_read(0));
        assert!(meter.admit_read(200));
        for _ in 0..5 {
            assert!(meter.admit_iterator(0));
        }
        assert!(!meter.admit_iterator(0));
    }

    #[test]
    fn idle_meters_are_swept_and_busy_ones_kept() {
        let meters = ShardMeters::default();
        let busy = meters.get(key(0), 0);
        assert!(busy.admit_write(1 << 20, 0));
        for shard in 1..FIRST_SWEEP_AT as u32 {
            meters.get(key(shard), 0);
        }
        meters.get(key(0), IDLE_MS);
        meters.get(key(FIRST_SWEEP_AT as u32), IDLE_MS);
        assert_eq!(meters.metered(), 2);
        // The kept meter is the same one, still spent (refilled only by elapsed time).
        assert!(Arc::ptr_eq(&busy, &meters.get(key(0), IDLE_MS)));
    }
}
