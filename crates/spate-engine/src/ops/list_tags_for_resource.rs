//! ListTagsForResource: every tag of a stream or consumer named by ARN, unpaged. Also home
//! of [`Resource`], what the three `*Resource` tagging operations address.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::ops::consumers::ConsumerId;
use crate::ops::list_tags_for_stream::Tag;
use crate::registry::Stream;

/// A taggable resource: a stream, or one of its consumers (whose tags live with it).
pub(crate) enum Resource {
    Stream(Arc<Stream>),
    Consumer(Arc<Stream>, ConsumerId),
}

impl Resource {
    pub fn stream(&self) -> &Arc<Stream> {
        match self {
            Resource::Stream(stream) | Resource::Consumer(stream, _) => stream,
        }
    }
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub tags: Vec<Tag>,
}

impl Engine {
    pub async fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<Output> {
        let resource = self.resolve_resource(ctx, &input.resource_arn)?;
        let state = resource.stream().read();
        let tags = match &resource {
            Resource::Stream(_) => &state.record.tags,
            Resource::Consumer(_, id) => match id.find(&state.record) {
                Some(consumer) => &consumer.tags,
                None => return Err(not_found(&input.resource_arn)),
            },
        };
        let tags = tags
            .iter()
            .map(|(key, value)| Tag {
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        Ok(Output { tags })
    }

    /// The stream or consumer a `ResourceARN` names.
    pub(crate) fn resolve_resource(&self, ctx: &RequestContext, arn: &str) -> ApiResult<Resource> {
        if arn.contains("/consumer/") {
            return match self.resolve_consumer_arn(ctx, arn) {
                Ok((stream, consumer)) => Ok(Resource::Consumer(stream, ConsumerId::of(&consumer))),
                Err(error) if error.kind == ErrorKind::InvalidArgument => Err(not_found(arn)),
                Err(error) => Err(error),
            };
        }
        if !arn.contains(":stream/") {
            return Err(not_found(arn));
        }
        self.resolve(ctx, None, Some(arn)).map(Resource::Stream)
    }
}

pub(crate) fn not_found(arn: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        format!("Resource {arn} not found."),
    )
}
