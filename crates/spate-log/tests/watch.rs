//! Commit notifications (`Log::watch_commits`): what subscriptions are fed by. A watcher is
//! told of every commit of its shard, only after the records are readable, of nothing else's,
//! and learns when its stream is dropped.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use spate_log::disk::MemoryDisk;
use spate_log::{Durability, ManualClock, ShardKey};

const A: ShardKey = ShardKey {
    stream: 1,
    shard: 0,
};
const B: ShardKey = ShardKey {
    stream: 1,
    shard: 1,
};

#[test]
fn watchers_hear_of_their_shards_commits_and_of_the_streams_end() {
    let log = open(
        config(1 << 20, Durability::Fsync),
        Arc::new(MemoryDisk::new()),
        Arc::new(ManualClock::new(1_000)),
    );
    log.register_shard(A, 0).unwrap();
    log.register_shard(B, 0).unwrap();
    let mut watch_a = log.watch_commits(A).unwrap();
    assert!(!watch_a.has_changed().unwrap());

    block_on(log.append(vec![record(B, "b", "elsewhere")])).unwrap();
    assert!(
        !watch_a.has_changed().unwrap(),
        "another shard's commit is not ours"
    );

    block_on(log.append(vec![record(A, "a", "one"), record(A, "a", "two")])).unwrap();
    assert!(watch_a.has_changed().unwrap());
    // Marked changed only once the records are readable.
    assert_eq!(*watch_a.borrow_and_update(), 2);
    assert_eq!(read_all(&log, A).len(), 2);

    log.wake_watchers(A);
    assert!(watch_a.has_changed().unwrap(), "woken without a commit");
    watch_a.borrow_and_update();

    log.drop_stream(1).unwrap();
    assert!(
        watch_a.has_changed().is_err(),
        "closed once the stream is dropped"
    );
    assert!(log.watch_commits(A).is_err());
    log.shutdown().unwrap();
}
