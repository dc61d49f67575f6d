//! PutRecords' and PutRecord's replies written straight from their fields, with the members
//! and bytes [`crate::encode_response`] writes for the same output: members in name order
//! (the order of a `serde_json` map), absent members left out, definite CBOR lengths.

use minicbor::Encoder;

use crate::json::write_string;
use crate::operation::Codec;

/// One PutRecords result entry; `None` members are left out, as nulls are.
#[derive(Debug, Clone, Copy, Default)]
pub struct PutResult<'a> {
    pub sequence_number: Option<&'a str>,
    pub shard_id: Option<&'a str>,
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
}

impl PutResult<'_> {
    /// The members present, in name order.
    fn members(&self) -> impl Iterator<Item = (&'static str, &str)> + Clone {
        [
            ("ErrorCode", self.error_code),
            ("ErrorMessage", self.error_message),
            ("SequenceNumber", self.sequence_number),
            ("ShardId", self.shard_id),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
    }
}

/// The body of a PutRecords reply.
pub fn encode_put_records(
    codec: Codec,
    failed_record_count: u64,
    records: &[PutResult<'_>],
    encryption_type: &str,
) -> Vec<u8> {
    match codec {
        Codec::Json => {
            // At most ~100 bytes a successful entry: a shard id and a 56-digit sequence number.
            let mut out = String::with_capacity(64 + records.len() * 112);
            out.push_str("{\"EncryptionType\":");
            write_string(encryption_type, &mut out);
            out.push_str(",\"FailedRecordCount\":");
            out.push_str(&failed_record_count.to_string());
            out.push_str(",\"Records\":[");
            for (i, record) in records.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_object(record.members(), &mut out);
            }
            out.push_str("]}");
            out.into_bytes()
        }
        Codec::Cbor => {
            let mut e = Encoder::new(Vec::with_capacity(64 + records.len() * 90));
            // Writing to a Vec cannot fail.
            let _ = e
                .map(3)
                .and_then(|e| e.str("EncryptionType")?.str(encryption_type))
                .and_then(|e| e.str("FailedRecordCount")?.u64(failed_record_count))
                .and_then(|e| e.str("Records")?.array(records.len() as u64));
            for record in records {
                cbor_map(record.members(), &mut e);
            }
            e.into_writer()
        }
    }
}

/// The body of a PutRecord reply.
pub fn encode_put_record(
    codec: Codec,
    shard_id: &str,
    sequence_number: &str,
    encryption_type: &str,
) -> Vec<u8> {
    let members = [
        ("EncryptionType", encryption_type),
        ("SequenceNumber", sequence_number),
        ("ShardId", shard_id),
    ];
    match codec {
        Codec::Json => {
            let mut out = String::with_capacity(128);
            json_object(members.into_iter(), &mut out);
            out.into_bytes()
        }
        Codec::Cbor => {
            let mut e = Encoder::new(Vec::with_capacity(128));
            cbor_map(members.into_iter(), &mut e);
            e.into_writer()
        }
    }
}

fn json_object<'a>(members: impl Iterator<Item = (&'static str, &'a str)>, out: &mut String) {
    out.push('{');
    for (i, (name, value)) in members.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
        write_string(value, out);
    }
    out.push('}');
}

fn cbor_map<'a>(
    members: impl Iterator<Item = (&'static str, &'a str)> + Clone,
    e: &mut Encoder<Vec<u8>>,
) {
    // Writing to a Vec cannot fail.
    let _ = e.map(members.clone().count() as u64);
    for (name, value) in members {
        let _ = e.str(name).and_then(|e| e.str(value));
    }
}
