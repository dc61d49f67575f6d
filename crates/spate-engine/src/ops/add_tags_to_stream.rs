//! AddTagsToStream: adds or overwrites tags of an ACTIVE stream.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;
use crate::ops::tags::add_tags;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl Engine {
    pub async fn add_tags_to_stream(&self, ctx: &RequestContext, input: Input) -> ApiResult<()> {
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        self.mutate(&stream, |record| {
            Engine::require_active(record)?;
            add_tags(record, input.tags)
        })
        .await
    }
}
