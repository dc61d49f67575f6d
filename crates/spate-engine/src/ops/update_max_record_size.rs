//! UpdateMaxRecordSize: the largest record (data plus partition key) a stream accepts,
//! 1 MiB to 10 MiB.

use serde::Deserialize;

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub max_record_size_in_ki_b: u32,
}

impl Engine {
    pub async fn update_max_record_size(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<()> {
        let stream = self.resolve(ctx, None, Some(&input.stream_arn))?;
        self.mutate(&stream, |record| {
            Engine::require_active(record)?;
            record.max_record_size_kib = input.max_record_size_in_ki_b;
            Ok(())
        })
        .await
    }
}
