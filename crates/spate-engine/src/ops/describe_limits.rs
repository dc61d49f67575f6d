//! DescribeLimits: the account's shard and on-demand stream limits and usage.

use serde::Serialize;
use spate_meta::StreamMode;

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;

#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub shard_limit: u32,
    pub open_shard_count: usize,
    pub on_demand_stream_count: usize,
    pub on_demand_stream_count_limit: u32,
}

impl Engine {
    pub async fn describe_limits(&self, ctx: &RequestContext) -> ApiResult<Output> {
        self.authorize_account(ctx)?;
        let registry = self.registry();
        let mut open_shard_count = 0;
        let mut on_demand_stream_count = 0;
        for stream in registry.in_namespace(&ctx.account, &ctx.region) {
            let state = stream.read();
            match state.record.mode {
                StreamMode::Provisioned => open_shard_count += state.routes.len(),
                StreamMode::OnDemand => on_demand_stream_count += 1,
            }
        }
        Ok(Output {
            shard_limit: self.inner.config.shard_limit,
            open_shard_count,
            on_demand_stream_count,
            on_demand_stream_count_limit: self.inner.config.on_demand_stream_limit,
        })
    }
}
