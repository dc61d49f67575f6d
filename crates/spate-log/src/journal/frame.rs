//! Journal entry framing: `len u32 | crc32c u32 | body[len]`, all little-endian, where the
//! CRC covers the body and the body starts with a kind byte. A frame that does not fit in
//! the file, or whose CRC does not match, marks where a torn write begins.

use crate::crc::crc32c;
use crate::types::{KEY_ID_LEN, NONCE_LEN, SEAL_TAG_LEN, ShardKey};

/// Bytes before the body: length and CRC.
pub(crate) const FRAME_HEADER: usize = 8;
/// Fixed part of a record body: kind, stream, shard, counter, arrival, key length.
pub(crate) const RECORD_FIXED: usize = 1 + 8 + 4 + 8 + 8 + 2;
/// The authenticated header of a sealed record body: kind, stream, shard, counter, arrival,
/// key id. It is the AEAD's associated data, so a frame cannot be moved to another position.
pub(crate) const SEALED_AAD: usize = 1 + 8 + 4 + 8 + 8 + KEY_ID_LEN;
/// Fixed part of a sealed record body: the authenticated header and the nonce.
pub(crate) const SEALED_FIXED: usize = SEALED_AAD + NONCE_LEN;
/// The shortest ciphertext: a sealed empty key length (2 bytes) and the tag.
const SEALED_MIN_CIPHERTEXT: usize = 2 + SEAL_TAG_LEN;

// Persisted discriminants; never reuse one.
const KIND_RECORD: u8 = 1;
const KIND_REGISTER: u8 = 2;
const KIND_DROP_STREAM: u8 = 3;
const KIND_SEALED: u8 = 4;

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
    /// A record whose partition key and data are sealed under the key `key_id`.
    Sealed {
        shard: ShardKey,
        counter: u64,
        arrival_ms: i64,
        key_id: [u8; KEY_ID_LEN],
        nonce: [u8; NONCE_LEN],
        /// The associated data the seal authenticated (the body's first `SEALED_AAD` bytes).
        aad: &'a [u8],
        /// The sealed `key_len u16 | partition key | data`, tag included.
        ciphertext: &'a [u8],
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
    let crc = crc32c(&out[start + FRAME_HEADER..]);
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

/// Frame length of a record sealed (plaintext `key_len | key | data`, plus the tag), or why
/// it cannot be framed.
pub(crate) fn sealed_frame_len(partition_key: &str, data: &[u8]) -> Result<usize, String> {
    record_frame_len(partition_key, data)?;
    let body = SEALED_FIXED + 2 + partition_key.len() + data.len() + SEAL_TAG_LEN;
    if u32::try_from(body).is_err() {
        return Err(format!("record of {} bytes", data.len()));
    }
    Ok(FRAME_HEADER + body)
}

/// The associated data of a sealed record: the first `SEALED_AAD` bytes of its body.
pub(crate) fn sealed_aad(
    shard: ShardKey,
    counter: u64,
    arrival_ms: i64,
    key_id: &[u8; KEY_ID_LEN],
) -> [u8; SEALED_AAD] {
    let mut aad = [0; SEALED_AAD];
    aad[0] = KIND_SEALED;
    aad[1..9].copy_from_slice(&shard.stream.to_le_bytes());
    aad[9..13].copy_from_slice(&shard.shard.to_le_bytes());
    aad[13..21].copy_from_slice(&counter.to_le_bytes());
    aad[21..29].copy_from_slice(&arrival_ms.to_le_bytes());
    aad[29..].copy_from_slice(key_id);
    aad
}

/// The plaintext a sealed record encrypts: `key_len u16 | partition key | data`, with room
/// for the tag so sealing in place does not reallocate.
pub(crate) fn sealed_plaintext(partition_key: &str, data: &[u8]) -> Vec<u8> {
    let mut plain = Vec::with_capacity(2 + partition_key.len() + data.len() + SEAL_TAG_LEN);
    plain.extend_from_slice(&(partition_key.len() as u16).to_le_bytes());
    plain.extend_from_slice(partition_key.as_bytes());
    plain.extend_from_slice(data);
    plain
}

/// Appends a sealed record frame; `aad` is what `sealed_aad` made for it.
pub(crate) fn encode_sealed(
    out: &mut Vec<u8>,
    aad: &[u8; SEALED_AAD],
    nonce: &[u8; NONCE_LEN],
    ciphertext: &[u8],
) {
    frame(out, |b| {
        b.extend_from_slice(aad);
        b.extend_from_slice(nonce);
        b.extend_from_slice(ciphertext);
    });
}

/// The length of a register frame, and of a drop-stream frame.
pub(crate) const REGISTER_FRAME: usize = FRAME_HEADER + 1 + 8 + 4 + 8;
pub(crate) const DROP_STREAM_FRAME: usize = FRAME_HEADER + 1 + 8;

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
/// The length of the whole frame starting at `at` in an encoded buffer.
pub(crate) fn frame_len_at(buf: &[u8], at: usize) -> usize {
    FRAME_HEADER + u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize
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
    if crc32c(body) != crc {
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
        KIND_SEALED if body.len() >= SEALED_FIXED + SEALED_MIN_CIPHERTEXT => {
            let mut key_id = [0; KEY_ID_LEN];
            key_id.copy_from_slice(&body[29..SEALED_AAD]);
            let mut nonce = [0; NONCE_LEN];
            nonce.copy_from_slice(&body[SEALED_AAD..SEALED_FIXED]);
            Entry::Sealed {
                shard: key(body),
                counter: u64_at(body, 13),
                arrival_ms: u64_at(body, 21) as i64,
                key_id,
                nonce,
                aad: &body[..SEALED_AAD],
                ciphertext: &body[SEALED_FIXED..],
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
        let mut sealed = Vec::new();
        let aad = sealed_aad(K, 1, 2, &[5; KEY_ID_LEN]);
        encode_sealed(&mut sealed, &aad, &[6; NONCE_LEN], &[7; 40]);
        for buf in [buf, sealed] {
            torn_and_flipped(&buf);
        }
    }

    fn torn_and_flipped(buf: &[u8]) {
        for cut in 0..buf.len() {
            assert!(
                matches!(decode(&buf[..cut]), Decoded::Incomplete { .. }),
                "cut {cut}"
            );
        }
        for at in 4..buf.len() {
            let mut bad = buf.to_vec();
            bad[at] ^= 0x10;
            assert!(matches!(decode(&bad), Decoded::Bad(_)), "flip at {at}");
        }
    }

    #[test]
    fn sealed_round_trips_and_keeps_its_header_as_aad() {
        let key_id = [9; KEY_ID_LEN];
        let aad = sealed_aad(K, 42, -5, &key_id);
        let ciphertext = [7u8; 30];
        let mut buf = Vec::new();
        encode_sealed(&mut buf, &aad, &[3; NONCE_LEN], &ciphertext);
        assert_eq!(
            buf.len(),
            sealed_frame_len("pk", &[0; 30 - 2 - 2 - SEAL_TAG_LEN])
                .ok()
                .unwrap_or(0)
        );
        let Decoded::Entry(e, n) = decode(&buf) else {
            panic!("sealed")
        };
        assert_eq!(n, buf.len());
        assert_eq!(
            e,
            Entry::Sealed {
                shard: K,
                counter: 42,
                arrival_ms: -5,
                key_id,
                nonce: [3; NONCE_LEN],
                aad: &aad,
                ciphertext: &ciphertext,
            }
        );
        // Too short to hold a tag: not a sealed record.
        let mut short = Vec::new();
        encode_sealed(
            &mut short,
            &aad,
            &[3; NONCE_LEN],
            &[0; SEALED_MIN_CIPHERTEXT - 1],
        );
        assert!(matches!(decode(&short), Decoded::Bad(_)));
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
