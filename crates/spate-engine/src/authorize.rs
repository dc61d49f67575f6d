//! Whether a request's principal may perform its operation on a resource, decided by
//! `spate_auth::policy` from the principal's identity policies and the resource's policy.
//!
//! Every operation is checked where it finds its resource (`Engine::resolve` and the
//! consumer and iterator lookups), so the check always sees the resource's current policy.
//! What each operation is checked against follows AWS's service authorization reference:
//! the stream's ARN for stream operations; the consumer's ARN for SubscribeToShard,
//! DescribeStreamConsumer and DeregisterStreamConsumer, under the consumer's own policy
//! only (a stream's policy does not reach its consumers); the ARN given for the
//! `*Resource` operations; and `*` for ListStreams and DescribeLimits, which name no
//! resource. A resource that does not exist is checked with no resource policy, so another
//! account learns nothing of what exists.

use spate_auth::policy::{AccessRequest, Decision, evaluate};
use spate_auth::{Policy, PolicyKind};
use spate_meta::{ConsumerRecord, StreamRecord};
use spate_types::StreamArn;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::registry::{Stream, StreamKey};

/// The operations on policies themselves: AWS lets only the resource's own account use
/// them, whatever a resource policy says.
const POLICY_OPERATIONS: &[&str] = &[
    "PutResourcePolicy",
    "GetResourcePolicy",
    "DeleteResourcePolicy",
];

/// A stored policy, parsed. Stored policies were validated when they were put, so failing
/// here means the metadata was damaged: the policy is dropped (granting nothing across
/// accounts) and the failure logged.
pub(crate) fn parse_stored(text: Option<&String>, resource: &str) -> Option<Policy> {
    let text = text?;
    match Policy::parse(text, PolicyKind::Resource) {
        Ok(policy) => Some(policy),
        Err(error) => {
            tracing::error!(%error, resource, "stored resource policy does not parse; ignoring it");
            None
        }
    }
}

impl Engine {
    /// Refuses the request's operation on the resource `arn()` of account `owner`, governed
    /// by `policy`, unless the policies allow it. `arn` is only built when a policy is
    /// consulted, keeping it off the common path.
    pub(crate) fn authorize(
        &self,
        ctx: &RequestContext,
        owner: &str,
        arn: impl FnOnce() -> String,
        policy: Option<&Policy>,
    ) -> ApiResult<()> {
        let principal = &*ctx.principal;
        let same_account = owner == principal.account;
        // Without a verified identity there is nothing to hold to a policy in its own account;
        // an administrator in its own account is bound only by a resource policy's Deny.
        if same_account && (!ctx.verified || (principal.policies.is_empty() && policy.is_none())) {
            return Ok(());
        }
        let policy = policy.filter(|_| same_account || !POLICY_OPERATIONS.contains(&ctx.action));
        let resource = arn();
        let action = format!("kinesis:{}", ctx.action);
        let request = AccessRequest {
            principal,
            action: &action,
            resource: &resource,
            resource_account: owner,
        };
        match evaluate(&request, policy) {
            Decision::Allow => Ok(()),
            Decision::Deny(denial) => Err(ApiError::new(
                ErrorKind::AccessDenied,
                denial.message(&request),
            )),
        }
    }

    /// For operations that name no resource (ListStreams, DescribeLimits): the resource is
    /// `*`, so only identity policies whose Resource is `*` apply.
    pub(crate) fn authorize_account(&self, ctx: &RequestContext) -> ApiResult<()> {
        self.authorize(ctx, &ctx.principal.account, || "*".to_owned(), None)
    }

    /// Checks the request against the stream `key` names, which may not exist.
    pub(crate) fn authorize_stream(
        &self,
        ctx: &RequestContext,
        key: &StreamKey,
        stream: Option<&Stream>,
    ) -> ApiResult<()> {
        let state = stream.map(Stream::read);
        let policy = state.as_ref().and_then(|s| s.policy.as_ref());
        let arn = || StreamArn::new(&key.region, &key.account, &key.name).to_string();
        self.authorize(ctx, &key.account, arn, policy)
    }

    /// Checks the request against the consumer of `stream` that `pick` finds, named `arn` by
    /// the request, and returns that consumer, if there is one.
    pub(crate) fn authorize_consumer(
        &self,
        ctx: &RequestContext,
        key: &StreamKey,
        stream: Option<&Stream>,
        arn: &str,
        pick: impl Fn(&ConsumerRecord) -> bool,
    ) -> ApiResult<Option<ConsumerRecord>> {
        let state = stream.map(Stream::read);
        let consumer = state
            .as_ref()
            .and_then(|s| s.record.consumers.iter().find(|c| pick(c)));
        let policy = state
            .as_ref()
            .zip(consumer)
            .and_then(|(s, c)| s.consumer_policy(c));
        self.authorize(ctx, &key.account, || arn.to_owned(), policy)?;
        Ok(consumer.cloned())
    }
}

/// The policies of a stream's consumers, parsed, by consumer name and creation time.
pub(crate) fn consumer_policies(record: &StreamRecord) -> Vec<((String, i64), Policy)> {
    record
        .consumers
        .iter()
        .filter_map(|c| {
            let what = format!("consumer {} of stream {}", c.name, record.name);
            let policy = parse_stored(c.resource_policy.as_ref(), &what)?;
            Some(((c.name.clone(), c.created_ms), policy))
        })
        .collect()
}
