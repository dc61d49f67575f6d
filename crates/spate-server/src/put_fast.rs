//! The data path's hot operations, PutRecords and PutRecord, without serde values: bodies
//! decoded by [`spate_wire::put_fast`] straight into the engine's inputs, and replies
//! encoded straight from its outputs. A body the fast decoder declines takes the generic
//! path, which answers it exactly as before.

use spate_engine::ops::{put_record, put_records};
use spate_engine::shapes::Blob;
use spate_engine::{ApiResult, Engine, RequestContext};
use spate_wire::put_fast::{self, PutEntry, PutResult};
use spate_wire::{Codec, Operation};

use crate::body::Body;
use crate::request::stream_in_arn;

/// A put request decoded by the fast path.
#[derive(Debug)]
pub enum PutInput {
    Records(put_records::Input),
    Record(put_record::Input),
}

impl PutInput {
    /// The typed input of a PutRecords or PutRecord body, or `None` when the fast decoder
    /// declines it (or the operation is another). Either codec is read in the frames the
    /// body came in, without copying it into one buffer.
    pub fn decode(operation: Operation, codec: Codec, body: &Body) -> Option<PutInput> {
        match operation {
            Operation::PutRecords => {
                let body = match codec {
                    Codec::Json => put_fast::decode_json_put_records(body.frames()),
                    Codec::Cbor => put_fast::decode_cbor_put_records(body.frames()),
                }?;
                Some(PutInput::Records(put_records::Input {
                    stream_name: body.stream_name,
                    stream_arn: body.stream_arn,
                    records: body.records.into_iter().map(entry).collect(),
                    dry_run: None,
                }))
            }
            Operation::PutRecord => {
                let body = match codec {
                    Codec::Json => put_fast::decode_json_put_record(body.frames()),
                    Codec::Cbor => put_fast::decode_cbor_put_record(body.frames()),
                }?;
                let record = entry(body.record);
                Some(PutInput::Record(put_record::Input {
                    stream_name: body.stream_name,
                    stream_arn: body.stream_arn,
                    data: record.data,
                    partition_key: record.partition_key,
                    explicit_hash_key: record.explicit_hash_key,
                    sequence_number_for_ordering: body.sequence_number_for_ordering,
                    dry_run: None,
                }))
            }
            _ => None,
        }
    }

    /// The stream the request names, as `request::stream_named` finds it in a value.
    pub fn stream_named(&self) -> Option<&str> {
        let (name, arn) = match self {
            PutInput::Records(input) => (&input.stream_name, &input.stream_arn),
            PutInput::Record(input) => (&input.stream_name, &input.stream_arn),
        };
        name.as_deref()
            .or_else(|| arn.as_deref().and_then(stream_in_arn))
    }

    /// Runs the operation and encodes its reply.
    pub async fn run(
        self,
        engine: &Engine,
        ctx: &RequestContext,
        codec: Codec,
    ) -> ApiResult<Vec<u8>> {
        match self {
            PutInput::Records(input) => Ok(encode_put_records(
                codec,
                &engine.put_records(ctx, input).await?,
            )),
            PutInput::Record(input) => Ok(encode_put_record(
                codec,
                &engine.put_record(ctx, input).await?,
            )),
        }
    }
}

fn entry(entry: PutEntry) -> put_records::Entry {
    put_records::Entry {
        data: Blob(entry.data),
        partition_key: entry.partition_key,
        explicit_hash_key: entry.explicit_hash_key,
    }
}

/// PutRecords' reply body, as `spate_wire::encode_response` would write it.
pub fn encode_put_records(codec: Codec, output: &put_records::Output) -> Vec<u8> {
    let records: Vec<PutResult<'_>> = output
        .records
        .iter()
        .map(|r| PutResult {
            sequence_number: r.sequence_number.as_deref(),
            shard_id: r.shard_id.as_deref(),
            error_code: r.error_code.as_deref(),
            error_message: r.error_message.as_deref(),
        })
        .collect();
    put_fast::encode_put_records(
        codec,
        output.failed_record_count as u64,
        &records,
        &output.encryption_type,
    )
}

/// PutRecord's reply body, as `spate_wire::encode_response` would write it.
pub fn encode_put_record(codec: Codec, output: &put_record::Output) -> Vec<u8> {
    put_fast::encode_put_record(
        codec,
        &output.shard_id,
        &output.sequence_number,
        &output.encryption_type,
    )
}

#[cfg(test)]
mod tests;
