//! DeleteResourcePolicy: removes the policy of a stream or consumer. A resource with none
//! answers ResourceNotFoundException, as for any unknown policy.

use serde::Deserialize;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::ops::resource_policies::Holder;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
}

impl Engine {
    pub async fn delete_resource_policy(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<()> {
        let arn = &input.resource_arn;
        let resource = self.resolve_resource(ctx, arn)?;
        let holder = Holder::of(&resource);
        self.mutate(resource.stream(), |record| {
            if matches!(holder, Holder::Stream) {
                Engine::require_active(record)?;
            }
            let (slot, _) = holder.slot(record, arn)?;
            if slot.take().is_none() {
                return Err(ApiError::new(
                    ErrorKind::ResourceNotFound,
                    format!("No resource policy found for resource {arn}."),
                ));
            }
            Ok(())
        })
        .await
    }
}
