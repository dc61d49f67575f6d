//! EnableEnhancedMonitoring: adds shard-level metrics to those a stream reports (the shared
//! work is in `enhanced_monitoring`).

use crate::engine::{Engine, RequestContext};
use crate::error::ApiResult;
pub use crate::ops::enhanced_monitoring::{Input, Output};

impl Engine {
    pub async fn enable_enhanced_monitoring(
        &self,
        ctx: &RequestContext,
        input: Input,
    ) -> ApiResult<Output> {
        self.change_enhanced_monitoring(ctx, input, true).await
    }
}
