//! Any bytes as a journal segment (and, after a NUL, a checkpoint): recovery opens the log
//! or reports corruption, and never panics; an opened log accepts appends.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use spate_log::disk::{Disk, MemoryDisk};
use spate_log::{Log, LogConfig, ManualClock};

fuzz_target!(|data: &[u8]| {
    let (journal, checkpoint) = match data.iter().position(|b| *b == 0xFE) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let disk = Arc::new(MemoryDisk::new());
    let write = |path: &str, bytes: &[u8]| {
        if let Ok(file) = disk.open(Path::new(path), true) {
            let _ = file.append(bytes);
        }
    };
    let _ = disk.create_dir_all(Path::new("journal"));
    write("journal/00000000000000000001.log", journal);
    if let Some(checkpoint) = checkpoint {
        write("checkpoint", checkpoint);
    }
    let config = LogConfig { checkpoint_interval: Default::default(), retention_sweep_interval: Default::default(), ..LogConfig::default() };
    if let Ok(log) = Log::open_with(config, disk, Arc::new(ManualClock::new(1_000))) {
        let _ = log.shutdown();
    }
});
