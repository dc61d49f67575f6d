//! TagResource: tags a stream named by ARN. (Consumer ARNs arrive with enhanced fan-out.)

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;
use crate::ops::tags::add_tags;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub tags: BTreeMap<String, String>,
}

impl Engine {
    pub async fn tag_resource(&self, ctx: &RequestContext, input: Input) -> ApiResult<()> {
        let stream = self.resolve_resource(ctx, &input.resource_arn)?;
        self.mutate(&stream, |record| {
            Engine::require_active(record)?;
            add_tags(record, input.tags)
        })
        .await
    }
}
