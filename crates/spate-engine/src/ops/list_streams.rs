//! ListStreams: names and summaries, by `ExclusiveStartStreamName` or `NextToken`.

use serde::{Deserialize, Serialize};
use spate_types::limits::LIST_STREAMS_MAX;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::shapes::Timestamp;
use crate::tokens::TokenError;
use crate::views::{self, StreamModeDetails};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub limit: Option<usize>,
    pub exclusive_start_stream_name: Option<String>,
    pub next_token: Option<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub stream_names: Vec<String>,
    pub has_more_streams: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub stream_summaries: Vec<StreamSummary>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSummary {
    pub stream_name: String,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_status: &'static str,
    pub stream_mode_details: StreamModeDetails,
    pub stream_creation_timestamp: Timestamp,
}

const TOKEN_KIND: &str = "ListStreams";

impl Engine {
    pub async fn list_streams(&self, ctx: &RequestContext, input: Input) -> ApiResult<Output> {
        self.authorize_account(ctx)?;
        let now = self.now_ms();
        let after = match (&input.next_token, input.exclusive_start_stream_name) {
            (Some(token), _) => Some(
                self.inner
                    .tokens
                    .decode_token::<String>(TOKEN_KIND, token, now, self.iterator_ttl_ms())
                    .map_err(|error| next_token_error(error, token))?,
            ),
            (None, name) => name,
        };
        let limit = input
            .limit
            .unwrap_or(LIST_STREAMS_MAX)
            .min(LIST_STREAMS_MAX);
        let registry = self.registry();
        let mut streams: Vec<_> = registry
            .in_namespace(&ctx.account, &ctx.region)
            .filter(|s| after.as_ref().is_none_or(|after| s.key.name > *after))
            .collect();
        streams.sort_by(|a, b| a.key.name.cmp(&b.key.name));
        let has_more_streams = streams.len() > limit;
        streams.truncate(limit);
        let summaries: Vec<StreamSummary> = streams
            .iter()
            .map(|stream| {
                let state = stream.read();
                let record = &state.record;
                StreamSummary {
                    stream_name: record.name.clone(),
                    stream_arn: Engine::stream_arn(record),
                    stream_status: record.status.as_str(),
                    stream_mode_details: views::stream_mode(record),
                    stream_creation_timestamp: views::created(record),
                }
            })
            .collect();
        let next_token = match summaries.last() {
            Some(last) if has_more_streams => Some(self.inner.tokens.encode_token(
                TOKEN_KIND,
                &last.stream_name,
                now,
            )),
            _ => None,
        };
        Ok(Output {
            stream_names: summaries.iter().map(|s| s.stream_name.clone()).collect(),
            has_more_streams,
            next_token,
            stream_summaries: summaries,
        })
    }
}

pub(crate) fn next_token_error(error: TokenError, token: &str) -> ApiError {
    match error {
        TokenError::Malformed => ApiError::invalid_argument(format!("Invalid NextToken: {token}")),
        TokenError::Expired { .. } => ApiError::new(
            ErrorKind::ExpiredNextToken,
            "The NextToken has expired. Please repeat the call without a NextToken.",
        ),
    }
}
