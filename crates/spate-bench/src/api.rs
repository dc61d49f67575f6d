//! The control-plane calls a workload needs around its measured part (creating streams,
//! listing shards, reading back), in JSON over one HTTP/1.1 connection. Not on any hot path.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};

use crate::conn::Prepared;
use crate::http1::Http1Conn;
use crate::kinesis::Codec;
use crate::replies::{self, Page};
use crate::sequence::Sequence;

/// How long a stream may take to become ACTIVE before the bench gives up.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Api {
    conn: Http1Conn,
    addr: SocketAddr,
}

/// An error reply: the status and the AWS error type, for callers that expect some.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: u16,
    pub error_type: String,
    pub body: String,
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.error_type, self.body)
    }
}

impl std::error::Error for ApiFailure {}

impl ApiFailure {
    /// Whether `error` is an error reply of the AWS type `error_type` (namespace ignored).
    pub fn is(error: &anyhow::Error, error_type: &str) -> bool {
        error
            .downcast_ref::<ApiFailure>()
            .is_some_and(|f| f.error_type.ends_with(error_type))
    }
}

impl Api {
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Api> {
        let conn = Http1Conn::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        Ok(Api { conn, addr })
    }

    /// Calls an operation with a JSON body; a non-2xx reply is an [`ApiFailure`].
    pub async fn call(&mut self, operation: &'static str, body: Value) -> anyhow::Result<Value> {
        let prepared = Prepared::new(
            self.addr,
            operation,
            Codec::Json,
            body.to_string().into_bytes(),
        );
        let reply = self
            .conn
            .call(&prepared.wire)
            .await
            .with_context(|| format!("{operation} to {}", self.addr))?;
        if !(200..300).contains(&reply.status) {
            let text = String::from_utf8_lossy(&reply.body).into_owned();
            let error_type = serde_json::from_slice::<Value>(&reply.body)
                .ok()
                .and_then(|v| v["__type"].as_str().map(str::to_owned))
                .unwrap_or_default();
            return Err(ApiFailure {
                status: reply.status,
                error_type,
                body: text,
            }
            .into());
        }
        if reply.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&reply.body).with_context(|| format!("{operation} reply"))
    }

    /// Creates a stream (or accepts an existing one with the same shard count) and waits
    /// until it is ACTIVE. Returns how long that took.
    pub async fn ensure_stream(&mut self, name: &str, shards: u32) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let created = self
            .call(
                "CreateStream",
                json!({"StreamName": name, "ShardCount": shards}),
            )
            .await;
        if let Err(error) = created
            && !ApiFailure::is(&error, "ResourceInUseException")
        {
            return Err(error.context(format!("creating stream {name}")));
        }
        loop {
            let summary = self
                .call("DescribeStreamSummary", json!({"StreamName": name}))
                .await?;
            let summary = &summary["StreamDescriptionSummary"];
            if summary["StreamStatus"] == "ACTIVE" {
                let open = summary["OpenShardCount"].as_u64().unwrap_or(0);
                if open != u64::from(shards) {
                    bail!("stream {name} exists with {open} open shards, not {shards}");
                }
                return Ok(started.elapsed());
            }
            if started.elapsed() > ACTIVE_TIMEOUT {
                bail!("stream {name} not ACTIVE after {ACTIVE_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Every shard id of a stream, following ListShards pagination.
    pub async fn list_shards(&mut self, stream: &str) -> anyhow::Result<Vec<String>> {
        let mut shards = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let body = match &next {
                Some(token) => json!({"NextToken": token, "MaxResults": 1000}),
                None => json!({"StreamName": stream, "MaxResults": 1000}),
            };
            let reply = self.call("ListShards", body).await?;
            for shard in reply["Shards"].as_array().into_iter().flatten() {
                let id = shard["ShardId"]
                    .as_str()
                    .ok_or_else(|| anyhow!("ListShards entry without ShardId"))?;
                shards.push(id.to_owned());
            }
            match reply["NextToken"].as_str() {
                Some(token) => next = Some(token.to_owned()),
                None => return Ok(shards),
            }
        }
    }

    pub async fn shard_iterator(
        &mut self,
        stream: &str,
        shard: &str,
        kind: &str,
        sequence: Option<Sequence>,
    ) -> anyhow::Result<String> {
        let mut body = json!({"StreamName": stream, "ShardId": shard, "ShardIteratorType": kind});
        if let Some(sequence) = sequence {
            body["StartingSequenceNumber"] = Value::String(sequence.to_string());
        }
        let reply = self.call("GetShardIterator", body).await?;
        reply["ShardIterator"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("GetShardIterator reply without ShardIterator"))
    }

    pub async fn get_records(&mut self, iterator: &str, limit: u32) -> anyhow::Result<Page> {
        let body = json!({"ShardIterator": iterator, "Limit": limit})
            .to_string()
            .into_bytes();
        let prepared = Prepared::new(self.addr, "GetRecords", Codec::Json, body);
        let reply = self.conn.call(&prepared.wire).await?;
        if !(200..300).contains(&reply.status) {
            bail!(
                "GetRecords: HTTP {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
        }
        replies::get_records(Codec::Json, &reply.body, true)
    }
}
