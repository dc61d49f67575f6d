//! DisableEnhancedMonitoring: removes shard-level metrics from those a stream reports, and
//! their series from `/metrics` (the shared work is in `enhanced_monitoring`).

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;
pub use crate::ops::enhanced_monitoring::{Input, Output};

impl Engine {
    pub async fn disable_enhanced_monitoring(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<Output> {
        self.change_enhanced_monitoring(ctx, input, false).await
    }
}
