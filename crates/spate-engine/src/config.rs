//! Engine settings: the service's behaviour, not how it is served.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Region used in ARNs and to namespace streams when a request carries none.
    pub region: String,
    /// Account used in ARNs and to namespace streams when a request carries none.
    pub account_id: String,
    /// Open shards allowed per account and region (AWS's largest regions: 20,000).
    pub shard_limit: u32,
    /// On-demand streams allowed per account and region.
    pub on_demand_stream_limit: u32,
    /// How long streams stay CREATING, DELETING and UPDATING.
    pub create_stream_delay: Duration,
    pub delete_stream_delay: Duration,
    pub update_stream_delay: Duration,
    /// How long registered consumers stay CREATING, and deregistered ones DELETING.
    pub register_consumer_delay: Duration,
    pub deregister_consumer_delay: Duration,
    /// How long a SubscribeToShard stream lasts before it ends normally (AWS: 5 minutes).
    /// Shortened only by tests.
    pub subscription_lifetime: Duration,
    /// A second SubscribeToShard for the same consumer and shard sooner than this after a
    /// live one started is refused; later, it takes over (AWS: 5 seconds). Shortened only by
    /// tests.
    pub subscription_takeover: Duration,
    /// How often an idle subscription gets an empty event, so its continuation and lag stay
    /// current.
    pub subscription_heartbeat: Duration,
    /// Shard iterator and NextToken lifetime (AWS: 5 minutes). Shortened only by tests.
    pub iterator_ttl: Duration,
    /// Length of one retention "hour" (AWS: an hour). Shortened only by tests, so retention
    /// can be tested without waiting a day.
    pub retention_hour: Duration,
    /// When on-demand streams split their hot shards.
    pub on_demand_scaling: crate::autoscale::OnDemandScaling,
    /// Where AWS's throughput and control-plane rate limits are enforced (nowhere by default).
    pub limits: crate::limits::LimitsConfig,
    /// Faults injected from the start (the server's admin endpoint can replace them).
    pub faults: crate::faults::FaultRules,
    /// The keys StartStreamEncryption may name and sealed records are opened with. The
    /// default holds only a process-lifetime `alias/aws/kinesis` key.
    pub kms: std::sync::Arc<crate::kms::KeyRing>,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            shard_limit: 20_000,
            on_demand_stream_limit: 50,
            create_stream_delay: Duration::ZERO,
            delete_stream_delay: Duration::ZERO,
            update_stream_delay: Duration::ZERO,
            register_consumer_delay: Duration::ZERO,
            deregister_consumer_delay: Duration::ZERO,
            subscription_lifetime: Duration::from_secs(300),
            subscription_takeover: Duration::from_secs(5),
            subscription_heartbeat: Duration::from_secs(1),
            iterator_ttl: Duration::from_secs(300),
            retention_hour: Duration::from_secs(3_600),
            on_demand_scaling: Default::default(),
            limits: Default::default(),
            faults: Default::default(),
            kms: std::sync::Arc::new(crate::kms::KeyRing::ephemeral()),
        }
    }
}
