//! ListStreamConsumers: a page of a stream's consumers, oldest first, with a signed
//! NextToken. `StreamARN` is required even with a NextToken (the model says so, and
//! paginators resend it), so it must then name the token's stream.

use serde::{Deserialize, Serialize};
use spate_types::limits::LIST_STREAM_CONSUMERS_MAX;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::ops::consumers::{Consumer, consumer_view};
use crate::ops::list_streams::next_token_error;
use crate::shapes::Timestamp;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub next_token: Option<String>,
    pub max_results: Option<usize>,
    pub stream_creation_timestamp: Option<Timestamp>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub consumers: Vec<Consumer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// What a NextToken carries: the stream incarnation and the last consumer listed, by
/// (creation time, name), the order consumers are listed in.
#[derive(Deserialize, Serialize, Debug)]
struct Cursor {
    uid: u64,
    after_ms: i64,
    after_name: String,
}

const TOKEN_KIND: &str = "ListStreamConsumers";

impl Engine {
    pub async fn list_stream_consumers(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<Output> {
        let now = self.now_ms();
        let stream = self.resolve(ctx, None, Some(&input.stream_arn))?;
        let after = match &input.next_token {
            Some(token) => {
                let cursor: Cursor = self
                    .inner
                    .tokens
                    .decode_token(TOKEN_KIND, token, now, self.iterator_ttl_ms())
                    .map_err(|error| next_token_error(error, token))?;
                if cursor.uid != stream.uid {
                    return Err(ApiError::invalid_argument(format!(
                        "NextToken does not belong to stream {}.",
                        input.stream_arn
                    )));
                }
                Some((cursor.after_ms, cursor.after_name))
            }
            None => None,
        };
        let state = stream.read();
        let record = &state.record;
        if let Some(created) = input.stream_creation_timestamp
            && created.0 != record.created_ms
        {
            return Err(ApiError::stream_not_found(&record.name, &record.account));
        }
        let limit = input
            .max_results
            .unwrap_or(LIST_STREAM_CONSUMERS_MAX)
            .min(LIST_STREAM_CONSUMERS_MAX);
        let mut ordered: Vec<_> = record.consumers.iter().collect();
        ordered.sort_by(|a, b| (a.created_ms, &a.name).cmp(&(b.created_ms, &b.name)));
        let mut remaining = ordered
            .into_iter()
            .filter(|c| {
                after
                    .as_ref()
                    .is_none_or(|(ms, name)| (c.created_ms, &c.name) > (*ms, name))
            })
            .peekable();
        let page: Vec<_> = remaining.by_ref().take(limit).collect();
        let next_token = match (page.last(), remaining.peek()) {
            (Some(last), Some(_)) => {
                let cursor = Cursor {
                    uid: stream.uid,
                    after_ms: last.created_ms,
                    after_name: last.name.clone(),
                };
                Some(self.inner.tokens.encode_token(TOKEN_KIND, &cursor, now))
            }
            _ => None,
        };
        Ok(Output {
            consumers: page.into_iter().map(|c| consumer_view(record, c)).collect(),
            next_token,
        })
    }
}
