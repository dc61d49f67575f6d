//! ListTagsForResource: every tag of a stream named by ARN, unpaged.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::ops::list_tags_for_stream::Tag;
use crate::registry::Stream;

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
        let stream = self.resolve_resource(ctx, &input.resource_arn)?;
        let state = stream.read();
        let tags = state
            .record
            .tags
            .iter()
            .map(|(key, value)| Tag {
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        Ok(Output { tags })
    }

    /// The stream a `ResourceARN` names. Only stream ARNs name taggable resources so far.
    pub(crate) fn resolve_resource(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> ApiResult<Arc<Stream>> {
        if arn.contains("/consumer/") || !arn.contains(":stream/") {
            return Err(ApiError::new(
                ErrorKind::ResourceNotFound,
                format!("Resource {arn} not found."),
            ));
        }
        self.resolve(ctx, None, Some(arn))
    }
}
