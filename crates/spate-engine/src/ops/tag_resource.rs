//! TagResource: tags a stream or a consumer named by ARN.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;
use crate::ops::list_tags_for_resource::{Resource, not_found};
use crate::ops::tags::{add_tags, add_tags_to};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub tags: BTreeMap<String, String>,
}

impl Engine {
    pub async fn tag_resource(&self, ctx: &RequestContext, input: Input) -> ApiResult<()> {
        let arn = &input.resource_arn;
        match self.resolve_resource(ctx, arn)? {
            Resource::Stream(stream) => {
                self.mutate(&stream, |record| {
                    Engine::require_active(record)?;
                    add_tags(record, input.tags)
                })
                .await
            }
            Resource::Consumer(stream, id) => {
                self.mutate(&stream, |record| {
                    let consumer = id.find_mut(record).ok_or_else(|| not_found(arn))?;
                    add_tags_to(&mut consumer.tags, input.tags, "consumer", arn)
                })
                .await
            }
        }
    }
}
