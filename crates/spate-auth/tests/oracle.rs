//! The verifier against an independent signer: the `aws-sigv4` crate the AWS SDKs use.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use proptest::prelude::*;
use spate_auth::{AuthError, Credential, Request, Verifier};

const NOW: u64 = 1_790_000_000;

fn store() -> HashMap<String, Credential> {
    HashMap::from([(
        "AKIDEXAMPLE".to_owned(),
        Credential {
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
            account_id: "111122223333".to_owned(),
        },
    )])
}

/// Signs like an SDK would and returns every header the request then carries.
fn signed_headers(
    headers: &[(&str, &str)],
    body: &[u8],
    region: &str,
    session_token: Option<&str>,
    at: SystemTime,
) -> Vec<(String, String)> {
    let identity = aws_credential_types::Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session_token.map(str::to_owned),
        None,
        "test",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("kinesis")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .expect("params")
        .into();
    let signable = SignableRequest::new(
        "POST",
        "http://127.0.0.1:4567/",
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    let mut all: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned()))
        .collect();
    for (name, value) in instructions.headers() {
        all.push((name.to_ascii_lowercase(), value.to_owned()));
    }
    all
}

fn verify(
    headers: &[(String, String)],
    body: &[u8],
    now: u64,
) -> Result<spate_auth::Verified, AuthError> {
    let request = Request {
        method: "POST",
        path: "/",
        query: "",
        headers,
        body,
    };
    Verifier::new(store()).verify(&request, now as i64)
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

const BASE: [(&str, &str); 3] = [
    ("host", "127.0.0.1:4567"),
    ("content-type", "application/x-amz-json-1.1"),
    ("x-amz-target", "Kinesis_20131202.ListStreams"),
];

#[test]
fn accepts_what_the_sdk_signs_and_names_the_account() {
    let headers = signed_headers(&BASE, b"{}", "eu-west-2", None, at(NOW));
    let verified = verify(&headers, b"{}", NOW).expect("valid signature");
    assert_eq!(verified.account_id, "111122223333");
    assert_eq!(verified.region, "eu-west-2");
}

#[test]
fn session_tokens_and_extra_signed_headers_verify() {
    let mut extra = BASE.to_vec();
    extra.push(("x-amz-user-agent", "aws-sdk-js/3.0  with   spaces"));
    extra.push(("amz-sdk-invocation-id", "abc"));
    let headers = signed_headers(&extra, b"{}", "us-east-1", Some("SESSIONTOKEN"), at(NOW));
    assert!(headers.iter().any(|(n, _)| n == "x-amz-security-token"));
    verify(&headers, b"{}", NOW).expect("valid signature");
}

#[test]
fn http2_authority_stands_in_for_host() {
    let headers = signed_headers(&BASE, b"{}", "us-east-1", None, at(NOW));
    let h2: Vec<(String, String)> = headers
        .into_iter()
        .map(|(n, v)| {
            if n == "host" {
                (":authority".to_owned(), v)
            } else {
                (n, v)
            }
        })
        .collect();
    verify(&h2, b"{}", NOW).expect("valid over HTTP/2");
}

#[test]
fn tampering_and_skew_are_refused() {
    let headers = signed_headers(&BASE, b"{}", "us-east-1", None, at(NOW));
    assert!(matches!(
        verify(&headers, b"{\"Limit\":1}", NOW),
        Err(AuthError::BadSignature(_))
    ));
    let mut other_target = headers.clone();
    for (name, value) in other_target.iter_mut() {
        if name == "x-amz-target" {
            *value = "Kinesis_20131202.DeleteStream".to_owned();
        }
    }
    assert!(matches!(
        verify(&other_target, b"{}", NOW),
        Err(AuthError::BadSignature(_))
    ));
    let expired = verify(&headers, b"{}", NOW + 16 * 60);
    assert!(
        matches!(&expired, Err(AuthError::BadSignature(m)) if m.starts_with("Signature expired")),
        "{expired:?}"
    );
    assert!(verify(&headers, b"{}", NOW + 14 * 60).is_ok());
    let early = verify(&headers, b"{}", NOW - 16 * 60);
    assert!(
        matches!(&early, Err(AuthError::BadSignature(m)) if m.starts_with("Signature not yet current")),
        "{early:?}"
    );
    let unknown: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                if n == "authorization" {
                    v.replace("AKIDEXAMPLE", "AKIDOTHER")
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    assert_eq!(verify(&unknown, b"{}", NOW), Err(AuthError::UnknownKey));
    let unsigned: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| n != "authorization")
        .cloned()
        .collect();
    assert_eq!(verify(&unsigned, b"{}", NOW), Err(AuthError::MissingToken));
}

proptest! {
    #[test]
    fn any_body_and_header_value_round_trips(body in proptest::collection::vec(any::<u8>(), 0..512), value in "[ -~]{0,40}", region in "[a-z]{2}-[a-z]{4,9}-[1-9]") {
        let mut extra = BASE.to_vec();
        extra.push(("x-custom", value.as_str()));
        let headers = signed_headers(&extra, &body, &region, None, at(NOW));
        prop_assert!(verify(&headers, &body, NOW).is_ok());
        let mut flipped = body.clone();
        flipped.push(0);
        prop_assert!(verify(&headers, &flipped, NOW).is_err());
    }
}
