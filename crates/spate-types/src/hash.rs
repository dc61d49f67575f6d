//! 128-bit hash keys: how a partition key maps into the key space and how the key space is
//! cut into shards.

use md5::{Digest, Md5};

#[cfg(target_arch = "x86_64")]
use crate::md5x;

/// A shard's inclusive hash-key range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HashKeyRange {
    pub start: u128,
    pub end: u128,
}

impl HashKeyRange {
    /// The whole key space, [0, 2^128 − 1].
    pub const ALL: HashKeyRange = HashKeyRange {
        start: 0,
        end: u128::MAX,
    };

    pub fn contains(&self, key: u128) -> bool {
        self.start <= key && key <= self.end
    }

    /// Splits this range into `count` contiguous ranges the way AWS does at stream creation:
    /// each gets `floor(width / count)` keys and the last one takes the remainder.
    /// `count` of zero yields no ranges.
    pub fn split_evenly(&self, count: u32) -> Vec<HashKeyRange> {
        match count {
            0 => return Vec::new(),
            // The general formula would compute a step of 2^128 for the whole key space.
            1 => return vec![*self],
            _ => {}
        }
        let count = u128::from(count);
        // width = end - start + 1 may be 2^128, which u128 cannot hold: compute
        // floor((span + 1) / count) from span = width - 1 instead.
        let span = self.end - self.start;
        let step = span / count + u128::from(span % count == count - 1);
        (0..count)
            .map(|i| {
                let start = self.start + i * step;
                let end = if i + 1 == count {
                    self.end
                } else {
                    start + step - 1
                };
                HashKeyRange { start, end }
            })
            .collect()
    }
}

/// MD5 of the UTF-8 partition key, read as a big-endian unsigned 128-bit integer.
pub fn partition_key_hash(partition_key: &str) -> u128 {
    let digest = Md5::digest(partition_key.as_bytes());
    u128::from_be_bytes(digest.into())
}

/// [`partition_key_hash`] of each key, in order. Where the CPU has AVX2, keys that fit one
/// MD5 block (most: up to 55 bytes) are hashed sixteen side by side (`md5x`), at about a
/// quarter of the cost each.
pub fn partition_key_hashes<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<u128> {
    let keys = keys.into_iter();
    #[cfg(target_arch = "x86_64")]
    if md5x::available() {
        return hashes_side_by_side(keys);
    }
    keys.map(partition_key_hash).collect()
}

#[cfg(target_arch = "x86_64")]
fn hashes_side_by_side<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<u128> {
    let mut out = Vec::with_capacity(keys.size_hint().0);
    // The short keys waiting for a full set of lanes, with where their hashes go.
    let mut lanes: Vec<(usize, &[u8])> = Vec::with_capacity(md5x::LANES);
    let flush = |lanes: &mut Vec<(usize, &[u8])>, out: &mut Vec<u128>| {
        // A few keys cost less one by one than a pass over every lane.
        if lanes.len() < 4 {
            for (at, key) in lanes.drain(..) {
                out[at] = u128::from_be_bytes(Md5::digest(key).into());
            }
            return;
        }
        let mut messages: [&[u8]; md5x::LANES] = [&[]; md5x::LANES];
        for (message, (_, key)) in messages.iter_mut().zip(lanes.iter()) {
            *message = key;
        }
        let digests = md5x::digests(&messages[..lanes.len()]);
        for ((at, _), digest) in lanes.drain(..).zip(digests) {
            out[at] = u128::from_be_bytes(digest);
        }
    };
    for key in keys {
        if key.len() <= md5x::MAX_LEN {
            lanes.push((out.len(), key.as_bytes()));
            out.push(0);
            if lanes.len() == md5x::LANES {
                flush(&mut lanes, &mut out);
            }
        } else {
            out.push(partition_key_hash(key));
        }
    }
    if !lanes.is_empty() {
        flush(&mut lanes, &mut out);
    }
    out
}

/// Parses a decimal hash key; `None` when it is not a plain decimal or is 2^128 or more.
pub fn parse_hash_key(text: &str) -> Option<u128> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u128>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reference_hash() {
        assert_eq!(
            partition_key_hash("pk"),
            38317986088707300215492326132921849533
        );
    }

    #[test]
    fn reference_splits() {
        let two = HashKeyRange::ALL.split_evenly(2);
        assert_eq!(two[0].end, 170141183460469231731687303715884105727);
        assert_eq!(two[1].start, 170141183460469231731687303715884105728);
        let three = HashKeyRange::ALL.split_evenly(3);
        assert_eq!(three[0].end, 113427455640312821154458202477256070484);
        assert_eq!(three[1].start, 113427455640312821154458202477256070485);
        assert_eq!(three[1].end, 226854911280625642308916404954512140969);
        assert_eq!(three[2].start, 226854911280625642308916404954512140970);
        assert_eq!(three[2].end, u128::MAX);
        assert_eq!(HashKeyRange::ALL.split_evenly(1), vec![HashKeyRange::ALL]);
    }

    #[test]
    fn hash_key_bounds() {
        assert_eq!(parse_hash_key("0"), Some(0));
        assert_eq!(
            parse_hash_key("340282366920938463463374607431768211455"),
            Some(u128::MAX)
        );
        assert_eq!(
            parse_hash_key("340282366920938463463374607431768211456"),
            None
        );
        assert_eq!(parse_hash_key("-1"), None);
        assert_eq!(parse_hash_key(""), None);
    }

    proptest! {
        #[test]
        fn splits_partition_the_range(start in any::<u128>(), len in any::<u128>(), count in 1u32..2_000) {
            let end = start.saturating_add(len);
            let range = HashKeyRange { start, end };
            let parts = range.split_evenly(count);
            let width = end - start;
            // A range narrower than the count cannot give every shard a key; AWS never does it.
            prop_assume!(width >= u128::from(count));
            prop_assert_eq!(parts.len(), count as usize);
            prop_assert_eq!(parts[0].start, start);
            prop_assert_eq!(parts[parts.len() - 1].end, end);
            for pair in parts.windows(2) {
                prop_assert!(pair[0].start <= pair[0].end);
                prop_assert_eq!(pair[0].end + 1, pair[1].start);
            }
        }

        #[test]
        fn hashes_in_bulk_match_one_by_one(keys in prop::collection::vec(".{0,70}", 0..40)) {
            let one_by_one: Vec<u128> = keys.iter().map(|k| partition_key_hash(k)).collect();
            prop_assert_eq!(partition_key_hashes(keys.iter().map(String::as_str)), one_by_one);
        }

        #[test]
        fn every_key_routes_to_exactly_one_shard(key in any::<String>(), count in 1u32..64) {
            let parts = HashKeyRange::ALL.split_evenly(count);
            let hash = partition_key_hash(&key);
            prop_assert_eq!(parts.iter().filter(|r| r.contains(hash)).count(), 1);
        }
    }
}
