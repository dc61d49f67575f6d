//! The framework-level checks AWS's front end makes before any operation runs, and reading
//! the body within the size cap.

use bytes::Bytes;
use http::{HeaderMap, Method, Request, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use spate_engine::{ApiError, ErrorKind};
use spate_wire::{Codec, Operation};

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
    let missing: Vec<String> = [
        ("Credential", "Credential="),
        ("Signature", "Signature="),
        ("SignedHeaders", "SignedHeaders="),
    ]
    .iter()
    .filter(|(_, key)| !value.contains(key))
    .map(|(part, _)| format!("Authorization header requires '{part}' parameter."))
    .collect();
    if !missing.is_empty() {
        return Err(ApiError::new(
            ErrorKind::IncompleteSignature,
            format!("{} Authorization={value}", missing.join(" ")),
        ));
    }
    Ok(())
}

/// Reads the whole body, refusing it with 413 as soon as it passes the cap: at once when a
/// Content-Length announces it, otherwise when the bytes read pass it.
pub async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    codec: Codec,
    request_id: &str,
) -> Result<Bytes, Box<Reply>> {
    let limit = body_limit(codec);

    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Box::new(response::too_large(request_id, codec, limit)));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error)
            if error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(Box::new(response::too_large(request_id, codec, limit)))
        }
        Err(error) => Err(Box::new(response::api_error(
            request_id,
            codec,
            &ApiError::new(
                ErrorKind::Serialization,
                format!("Could not read the request body: {error}"),
            ),
        ))),
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
    use serde_json::json;

    use super::stream_named;

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
