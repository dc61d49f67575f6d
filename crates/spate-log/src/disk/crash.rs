//! A disk that can lose power. It remembers, per file, the contents as of the last
//! `sync_data` (the writes made before that sync started) and the writes since, and per
//! directory the entries as of the last `sync_dir`. A crash can be scheduled at the N-th
//! mutating operation: that operation fails (a write may leave a random prefix behind) and
//! so does every later one, which poisons the log the way a dying disk would.
//! [`CrashDisk::crash_image`] then yields what a reboot would find: only synced entries,
//! each file holding its synced contents plus a random prefix of the writes since, in
//! order, the last of them possibly torn.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Disk, DiskFile, children};
use crate::sync::lock;

/// The crash-simulating test disk.
#[derive(Clone)]
pub struct CrashDisk {
    state: Arc<Mutex<Namespace>>,
    power: Arc<Power>,
}

struct Namespace {
    live: BTreeMap<PathBuf, Arc<CrashFile>>,
    durable: BTreeMap<PathBuf, Arc<CrashFile>>,
}

/// Shared by the disk and its files so any operation can be the one that crashes.
struct Power {
    state: Mutex<PowerState>,
    syncs: AtomicU64,
    // Emulates a device's flush latency so group commit has something to amortise; it is
    // not used to wait for any state.
    sync_latency: Option<Duration>,
}

struct PowerState {
    ops: u64,
    crash_at: Option<u64>,
    crashed: bool,
    rng: u64,
}

struct CrashFile {
    contents: Mutex<Contents>,
    power: Arc<Power>,
}

#[derive(Clone, Default)]
struct Contents {
    current: Vec<u8>,
    synced: Vec<u8>,
    /// What turned `synced` into `current`, oldest first.
    unsynced: Vec<Change>,
}

#[derive(Clone)]
enum Change {
    Write { offset: u64, data: Vec<u8> },
    Truncate(u64),
}

impl Change {
    fn apply(&self, file: &mut Vec<u8>) {
        match self {
            Change::Write { offset, data } => super::write_into(file, *offset, data),
            Change::Truncate(len) => file.resize(usize::try_from(*len).unwrap_or(usize::MAX), 0),
        }
    }
}

impl Contents {
    fn change(&mut self, change: Change) {
        change.apply(&mut self.current);
        self.unsynced.push(change);
    }
}

fn crashed() -> io::Error {
    io::Error::other("simulated power loss")
}

/// What a mutating operation may do.
enum Fate {
    Proceed,
    /// This is the crashing operation: an append keeps this fraction (0..=255 / 256) of its
    /// bytes, then fails.
    Crash(u8),
}

impl Power {
    fn new(seed: u64, sync_latency: Option<Duration>) -> Power {
        Power {
            state: Mutex::new(PowerState {
                ops: 0,
                crash_at: None,
                crashed: false,
                rng: seed,
            }),
            syncs: AtomicU64::new(0),
            sync_latency,
        }
    }

    fn mutate(&self) -> io::Result<Fate> {
        let mut s = lock(&self.state);
        if s.crashed {
            return Err(crashed());
        }
        s.ops += 1;
        if s.crash_at.is_some_and(|at| s.ops >= at) {
            s.crashed = true;
            let keep = (next_random(&mut s.rng) & 0xff) as u8;
            return Ok(Fate::Crash(keep));
        }
        Ok(Fate::Proceed)
    }

    fn has_crashed(&self) -> bool {
        lock(&self.state).crashed
    }
}

/// splitmix64: tiny, seedable, good enough to pick tear points.
pub(crate) fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl CrashDisk {
    /// An empty disk; `seed` drives where writes tear.
    pub fn new(seed: u64) -> CrashDisk {
        CrashDisk::with_sync_latency(seed, None)
    }

    /// Like `new`, but every `sync_data` takes `latency`, like a real device's flush.
    pub fn with_sync_latency(seed: u64, latency: Option<Duration>) -> CrashDisk {
        CrashDisk {
            state: Arc::new(Mutex::new(Namespace {
                live: BTreeMap::new(),
                durable: BTreeMap::new(),
            })),
            power: Arc::new(Power::new(seed, latency)),
        }
    }

    /// Crashes at the `n`-th mutating operation from now (1 = the next one).
    pub fn crash_after(&self, n: u64) {
        let mut s = lock(&self.power.state);
        s.crash_at = Some(s.ops + n.max(1));
    }

    /// Crashes now: every later mutating operation fails.
    pub fn crash_now(&self) {
        lock(&self.power.state).crashed = true;
    }

    /// Whether the disk has crashed.
    pub fn has_crashed(&self) -> bool {
        self.power.has_crashed()
    }

    /// Mutating operations so far (to pick crash points within a run's range).
    pub fn ops(&self) -> u64 {
        lock(&self.power.state).ops
    }

    /// `sync_data` calls so far.
    pub fn syncs(&self) -> u64 {
        self.power.syncs.load(Ordering::SeqCst)
    }

    /// What a reboot after a power loss right now would find, as a fresh disk.
    pub fn crash_image(&self) -> CrashDisk {
        let seed = next_random(&mut lock(&self.power.state).rng);
        let image = CrashDisk::with_sync_latency(seed, self.power.sync_latency);
        let mut rng = seed;
        let ns = lock(&self.state);
        let mut out = lock(&image.state);
        for (path, file) in &ns.durable {
            let c = lock(&file.contents);
            let mut kept = c.synced.clone();
            // The device may have taken any prefix of the unsynced writes, in order, the
            // next one torn anywhere: with frame checksums, that covers every torn tail
            // recovery must cut. (A device may also reorder them; checksums make what
            // recovery keeps the same as the longest intact prefix.)
            let taken = (next_random(&mut rng) % (c.unsynced.len() as u64 + 1)) as usize;
            for change in &c.unsynced[..taken] {
                change.apply(&mut kept);
            }
            if let Some(Change::Write { offset, data }) = c.unsynced.get(taken) {
                let keep = (next_random(&mut rng) % (data.len() as u64 + 1)) as usize;
                super::write_into(&mut kept, *offset, &data[..keep]);
            }
            let copy = Arc::new(CrashFile {
                contents: Mutex::new(Contents {
                    current: kept.clone(),
                    synced: kept,
                    unsynced: Vec::new(),
                }),
                power: image.power.clone(),
            });
            out.live.insert(path.clone(), copy.clone());
            out.durable.insert(path.clone(), copy);
        }
        drop(out);
        image
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", path.display()),
    )
}

impl Disk for CrashDisk {
    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn DiskFile>> {
        if let Some(file) = lock(&self.state).live.get(path) {
            return Ok(file.clone());
        }
        if !create {
            return Err(not_found(path));
        }
        if let Fate::Crash(_) = self.power.mutate()? {
            return Err(crashed());
        }
        let file = Arc::new(CrashFile {
            contents: Mutex::default(),
            power: self.power.clone(),
        });
        lock(&self.state)
            .live
            .insert(path.to_path_buf(), file.clone());
        Ok(file)
    }

    fn create_dir_all(&self, _path: &Path) -> io::Result<()> {
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        Ok(children(lock(&self.state).live.iter(), path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        if let Fate::Crash(_) = self.power.mutate()? {
            return Err(crashed());
        }
        let mut ns = lock(&self.state);
        let file = ns.live.remove(from).ok_or_else(|| not_found(from))?;
        ns.live.insert(to.to_path_buf(), file);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        if let Fate::Crash(_) = self.power.mutate()? {
            return Err(crashed());
        }
        lock(&self.state)
            .live
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| not_found(path))
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        if let Fate::Crash(_) = self.power.mutate()? {
            return Err(crashed());
        }
        lock(&self.state).live.retain(|p, _| !p.starts_with(path));
        Ok(())
    }

    fn overwrite_syncs_cheaper(&self) -> bool {
        // As a real disk, so the crash tests cover the journal's zeros written ahead.
        true
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        if let Fate::Crash(_) = self.power.mutate()? {
            return Err(crashed());
        }
        let mut ns = lock(&self.state);
        let in_dir = |p: &Path| p.parent() == Some(path);
        ns.durable.retain(|p, _| !in_dir(p));
        let entries: Vec<_> = ns
            .live
            .iter()
            .filter(|(p, _)| in_dir(p))
            .map(|(p, f)| (p.clone(), f.clone()))
            .collect();
        ns.durable.extend(entries);
        Ok(())
    }
}

impl DiskFile for CrashFile {
    fn size(&self) -> io::Result<u64> {
        Ok(lock(&self.contents).current.len() as u64)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let c = lock(&self.contents);
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(c.current.len());
        let n = buf.len().min(c.current.len() - start);
        buf[..n].copy_from_slice(&c.current[start..start + n]);
        Ok(n)
    }

    fn append(&self, data: &[u8]) -> io::Result<()> {
        let end = lock(&self.contents).current.len() as u64;
        self.write_at(end, data)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let (data, outcome) = match self.power.mutate()? {
            Fate::Proceed => (data, Ok(())),
            Fate::Crash(keep) => (
                &data[..data.len() * usize::from(keep) / 256],
                Err(crashed()),
            ),
        };
        lock(&self.contents).change(Change::Write {
            offset,
            data: data.to_vec(),
        });
        outcome
    }

    fn write_direct(&self, offset: u64, data: &[u8]) -> io::Result<u64> {
        // Padded with zeros to the next aligned boundary, as a real disk's direct write
        // is, so the crash tests cover what follows a group so written.
        let end = (offset + data.len() as u64).next_multiple_of(super::DIRECT_ALIGN);
        let mut padded = data.to_vec();
        padded.resize((end - offset) as usize, 0);
        self.write_at(offset, &padded)?;
        Ok(end)
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        if let Fate::Crash(_) = self.power.mutate()? {
            return Err(crashed());
        }
        lock(&self.contents).change(Change::Truncate(len));
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        if let Fate::Crash(_) = self.power.mutate()? {
            return Err(crashed());
        }
        // Only the writes made before the sync started are durable when it returns: one
        // made meanwhile (by another thread) may or may not be, as with `fdatasync`.
        let covered = lock(&self.contents).unsynced.len();
        if let Some(latency) = self.power.sync_latency {
            std::thread::sleep(latency);
            // The power failed during the flush: it did not finish.
            if self.power.has_crashed() {
                return Err(crashed());
            }
        }
        self.power.syncs.fetch_add(1, Ordering::SeqCst);
        let mut c = lock(&self.contents);
        // Replaying the writes costs what they wrote, not what the file holds.
        let Contents {
            synced, unsynced, ..
        } = &mut *c;
        for change in unsynced.drain(..covered) {
            change.apply(synced);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What reboots find after an unsynced overwrite of synced zeros and a truncation.
    fn images(seed: u64) -> Vec<Vec<u8>> {
        let disk = CrashDisk::new(seed);
        let f = disk.open(Path::new("f"), true).unwrap();
        disk.sync_dir(Path::new("")).unwrap();
        f.append(&[0; 8]).unwrap();
        f.sync_data().unwrap();
        f.write_at(2, b"abcd").unwrap();
        f.truncate(5).unwrap();
        (0..64)
            .map(|_| {
                let image = disk.crash_image();
                let f = image.open(Path::new("f"), false).unwrap();
                let mut buf = vec![0; f.size().unwrap() as usize];
                f.read_at(0, &mut buf).unwrap();
                buf
            })
            .collect()
    }

    #[test]
    fn a_crash_keeps_a_prefix_of_the_unsynced_writes_in_order() {
        let mut seen: Vec<Vec<u8>> = images(1);
        seen.sort();
        seen.dedup();
        // Nothing, part of the write, all of it, or all of it and the cut.
        let allowed: Vec<&[u8]> = vec![
            b"\0\0\0\0\0\0\0\0",
            b"\0\0a\0\0\0\0\0",
            b"\0\0ab\0\0\0\0",
            b"\0\0abc\0\0\0",
            b"\0\0abcd\0\0",
            b"\0\0abc",
        ];
        for image in &seen {
            assert!(allowed.contains(&&image[..]), "{image:?}");
        }
        assert!(seen.len() >= 4, "{seen:?}");
    }
}
