//! The framework-level checks AWS's front end makes before any operation runs, and reading
//! the body within the size cap.

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Request, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use spate_engine::{ApiError, ErrorKind};
use spate_wire::{Codec, Operation};

use crate::body::Body;
use crate::response::{self, Reply};

/// The largest body worth reading. 10 MiB of records is a legal PutRecords: about 14 MiB
/// once base64 and JSON framing are added, about 10.5 MiB as CBOR.
pub fn body_limit(codec: Codec) -> usize {
    match codec {
        Codec::Json => 15 << 20,
        Codec::Cbor => 11 << 20,
    }
}

/// What the framework checks found.
pub enum Checked {
    /// A Kinesis request in one of the two protocols: go on with it.
    Kinesis { codec: Codec, operation: Operation },
    /// `application/json`: the legacy Coral envelope protocol, which never reaches an
    /// operation. AWS answers it with a 200 envelope; the body decides which one.
    LegacyJson,
}

/// Checks method, content type, target and authorization header, in AWS's order. `Err` is
/// the reply (boxed: it is large and rare).
pub fn check(request: &Request<Incoming>, request_id: &str) -> Result<Checked, Box<Reply>> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if request.method() != Method::POST {
        return Err(Box::new(response::not_authorizable(request_id)));
    }
    if content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    {
        return Ok(Checked::LegacyJson);
    }
    let Some(codec) = Codec::from_content_type(content_type) else {
        return Err(Box::new(response::not_authorizable(request_id)));
    };
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(operation) = Operation::from_target(target) else {
        tracing::debug!(target, "unknown operation");
        let error = ApiError::new(ErrorKind::UnknownOperation, "");
        return Err(Box::new(response::api_error(request_id, codec, &error)));
    };
    check_authorization(request)
        .map_err(|error| Box::new(response::api_error(request_id, codec, &error)))?;
    Ok(Checked::Kinesis { codec, operation })
}

/// Signature verification is the security issue's; until then a request must still carry a
/// well-formed SigV4 Authorization header (or presigned query), as AWS demands of everyone.
fn check_authorization(request: &Request<Incoming>) -> Result<(), ApiError> {
    let query_auth = request
        .uri()
        .query()
        .is_some_and(|q| q.contains("X-Amz-Algorithm="));
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        if query_auth {
            return Ok(());
        }
        return Err(ApiError::new(
            ErrorKind::MissingAuthenticationToken,
            "Missing Authentication Token",
        ));
    };
    if query_auth {
        return Err(ApiError::new(
            ErrorKind::InvalidSignature,
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
        ));
    }
    let value = value.to_str().unwrap_or("");
    let present = parameters_present(value);
    let missing: Vec<String> = PARAMETERS
        .iter()
        .zip(present)
        .filter(|(_, present)| !present)
        .map(|(name, _)| format!("Authorization header requires '{name}' parameter."))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::new(
            ErrorKind::IncompleteSignature,
            format!("{} Authorization={value}", missing.join(" ")),
        ));
    }
    Ok(())
}

/// The parameters an Authorization header must name, in the order AWS lists them missing.
const PARAMETERS: [&str; 3] = ["Credential", "Signature", "SignedHeaders"];

/// Whether `value` contains each of [`PARAMETERS`] followed by `=`, found in one pass over
/// the few `=` in it: `str::contains` sets up a searcher per call, which costs more than the
/// search, on every request.
fn parameters_present(value: &str) -> [bool; 3] {
    let mut present = [false; 3];
    for at in memchr::memchr_iter(b'=', value.as_bytes()) {
        let before = &value.as_bytes()[..at];
        for (name, present) in PARAMETERS.iter().zip(&mut present) {
            *present |= before.ends_with(name.as_bytes());
        }
    }
    present
}

/// Reads the whole body, refusing it with 413 as soon as it passes the cap: at once when a
/// Content-Length announces it, otherwise when the bytes read pass it. The frames are kept
/// as they came, not copied together (see [`Body`]).
pub async fn read_body<B>(
    headers: &HeaderMap,
    body: B,
    codec: Codec,
    request_id: &str,
) -> Result<Body, Box<Reply>>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limit = body_limit(codec);

    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Box::new(response::too_large(request_id, codec, limit)));
    }
    let mut body = std::pin::pin!(Limited::new(body, limit));
    let mut frames = KeptFrames::default();
    while let Some(frame) = body.frame().await {
        match frame {
            // Trailers are dropped, as `collect().to_bytes()` dropped them.
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    frames.push(data);
                }
            }
            Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(Box::new(response::too_large(request_id, codec, limit)));
            }
            Err(error) => {
                return Err(Box::new(response::api_error(
                    request_id,
                    codec,
                    &ApiError::new(
                        ErrorKind::Serialization,
                        format!("Could not read the request body: {error}"),
                    ),
                )));
            }
        }
    }
    Ok(Body::from_frames(frames.finish()))
}

/// Frames shorter than this are copied together rather than kept one `Bytes` each: a
/// chunked body of 1-byte chunks would otherwise cost 32 bytes of bookkeeping per byte.
const SMALL_FRAME: usize = 4096;

/// A body's frames as kept: large ones as they came, runs of small ones joined. A small
/// frame on its own, as most small bodies come, is kept as it came too: copying it would
/// cost an allocation and a copy per request.
#[derive(Default)]
struct KeptFrames {
    kept: Vec<Bytes>,
    /// The run of small frames being joined.
    small: BytesMut,
    /// A small frame no other has joined yet; only while `small` is empty.
    lone: Option<Bytes>,
}

impl KeptFrames {
    fn push(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        if data.len() < SMALL_FRAME {
            if self.small.is_empty() && self.lone.is_none() {
                self.lone = Some(data);
                return;
            }
            if let Some(lone) = self.lone.take() {
                self.small.extend_from_slice(&lone);
            }
            self.small.extend_from_slice(&data);
            if self.small.len() < SMALL_FRAME {
                return;
            }
        } else {
            self.flush();
            self.kept.push(data);
        }
        self.flush();
    }

    fn flush(&mut self) {
        if let Some(lone) = self.lone.take() {
            self.kept.push(lone);
        }
        if !self.small.is_empty() {
            self.kept.push(self.small.split().freeze());
        }
    }

    fn finish(mut self) -> Vec<Bytes> {
        self.flush();
        self.kept
    }
}

/// The stream a request names, for rate limits counted per stream and for their messages:
/// its `StreamName`, else the stream in its `StreamARN`, `ConsumerARN` or `ResourceARN`.
pub fn stream_named(input: &serde_json::Value) -> Option<&str> {
    if let Some(name) = input.get("StreamName").and_then(|v| v.as_str()) {
        return Some(name);
    }
    ["StreamARN", "ConsumerARN", "ResourceARN"]
        .iter()
        .filter_map(|member| input.get(member)?.as_str())
        .find_map(stream_in_arn)
}

/// The stream a stream or consumer ARN names.
pub fn stream_in_arn(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":stream/")?;
    rest.split('/').next().filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};
    use http_body::Frame;
    use serde_json::json;
    use spate_wire::Codec;

    use super::{PARAMETERS, body_limit, parameters_present, read_body, stream_named};

    proptest::proptest! {
        #[test]
        fn parameters_present_is_contains(parts in proptest::collection::vec(
            "Credential=|Signature=|SignedHeaders=|Signed|Sig|=|, |[A-Za-z]{1,3}", 0..12,
        )) {
            let value = parts.concat();
            let present = parameters_present(&value);
            for (name, present) in PARAMETERS.iter().zip(present) {
                proptest::prop_assert_eq!(present, value.contains(&format!("{name}=")), "{}", name);
            }
        }
    }

    /// A body that yields its frames one at a time, as hyper does a large one.
    struct Frames(VecDeque<Bytes>);

    impl http_body::Body for Frames {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|data| Ok(Frame::data(data))))
        }
    }

    #[tokio::test]
    async fn keeps_a_body_in_the_frames_it_came_in() {
        let first = Bytes::from(vec![b'a'; 5_000]);
        let second = Bytes::from(vec![b'b'; 6_000]);
        let parts = VecDeque::from([first.clone(), Bytes::new(), second.clone()]);
        let body = read_body(&HeaderMap::new(), Frames(parts), Codec::Json, "r")
            .await
            .unwrap_or_else(|_| panic!("read"));
        assert_eq!(body.frames().len(), 2);
        assert_eq!(body.frames()[0].as_ptr(), first.as_ptr());
        assert_eq!(body.frames()[1].as_ptr(), second.as_ptr());
        assert_eq!(body.whole().len(), 11_000);
    }

    #[tokio::test]
    async fn keeps_a_lone_small_frame_as_it_came() {
        let only = Bytes::from(vec![b'a'; 200]);
        let parts = VecDeque::from([Bytes::new(), only.clone(), Bytes::new()]);
        let body = read_body(&HeaderMap::new(), Frames(parts), Codec::Json, "r")
            .await
            .unwrap_or_else(|_| panic!("read"));
        assert_eq!(body.frames().len(), 1);
        assert_eq!(body.frames()[0].as_ptr(), only.as_ptr());
    }

    #[tokio::test]
    async fn joins_runs_of_small_frames() {
        let tiny: Vec<Bytes> = (0..10_000u32)
            .map(|i| Bytes::from(vec![b'a' + (i % 26) as u8]))
            .collect();
        let large = Bytes::from(vec![b'z'; 5_000]);
        let mut parts: VecDeque<Bytes> = tiny.iter().cloned().collect();
        parts.push_back(large.clone());
        parts.extend(tiny.iter().take(3).cloned());
        let body = read_body(&HeaderMap::new(), Frames(parts.clone()), Codec::Json, "r")
            .await
            .unwrap_or_else(|_| panic!("read"));
        // 10,000 one-byte frames become three; the large one is kept as it came.
        assert!(body.frames().len() <= 5, "{} frames", body.frames().len());
        assert!(body.frames().iter().any(|f| f.as_ptr() == large.as_ptr()));
        let expected: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        assert_eq!(&body.whole()[..], &expected[..]);
    }

    #[tokio::test]
    async fn refuses_frames_past_the_limit() {
        let limit = body_limit(Codec::Cbor);
        let big = Bytes::from(vec![b' '; limit / 2 + 1]);
        let body = Frames(VecDeque::from([big.clone(), big]));
        let refused = read_body(&HeaderMap::new(), body, Codec::Cbor, "r").await;
        let status = refused.err().map(|reply| reply.status());
        assert_eq!(status, Some(StatusCode::PAYLOAD_TOO_LARGE));
    }

    #[test]
    fn finds_the_stream_a_request_names() {
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s1";
        assert_eq!(stream_named(&json!({"StreamName": "s0"})), Some("s0"));
        assert_eq!(stream_named(&json!({"StreamARN": arn})), Some("s1"));
        let consumer = format!("{arn}/consumer/c:1700000000");
        assert_eq!(stream_named(&json!({"ConsumerARN": consumer})), Some("s1"));
        assert_eq!(stream_named(&json!({"NextToken": "t"})), None);
        assert_eq!(
            stream_named(&json!({"ResourceARN": "arn:aws:kinesis:r:1:stream/"})),
            None
        );
    }
}
