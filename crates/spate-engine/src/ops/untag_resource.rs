//! UntagResource: removes tags from a stream named by ARN.

use serde::Deserialize;

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;
use crate::ops::tags::remove_tags;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

impl Engine {
    pub async fn untag_resource(&self, ctx: &RequestContext, input: Input) -> ApiResult<()> {
        let stream = self.resolve_resource(ctx, &input.resource_arn)?;
        self.mutate(&stream, |record| {
            Engine::require_active(record)?;
            remove_tags(record, &input.tag_keys)
        })
        .await
    }
}
