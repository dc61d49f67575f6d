//! Journal entry framing: `len u32 | crc32c u32 | body[len]`, all little-endian, where the
//! CRC covers the body and the body starts with a kind byte. A frame that does not fit in
//! the file, or whose CRC does not match, marks where a torn write begins.

use crate::types::ShardKey;

/// Bytes before the body: length and CRC.
pub(crate) const FRAME_HEADER: usize = 8;
/// Fixed part of a record body: kind, stream, shard, counter, arrival, key length.
pub(crate) const RECORD_FIXED: usize = 1 + 8 + 4 + 8 + 8 + 2;

// Persisted discriminants; never reuse one.
const KIND_RECORD: u8 = 1;
const KIND_REGISTER: u8 = 2;
const KIND_DROP_STREAM: u8 = 3;

/// A decoded journal entry borrowing from the read buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry<'a> {
    Record {
        shard: ShardKey,
        counter: u64,
        arrival_ms: i64,
        partition_key: &'a [u8],
        data: &'a [u8],
    },
    /// A shard exists and its counter is at least `start_counter`.
    Register { shard: ShardKey, start_counter: u64 },
    /// Everything of this stream is gone.
    DropStream { stream: u64 },
}

/// The outcome of decoding at some position.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded<'a> {
    /// A valid entry and the frame's total length.
    Entry(Entry<'a>, usize),
    /// The buffer ends inside the frame; `needed` bytes would hold all of it (if the length
    /// field is to be believed).
    Incomplete { needed: usize },
    /// Not a valid frame.
    Bad(String),
}

fn frame(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER]);
    body(out);
    let len = (out.len() - start - FRAME_HEADER) as u32;
    let crc = crc32c::crc32c(&out[start + FRAME_HEADER..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Frame length of a record, or why it cannot be framed.
pub(crate) fn record_frame_len(partition_key: &str, data: &[u8]) -> Result<usize, String> {
    if partition_key.len() > usize::from(u16::MAX) {
        return Err(format!("partition key of {} bytes", partition_key.len()));
    }
    let body = RECORD_FIXED + partition_key.len() + data.len();
    if u32::try_from(body).is_err() {
        return Err(format!("record of {} bytes", data.len()));
    }
    Ok(FRAME_HEADER + body)
}

/// Appends a record frame; the caller has checked `record_frame_len`.
pub(crate) fn encode_record(
    out: &mut Vec<u8>,
    shard: ShardKey,
    counter: u64,
    arrival_ms: i64,
    partition_key: &str,
    data: &[u8],
) {
    frame(out, |b| {
        b.push(KIND_RECORD);
        b.extend_from_slice(&shard.stream.to_le_bytes());
        b.extend_from_slice(&shard.shard.to_le_bytes());
        b.extend_from_slice(&counter.to_le_bytes());
        b.extend_from_slice(&arrival_ms.to_le_bytes());
        b.extend_from_slice(&(partition_key.len() as u16).to_le_bytes());
        b.extend_from_slice(partition_key.as_bytes());
        b.extend_from_slice(data);
    });
}

pub(crate) fn encode_register(out: &mut Vec<u8>, shard: ShardKey, start_counter: u64) {
    frame(out, |b| {
        b.push(KIND_REGISTER);
        b.extend_from_slice(&shard.stream.to_le_bytes());
        b.extend_from_slice(&shard.shard.to_le_bytes());
        b.extend_from_slice(&start_counter.to_le_bytes());
    });
}

pub(crate) fn encode_drop_stream(out: &mut Vec<u8>, stream: u64) {
    frame(out, |b| {
        b.push(KIND_DROP_STREAM);
        b.extend_from_slice(&stream.to_le_bytes());
    });
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

/// Decodes the frame at the start of `buf`.
pub(crate) fn decode(buf: &[u8]) -> Decoded<'_> {
    if buf.len() < FRAME_HEADER {
        return Decoded::Incomplete {
            needed: FRAME_HEADER,
        };
    }
    let len = u32_at(buf, 0) as usize;
    let crc = u32_at(buf, 4);
    if len == 0 {
        return Decoded::Bad("zero-length frame".into());
    }
    let total = FRAME_HEADER + len;
    if buf.len() < total {
        return Decoded::Incomplete { needed: total };
    }
    let body = &buf[FRAME_HEADER..total];
    if crc32c::crc32c(body) != crc {
        return Decoded::Bad("checksum mismatch".into());
    }
    let key = |b: &[u8]| ShardKey {
        stream: u64_at(b, 1),
        shard: u32_at(b, 9),
    };
    let entry = match body[0] {
        KIND_RECORD if body.len() >= RECORD_FIXED => {
            let key_len = usize::from(u16_at(body, 29));
            if body.len() < RECORD_FIXED + key_len {
                return Decoded::Bad("partition key overruns record".into());
            }
            Entry::Record {
                shard: key(body),
                counter: u64_at(body, 13),
                arrival_ms: u64_at(body, 21) as i64,
                partition_key: &body[RECORD_FIXED..RECORD_FIXED + key_len],
                data: &body[RECORD_FIXED + key_len..],
            }
        }
        KIND_REGISTER if body.len() == 21 => Entry::Register {
            shard: key(body),
            start_counter: u64_at(body, 13),
        },
        KIND_DROP_STREAM if body.len() == 9 => Entry::DropStream {
            stream: u64_at(body, 1),
        },
        kind => return Decoded::Bad(format!("unknown entry kind {kind} of {len} bytes")),
    };
    Decoded::Entry(entry, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: ShardKey = ShardKey {
        stream: 7,
        shard: 3,
    };

    #[test]
    fn round_trips_every_kind() {
        let mut buf = Vec::new();
        encode_record(&mut buf, K, 42, -5, "pk", b"hello");
        let first = buf.len();
        assert_eq!(first, record_frame_len("pk", b"hello").ok().unwrap_or(0));
        encode_register(&mut buf, K, 9);
        encode_drop_stream(&mut buf, 7);
        let Decoded::Entry(e, n) = decode(&buf) else {
            panic!("record")
        };
        assert_eq!(n, first);
        assert_eq!(
            e,
            Entry::Record {
                shard: K,
                counter: 42,
                arrival_ms: -5,
                partition_key: b"pk",
                data: b"hello"
            }
        );
        let Decoded::Entry(e, m) = decode(&buf[n..]) else {
            panic!("register")
        };
        assert_eq!(
            e,
            Entry::Register {
                shard: K,
                start_counter: 9
            }
        );
        let Decoded::Entry(e, _) = decode(&buf[n + m..]) else {
            panic!("drop")
        };
        assert_eq!(e, Entry::DropStream { stream: 7 });
    }

    #[test]
    fn every_torn_prefix_is_incomplete_and_every_flip_is_caught() {
        let mut buf = Vec::new();
        encode_record(&mut buf, K, 1, 2, "key", b"some data here");
        for cut in 0..buf.len() {
            assert!(
                matches!(decode(&buf[..cut]), Decoded::Incomplete { .. }),
                "cut {cut}"
            );
        }
        for at in 4..buf.len() {
            let mut bad = buf.clone();
            bad[at] ^= 0x10;
            assert!(matches!(decode(&bad), Decoded::Bad(_)), "flip at {at}");
        }
    }

    #[test]
    fn zeroed_tail_is_bad_not_an_entry() {
        assert!(matches!(decode(&[0; 64]), Decoded::Bad(_)));
    }

    #[test]
    fn oversized_keys_are_refused() {
        assert!(record_frame_len(&"k".repeat(70_000), b"").is_err());
    }
}
