//! PutResourcePolicy: attaches a resource-based policy to a stream or a consumer, replacing
//! any it had. The policy is validated first (see `spate_auth::policy` for what Spate
//! accepts) and kept verbatim.

use serde::Deserialize;

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;
use crate::ops::resource_policies::{Holder, check_policy};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub policy: String,
}

impl Engine {
    pub async fn put_resource_policy(&self, ctx: &RequestContext, input: Input) -> ApiResult<()> {
        let arn = &input.resource_arn;
        let resource = self.resolve_resource(ctx, arn)?;
        let holder = Holder::of(&resource);
        self.mutate(resource.stream(), |record| {
            if matches!(holder, Holder::Stream) {
                Engine::require_active(record)?;
            }
            let (slot, resource_arn) = holder.slot(record, arn)?;
            check_policy(&input.policy, &resource_arn)?;
            *slot = Some(input.policy);
            Ok(())
        })
        .await
    }
}
