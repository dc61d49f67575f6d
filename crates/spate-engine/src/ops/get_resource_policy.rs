//! GetResourcePolicy: the policy of a stream or consumer, exactly as it was put; `{}` when it
//! has none.

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;
use crate::ops::list_tags_for_resource::{Resource, not_found};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub policy: String,
}

impl Engine {
    pub async fn get_resource_policy(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<Output> {
        let resource = self.resolve_resource(ctx, &input.resource_arn)?;
        let state = resource.stream().read();
        let policy = match &resource {
            Resource::Stream(_) => &state.record.resource_policy,
            Resource::Consumer(_, id) => match id.find(&state.record) {
                Some(consumer) => &consumer.resource_policy,
                None => return Err(not_found(&input.resource_arn)),
            },
        };
        Ok(Output {
            policy: policy.clone().unwrap_or_else(|| "{}".to_owned()),
        })
    }
}
