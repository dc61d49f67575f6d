//! What PutResourcePolicy, GetResourcePolicy and DeleteResourcePolicy share: where a
//! resource's policy is kept, and the checks a new one must pass.

use spate_auth::policy::MAX_RESOURCE_POLICY_BYTES;
use spate_auth::{Policy, PolicyKind};
use spate_meta::StreamRecord;

use crate::engine::Engine;
use crate::error::{ApiError, ApiResult};
use crate::ops::consumers::{ConsumerId, consumer_arn};
use crate::ops::list_tags_for_resource::{Resource, not_found};

/// Which resource of a stream record a policy belongs to.
pub(crate) enum Holder {
    Stream,
    Consumer(ConsumerId),
}

impl Holder {
    pub fn of(resource: &Resource) -> Holder {
        match resource {
            Resource::Stream(_) => Holder::Stream,
            Resource::Consumer(_, id) => Holder::Consumer(id.clone()),
        }
    }

    /// The policy slot in `record`, and the resource's ARN. `arn` is what the request said,
    /// for the not-found message.
    pub fn slot<'a>(
        &self,
        record: &'a mut StreamRecord,
        arn: &str,
    ) -> ApiResult<(&'a mut Option<String>, String)> {
        match self {
            Holder::Stream => {
                let resource_arn = Engine::stream_arn(record);
                Ok((&mut record.resource_policy, resource_arn))
            }
            Holder::Consumer(id) => {
                let consumer = id.find(record).ok_or_else(|| not_found(arn))?;
                let resource_arn = consumer_arn(record, consumer);
                let consumer = id.find_mut(record).ok_or_else(|| not_found(arn))?;
                Ok((&mut consumer.resource_policy, resource_arn))
            }
        }
    }
}

/// Validates `text` as the resource policy of `resource_arn`.
pub(crate) fn check_policy(text: &str, resource_arn: &str) -> ApiResult<Policy> {
    if text.len() > MAX_RESOURCE_POLICY_BYTES {
        return Err(ApiError::invalid_argument(format!(
            "Policy is {} bytes, more than the {MAX_RESOURCE_POLICY_BYTES} bytes allowed.",
            text.len()
        )));
    }
    let policy = Policy::parse(text, PolicyKind::Resource)
        .map_err(|e| ApiError::invalid_argument(e.to_string()))?;
    policy
        .check_resource(resource_arn)
        .map_err(|e| ApiError::invalid_argument(e.to_string()))?;
    Ok(policy)
}
