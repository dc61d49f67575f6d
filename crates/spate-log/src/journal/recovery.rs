//! Recovery: from the checkpoint and whatever the journal holds after it, rebuild a log that
//! has every entry that reached stable storage intact and nothing torn.
//!
//! 1. Load the checkpoint (none: start empty, replay from the first segment).
//! 2. Cut each checkpointed index file to the entries the checkpoint counted (later ones
//!    may be half-written); forget chunks of segments retention already deleted.
//! 3. Replay the journal from the checkpoint position, re-indexing every record; a bad frame
//!    in the last segment is a torn tail and is cut off, anywhere else it is corruption
//!    (segments are synced whole before the next one is created).
//! 4. Checkpoint, then delete index files no longer referenced.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::checkpoint::{self, CHECKPOINT_TMP};
use crate::error::LogError;
use crate::index::{
    ENTRY_BYTES, INDEX_DIR, IndexEntry, IndexFiles, ShardBatch, index_path, shard_dir, stream_dir,
};
use crate::journal::frame::Entry;
use crate::journal::reader::{Scanned, Scanner};
use crate::journal::writer::{Active, Writer};
use crate::journal::{
    JOURNAL_DIR, Position, SEGMENT_HEADER, create_segment, header_is_valid, parse_segment_name,
    segment_path,
};
use crate::state::{Assign, ShardIndexState, ShardView, Shared};
use crate::sync::{lock, read, write};
use crate::types::ShardKey;

/// Index entries replayed but not yet written, flushed in bulk.
const FLUSH_ENTRIES: usize = 1 << 16;

pub(crate) fn recover(shared: &Arc<Shared>) -> Result<Writer, LogError> {
    let disk = shared.disk.clone();
    disk.create_dir_all(Path::new(JOURNAL_DIR))?;
    disk.create_dir_all(Path::new(INDEX_DIR))?;
    match disk.remove_file(Path::new(CHECKPOINT_TMP)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    let checkpoint = checkpoint::load(disk.as_ref())?;

    let mut segments = BTreeMap::new();
    for name in disk.list_dir(Path::new(JOURNAL_DIR))? {
        if let Some(id) = parse_segment_name(&name) {
            segments.insert(id, disk.open(&segment_path(id), false)?);
        }
    }
    let last_id = segments.keys().next_back().copied();
    for (&id, file) in segments.iter_mut() {
        if !header_is_valid(file.as_ref(), id)? {
            if Some(id) != last_id {
                return Err(LogError::Corrupt(format!(
                    "journal segment {id} has a bad header"
                )));
            }
            // A crash while rolling: the new segment was created but its header not synced.
            tracing::warn!(
                segment = id,
                "rewriting the torn header of the newest journal segment"
            );
            *file = create_segment(disk.as_ref(), id)?;
        }
    }

    let (position, shards, dropped) = match checkpoint {
        Some(cp) => (cp.position, cp.shards, cp.dropped),
        None => (
            Position {
                segment: 0,
                offset: SEGMENT_HEADER,
            },
            Vec::new(),
            BTreeSet::new(),
        ),
    };
    let mut segment_streams: BTreeMap<u64, HashMap<u64, i64>> =
        segments.keys().map(|&id| (id, HashMap::new())).collect();
    {
        let mut views = write(&shared.shards);
        for s in shards {
            let mut chunks = Vec::new();
            for chunk in s
                .chunks
                .into_iter()
                .filter(|c| segments.contains_key(&c.segment))
            {
                let path = index_path(s.shard, chunk.segment);
                let file = disk.open(&path, false).map_err(|e| {
                    LogError::Corrupt(format!(
                        "checkpointed index {} unreadable: {e}",
                        path.display()
                    ))
                })?;
                let want = chunk.count * ENTRY_BYTES;
                let have = file.size()?;
                if have < want {
                    return Err(LogError::Corrupt(format!(
                        "index {} has {have} bytes, the checkpoint counted {want}",
                        path.display()
                    )));
                }
                if have > want {
                    file.truncate(want)?;
                }
                let newest = segment_streams.entry(chunk.segment).or_default();
                let at = newest.entry(s.shard.stream).or_insert(chunk.last_arrival);
                *at = (*at).max(chunk.last_arrival);
                chunks.push(chunk);
            }
            let state = ShardIndexState {
                committed_next: s.next_counter,
                last_arrival: s.last_arrival,
                chunks,
                active_file: None,
            };
            views.insert(s.shard, Arc::new(ShardView::new(state)));
        }
    }

    let active = match segments.iter().next_back() {
        Some((&id, file)) => Active {
            id,
            file: file.clone(),
            len: 0,
        },
        None => {
            let id = position.segment + 1;
            let file = create_segment(disk.as_ref(), id)?;
            segments.insert(id, file.clone());
            segment_streams.insert(id, HashMap::new());
            Active {
                id,
                file,
                len: SEGMENT_HEADER,
            }
        }
    };
    let mut w = Writer {
        shared: shared.clone(),
        active,
        segment_streams,
        index: IndexFiles::new(disk.clone()),
        dropped,
        unsynced: false,
        last_sync: Instant::now(),
    };

    let last_id = segments.keys().next_back().copied();
    for (&id, file) in segments.range(position.segment..) {
        let from = if id == position.segment {
            position.offset
        } else {
            SEGMENT_HEADER
        };
        if from > file.size()? {
            return Err(LogError::Corrupt(format!(
                "checkpoint points at offset {from} of journal segment {id}, past its end"
            )));
        }
        replay_segment(&mut w, id, file.as_ref(), from, Some(id) == last_id)?;
    }
    w.active.len = w.active.file.size()?;
    *write(&shared.segments) = segments;
    {
        let views = read(&shared.shards);
        let mut q = lock(&shared.queue);
        for (key, view) in views.iter() {
            let st = lock(&view.state);
            q.shards.insert(
                *key,
                Assign {
                    next_counter: st.committed_next,
                    last_arrival: st.last_arrival,
                    closed: false,
                },
            );
        }
    }
    w.checkpoint()?;
    remove_orphans(&mut w)?;
    Ok(w)
}

fn replay_segment(
    w: &mut Writer,
    id: u64,
    file: &dyn crate::disk::DiskFile,
    from: u64,
    is_last: bool,
) -> Result<(), LogError> {
    let mut scanner = Scanner::new(file, from)?;
    let mut pending: BTreeMap<ShardKey, ShardBatch> = BTreeMap::new();
    let mut pending_count = 0;
    loop {
        let (entry, offset, frame_len) = match scanner.next_entry()? {
            Scanned::Entry { entry, offset, len } => (entry, offset, len),
            Scanned::End => break,
            Scanned::Bad { offset, why } if is_last => {
                tracing::warn!(segment = id, offset, %why, "cutting the torn tail of the journal");
                file.truncate(offset)?;
                file.sync_data()?;
                break;
            }
            Scanned::Bad { offset, why } => {
                return Err(LogError::Corrupt(format!(
                    "journal segment {id} is damaged at offset {offset} ({why}) and is not the newest"
                )));
            }
        };
        match entry {
            // Sealed records are indexed like plain ones: recovery never needs their keys.
            Entry::Record {
                shard,
                counter,
                arrival_ms,
                ..
            }
            | Entry::Sealed {
                shard,
                counter,
                arrival_ms,
                ..
            } => {
                if w.dropped.contains(&shard.stream) {
                    continue;
                }
                let view = read(&w.shared.shards).get(&shard).cloned();
                let committed = match view {
                    Some(view) => lock(&view.state).committed_next,
                    None => {
                        tracing::warn!(
                            ?shard,
                            "journal record of an unregistered shard; registering it"
                        );
                        w.apply_register(shard, 0);
                        0
                    }
                };
                let expected = pending
                    .get(&shard)
                    .and_then(|b| b.entries.last())
                    .map_or(committed, |e| e.counter + 1);
                if counter < expected {
                    return Err(LogError::Corrupt(format!(
                        "journal segment {id} offset {offset}: counter {counter} of {shard:?} after {expected}"
                    )));
                }
                let entry = IndexEntry {
                    counter,
                    arrival_ms,
                    segment: id,
                    offset,
                };
                pending.entry(shard).or_default().push(entry, frame_len);
                pending_count += 1;
                if pending_count >= FLUSH_ENTRIES {
                    w.publish(id, std::mem::take(&mut pending))?;
                    pending_count = 0;
                }
            }
            Entry::Register {
                shard,
                start_counter,
            } => {
                if !w.dropped.contains(&shard.stream) {
                    w.apply_register(shard, start_counter);
                }
            }
            Entry::DropStream { stream } => {
                w.publish(id, std::mem::take(&mut pending))?;
                pending_count = 0;
                w.apply_drop(stream);
            }
        }
    }
    w.publish(id, pending)
}

/// Deletes index files and directories the (just written) checkpoint does not reference:
/// leftovers of dropped streams, deleted segments, or chunks a crash cut short.
fn remove_orphans(w: &mut Writer) -> Result<(), LogError> {
    let disk = w.shared.disk.clone();
    let views: HashMap<ShardKey, BTreeSet<u64>> = read(&w.shared.shards)
        .iter()
        .map(|(k, v)| {
            (
                *k,
                lock(&v.state).chunks.iter().map(|c| c.segment).collect(),
            )
        })
        .collect();
    for stream_name in disk.list_dir(Path::new(INDEX_DIR))? {
        let Ok(stream) = stream_name.parse::<u64>() else {
            continue;
        };
        if !views.keys().any(|k| k.stream == stream) {
            disk.remove_dir_all(&stream_dir(stream))?;
            w.index.dirty_dirs.insert(INDEX_DIR.into());
            continue;
        }
        for shard_name in disk.list_dir(&stream_dir(stream))? {
            let Ok(shard) = shard_name.parse::<u32>() else {
                continue;
            };
            let key = ShardKey { stream, shard };
            let Some(segments) = views.get(&key) else {
                disk.remove_dir_all(&shard_dir(key))?;
                w.index.dirty_dirs.insert(stream_dir(stream));
                continue;
            };
            for file in disk.list_dir(&shard_dir(key))? {
                let segment = file
                    .strip_suffix(".idx")
                    .and_then(|s| s.parse::<u64>().ok());
                if segment.is_some_and(|s| !segments.contains(&s)) {
                    disk.remove_file(&shard_dir(key).join(&file))?;
                    w.index.dirty_dirs.insert(shard_dir(key));
                }
            }
        }
    }
    Ok(())
}
