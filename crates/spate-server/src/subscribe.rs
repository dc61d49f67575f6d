//! SubscribeToShard over HTTP: the one operation whose reply is streamed. Errors found before
//! streaming are ordinary replies; after that the reply is a 200 `application/vnd.amazon
//! .eventstream` body of event-stream messages (HTTP/1.1 chunked, or HTTP/2 DATA frames):
//! `initial-response`, then one `SubscribeToShardEvent` per event of the engine's
//! [`Subscription`], ending normally or with one `exception` message.
//!
//! A task pumps the subscription into a one-message channel that the body reads. It takes a
//! slot in the channel before it asks the subscription for the next event, so while the
//! client is not reading it holds nothing but the subscription's position: a slow
//! subscriber never grows memory, and never slows a producer or another subscriber.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt;
use serde_json::Value;
use spate_engine::{
    ApiError, Engine, ErrorKind, RequestContext, SubscribeToShardEvent, Subscription,
};
use spate_wire::Codec;
use spate_wire::eventstream::{HeaderValue, encode_message};
use tokio::sync::mpsc;

use crate::pieces::Pieces;
use crate::records_reply;
use crate::response::{self, Reply};

/// The body of a streamed reply: messages as the pump makes them; the end when it stops.
struct EventStreamBody {
    messages: mpsc::Receiver<Bytes>,
}

impl http_body::Body for EventStreamBody {
    type Data = Pieces;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Pieces>, Infallible>>> {
        self.messages
            .poll_recv(cx)
            .map(|message| message.map(|bytes| Ok(Frame::data(Pieces::from(bytes)))))
    }
}

/// Opens the subscription and starts streaming it, or answers the error that prevents it.
pub async fn reply(
    engine: &Engine,
    ctx: &RequestContext,
    input: Value,
    codec: Codec,
    request_id: &str,
) -> Reply {
    let subscription = match serde_json::from_value(input)
        .map_err(|e| ApiError::new(ErrorKind::Serialization, e.to_string()))
    {
        Ok(input) => engine.subscribe_to_shard(ctx, input).await,
        Err(error) => Err(error),
    };
    let subscription = match subscription {
        Ok(subscription) => subscription,
        Err(error) => return response::api_error(request_id, codec, &error),
    };
    let (sender, messages) = mpsc::channel(1);
    tokio::spawn(pump(subscription, sender, codec));
    response::event_stream(request_id, EventStreamBody { messages }.boxed_unsync())
}

async fn pump(mut subscription: Subscription, sender: mpsc::Sender<Bytes>, codec: Codec) {
    if sender.send(initial_response(codec)).await.is_err() {
        return;
    }
    loop {
        // Room first: a subscriber that is not reading leaves the pump waiting here.
        let Ok(permit) = sender.reserve().await else {
            return;
        };
        let item = tokio::select! {
            item = subscription.next() => item,
            // The client went away (the body was dropped) while the shard was quiet.
            () = sender.closed() => return,
        };
        match item {
            None => return,
            Some(Ok(event)) => permit.send(event_message(codec, &event)),
            Some(Err(error)) => {
                permit.send(exception_message(codec, &error));
                return;
            }
        }
    }
}

fn message(kind: &str, type_header: &str, type_value: &str, codec: Codec, payload: &[u8]) -> Bytes {
    let headers = [
        (":message-type", HeaderValue::String(kind)),
        (type_header, HeaderValue::String(type_value)),
        (":content-type", HeaderValue::String(codec.content_type())),
    ];
    Bytes::from(encode_message(&headers, payload))
}

/// The first message: the operation's (memberless) output, `{}`.
fn initial_response(codec: Codec) -> Bytes {
    let payload: &[u8] = match codec {
        Codec::Json => b"{}",
        // An empty CBOR map.
        Codec::Cbor => &[0xa0],
    };
    message("event", ":event-type", "initial-response", codec, payload)
}

fn event_message(codec: Codec, event: &SubscribeToShardEvent) -> Bytes {
    let encoded = records_reply::subscribe_event(codec, event);
    match encoded {
        Ok(payload) => message(
            "event",
            ":event-type",
            "SubscribeToShardEvent",
            codec,
            &payload,
        ),
        Err(reason) => exception_message(codec, &ApiError::internal(reason)),
    }
}

/// An in-stream failure: `:message-type exception`, the error's type, and the same body an
/// error reply has (`__type` and `message`), from which the SDKs also take the error code.
fn exception_message(codec: Codec, error: &ApiError) -> Bytes {
    let name = error.kind.aws_type();
    let payload = spate_wire::encode_error(codec, name, &error.message);
    message("exception", ":exception-type", name, codec, &payload)
}
