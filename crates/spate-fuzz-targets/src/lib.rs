//! What each fuzz target checks, as plain functions: `fuzz/fuzz_targets/*` call them under
//! libFuzzer (nightly), and `tests/replay.rs` calls them on stable with the kept inputs and
//! random ones, so a crash once found stays fixed. Each panics only on a real bug.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use spate_auth::{AuthorizationHeader, Credential, Request, Verifier};
use spate_log::disk::{Disk, MemoryDisk};
use spate_log::{KEY_ID_LEN, Log, LogConfig, ManualClock, NONCE_LEN, NewRecord, Sealer, ShardKey};
use spate_wire::eventstream::{decode_message, encode_message};
use spate_wire::{Codec, Operation, decode_request};

/// A target's check of one input.
pub type Target = fn(&[u8]);

/// Every target by name (the name of its directory under `fuzz/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("json_request", json_request),
    ("cbor_request", cbor_request),
    ("eventstream", eventstream),
    ("sigv4_header", sigv4_header),
    ("iterator", iterator),
    ("log_recovery", log_recovery),
    ("put_fast", put_fast),
];

/// Any bytes as a JSON request body of any operation (picked by the first byte): an AWS
/// error or a value, never a panic; whatever decodes encodes back.
pub fn json_request(data: &[u8]) {
    request(Codec::Json, data);
}

/// [`json_request`] in CBOR.
pub fn cbor_request(data: &[u8]) {
    request(Codec::Cbor, data);
}

fn request(codec: Codec, data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let op = Operation::ALL[usize::from(pick) % Operation::ALL.len()];
    if let Ok(value) = decode_request(op, codec, body) {
        let _ = spate_wire::encode_response(op, codec, &value);
    }
}

/// Any bytes as a PutRecords or PutRecord body (the first byte picks which, and JSON or
/// CBOR): whatever the single-pass decoder of the hot puts accepts, the generic decoder must
/// accept too and read the same, or the fast path would change what the server answers. A
/// body cut into frames (every 1 to 64 bytes, by the first byte) must read as in one.
pub fn put_fast(data: &[u8]) {
    use spate_wire::put_fast::{
        decode_cbor_put_record, decode_cbor_put_records, decode_json_put_record,
        decode_json_put_records, decode_put_record, decode_put_records,
    };
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let shared = bytes::Bytes::copy_from_slice(body);
    let codec = if pick & 2 == 0 {
        Codec::Json
    } else {
        Codec::Cbor
    };
    let frames: Vec<bytes::Bytes> = body
        .chunks(usize::from(pick >> 2) + 1)
        .map(bytes::Bytes::copy_from_slice)
        .collect();
    let (records_in_frames, record_in_frames) = match codec {
        Codec::Json => (
            decode_json_put_records(&frames),
            decode_json_put_record(&frames),
        ),
        Codec::Cbor => (
            decode_cbor_put_records(&frames),
            decode_cbor_put_record(&frames),
        ),
    };
    assert_eq!(
        records_in_frames,
        decode_put_records(codec, &shared),
        "PutRecords in frames"
    );
    assert_eq!(
        record_in_frames,
        decode_put_record(codec, &shared),
        "PutRecord in frames"
    );
    let generic = |op| match decode_request(op, codec, body) {
        Ok(value) => value,
        Err(error) => panic!("the fast path took a body the generic path refuses: {error:?}"),
    };
    let text = |value: &serde_json::Value, member: &str| {
        value
            .get(member)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    if pick & 1 == 0 {
        let Some(fast) = decode_put_records(codec, &shared) else {
            return;
        };
        let value = generic(Operation::PutRecords);
        assert_eq!(text(&value, "StreamName"), fast.stream_name);
        assert_eq!(text(&value, "StreamARN"), fast.stream_arn);
        let entries = value["Records"].as_array().map_or(&[][..], Vec::as_slice);
        assert_eq!(entries.len(), fast.records.len());
        for (entry, record) in entries.iter().zip(&fast.records) {
            same_entry(entry, record);
        }
    } else {
        let Some(fast) = decode_put_record(codec, &shared) else {
            return;
        };
        let value = generic(Operation::PutRecord);
        assert_eq!(text(&value, "StreamName"), fast.stream_name);
        assert_eq!(text(&value, "StreamARN"), fast.stream_arn);
        assert_eq!(
            text(&value, "SequenceNumberForOrdering"),
            fast.sequence_number_for_ordering
        );
        same_entry(&value, &fast.record);
    }
}

/// A record as the generic decoder read it (`Data` in base64, as JSON carries it) against the
/// fast decoder's.
fn same_entry(generic: &serde_json::Value, fast: &spate_wire::put_fast::PutEntry) {
    let text = |member: &str| {
        generic
            .get(member)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let data = text("Data").map(|b64| base64_decode(&b64));
    assert_eq!(data.as_deref(), Some(&fast.data[..]));
    assert_eq!(text("PartitionKey"), fast.partition_key);
    assert_eq!(text("ExplicitHashKey"), fast.explicit_hash_key);
}

/// Standard padded base64, which the generic decoder has already checked.
fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Ok(bytes) => bytes,
        Err(error) => panic!("the generic decoder passed bad base64 {text:?}: {error}"),
    }
}

/// Any bytes as event-stream messages: decoded or refused, and what decodes re-encodes to
/// the same bytes.
pub fn eventstream(data: &[u8]) {
    if let Ok((message, used)) = decode_message(data) {
        let again = encode_message(&message.headers, message.payload);
        assert_eq!(&again[..], &data[..used], "re-encoding changed the message");
    }
}

/// Any text as an Authorization header (and, on the next lines, an `x-amz-date` and a
/// body): a verdict, never a panic.
pub fn sigv4_header(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = AuthorizationHeader::parse(&text);
    let mut parts = text.splitn(3, '\n');
    let auth = parts.next().unwrap_or("");
    let date = parts.next().unwrap_or("");
    let body = parts.next().unwrap_or("");
    let headers = vec![
        ("authorization".to_owned(), auth.to_owned()),
        ("x-amz-date".to_owned(), date.to_owned()),
        ("host".to_owned(), "127.0.0.1".to_owned()),
    ];
    let store = HashMap::from([(
        "AKID".to_owned(),
        Credential {
            secret_access_key: "secret".to_owned(),
            account_id: "000000000000".to_owned(),
        },
    )]);
    let request = Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let _ = Verifier::new(store).verify(&request, 1_790_000_000);
}

/// Any text as a shard iterator or pagination token: refused unless genuine (a forgery
/// would have to guess a 128-bit MAC).
pub fn iterator(data: &[u8]) {
    let key = spate_engine::tokens::TokenKey::new(vec![7; 32]);
    let text = String::from_utf8_lossy(data);
    assert!(
        key.decode_iterator(&text, 0, i64::MAX).is_err(),
        "a forged iterator decoded"
    );
    let _ = key.decode_token::<serde_json::Value>("ListShards", &text, 0, i64::MAX);
}

const JOURNAL: &str = "journal/00000000000000000001.log";

/// Shards the seed journal writes (see [`log_seed`]), which the target reads back.
const SEED_SHARDS: [ShardKey; 3] = [
    ShardKey {
        stream: 1,
        shard: 0,
    },
    ShardKey {
        stream: 1,
        shard: 1,
    },
    ShardKey {
        stream: 2,
        shard: 0,
    },
];

/// Any bytes as a journal segment (and, after a 0xFE byte, a checkpoint): recovery opens
/// the log or reports corruption, never panics; an opened log serves reads of the shards
/// the seed journal uses (plain and sealed records alike) and shuts down cleanly.
pub fn log_recovery(data: &[u8]) {
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
    write(JOURNAL, journal);
    if let Some(checkpoint) = checkpoint {
        write("checkpoint", checkpoint);
    }
    let config = LogConfig {
        checkpoint_interval: Default::default(),
        retention_sweep_interval: Default::default(),
        ..LogConfig::default()
    };
    if let Ok(log) = Log::open_with(config, disk, Arc::new(ManualClock::new(1_000))) {
        for shard in SEED_SHARDS {
            let _ = log.read(shard, 0, 0, 100, 1 << 20);
        }
        let _ = log.shutdown();
    }
}

/// A stand-in sealer: XOR with the nonce byte and a zero tag. The log never opens what it
/// stores, so recovery and reads of sealed frames need no real cipher to be exercised.
struct XorSealer;

impl Sealer for XorSealer {
    fn key_id(&self) -> [u8; KEY_ID_LEN] {
        [0x5A; KEY_ID_LEN]
    }

    fn seal(&self, _aad: &[u8], in_out: &mut Vec<u8>) -> Result<[u8; NONCE_LEN], String> {
        in_out.iter_mut().for_each(|b| *b ^= 0x33);
        in_out.extend_from_slice(&[0; spate_log::SEAL_TAG_LEN]);
        Ok([0x33; NONCE_LEN])
    }
}

/// A valid journal to mutate for [`log_recovery`]: shard registrations, plain and sealed
/// records on two shards, and a second stream that is dropped. Without a 0xFE byte, so the
/// target takes it whole as the journal (`None` if the bytes happen to hold one).
pub fn log_seed() -> Option<Vec<u8>> {
    let disk = Arc::new(MemoryDisk::new());
    let config = LogConfig {
        checkpoint_interval: std::time::Duration::from_secs(3600),
        ..LogConfig::default()
    };
    let log = Log::open_with(config, disk.clone(), Arc::new(ManualClock::new(1_000))).ok()?;
    let record = |shard: ShardKey, i: usize| NewRecord {
        shard,
        partition_key: format!("key-{i}"),
        data: bytes::Bytes::from(vec![i as u8; i * 7]),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build().ok()?;
    log.register_shards(&SEED_SHARDS.map(|s| (s, 0))).ok()?;
    runtime
        .block_on(log.append((0..4).map(|i| record(SEED_SHARDS[i % 2], i)).collect()))
        .ok()?;
    runtime
        .block_on(log.append_sealed(
            (4..8).map(|i| record(SEED_SHARDS[i % 2], i)).collect(),
            Arc::new(XorSealer),
        ))
        .ok()?;
    runtime
        .block_on(log.append(vec![record(SEED_SHARDS[2], 9)]))
        .ok()?;
    log.drop_stream(2).ok()?;
    log.shutdown().ok()?;
    let file = disk.open(Path::new(JOURNAL), false).ok()?;
    let mut bytes = vec![0; usize::try_from(file.size().ok()?).ok()?];
    let read = file.read_at(0, &mut bytes).ok()?;
    bytes.truncate(read);
    (!bytes.contains(&0xFE)).then_some(bytes)
}
