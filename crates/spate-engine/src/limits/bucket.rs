//! A token bucket over caller-supplied time, so tests drive it with a manual clock.

/// Tokens refill continuously at `rate` per second up to `capacity`; a request takes what it
/// costs. The bucket may go into debt (below zero) in two cases, both on purpose:
/// - [`TokenBucket::try_take`] lets one request larger than the whole capacity through when
///   the bucket is full, so a 10 MiB record is possible on a 1 MiB/s shard, and the debt
///   then holds the shard back until it is repaid;
/// - [`TokenBucket::charge`] takes a cost only known afterwards (the size of a GetRecords
///   response), whatever the balance.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// Tokens added per second.
    rate: u64,
    /// The most tokens the bucket holds: the burst a quiet client may spend at once.
    capacity: u64,
    /// The balance in thousandths of a token, so a millisecond's refill (`rate` of them) is
    /// exact: no rounding drift, however often the bucket is looked at.
    millis: i64,
    /// When `millis` was last brought up to date (ms since the epoch).
    updated_ms: i64,
}

fn scaled(tokens: u64) -> i64 {
    i64::try_from(tokens)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000)
}

impl TokenBucket {
    /// A full bucket.
    pub fn full(rate: u64, capacity: u64, now_ms: i64) -> TokenBucket {
        TokenBucket {
            rate,
            capacity,
            millis: scaled(capacity),
            updated_ms: now_ms,
        }
    }

    fn refill(&mut self, now_ms: i64) {
        // A clock that steps back refills nothing rather than draining the bucket.
        if now_ms > self.updated_ms {
            let per_ms = i64::try_from(self.rate).unwrap_or(i64::MAX);
            let refill = (now_ms - self.updated_ms).saturating_mul(per_ms);
            self.millis = self
                .millis
                .saturating_add(refill)
                .min(scaled(self.capacity));
            self.updated_ms = now_ms;
        }
    }

    /// Whether `cost` could be taken now, without taking it.
    pub fn allows(&mut self, cost: u64, now_ms: i64) -> bool {
        self.refill(now_ms);
        let full = scaled(self.capacity);
        self.millis >= scaled(cost) || (cost > self.capacity && self.millis >= full)
    }

    /// Takes `cost` if the bucket allows it (see [`TokenBucket::allows`]).
    pub fn try_take(&mut self, cost: u64, now_ms: i64) -> bool {
        let allowed = self.allows(cost, now_ms);
        if allowed {
            self.millis = self.millis.saturating_sub(scaled(cost));
        }
        allowed
    }

    /// Takes `cost` unconditionally, going into debt if need be.
    pub fn charge(&mut self, cost: u64, now_ms: i64) {
        self.refill(now_ms);
        self.millis = self.millis.saturating_sub(scaled(cost));
    }

    /// Whether the bucket is below zero: earlier charges are still being repaid.
    pub fn in_debt(&mut self, now_ms: i64) -> bool {
        self.refill(now_ms);
        self.millis < 0
    }
}

#[cfg(test)]
mod tests {
    use super::TokenBucket;
    use crate::clock::{Clock, ManualClock};

    #[test]
    fn allows_a_burst_then_the_rate() {
        let clock = ManualClock::new(1_000_000);
        let mut bucket = TokenBucket::full(5, 5, clock.now_ms());
        for _ in 0..5 {
            assert!(bucket.try_take(1, clock.now_ms()));
        }
        assert!(!bucket.try_take(1, clock.now_ms()));
        clock.advance(199);
        assert!(!bucket.try_take(1, clock.now_ms()));
        clock.advance(1);
        assert!(bucket.try_take(1, clock.now_ms()));
        assert!(!bucket.try_take(1, clock.now_ms()));
    }

    #[test]
    fn refills_no_further_than_capacity() {
        let clock = ManualClock::new(0);
        let mut bucket = TokenBucket::full(1000, 1000, clock.now_ms());
        assert!(bucket.try_take(1000, clock.now_ms()));
        clock.advance(3_600_000);
        assert!(bucket.try_take(1000, clock.now_ms()));
        assert!(!bucket.try_take(1, clock.now_ms()));
    }

    #[test]
    fn a_refused_take_costs_nothing() {
        let clock = ManualClock::new(0);
        let mut bucket = TokenBucket::full(10, 10, clock.now_ms());
        assert!(bucket.try_take(6, clock.now_ms()));
        assert!(!bucket.try_take(6, clock.now_ms()));
        assert!(bucket.try_take(4, clock.now_ms()));
    }

    #[test]
    fn an_oversized_cost_passes_only_when_full_and_leaves_debt() {
        let mut bucket = TokenBucket::full(1, 2, 0);
        assert!(bucket.try_take(1, 0));
        // 10 tokens from a 2-token bucket: not while it is partly spent...
        assert!(!bucket.try_take(10, 0));
        // ...but once it is full, leaving 8 tokens of debt to repay at 1 a second.
        assert!(bucket.try_take(10, 1_000));
        assert!(bucket.in_debt(8_999));
        assert!(!bucket.try_take(1, 8_999));
        assert!(!bucket.in_debt(9_000));
    }

    #[test]
    fn charges_after_the_fact_block_until_repaid() {
        // A 2-per-second budget with no burst, charged 10 afterwards: 5 s of debt.
        let mut bucket = TokenBucket::full(2, 0, 0);
        assert!(!bucket.in_debt(0));
        bucket.charge(10, 0);
        assert!(bucket.in_debt(4_999));
        assert!(!bucket.in_debt(5_000));
    }

    #[test]
    fn a_clock_stepping_back_neither_refills_nor_drains() {
        let mut bucket = TokenBucket::full(1, 1, 10_000);
        assert!(bucket.try_take(1, 10_000));
        assert!(!bucket.try_take(1, 5_000));
        assert!(bucket.try_take(1, 11_000));
    }
}
