//! ListShards: a filtered page of a stream's shards (what KCL uses for shard discovery).

use serde::{Deserialize, Serialize};
use spate_meta::{ShardRecord, StreamRecord};
use spate_types::ShardId;
use spate_types::limits::LIST_SHARDS_MAX;

use crate::engine::{Engine, RequestContext};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::ops::list_streams::next_token_error;
use crate::shapes::Timestamp;
use crate::views::{self, Shard};

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub next_token: Option<String>,
    pub exclusive_start_shard_id: Option<String>,
    pub max_results: Option<usize>,
    pub stream_creation_timestamp: Option<Timestamp>,
    pub shard_filter: Option<ShardFilter>,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct ShardFilter {
    #[serde(rename = "Type")]
    pub filter_type: String,
    pub shard_id: Option<String>,
    pub timestamp: Option<Timestamp>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub shards: Vec<Shard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// What a NextToken carries: the stream incarnation, the filter, and where the page ended.
#[derive(Deserialize, Serialize, Debug)]
struct Cursor {
    uid: u64,
    account: String,
    region: String,
    name: String,
    after: Option<u32>,
    filter: Option<ShardFilter>,
}

const TOKEN_KIND: &str = "ListShards";

/// Which shards a ShardFilter keeps.
type ShardPredicate<'a> = Box<dyn Fn(&ShardRecord) -> bool + 'a>;

fn parse_shard_id(text: &str, what: &str) -> ApiResult<u32> {
    ShardId::parse(text)
        .map(|id| id.0)
        .ok_or_else(|| ApiError::invalid_argument(format!("Invalid {what}: {text}")))
}

impl Engine {
    pub async fn list_shards(&self, ctx: &RequestContext, input: Input) -> ApiResult<Output> {
        let now = self.now_ms();
        let (stream, cursor_after, filter) = if let Some(token) = &input.next_token {
            if input.stream_name.is_some() || input.stream_arn.is_some() {
                return Err(ApiError::invalid_argument(
                    "NextToken and StreamName cannot be provided together.",
                ));
            }
            if input.exclusive_start_shard_id.is_some() || input.stream_creation_timestamp.is_some()
            {
                return Err(ApiError::invalid_argument(
                    "NextToken cannot be provided together with ExclusiveStartShardId or StreamCreationTimestamp.",
                ));
            }
            let cursor: Cursor = self
                .inner
                .tokens
                .decode_token(TOKEN_KIND, token, now, self.iterator_ttl_ms())
                .map_err(|error| next_token_error(error, token))?;
            let stream = self
                .registry()
                .get_uid(cursor.uid)
                .ok_or_else(|| ApiError::stream_not_found(&cursor.name, &cursor.account))?;
            self.authorize_stream(ctx, &stream.key, Some(&stream))?;
            (stream, cursor.after, cursor.filter)
        } else {
            if input.stream_name.is_none() && input.stream_arn.is_none() {
                return Err(ApiError::invalid_argument(
                    "Either NextToken or StreamName should be provided.",
                ));
            }
            let stream = self.resolve(
                ctx,
                input.stream_name.as_deref(),
                input.stream_arn.as_deref(),
            )?;
            let after = input
                .exclusive_start_shard_id
                .as_deref()
                .map(|text| parse_shard_id(text, "ExclusiveStartShardId"))
                .transpose()?;
            (stream, after, input.shard_filter)
        };

        let state = stream.read();
        let record = &state.record;
        if let Some(created) = input.stream_creation_timestamp
            && created.0 != record.created_ms
        {
            return Err(ApiError::stream_not_found(&record.name, &record.account));
        }
        let matches = self.shard_filter(record, filter.as_ref())?;
        let limit = input
            .max_results
            .unwrap_or(LIST_SHARDS_MAX)
            .min(LIST_SHARDS_MAX);
        let mut selected = record
            .shards
            .iter()
            .filter(|s| cursor_after.is_none_or(|after| s.index > after))
            .filter(|s| matches(s))
            .peekable();
        let page: Vec<&ShardRecord> = selected.by_ref().take(limit).collect();
        let next_token = match (page.last(), selected.peek()) {
            (Some(last), Some(_)) => {
                let cursor = Cursor {
                    uid: stream.uid,
                    account: record.account.clone(),
                    region: record.region.clone(),
                    name: record.name.clone(),
                    after: Some(last.index),
                    filter,
                };
                Some(self.inner.tokens.encode_token(TOKEN_KIND, &cursor, now))
            }
            _ => None,
        };
        Ok(Output {
            shards: page.into_iter().map(views::shard).collect(),
            next_token,
        })
    }

    /// The predicate a ShardFilter stands for, over shards still within retention.
    fn shard_filter<'a>(
        &self,
        record: &'a StreamRecord,
        filter: Option<&ShardFilter>,
    ) -> ApiResult<ShardPredicate<'a>> {
        let trim_horizon = self.trim_horizon_ms(record);
        let listed = move |s: &ShardRecord| s.closed_ms.is_none_or(|closed| closed >= trim_horizon);
        // A shard is open at `t` when it was created by then and not closed before it. Times
        // before the stream existed mean its first shards.
        let open_at = move |s: &ShardRecord, t: i64| {
            let t = t.max(record.created_ms);
            s.created_ms <= t && s.closed_ms.is_none_or(|closed| closed >= t)
        };
        let Some(filter) = filter else {
            return Ok(Box::new(listed));
        };
        let timestamp = || {
            filter.timestamp.map(|t| t.0).ok_or_else(|| {
                ApiError::invalid_argument(format!(
                    "Timestamp must be specified for a ShardFilter of type {}.",
                    filter.filter_type
                ))
            })
        };
        Ok(match filter.filter_type.as_str() {
            "AFTER_SHARD_ID" => {
                let text = filter.shard_id.as_deref().ok_or_else(|| {
                    ApiError::invalid_argument(
                        "ShardId must be specified for a ShardFilter of type AFTER_SHARD_ID.",
                    )
                })?;
                let after = parse_shard_id(text, "ShardId")?;
                Box::new(move |s| listed(s) && s.index > after)
            }
            "AT_TRIM_HORIZON" => Box::new(move |s| listed(s) && open_at(s, trim_horizon)),
            "FROM_TRIM_HORIZON" => Box::new(listed),
            "AT_LATEST" => Box::new(|s| s.closed_ms.is_none()),
            "AT_TIMESTAMP" => {
                let t = timestamp()?;
                Box::new(move |s| listed(s) && open_at(s, t))
            }
            "FROM_TIMESTAMP" => {
                let t = timestamp()?.max(trim_horizon);
                Box::new(move |s| s.closed_ms.is_none_or(|closed| closed >= t))
            }
            other => {
                return Err(ApiError::new(
                    ErrorKind::Validation,
                    format!("Unknown ShardFilter type {other}."),
                ));
            }
        })
    }
}
