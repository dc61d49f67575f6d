//! ListTagsForStream: tags in key order, paged by `ExclusiveStartTagKey`.

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub exclusive_start_tag_key: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub tags: Vec<Tag>,
    pub has_more_tags: bool,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// AWS's default page when no `Limit` is given.
const DEFAULT_LIMIT: usize = 10;

impl Engine {
    pub async fn list_tags_for_stream(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<Output> {
        let stream = self.resolve(
            ctx,
            input.stream_name.as_deref(),
            input.stream_arn.as_deref(),
        )?;
        let state = stream.read();
        let limit = input.limit.unwrap_or(DEFAULT_LIMIT);
        let mut remaining = state
            .record
            .tags
            .iter()
            .filter(|(k, _)| {
                input
                    .exclusive_start_tag_key
                    .as_ref()
                    .is_none_or(|start| *k > start)
            })
            .peekable();
        let tags = remaining
            .by_ref()
            .take(limit)
            .map(|(key, value)| Tag {
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        Ok(Output {
            tags,
            has_more_tags: remaining.peek().is_some(),
        })
    }
}
