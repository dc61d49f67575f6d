//! Every reply is built here, so status codes and headers are decided in one place.

use std::convert::Infallible;

use http::{HeaderName, HeaderValue, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use spate_engine::{ApiError, ErrorKind};
use spate_wire::{Codec, WireError};

use crate::pieces::Pieces;

/// A reply's body: whole (every operation but one), or streamed as it is produced
/// (SubscribeToShard's event stream). Boxing keeps one type for both; a whole body keeps its
/// exact size, so it still goes out with a Content-Length. A whole body may be in pieces
/// (GetRecords in CBOR shares record data with the journal's read buffers).
pub type Body = UnsyncBoxBody<Pieces, Infallible>;

pub type Reply = Response<Body>;

/// A whole body.
pub fn full(bytes: impl Into<Pieces>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

/// The HTTP status AWS's JSON protocol gives an error: 500 for faults, 400 for the rest.
fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InternalFailure => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A fresh request id, as `x-amzn-RequestId` carries on every reply.
pub fn request_id() -> String {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut text)
        .to_owned()
}

// HTTP/1 writes header names in lower case whatever their spelling; built once, not parsed
// per reply.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
const ID_2: HeaderName = HeaderName::from_static("x-amz-id-2");

fn with_common_headers(mut reply: Reply, request_id: &str, content_type: &'static str) -> Reply {
    let headers = reply.headers_mut();
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, id);
    }
    // Random bytes: `x-amz-id-2` carries no meaning, but clients may log it.
    let mut raw = [0u8; 48];
    for part in raw.chunks_exact_mut(16) {
        part.copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    // SIMD base64, as for record data: the general-purpose engine took ~500 instructions
    // here, on every reply.
    let mut text = [0u8; 64];
    let text = base64_simd::STANDARD.encode(&raw, base64_simd::Out::from_slice(&mut text));
    if let Ok(id2) = HeaderValue::from_bytes(text) {
        headers.insert(ID_2, id2);
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    reply
}

pub fn success(request_id: &str, codec: Codec, body: Pieces) -> Reply {
    let reply = Response::new(full(body));
    with_common_headers(reply, request_id, codec.content_type())
}

/// The 200 that starts an event stream: `body` yields its messages as they are made.
pub fn event_stream(request_id: &str, body: Body) -> Reply {
    with_common_headers(
        Response::new(body),
        request_id,
        "application/vnd.amazon.eventstream",
    )
}

pub fn api_error(request_id: &str, codec: Codec, error: &ApiError) -> Reply {
    let body = spate_wire::encode_error(codec, error.kind.aws_type(), &error.message);
    let mut reply = Response::new(full(body));
    *reply.status_mut() = status_of(error.kind);
    with_common_headers(reply, request_id, codec.content_type())
}

pub fn wire_error(request_id: &str, codec: Codec, error: &WireError) -> Reply {
    let kind = match error.aws_type() {
        "ValidationException" => ErrorKind::Validation,
        _ => ErrorKind::Serialization,
    };
    api_error(request_id, codec, &ApiError::new(kind, error.message()))
}

/// Errors raised before any codec is known, in the forms AWS's front end uses for them.
pub fn framework(
    request_id: &str,
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Reply {
    let mut reply = Response::new(full(body));
    *reply.status_mut() = status;
    with_common_headers(reply, request_id, content_type)
}

/// 403 for a request that names no Kinesis operation AWS can authorize (wrong method or
/// content type).
pub fn not_authorizable(request_id: &str) -> Reply {
    framework(
        request_id,
        StatusCode::FORBIDDEN,
        "application/xml",
        "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n</AccessDeniedException>\n".to_owned(),
    )
}

pub fn too_large(request_id: &str, codec: Codec, limit: usize) -> Reply {
    let body = spate_wire::encode_error(
        codec,
        "SerializationException",
        &format!("Request body is larger than the largest legal Kinesis request ({limit} bytes)."),
    );
    let mut reply = Response::new(full(body));
    *reply.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    with_common_headers(reply, request_id, codec.content_type())
}

/// The legacy `application/json` protocol's answer: a 200 carrying a Coral envelope that
/// names the failure, as AWS sends it.
pub fn legacy_envelope(request_id: &str, body: &[u8]) -> Reply {
    let is_object = serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.is_object());
    let output = if is_object {
        serde_json::json!({"__type": "com.amazon.coral.service#UnknownOperationException", "message": null})
    } else {
        serde_json::json!({"__type": "com.amazon.coral.service#SerializationException", "Message": null})
    };
    let envelope = serde_json::json!({"Output": output, "Version": "1.0"});
    framework(
        request_id,
        StatusCode::OK,
        "application/json",
        envelope.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    #[test]
    fn replies_carry_the_request_id_and_a_random_id_2() {
        let ids: Vec<String> = (0..2)
            .map(|_| {
                let reply = success("req-1", Codec::Json, Pieces::new(Vec::new()));
                let headers = reply.headers();
                assert_eq!(headers[REQUEST_ID], "req-1");
                assert_eq!(headers[header::CONTENT_TYPE], Codec::Json.content_type());
                let id2 = headers[ID_2].to_str().expect("ASCII").to_owned();
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(&id2)
                    .expect("base64");
                assert_eq!(raw.len(), 48);
                id2
            })
            .collect();
        assert_ne!(ids[0], ids[1]);
    }
}
