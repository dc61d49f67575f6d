//! Recovery: from the checkpoint and whatever the journal holds after it, rebuild a log that
//! has every entry that reached stable storage intact and nothing torn.
//!
//! 1. Load the checkpoint (none: start empty, replay from the first segment).
//! 2. Keep the checkpointed chunks of segments that still exist and have an index file,
//!    below the checkpoint's first unindexed segment; forget the rest.
//! 3. Re-index the journal from the start of the oldest segment without a kept index file,
//!    writing each finished segment's index file as soon as it is read, and keeping the
//!    last segment's entries in memory; a bad frame in the last segment is a torn tail and
//!    is cut off, as are the zeros written ahead of its records; anywhere else either is
//!    corruption (segments are cut to their records and synced whole before the next one
//!    is created).
//! 4. Checkpoint, then delete index files no longer referenced (and the per-shard index
//!    directories of versions before checkpoint version 3).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::checkpoint::{self, CHECKPOINT_TMP};
use crate::error::LogError;
use crate::index::{
    INDEX_DIR, IndexEntry, Indexer, ShardBatch, entries_of, parse_index_name, write_index_file,
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

/// Index entries replayed but not yet published, published in bulk.
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

    let (position, first_unindexed, shards, dropped) = match checkpoint {
        Some(cp) => (cp.position, cp.first_unindexed, cp.shards, cp.dropped),
        None => (
            Position {
                segment: 0,
                offset: SEGMENT_HEADER,
            },
            0,
            Vec::new(),
            BTreeSet::new(),
        ),
    };
    if let Some(file) = segments.get(&position.segment)
        && position.offset > file.size()?
    {
        return Err(LogError::Corrupt(format!(
            "checkpoint points at offset {} of journal segment {}, past its end",
            position.offset, position.segment
        )));
    }
    // Re-index from the oldest segment without a usable index file: the checkpoint says
    // which are durable, but one lost since is rebuilt from the journal all the same.
    let indexed: BTreeSet<u64> = disk
        .list_dir(Path::new(INDEX_DIR))?
        .iter()
        .filter_map(|name| parse_index_name(name))
        .filter_map(|(id, tmp)| (!tmp).then_some(id))
        .collect();
    let replay_from = segments
        .keys()
        .copied()
        .find(|id| *id >= first_unindexed || !indexed.contains(id))
        .unwrap_or(u64::MAX);
    let mut segment_streams: BTreeMap<u64, HashMap<u64, i64>> =
        segments.keys().map(|&id| (id, HashMap::new())).collect();
    {
        let mut views = write(&shared.shards);
        for s in shards {
            let chunks: Vec<_> = s
                .chunks
                .into_iter()
                .filter(|c| c.segment < replay_from && segments.contains_key(&c.segment))
                .collect();
            for chunk in &chunks {
                let newest = segment_streams.entry(chunk.segment).or_default();
                let at = newest.entry(s.shard.stream).or_insert(chunk.last_arrival);
                *at = (*at).max(chunk.last_arrival);
            }
            let state = ShardIndexState {
                committed_next: s.next_counter,
                last_arrival: s.last_arrival,
                chunks,
                recent: Vec::new(),
            };
            views.insert(s.shard, Arc::new(ShardView::new(state)));
        }
    }

    let active = match segments.iter().next_back() {
        Some((&id, file)) => Active {
            id,
            file: file.clone(),
            len: 0,
            end: 0,
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
                end: SEGMENT_HEADER,
            }
        }
    };
    let mut w = Writer {
        shared: shared.clone(),
        active,
        segment_streams,
        unindexed: BTreeSet::new(),
        indexer: Indexer::start(shared.clone())?,
        dropped,
        unsynced: false,
        last_sync: Instant::now(),
        syncer: None,
        checkpointed: 0,
        syncing: Vec::new(),
        written: Vec::new(),
    };

    let last_id = segments.keys().next_back().copied();
    for (&id, file) in segments.range(replay_from..) {
        let is_last = Some(id) == last_id;
        replay_segment(&mut w, id, file.as_ref(), SEGMENT_HEADER, is_last)?;
        if !is_last {
            write_index_file(shared, id, &entries_of(shared, id))?;
        }
    }
    w.active.len = w.active.file.size()?;
    w.active.end = w.active.len;
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
            // The zeros written ahead of the newest segment's records (see
            // `Writer::zero_ahead`): its clean end.
            Scanned::Unwritten { offset } if is_last => {
                tracing::debug!(segment = id, offset, "cutting the zeros written ahead");
                file.truncate(offset)?;
                file.sync_data()?;
                break;
            }
            Scanned::Unwritten { offset } => {
                return Err(LogError::Corrupt(format!(
                    "journal segment {id} holds zeros at offset {offset} and is not the newest"
                )));
            }
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
                // Counters only grow along the journal. (The committed next counter may be
                // ahead of what is replayed: it is checkpointed after these records.)
                let indexed = match view {
                    Some(view) => lock(&view.state)
                        .chunks
                        .last()
                        .map_or(0, |c| c.last_counter + 1),
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
                    .map_or(indexed, |e| e.counter + 1);
                if counter < expected {
                    return Err(LogError::Corrupt(format!(
                        "journal segment {id} offset {offset}: counter {counter} of {shard:?} after {expected}"
                    )));
                }
                let entry = IndexEntry {
                    counter,
                    arrival_ms,
                    offset,
                };
                pending.entry(shard).or_default().push(entry, frame_len);
                pending_count += 1;
                if pending_count >= FLUSH_ENTRIES {
                    publish_pending(w, id, &mut pending)?;
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
                publish_pending(w, id, &mut pending)?;
                pending_count = 0;
                w.apply_drop(stream);
            }
        }
    }
    publish_pending(w, id, &mut pending)
}

fn publish_pending(
    w: &mut Writer,
    segment: u64,
    pending: &mut BTreeMap<ShardKey, ShardBatch>,
) -> Result<(), LogError> {
    w.publish(
        segment,
        pending.iter().map(|(shard, batch)| (*shard, batch.run())),
    );
    pending.clear();
    Ok(())
}

/// Deletes index files the (just written) checkpoint does not need: those of deleted
/// segments, temporary files of a write cut short, and the per-shard directories of
/// checkpoint versions before 3.
fn remove_orphans(w: &mut Writer) -> Result<(), LogError> {
    let disk = w.shared.disk.clone();
    let segments: BTreeSet<u64> = read(&w.shared.segments).keys().copied().collect();
    let mut removed = false;
    for name in disk.list_dir(Path::new(INDEX_DIR))? {
        let path = Path::new(INDEX_DIR).join(&name);
        match parse_index_name(&name) {
            Some((id, false)) if segments.contains(&id) && id != w.active.id => continue,
            Some(_) => disk.remove_file(&path)?,
            // A stream directory of the old layout (or anything else that is not ours).
            None if name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()) => {
                disk.remove_dir_all(&path)?
            }
            None => continue,
        }
        removed = true;
    }
    if removed {
        disk.sync_dir(Path::new(INDEX_DIR))?;
    }
    Ok(())
}
