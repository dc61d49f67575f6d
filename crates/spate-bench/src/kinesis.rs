//! Request bodies in the two Kinesis wire formats: AWS JSON 1.1 (blobs as base64 strings)
//! and x-amz-cbor-1.1 (blobs as CBOR byte strings), the way the SDKs write them.

use base64::Engine as _;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    Json,
    Cbor,
}

impl Codec {
    pub fn content_type(self) -> &'static str {
        match self {
            Codec::Json => "application/x-amz-json-1.1",
            Codec::Cbor => "application/x-amz-cbor-1.1",
        }
    }
}

/// One record to put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSpec {
    pub partition_key: String,
    pub data: Vec<u8>,
}

/// Deterministic, incompressible-looking bytes: the same seed always gives the same record,
/// so a read-back can be checked against the request it came from.
pub fn payload(seed: u64, len: usize) -> Vec<u8> {
    // xorshift64*, seeded away from zero.
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Bytes a base64 text decodes to, without decoding it.
pub fn base64_decoded_len(text: impl AsRef<[u8]>) -> usize {
    let text = text.as_ref();
    let padding = text.iter().rev().take_while(|b| **b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
}

pub fn put_record_body(codec: Codec, stream: &str, record: &RecordSpec) -> Vec<u8> {
    match codec {
        Codec::Json => json!({
            "StreamName": stream,
            "Data": base64(&record.data),
            "PartitionKey": record.partition_key,
        })
        .to_string()
        .into_bytes(),
        Codec::Cbor => {
            let mut encoder = minicbor::Encoder::new(Vec::new());
            let encoded = encoder
                .map(3)
                .and_then(|e| e.str("StreamName"))
                .and_then(|e| e.str(stream))
                .and_then(|e| e.str("Data"))
                .and_then(|e| e.bytes(&record.data))
                .and_then(|e| e.str("PartitionKey"))
                .and_then(|e| e.str(&record.partition_key))
                .is_ok();
            debug_assert!(encoded, "encoding into a Vec cannot fail");
            encoder.into_writer()
        }
    }
}

pub fn put_records_body(codec: Codec, stream: &str, records: &[RecordSpec]) -> Vec<u8> {
    match codec {
        Codec::Json => {
            let entries: Vec<_> = records
                .iter()
                .map(|r| json!({"Data": base64(&r.data), "PartitionKey": r.partition_key}))
                .collect();
            json!({"StreamName": stream, "Records": entries})
                .to_string()
                .into_bytes()
        }
        Codec::Cbor => {
            let mut encoder = minicbor::Encoder::new(Vec::new());
            let mut ok = encoder
                .map(2)
                .and_then(|e| e.str("StreamName"))
                .and_then(|e| e.str(stream))
                .and_then(|e| e.str("Records"))
                .and_then(|e| e.array(records.len() as u64))
                .is_ok();
            for record in records {
                ok &= encoder
                    .map(2)
                    .and_then(|e| e.str("Data"))
                    .and_then(|e| e.bytes(&record.data))
                    .and_then(|e| e.str("PartitionKey"))
                    .and_then(|e| e.str(&record.partition_key))
                    .is_ok();
            }
            debug_assert!(ok, "encoding into a Vec cannot fail");
            encoder.into_writer()
        }
    }
}

pub fn get_records_body(codec: Codec, iterator: &str, limit: u32) -> Vec<u8> {
    match codec {
        Codec::Json => json!({"ShardIterator": iterator, "Limit": limit})
            .to_string()
            .into_bytes(),
        Codec::Cbor => {
            let mut encoder = minicbor::Encoder::new(Vec::new());
            let ok = encoder
                .map(2)
                .and_then(|e| e.str("ShardIterator"))
                .and_then(|e| e.str(iterator))
                .and_then(|e| e.str("Limit"))
                .and_then(|e| e.u32(limit))
                .is_ok();
            debug_assert!(ok, "encoding into a Vec cannot fail");
            encoder.into_writer()
        }
    }
}

/// SubscribeToShard from LATEST.
pub fn subscribe_body(codec: Codec, consumer_arn: &str, shard: &str) -> Vec<u8> {
    match codec {
        Codec::Json => json!({
            "ConsumerARN": consumer_arn,
            "ShardId": shard,
            "StartingPosition": {"Type": "LATEST"},
        })
        .to_string()
        .into_bytes(),
        Codec::Cbor => {
            let mut encoder = minicbor::Encoder::new(Vec::new());
            let ok = encoder
                .map(3)
                .and_then(|e| e.str("ConsumerARN"))
                .and_then(|e| e.str(consumer_arn))
                .and_then(|e| e.str("ShardId"))
                .and_then(|e| e.str(shard))
                .and_then(|e| e.str("StartingPosition"))
                .and_then(|e| e.map(1))
                .and_then(|e| e.str("Type"))
                .and_then(|e| e.str("LATEST"))
                .is_ok();
            debug_assert!(ok, "encoding into a Vec cannot fail");
            encoder.into_writer()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64, len: usize) -> RecordSpec {
        RecordSpec {
            partition_key: format!("pk-{i}"),
            data: payload(i, len),
        }
    }

    #[test]
    fn payload_is_deterministic_and_sized() {
        assert_eq!(payload(7, 100), payload(7, 100));
        assert_ne!(payload(7, 100), payload(8, 100));
        assert_eq!(payload(1, 1024).len(), 1024);
        assert_eq!(payload(1, 0).len(), 0);
    }

    #[test]
    fn base64_length_without_decoding() {
        for len in 0..20 {
            let data = payload(len as u64, len);
            assert_eq!(base64_decoded_len(base64(&data)), len);
        }
    }

    #[test]
    fn put_records_json_is_about_700_kb_for_w2() {
        let records: Vec<_> = (0..500).map(|i| record(i, 1024)).collect();
        let body = put_records_body(Codec::Json, "s", &records);
        assert!((690_000..720_000).contains(&body.len()), "{}", body.len());
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["Records"].as_array().unwrap().len(), 500);
        assert_eq!(value["Records"][3]["PartitionKey"], "pk-3");
    }

    #[test]
    fn cbor_bodies_carry_blobs_as_byte_strings() {
        let body = put_record_body(Codec::Cbor, "s", &record(1, 100));
        let mut decoder = minicbor::Decoder::new(&body);
        assert_eq!(decoder.map().unwrap(), Some(3));
        assert_eq!(decoder.str().unwrap(), "StreamName");
        assert_eq!(decoder.str().unwrap(), "s");
        assert_eq!(decoder.str().unwrap(), "Data");
        assert_eq!(decoder.bytes().unwrap(), &payload(1, 100)[..]);

        let records: Vec<_> = (0..500).map(|i| record(i, 1024)).collect();
        let body = put_records_body(Codec::Cbor, "s", &records);
        assert!((520_000..540_000).contains(&body.len()), "{}", body.len());
    }
}
