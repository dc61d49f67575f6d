//! DescribeStreamConsumer: one consumer, by `ConsumerARN` or `StreamARN` + `ConsumerName`.

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;
use crate::ops::consumers::{ConsumerDescription, consumer_description};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub consumer_name: Option<String>,
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: Option<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub consumer_description: ConsumerDescription,
}

impl Engine {
    pub async fn describe_stream_consumer(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<Output> {
        let (stream, consumer) = self.resolve_consumer(
            ctx,
            input.stream_arn.as_deref(),
            input.consumer_name.as_deref(),
            input.consumer_arn.as_deref(),
        )?;
        let description = consumer_description(&stream.read().record, &consumer);
        Ok(Output {
            consumer_description: description,
        })
    }
}
