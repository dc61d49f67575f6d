//! SubscribeToShard for W4: register a stream consumer, then hold one subscription per shard
//! and hand each event's records to the caller as soon as the event's bytes arrive.
//!
//! The event stream (`application/vnd.amazon.eventstream` messages in a chunked HTTP/1.1
//! body) is read with hyper's client so frames are seen as they come; messages are decoded
//! with Spate's own event-stream decoder, which the test suite checks against the AWS SDK's.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;
use spate_wire::eventstream::{EventStreamError, decode_message};

use crate::api::{Api, ApiFailure};
use crate::conn::AUTHORIZATION;
use crate::kinesis::Codec;
use crate::replies::{self, ReadRecord};

/// Registers (or finds) the consumer `name` on `stream` and waits until it is ACTIVE.
pub async fn ensure_consumer(api: &mut Api, stream: &str, name: &str) -> anyhow::Result<String> {
    let summary = api
        .call("DescribeStreamSummary", json!({"StreamName": stream}))
        .await?;
    let stream_arn = summary["StreamDescriptionSummary"]["StreamARN"]
        .as_str()
        .ok_or_else(|| anyhow!("DescribeStreamSummary without StreamARN"))?
        .to_owned();
    let registered = api
        .call(
            "RegisterStreamConsumer",
            json!({"StreamARN": stream_arn, "ConsumerName": name}),
        )
        .await;
    if let Err(error) = registered
        && !ApiFailure::is(&error, "ResourceInUseException")
    {
        return Err(error.context(format!("registering consumer {name}")));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let described = api
            .call(
                "DescribeStreamConsumer",
                json!({"StreamARN": stream_arn, "ConsumerName": name}),
            )
            .await?;
        let consumer = &described["ConsumerDescription"];
        if consumer["ConsumerStatus"] == "ACTIVE" {
            return consumer["ConsumerARN"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("DescribeStreamConsumer without ConsumerARN"));
        }
        if Instant::now() > deadline {
            bail!("consumer {name} not ACTIVE within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One open subscription to one shard.
pub struct Subscription {
    body: hyper::body::Incoming,
    buf: BytesMut,
    codec: Codec,
}

/// What one read of a subscription brought.
pub enum Event {
    /// A `SubscribeToShardEvent` (possibly with no records: a heartbeat) and when its last
    /// byte arrived.
    Records(Vec<ReadRecord>, Instant),
    /// The stream ended (the subscription's lifetime, or the server closed it).
    End,
}

impl Subscription {
    /// Subscribes from LATEST and returns once the initial response has arrived, so records
    /// put afterwards are certain to be delivered.
    pub async fn open(
        addr: SocketAddr,
        codec: Codec,
        consumer_arn: &str,
        shard: &str,
    ) -> anyhow::Result<Subscription> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let body = crate::kinesis::subscribe_body(codec, consumer_arn, shard);
        let request = http::Request::post("/")
            .header(http::header::HOST, addr.to_string())
            .header(http::header::CONTENT_TYPE, codec.content_type())
            .header("x-amz-target", "Kinesis_20131202.SubscribeToShard")
            .header("x-amz-date", "20260101T000000Z")
            .header(http::header::AUTHORIZATION, AUTHORIZATION)
            .body(Full::new(Bytes::from(body)))?;
        let reply = sender.send_request(request).await?;
        let status = reply.status();
        let mut subscription = Subscription {
            body: reply.into_body(),
            buf: BytesMut::new(),
            codec,
        };
        if !status.is_success() {
            let body = subscription.body.collect().await?.to_bytes();
            bail!(
                "SubscribeToShard: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        match subscription.next_message().await? {
            Some((event_type, _)) if event_type == "initial-response" => Ok(subscription),
            Some((event_type, payload)) => bail!(
                "SubscribeToShard began with {event_type}: {}",
                String::from_utf8_lossy(&payload)
            ),
            None => bail!("SubscribeToShard ended before its initial response"),
        }
    }

    /// The next event with records (or a heartbeat), or the end of the stream.
    pub async fn next(&mut self) -> anyhow::Result<Event> {
        let Some((event_type, payload)) = self.next_message().await? else {
            return Ok(Event::End);
        };
        let arrived = Instant::now();
        if event_type != "SubscribeToShardEvent" {
            bail!(
                "SubscribeToShard sent {event_type}: {}",
                String::from_utf8_lossy(&payload)
            );
        }
        // The event's Records have GetRecords' shape.
        let page = replies::get_records(self.codec, &payload, true)
            .context("SubscribeToShardEvent payload")?;
        Ok(Event::Records(page.records, arrived))
    }

    /// The next message's `:event-type` (or `:exception-type`) and payload.
    async fn next_message(&mut self) -> anyhow::Result<Option<(String, Bytes)>> {
        loop {
            match decode_message(&self.buf) {
                Ok((message, len)) => {
                    let kind = message
                        .header_str(":event-type")
                        .or_else(|| message.header_str(":exception-type"))
                        .unwrap_or("")
                        .to_owned();
                    let payload = Bytes::copy_from_slice(message.payload);
                    self.buf.advance(len);
                    return Ok(Some((kind, payload)));
                }
                Err(EventStreamError::Incomplete { .. }) => {}
                Err(error) => bail!("bad event-stream message: {error}"),
            }
            match self.body.frame().await {
                Some(frame) => {
                    if let Ok(data) = frame?.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                None if self.buf.is_empty() => return Ok(None),
                None => bail!("event stream ended inside a message"),
            }
        }
    }
}
