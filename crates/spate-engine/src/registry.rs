//! The live view of every stream: found by (account, region, name) for control calls and by
//! uid for iterators, with each stream's routing table kept beside its record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use spate_auth::Policy;
use spate_meta::{ConsumerRecord, ShardRecord, StreamRecord, StreamStatus};
use spate_types::SequenceFormatter;

/// Streams are namespaced by account and region, as in AWS.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    pub account: String,
    pub region: String,
    pub name: String,
}

impl StreamKey {
    pub fn of(record: &StreamRecord) -> StreamKey {
        StreamKey {
            account: record.account.clone(),
            region: record.region.clone(),
            name: record.name.clone(),
        }
    }
}

/// A [`StreamKey`] borrowed in parts, to look a stream up without building one: hashes as
/// the key does (field by field, each as a `str`) and compares equal to it.
#[derive(Hash)]
pub struct StreamKeyRef<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub name: &'a str,
}

impl hashbrown::Equivalent<StreamKey> for StreamKeyRef<'_> {
    fn equivalent(&self, key: &StreamKey) -> bool {
        self.name == key.name && self.account == key.account && self.region == key.region
    }
}

/// One open shard's place in the key space, for routing writes.
#[derive(Clone, Debug)]
pub struct Route {
    pub hash_end: u128,
    pub shard_index: u32,
    pub shard_created_secs: u64,
    /// What puts to the shard share: one reference count per routed record.
    pub shard: Arc<RouteShard>,
}

/// What the puts to one open shard share, kept with the routing table: a put's reply names
/// each record's shard and sequence number, and a batch over 1,000 shards touches ~400.
#[derive(Debug)]
pub struct RouteShard {
    /// `shardId-…`, formatted once.
    pub id: Arc<str>,
    /// The formatter of the last put batch to finish with the shard: the next one mostly
    /// starts one counter on, and continues from it rather than formatting its first number
    /// afresh (~800 instructions). Taken for a batch, put back after; a batch that finds it
    /// taken formats afresh. The formatter checks every field of the number it continues
    /// from, so any order of batches formats correctly.
    sequences: Mutex<Option<SequenceFormatter>>,
}

impl RouteShard {
    pub(crate) fn new(index: u32) -> RouteShard {
        RouteShard {
            id: spate_types::shard_id(index).into(),
            sequences: Mutex::new(None),
        }
    }

    pub fn take_sequences(&self) -> SequenceFormatter {
        lock(&self.sequences).take().unwrap_or_default()
    }

    pub fn keep_sequences(&self, formatter: SequenceFormatter) {
        *lock(&self.sequences) = Some(formatter);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A stream's record plus what is derived from it.
pub struct StreamState {
    pub record: StreamRecord,
    /// Open shards ordered by hash range, so a write routes by binary search.
    pub routes: Vec<Route>,
    /// Their `hash_end`s, packed: what the search reads. Over 1,000 shards the routes
    /// themselves span 48 KB, beyond the L1 cache; these 16 KB (W5: routing was 3.2% of
    /// the server's CPU, most of it waiting on loads).
    ends: Vec<u128>,
    /// The stream's resource policy, parsed once per change of the record rather than on
    /// every request it governs.
    pub policy: Option<Policy>,
    /// Its consumers' policies, likewise, by consumer name and creation time.
    consumer_policies: Vec<((String, i64), Policy)>,
}

impl StreamState {
    pub fn new(record: StreamRecord) -> StreamState {
        let mut routes: Vec<Route> = record
            .shards
            .iter()
            .filter(|s| s.closed_ms.is_none())
            .map(|s| Route {
                hash_end: s.hash_end,
                shard_index: s.index,
                shard_created_secs: (s.created_ms / 1000) as u64,
                shard: Arc::new(RouteShard::new(s.index)),
            })
            .collect();
        routes.sort_by_key(|r| r.hash_end);
        let policy = crate::authorize::parse_stored(
            record.resource_policy.as_ref(),
            &format!("stream {}", record.name),
        );
        let consumer_policies = crate::authorize::consumer_policies(&record);
        StreamState {
            record,
            ends: routes.iter().map(|r| r.hash_end).collect(),
            routes,
            policy,
            consumer_policies,
        }
    }

    /// The parsed resource policy of `consumer`, one of this stream's.
    pub fn consumer_policy(&self, consumer: &ConsumerRecord) -> Option<&Policy> {
        self.consumer_policies
            .iter()
            .find(|((name, created_ms), _)| {
                *name == consumer.name && *created_ms == consumer.created_ms
            })
            .map(|(_, policy)| policy)
    }

    /// The open shard a partition key routes to. A stream with one open shard over the whole
    /// key space (the usual small stream) routes every key there without hashing it.
    pub fn route_partition_key(&self, partition_key: &str) -> Option<Route> {
        match self.routes.as_slice() {
            [only] if !self.routes_by_hash() => Some(only.clone()),
            _ => self.route(spate_types::partition_key_hash(partition_key)),
        }
    }

    /// Whether routing a partition key hashes it: not where one open shard takes every key.
    pub fn routes_by_hash(&self) -> bool {
        !matches!(self.routes.as_slice(), [only] if only.hash_end == u128::MAX)
    }

    /// The open shard whose range holds `hash`. Open shards always cover the key space.
    pub fn route(&self, hash: u128) -> Option<Route> {
        let at = self.ends.partition_point(|&end| end < hash);
        self.routes.get(at).cloned()
    }

    pub fn shard(&self, index: u32) -> Option<&ShardRecord> {
        // Shards are kept in index order.
        self.record
            .shards
            .binary_search_by_key(&index, |s| s.index)
            .ok()
            .map(|at| &self.record.shards[at])
    }
}

pub struct Stream {
    pub uid: u64,
    pub key: StreamKey,
    /// Readers (every data-plane call) share it; control-plane changes replace the record
    /// under the engine's control mutex, so writers never wait on each other here.
    state: RwLock<StreamState>,
    /// Recent writes per shard, which on-demand scaling reads.
    pub(crate) write_load: crate::autoscale::WriteLoad,
    /// This stream's metric series, so the data path need not look them up.
    pub(crate) metrics: crate::metrics::StreamMetrics,
}

impl Stream {
    pub fn new(record: StreamRecord, metrics: &Arc<crate::metrics::Metrics>) -> Stream {
        let key = StreamKey::of(&record);
        Stream {
            uid: record.uid,
            metrics: metrics.stream(&key),
            key,
            state: RwLock::new(StreamState::new(record)),
            write_load: Default::default(),
        }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, StreamState> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn replace(&self, record: StreamRecord) {
        let mut state = self
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *state = StreamState::new(record);
    }

    /// Every shard's index, open or closed.
    pub fn shard_indices(&self) -> Vec<u32> {
        self.read().record.shards.iter().map(|s| s.index).collect()
    }

    pub fn status(&self) -> StreamStatus {
        self.read().record.status
    }
}

#[derive(Default)]
pub struct Registry {
    /// Looked up on every data-plane request: found by borrowed parts ([`StreamKeyRef`]),
    /// without the three strings of a key, and hashed with foldhash rather than SipHash.
    by_key: hashbrown::HashMap<StreamKey, Arc<Stream>>,
    by_uid: HashMap<u64, Arc<Stream>>,
}

impl Registry {
    pub fn insert(&mut self, stream: Arc<Stream>) {
        self.by_key.insert(stream.key.clone(), stream.clone());
        self.by_uid.insert(stream.uid, stream);
    }

    pub fn remove(&mut self, uid: u64) -> Option<Arc<Stream>> {
        let stream = self.by_uid.remove(&uid)?;
        if self.by_key.get(&stream.key).is_some_and(|s| s.uid == uid) {
            self.by_key.remove(&stream.key);
        }
        Some(stream)
    }

    pub fn get(&self, key: &StreamKey) -> Option<Arc<Stream>> {
        self.by_key.get(key).cloned()
    }

    /// [`Registry::get`] by the key's parts.
    pub fn find(&self, key: &StreamKeyRef<'_>) -> Option<Arc<Stream>> {
        self.by_key.get(key).cloned()
    }

    pub fn get_uid(&self, uid: u64) -> Option<Arc<Stream>> {
        self.by_uid.get(&uid).cloned()
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Stream>> {
        self.by_uid.values()
    }

    /// Streams of one account and region.
    pub fn in_namespace<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Stream>> + 'a {
        self.by_key
            .iter()
            .filter(move |(k, _)| k.account == account && k.region == region)
            .map(|(_, s)| s)
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use hashbrown::Equivalent;

    use super::*;

    proptest::proptest! {
        /// Every hash routes to the open shard whose range holds it, over shards split
        /// evenly or unevenly, with closed ones among them.
        #[test]
        fn a_hash_routes_to_the_open_shard_holding_it(
            cuts in proptest::collection::btree_set(proptest::num::u128::ANY, 0..40),
            closed in proptest::collection::vec(proptest::bool::ANY, 41),
            probes in proptest::collection::vec(proptest::num::u128::ANY, 20),
        ) {
            let mut ends: Vec<u128> = cuts.into_iter().filter(|&c| c != u128::MAX).collect();
            ends.push(u128::MAX);
            let mut start = 0;
            let mut shards = Vec::new();
            for (i, &end) in ends.iter().enumerate() {
                // A closed shard over the same range as an open one, as a split leaves.
                if closed[i] {
                    shards.push((i as u32 + 100, start, end, true));
                }
                shards.push((i as u32, start, end, false));
                start = end.wrapping_add(1);
            }
            let shards_of_record = shards
                .iter()
                .map(|&(index, hash_start, hash_end, closed)| ShardRecord {
                    index,
                    parent: None,
                    adjacent_parent: None,
                    hash_start,
                    hash_end,
                    created_ms: 0,
                    start_counter: 0,
                    closed_ms: closed.then_some(1),
                })
                .collect();
            let mut record = crate::reshard::tests::stream_of(0);
            record.next_shard_index = 200;
            record.shards = shards_of_record;
            let state = StreamState::new(record);
            let mut probes = probes;
            probes.extend(ends.iter().flat_map(|&e| [e, e.wrapping_add(1)]));
            for hash in probes {
                let route = state.route(hash).expect("open shards cover the key space");
                let (index, start, end, _) = shards
                    .iter()
                    .find(|s| !s.3 && s.1 <= hash && hash <= s.2)
                    .copied()
                    .expect("a range holds it");
                proptest::prop_assert_eq!(route.shard_index, index);
                proptest::prop_assert!(start <= hash && hash <= end && route.hash_end == end);
            }
        }

        /// A key and its borrowed parts hash alike and compare equal; keys that differ in
        /// any part do not compare equal (so a lookup never finds another's stream).
        #[test]
        fn borrowed_parts_stand_for_the_key(
            parts in proptest::collection::vec("[ab]{0,3}", 6),
        ) {
            let key = StreamKey {
                account: parts[0].clone(),
                region: parts[1].clone(),
                name: parts[2].clone(),
            };
            let same = StreamKeyRef { account: &parts[0], region: &parts[1], name: &parts[2] };
            let hasher = hashbrown::DefaultHashBuilder::default();
            proptest::prop_assert_eq!(hasher.hash_one(&key), hasher.hash_one(&same));
            proptest::prop_assert!(same.equivalent(&key));
            let other = StreamKeyRef { account: &parts[3], region: &parts[4], name: &parts[5] };
            let differs = (&parts[3], &parts[4], &parts[5]) != (&parts[0], &parts[1], &parts[2]);
            proptest::prop_assert_eq!(other.equivalent(&key), !differs);
        }
    }
}
