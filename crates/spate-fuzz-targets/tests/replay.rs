//! The fuzz targets on stable, in the regular suite: every input kept under
//! `fuzz/regressions/<target>/` (crashes once found, one file each) and `fuzz/seeds/<target>.b64`
//! (a corpus minimised with `cargo fuzz cmin` after earlier runs, one base64 input per line),
//! then random inputs and mutations of the kept ones for each target.
//! libFuzzer (`scripts/fuzz.sh`) searches far deeper; this keeps what it found found.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use spate_fuzz_targets::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The kept inputs of one target, each with where it came from (either source may be
/// missing).
fn kept(target: &str) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    let mut inputs = Vec::new();
    if let Ok(dir) = std::fs::read_dir(fuzz_dir().join("regressions").join(target)) {
        for entry in dir {
            let path = entry.expect("a directory entry").path();
            let bytes = std::fs::read(&path).expect("a readable input");
            inputs.push((path.display().to_string(), bytes));
        }
    }
    let seeds = fuzz_dir().join("seeds").join(format!("{target}.b64"));
    if let Ok(text) = std::fs::read_to_string(&seeds) {
        for (n, line) in text.lines().enumerate() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(line)
                .expect("a base64 seed");
            inputs.push((format!("{} line {}", seeds.display(), n + 1), bytes));
        }
    }
    inputs.sort();
    inputs
}

fn target(name: &str) -> fn(&[u8]) {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .expect("a target of that name")
}

#[test]
fn every_kept_input_passes_its_target() {
    let mut replayed = 0;
    for (name, run) in TARGETS {
        for (path, bytes) in kept(name) {
            let outcome = std::panic::catch_unwind(|| run(&bytes));
            assert!(outcome.is_ok(), "{name} fails on {path}");
            replayed += 1;
        }
    }
    // The seeds are committed: an empty replay means the paths broke, not that all is well.
    assert!(
        replayed > 0,
        "no kept inputs under {}",
        fuzz_dir().display()
    );
}

#[test]
fn the_log_seed_is_a_valid_journal_of_plain_and_sealed_records() {
    let seed = spate_fuzz_targets::log_seed().expect("a journal without 0xFE bytes");
    // Walk the frames (24-byte segment header; then len u32, crc u32, body): kinds 1
    // (record), 2 (registration), 3 (drop) and 4 (sealed record) all appear.
    let mut kinds = std::collections::BTreeSet::new();
    let mut at = 24;
    while at + 8 < seed.len() {
        let len = u32::from_le_bytes(seed[at..at + 4].try_into().expect("4 bytes")) as usize;
        kinds.insert(seed[at + 8]);
        at += 8 + len;
    }
    assert_eq!(at, seed.len(), "frames end where the journal does");
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
    spate_fuzz_targets::log_recovery(&seed);
}

/// Seeds to mutate for `name`: its kept inputs (and for log recovery a journal written by
/// the log), or one empty input.
fn seeds(name: &str) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = kept(name).into_iter().map(|(_, b)| b).collect();
    if name == "log_recovery" {
        seeds.extend(spate_fuzz_targets::log_seed());
    }
    if seeds.is_empty() {
        seeds.push(Vec::new());
    }
    seeds
}

/// One mutation of a seed: overwrite, insert, delete or truncate at `at`.
fn mutate(seed: &[u8], kind: u8, at: usize, byte: u8) -> Vec<u8> {
    let mut out = seed.to_vec();
    let at = if out.is_empty() { 0 } else { at % out.len() };
    match kind % 4 {
        0 if !out.is_empty() => out[at] = byte,
        1 => out.insert(at, byte),
        2 if !out.is_empty() => {
            out.remove(at);
        }
        _ => out.truncate(at),
    }
    out
}

fn random_inputs(name: &'static str, cases: u32) {
    let run = target(name);
    let seeds = seeds(name);
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(
        raw in proptest::collection::vec(any::<u8>(), 0..2048),
        pick in any::<usize>(),
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..8),
    )| {
        run(&raw);
        let mut mutated = seeds[pick % seeds.len()].clone();
        for (kind, at, byte) in edits {
            mutated = mutate(&mutated, kind, at, byte);
        }
        run(&mutated);
    });
}

#[test]
fn json_request_takes_random_and_mutated_input() {
    random_inputs("json_request", 2_000);
}

#[test]
fn cbor_request_takes_random_and_mutated_input() {
    random_inputs("cbor_request", 2_000);
}

#[test]
fn eventstream_takes_random_and_mutated_input() {
    random_inputs("eventstream", 2_000);
}

#[test]
fn sigv4_header_takes_random_and_mutated_input() {
    random_inputs("sigv4_header", 2_000);
}

#[test]
fn iterator_takes_random_and_mutated_input() {
    random_inputs("iterator", 2_000);
}

#[test]
fn put_fast_takes_random_and_mutated_input() {
    random_inputs("put_fast", 2_000);
}

#[test]
fn log_recovery_takes_random_and_mutated_input() {
    // Each case opens a log (a writer thread and a checkpoint), so fewer of them.
    random_inputs("log_recovery", 200);
}

/// Among the put_fast seeds are bodies the fast decoder takes, for both operations in both
/// codecs, so mutating them explores its accepting paths, where the comparison with the
/// generic decoder happens.
#[test]
fn the_put_fast_seeds_reach_the_fast_path() {
    use spate_wire::Codec;
    use spate_wire::put_fast::{decode_put_record, decode_put_records};
    let mut taken = [0; 4];
    for (_, input) in kept("put_fast") {
        let Some((pick, body)) = input.split_first() else {
            continue;
        };
        let codec = if pick & 2 == 0 {
            Codec::Json
        } else {
            Codec::Cbor
        };
        let fast = if pick & 1 == 0 {
            decode_put_records(codec, &bytes::Bytes::copy_from_slice(body)).is_some()
        } else {
            decode_put_record(codec, &bytes::Bytes::copy_from_slice(body)).is_some()
        };
        taken[usize::from(pick & 3)] += usize::from(fast);
    }
    // JSON PutRecords, JSON PutRecord, CBOR PutRecords, CBOR PutRecord.
    assert!(taken.iter().all(|n| *n > 0), "{taken:?}");
    eprintln!("seeds taken by the fast path: {taken:?}");
}
