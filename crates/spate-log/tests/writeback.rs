//! Without a sync per group, the journal asks the device to start writing each whole 4 MiB
//! of a segment as its records pass it, so the sync that finishes a segment finds little
//! left to write; with a sync per group it never asks. Every record reads back either way.
#![allow(clippy::unwrap_used)]

mod common;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::*;
use spate_log::disk::{DiskFile, MemoryDisk};
use spate_log::{Durability, ManualClock, ShardKey};

const SHARD: ShardKey = ShardKey {
    stream: 1,
    shard: 0,
};
const STEP: u64 = 4 << 20;

/// The writeback ranges asked for, by file.
type Asked = Arc<Mutex<Vec<(PathBuf, u64, u64)>>>;

/// Records `start_writeback` calls instead of making them.
struct Recorder {
    asked: Asked,
}

impl FileHooks for Recorder {
    fn start_writeback(
        &self,
        path: &Path,
        _: &dyn DiskFile,
        offset: u64,
        len: u64,
    ) -> io::Result<()> {
        self.asked
            .lock()
            .unwrap()
            .push((path.to_path_buf(), offset, len));
        Ok(())
    }
}

/// Appends ~23 MiB in records of ~100 KiB to segments of 10 MiB; returns the writeback
/// ranges asked for, and checks every record reads back.
fn write(durability: Durability) -> Vec<(PathBuf, u64, u64)> {
    let asked = Asked::default();
    let disk = HookedDisk {
        inner: MemoryDisk::new(),
        hooks: Arc::new(Recorder {
            asked: asked.clone(),
        }),
    };
    let log = open(
        config(10 << 20, durability),
        Arc::new(disk),
        Arc::new(ManualClock::new(1_000)),
    );
    log.register_shard(SHARD, 0).unwrap();
    let data = |i: usize| vec![i as u8; 100_000 + i];
    for i in 0..240 {
        block_on(log.append(vec![record(SHARD, "pk", data(i))])).unwrap();
    }
    let all = read_all(&log, SHARD);
    assert_eq!(all.len(), 240);
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r.data, data(i));
    }
    log.shutdown().unwrap();
    asked.lock().unwrap().clone()
}

#[test]
fn without_a_sync_per_group_each_whole_step_is_written_back_once() {
    for durability in [
        Durability::None,
        Durability::Interval(std::time::Duration::from_secs(3600)),
    ] {
        let asked = write(durability);
        let mut segments: Vec<&PathBuf> = asked.iter().map(|(p, _, _)| p).collect();
        segments.dedup();
        // Three segments: the first two hold two whole steps each, the last less than one.
        assert_eq!(segments.len(), 2, "{asked:?}");
        assert!(
            segments.iter().all(|p| p.starts_with("journal")),
            "{asked:?}"
        );
        for segment in segments {
            let ranges: Vec<(u64, u64)> = asked
                .iter()
                .filter(|(p, _, _)| p == segment)
                .map(|(_, at, len)| (*at, *len))
                .collect();
            // Contiguous from the segment's start, in whole steps.
            let mut next = 0;
            for (at, len) in &ranges {
                assert_eq!((*at, len % STEP), (next, 0), "{ranges:?}");
                next = at + len;
            }
            assert_eq!(next, 2 * STEP, "{ranges:?}");
        }
    }
}

#[test]
fn with_a_sync_per_group_nothing_is_asked() {
    assert!(write(Durability::Fsync).is_empty());
}
