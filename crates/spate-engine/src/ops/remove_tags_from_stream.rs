//! RemoveTagsFromStream: removes tags by key; unknown keys are ignored.

use serde::Deserialize;

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;
use crate::ops::tags::remove_tags;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub tag_keys: Vec<String>,
}

impl Engine {
    pub async fn remove_tags_from_stream(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<()> {
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        self.mutate(&stream, |record| {
            Engine::require_active(record)?;
            remove_tags(record, &input.tag_keys)
        })
        .await
    }
}
