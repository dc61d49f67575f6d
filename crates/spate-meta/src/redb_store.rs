//! The single-node [`MetaStore`]: one redb file (or redb's in-memory backend).
//!
//! Tables (documented in `docs/on-disk-format.md`): `streams` maps a stream uid to its
//! [`StreamRecord`] as JSON; `counters` holds the uid allocator; `secrets` holds named keys.
//! Each mutation is one redb write transaction, which redb makes atomic and durable.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::records::StreamRecord;
use crate::store::{MetaError, MetaStore};

const STREAMS: TableDefinition<u64, &[u8]> = TableDefinition::new("streams");
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");

const NEXT_UID: &str = "next_stream_uid";

pub struct RedbStore {
    db: Database,
}

fn storage<E: std::fmt::Display>(error: E) -> MetaError {
    MetaError::Storage(error.to_string())
}

impl RedbStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<RedbStore, MetaError> {
        RedbStore::init(Database::create(path).map_err(storage)?)
    }

    /// A store that lives only in memory, for `--in-memory`.
    pub fn in_memory() -> Result<RedbStore, MetaError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(storage)?;
        RedbStore::init(db)
    }

    fn init(db: Database) -> Result<RedbStore, MetaError> {
        // Create the tables up front so read transactions never meet a missing table.
        let txn = db.begin_write().map_err(storage)?;
        txn.open_table(STREAMS).map_err(storage)?;
        txn.open_table(COUNTERS).map_err(storage)?;
        txn.open_table(SECRETS).map_err(storage)?;
        txn.commit().map_err(storage)?;
        Ok(RedbStore { db })
    }
}

impl MetaStore for RedbStore {
    fn load_streams(&self) -> Result<Vec<StreamRecord>, MetaError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(STREAMS).map_err(storage)?;
        let mut streams = Vec::new();
        for entry in table.iter().map_err(storage)? {
            let (uid, doc) = entry.map_err(storage)?;
            let stream: StreamRecord = serde_json::from_slice(doc.value())
                .map_err(|e| MetaError::Corrupt(format!("stream {}: {e}", uid.value())))?;
            streams.push(stream);
        }
        Ok(streams)
    }

    fn put_stream(&self, stream: &StreamRecord) -> Result<(), MetaError> {
        let doc = serde_json::to_vec(stream).map_err(|e| MetaError::Corrupt(e.to_string()))?;
        let txn = self.db.begin_write().map_err(storage)?;
        txn.open_table(STREAMS)
            .map_err(storage)?
            .insert(stream.uid, doc.as_slice())
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }

    fn delete_stream(&self, uid: u64) -> Result<(), MetaError> {
        let txn = self.db.begin_write().map_err(storage)?;
        txn.open_table(STREAMS)
            .map_err(storage)?
            .remove(uid)
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }

    fn allocate_uid(&self) -> Result<u64, MetaError> {
        let txn = self.db.begin_write().map_err(storage)?;
        let uid = {
            let mut table = txn.open_table(COUNTERS).map_err(storage)?;
            let uid = table
                .get(NEXT_UID)
                .map_err(storage)?
                .map_or(1, |v| v.value());
            table.insert(NEXT_UID, uid + 1).map_err(storage)?;
            uid
        };
        txn.commit().map_err(storage)?;
        Ok(uid)
    }

    fn secret(
        &self,
        name: &str,
        generate: &mut dyn FnMut() -> Vec<u8>,
    ) -> Result<Vec<u8>, MetaError> {
        let txn = self.db.begin_write().map_err(storage)?;
        let secret = {
            let mut table = txn.open_table(SECRETS).map_err(storage)?;
            let existing = table
                .get(name)
                .map_err(storage)?
                .map(|v| v.value().to_vec());
            match existing {
                Some(secret) => secret,
                None => {
                    let secret = generate();
                    table.insert(name, secret.as_slice()).map_err(storage)?;
                    secret
                }
            }
        };
        txn.commit().map_err(storage)?;
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::records::{ShardRecord, StreamMode, StreamStatus};

    fn stream(uid: u64) -> StreamRecord {
        StreamRecord {
            uid,
            account: "000000000000".into(),
            region: "us-east-1".into(),
            name: format!("s{uid}"),
            created_ms: 1_700_000_000_123,
            status: StreamStatus::Creating,
            status_due_ms: Some(1_700_000_000_623),
            mode: StreamMode::Provisioned,
            retention_hours: 24,
            shards: vec![ShardRecord {
                index: 0,
                parent: None,
                adjacent_parent: None,
                hash_start: 0,
                hash_end: u128::MAX,
                created_ms: 1_700_000_000_123,
                start_counter: 0,
                closed_ms: None,
            }],
            next_shard_index: 1,
            tags: BTreeMap::from([("k".into(), "v".into())]),
            encryption_type: "NONE".into(),
            key_id: None,
            key_uuid: None,
            encrypted_since_ms: None,
            key_changes_ms: Vec::new(),
            shard_level_metrics: vec![],
            max_record_size_kib: 1024,
            record_distribution_strategy: None,
            warm_throughput_mibps: None,
            trimmed_before_ms: None,
            consumers: Vec::new(),
            resource_policy: None,
        }
    }

    #[test]
    fn streams_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.redb");
        {
            let store = RedbStore::open(&path).expect("open");
            assert_eq!(store.allocate_uid().expect("uid"), 1);
            store.put_stream(&stream(1)).expect("put");
            store.put_stream(&stream(2)).expect("put");
            store.delete_stream(2).expect("delete");
        }
        let store = RedbStore::open(&path).expect("reopen");
        assert_eq!(store.load_streams().expect("load"), vec![stream(1)]);
        assert_eq!(store.allocate_uid().expect("uid"), 2);
    }

    #[test]
    fn resource_policies_persist_and_older_documents_load_without_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.redb");
        let mut with_policy = stream(1);
        with_policy.resource_policy = Some("{\"Version\":\"2012-10-17\"}".into());
        {
            let store = RedbStore::open(&path).expect("open");
            store.put_stream(&with_policy).expect("put");
        }
        let store = RedbStore::open(&path).expect("reopen");
        assert_eq!(store.load_streams().expect("load"), vec![with_policy]);
        // A document written before resource policies existed has no such field.
        let old = serde_json::to_value(stream(2)).expect("json");
        assert!(old.get("resource_policy").is_none());
        let loaded: StreamRecord = serde_json::from_value(old).expect("loads");
        assert_eq!(loaded.resource_policy, None);
    }

    #[test]
    fn secrets_are_generated_once() {
        let store = RedbStore::in_memory().expect("open");
        let first = store.secret("k", &mut || vec![1, 2, 3]).expect("secret");
        let second = store.secret("k", &mut || vec![9]).expect("secret");
        assert_eq!(first, second);
    }
}
