//! Kinesis semantics: streams and their lifecycle, shards and routing, sequence numbers,
//! iterators, retention and tags, over a metadata store and a record log.
//!
//! The engine knows nothing of HTTP or of codecs beyond the JSON shapes of each operation's
//! input and output (serde structs, one operation per file under [`ops`]). The server turns
//! wire bytes into those inputs and the outputs back into bytes. Layout: [`engine`] holds the
//! [`Engine`] and its shared machinery (stream lookup, control-plane mutation, lifecycle
//! transitions); [`registry`] the live stream table; [`tokens`] iterators and pagination
//! tokens; [`shapes`] the blob and timestamp forms; [`views`] the shard and stream shapes
//! that several operations return; [`limits`] AWS's throughput and rate limits, where they
//! are enforced; [`faults`] failures and latency injected for people testing their clients;
//! [`subscription`] enhanced fan-out subscriptions (SubscribeToShard), fed from the record
//! log's commit notifications; `position` the starting positions that iterators and
//! subscriptions share; [`metrics`] the Prometheus registry of CloudWatch-named metrics;
//! `authorize` whether a request's principal may act on the resource it names (identity and
//! resource policies, evaluated by `spate_auth::policy`); [`kms`] encryption at rest: local stand-ins for KMS keys, sealing records on the write
//! path and opening them on the read path.

mod authorize;
pub mod autoscale;
pub mod clock;
pub mod config;
mod engine;
pub mod error;
pub mod faults;
pub mod kms;
pub mod limits;
pub mod metrics;
pub mod ops;
mod position;
mod registry;
mod reshard;
pub mod shapes;
pub mod subscription;
pub mod tokens;
mod views;

pub use autoscale::OnDemandScaling;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::EngineConfig;
pub use engine::{Engine, RequestContext};
pub use error::{ApiError, ApiResult, ErrorKind};
pub use faults::{FaultRule, FaultRules, Faults};
pub use limits::LimitsConfig;
pub use metrics::Metrics;
pub use subscription::{SubscribeToShardEvent, Subscription, SubscriptionItem};
// Members of GetRecords' and SubscribeToShard's outputs, for whoever encodes or builds them.
pub use views::{ChildShard, HashKeyRange};
