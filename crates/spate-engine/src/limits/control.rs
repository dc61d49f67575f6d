//! Control-plane rate limits (AWS's transactions per second per operation, per account or
//! per stream) and UpdateShardCount's rolling quota. Control calls are rare, so one mutex
//! each is enough here; the data plane never touches them.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::limits::bucket::TokenBucket;

/// What one control operation's rate limit applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Account,
    Stream,
}

/// AWS's default rate for a control operation, and what it counts per; `None` for the data
/// plane, which is limited per shard instead. Each bucket holds one second's worth.
pub fn control_rate(operation: &str) -> Option<(u64, Scope)> {
    Some(match operation {
        "PutRecord" | "PutRecords" | "GetRecords" | "GetShardIterator" | "SubscribeToShard" => {
            return None;
        }
        "DescribeLimits" => (1, Scope::Account),
        "DescribeStream" | "UpdateShardCount" => (10, Scope::Account),
        "DescribeStreamSummary" => (20, Scope::Account),
        "ListShards" => (1_000, Scope::Stream),
        "DescribeStreamConsumer" => (20, Scope::Stream),
        "DeregisterStreamConsumer" | "ListStreamConsumers" => (5, Scope::Stream),
        _ => (5, Scope::Account),
    })
}

/// UpdateShardCount calls allowed per stream in any rolling window of this length.
pub const RESCALES_PER_WINDOW: usize = 10;
pub const RESCALE_WINDOW_MS: i64 = 24 * 3_600_000;

/// A control bucket unused this long is full again (each holds one second's worth).
const IDLE_MS: i64 = 10_000;
const FIRST_SWEEP_AT: usize = 1_024;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ControlKey {
    account: String,
    region: String,
    operation: String,
    /// The stream for per-stream limits; empty for per-account ones.
    stream: String,
}

struct ControlBucket {
    bucket: TokenBucket,
    last_used_ms: i64,
}

#[derive(Default)]
pub struct ControlMeters {
    buckets: Mutex<HashMap<ControlKey, ControlBucket>>,
    /// Times of recent UpdateShardCount calls, per stream uid, oldest first.
    rescales: Mutex<HashMap<u64, VecDeque<i64>>>,
}

impl ControlMeters {
    /// Takes one call of `operation` from its bucket; `false` if the rate is exceeded.
    pub fn admit(
        &self,
        account: &str,
        region: &str,
        operation: &str,
        stream: Option<&str>,
        now_ms: i64,
    ) -> bool {
        let Some((rate, scope)) = control_rate(operation) else {
            return true;
        };
        let key = ControlKey {
            account: account.to_owned(),
            region: region.to_owned(),
            operation: operation.to_owned(),
            stream: match scope {
                Scope::Account => String::new(),
                Scope::Stream => stream.unwrap_or_default().to_owned(),
            },
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= FIRST_SWEEP_AT && !buckets.contains_key(&key) {
            buckets.retain(|_, b| now_ms - b.last_used_ms < IDLE_MS);
        }
        let entry = buckets.entry(key).or_insert_with(|| ControlBucket {
            bucket: TokenBucket::full(rate, rate, now_ms),
            last_used_ms: now_ms,
        });
        entry.last_used_ms = now_ms;
        entry.bucket.try_take(1, now_ms)
    }

    /// Records one rescale of stream `uid` unless it already had its quota in the window.
    pub fn take_rescale(&self, uid: u64, now_ms: i64) -> bool {
        let mut rescales = self.rescales.lock().unwrap_or_else(|p| p.into_inner());
        rescales.retain(|_, times| {
            while times
                .front()
                .is_some_and(|t| now_ms - t >= RESCALE_WINDOW_MS)
            {
                times.pop_front();
            }
            !times.is_empty()
        });
        let times = rescales.entry(uid).or_default();
        if times.len() >= RESCALES_PER_WINDOW {
            return false;
        }
        times.push_back(now_ms);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_limits_allows_one_a_second() {
        let meters = ControlMeters::default();
        let admit = |now| meters.admit("a", "r", "DescribeLimits", None, now);
        assert!(admit(0));
        assert!(!admit(0));
        assert!(!admit(999));
        assert!(admit(1_000));
        // Another account has its own budget.
        assert!(meters.admit("b", "r", "DescribeLimits", None, 1_000));
    }

    #[test]
    fn list_shards_is_limited_per_stream() {
        let meters = ControlMeters::default();
        for _ in 0..1_000 {
            assert!(meters.admit("a", "r", "ListShards", Some("s1"), 0));
        }
        assert!(!meters.admit("a", "r", "ListShards", Some("s1"), 0));
        assert!(meters.admit("a", "r", "ListShards", Some("s2"), 0));
    }

    #[test]
    fn data_plane_operations_are_not_control_limited() {
        let meters = ControlMeters::default();
        for _ in 0..100 {
            assert!(meters.admit("a", "r", "PutRecords", Some("s"), 0));
        }
    }

    #[test]
    fn ten_rescales_per_rolling_day() {
        let meters = ControlMeters::default();
        for hour in 0..10 {
            assert!(meters.take_rescale(7, hour * 3_600_000));
        }
        assert!(!meters.take_rescale(7, 23 * 3_600_000));
        assert!(meters.take_rescale(8, 23 * 3_600_000));
        // The first rescale leaves the window 24 h after it happened.
        assert!(!meters.take_rescale(7, RESCALE_WINDOW_MS - 1));
        assert!(meters.take_rescale(7, RESCALE_WINDOW_MS));
        assert!(!meters.take_rescale(7, RESCALE_WINDOW_MS));
    }
}
