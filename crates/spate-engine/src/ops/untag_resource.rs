//! UntagResource: removes tags from a stream or a consumer named by ARN.

use serde::Deserialize;

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;
use crate::ops::list_tags_for_resource::{Resource, not_found};
use crate::ops::tags::{remove_tags, remove_tags_from};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

impl Engine {
    pub async fn untag_resource(&self, ctx: &RequestContext, input: Input) -> ApiResult<()> {
        let arn = &input.resource_arn;
        match self.resolve_resource(ctx, arn)? {
            Resource::Stream(stream) => {
                self.mutate(&stream, |record| {
                    Engine::require_active(record)?;
                    remove_tags(record, &input.tag_keys)
                })
                .await
            }
            Resource::Consumer(stream, id) => {
                self.mutate(&stream, |record| {
                    let consumer = id.find_mut(record).ok_or_else(|| not_found(arn))?;
                    remove_tags_from(&mut consumer.tags, &input.tag_keys)
                })
                .await
            }
        }
    }
}
