//! Operation → engine method. Operations later issues add answer UnknownOperationException
//! with a message saying so, never a canned success.

use serde::de::DeserializeOwned;
use serde_json::Value;
use spate_engine::{ApiError, ApiResult, Engine, ErrorKind, RequestContext};
use spate_wire::{Codec, Operation};

use crate::pieces::Pieces;
use crate::{put_fast, records_reply};

fn input<T: DeserializeOwned>(value: Value) -> ApiResult<T> {
    // The codec has already checked types and constraints against the model, so this only
    // fails if an engine shape disagrees with the model: a bug, reported as such.
    serde_json::from_value(value)
        .map_err(|e| ApiError::new(ErrorKind::Serialization, e.to_string()))
}

/// The generic way out: the output as a JSON-convention value, encoded by the model.
fn encode<T: serde::Serialize>(operation: Operation, codec: Codec, value: T) -> ApiResult<Pieces> {
    let value = serde_json::to_value(value).map_err(ApiError::internal)?;
    spate_wire::encode_response(operation, codec, &value)
        .map(Pieces::from)
        .map_err(ApiError::internal)
}

/// Runs `operation` and returns its encoded response body.
pub async fn dispatch(
    engine: &Engine,
    ctx: &RequestContext,
    operation: Operation,
    codec: Codec,
    body: Value,
) -> ApiResult<Pieces> {
    macro_rules! call {
        ($method:ident) => {
            encode(operation, codec, engine.$method(ctx, input(body)?).await?)
        };
    }
    match operation {
        Operation::CreateStream => call!(create_stream),
        Operation::DeleteStream => call!(delete_stream),
        Operation::DescribeStream => call!(describe_stream),
        Operation::DescribeStreamSummary => call!(describe_stream_summary),
        Operation::ListStreams => call!(list_streams),
        Operation::ListShards => call!(list_shards),
        Operation::PutRecord => Ok(put_fast::encode_put_record(
            codec,
            &engine.put_record(ctx, input(body)?).await?,
        )
        .into()),
        Operation::PutRecords => Ok(put_fast::encode_put_records(
            codec,
            &engine.put_records(ctx, input(body)?).await?,
        )
        .into()),
        Operation::GetShardIterator => call!(get_shard_iterator),
        Operation::GetRecords => {
            records_reply::get_records(codec, engine.get_records(ctx, input(body)?).await?)
        }
        Operation::IncreaseStreamRetentionPeriod => call!(increase_stream_retention_period),
        Operation::DecreaseStreamRetentionPeriod => call!(decrease_stream_retention_period),
        Operation::AddTagsToStream => call!(add_tags_to_stream),
        Operation::RemoveTagsFromStream => call!(remove_tags_from_stream),
        Operation::ListTagsForStream => call!(list_tags_for_stream),
        Operation::TagResource => call!(tag_resource),
        Operation::UntagResource => call!(untag_resource),
        Operation::ListTagsForResource => call!(list_tags_for_resource),
        Operation::SplitShard => call!(split_shard),
        Operation::MergeShards => call!(merge_shards),
        Operation::UpdateShardCount => call!(update_shard_count),
        Operation::UpdateStreamMode => call!(update_stream_mode),
        Operation::UpdateMaxRecordSize => call!(update_max_record_size),
        Operation::DescribeLimits => encode(operation, codec, engine.describe_limits(ctx).await?),
        Operation::RegisterStreamConsumer => call!(register_stream_consumer),
        Operation::DeregisterStreamConsumer => call!(deregister_stream_consumer),
        Operation::DescribeStreamConsumer => call!(describe_stream_consumer),
        Operation::ListStreamConsumers => call!(list_stream_consumers),
        Operation::EnableEnhancedMonitoring => call!(enable_enhanced_monitoring),
        Operation::DisableEnhancedMonitoring => call!(disable_enhanced_monitoring),
        Operation::PutResourcePolicy => call!(put_resource_policy),
        Operation::GetResourcePolicy => call!(get_resource_policy),
        Operation::DeleteResourcePolicy => call!(delete_resource_policy),
        Operation::StartStreamEncryption => call!(start_stream_encryption),
        Operation::StopStreamEncryption => call!(stop_stream_encryption),
        other => Err(ApiError::new(
            ErrorKind::UnknownOperation,
            format!(
                "The operation {} is not supported by this Spate server yet.",
                other.name()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use spate_auth::policy::KINESIS_ACTIONS;
    use spate_wire::Operation;

    /// Policies refuse action names they do not know, so the list must name every operation.
    #[test]
    fn policies_know_every_operation_as_an_action() {
        for operation in Operation::ALL {
            assert!(
                KINESIS_ACTIONS.contains(&operation.name()),
                "{} is missing from KINESIS_ACTIONS",
                operation.name()
            );
        }
        assert_eq!(KINESIS_ACTIONS.len(), Operation::ALL.len());
    }
}
