//! Who a request acts for: its account, region and principal, from a verified SigV4
//! signature (`--auth sigv4`) or, with signatures unchecked (`--auth none`), the configured
//! account's root and the credential scope's region.

use std::collections::HashMap;
use std::sync::Arc;

use http::{HeaderMap, Method, Uri};
use spate_auth::{AuthError, AuthorizationHeader, Credential, Principal, Request, Verifier};
use spate_engine::{ApiError, EngineConfig, ErrorKind, RequestContext};

use crate::body::Body;

/// How requests are authenticated.
pub enum Authenticator {
    /// Signatures are not checked (the Authorization header must still be well formed).
    Off,
    /// Every request's SigV4 signature is verified against these credentials.
    SigV4 {
        verifier: Verifier<HashMap<String, Credential>>,
        /// Whom each access key acts as: its account, IAM user and identity policies. A key
        /// missing here acts as its account's root.
        principals: HashMap<String, Arc<Principal>>,
    },
}

/// What authentication needs of a request besides its body.
pub struct Head {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
}

/// `us-east-1`, `eu-west-2`, `us-gov-west-1`: what a real region name looks like. boto 2
/// signs requests to 127.0.0.1 with region `0`, which must not become a namespace.
pub fn is_region_name(text: &str) -> bool {
    let lower = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let Some((area, rest)) = text.split_once('-') else {
        return false;
    };
    let Some((middle, number)) = rest.rsplit_once('-') else {
        return false;
    };
    area.len() == 2
        && lower(area)
        && middle.split('-').all(lower)
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// `account`'s root principal, built once per thread rather than per request: without
/// signatures every request acts as it, and building one takes a `format!` and three
/// allocations.
fn root_of(account: &str) -> Arc<Principal> {
    thread_local! {
        static ROOT: std::cell::RefCell<Option<Arc<Principal>>> = const { std::cell::RefCell::new(None) };
    }
    ROOT.with_borrow_mut(|root| match root {
        Some(principal) if principal.account == account => principal.clone(),
        _ => root.insert(Arc::new(Principal::root(account))).clone(),
    })
}

fn auth_error(error: AuthError) -> ApiError {
    let kind = match error {
        AuthError::MissingToken => ErrorKind::MissingAuthenticationToken,
        AuthError::Incomplete(_) => ErrorKind::IncompleteSignature,
        AuthError::UnknownKey => ErrorKind::UnrecognizedClient,
        _ => ErrorKind::InvalidSignature,
    };
    ApiError::new(kind, error.to_string())
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Authenticator {
    /// The namespace and principal `head` and `body` act with to perform `action`, or the
    /// AWS error refusing them.
    pub(crate) fn context(
        &self,
        head: &Head,
        body: &Body,
        config: &EngineConfig,
        action: &'static str,
    ) -> Result<RequestContext, ApiError> {
        let region_or_default = |region: &str| {
            if is_region_name(region) {
                region.to_owned()
            } else {
                config.region.clone()
            }
        };
        match self {
            Authenticator::Off => {
                let scope_region = head
                    .headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(AuthorizationHeader::region_of);
                let region = scope_region.map_or_else(|| config.region.clone(), region_or_default);
                Ok(RequestContext {
                    account: config.account_id.clone(),
                    region,
                    principal: root_of(&config.account_id),
                    verified: false,
                    action,
                })
            }
            Authenticator::SigV4 {
                verifier,
                principals,
            } => {
                let mut headers: Vec<(String, String)> = head
                    .headers
                    .iter()
                    .map(|(name, value)| {
                        (
                            name.as_str().to_owned(),
                            String::from_utf8_lossy(value.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                // HTTP/2 carries the host as the `:authority` pseudo-header, which JS v3 signs.
                if let Some(authority) = head.uri.authority() {
                    headers.push((":authority".to_owned(), authority.as_str().to_owned()));
                }
                let request = Request {
                    method: head.method.as_str(),
                    path: head.uri.path(),
                    query: head.uri.query().unwrap_or(""),
                    headers: &headers,
                    body: body.whole(),
                };
                let verified = verifier.verify(&request, now_secs()).map_err(auth_error)?;
                let principal = principals
                    .get(&verified.access_key)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(Principal::root(&verified.account_id)));
                Ok(RequestContext {
                    account: verified.account_id,
                    region: region_or_default(&verified.region),
                    principal,
                    verified: true,
                    action,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for good in [
            "us-east-1",
            "eu-west-2",
            "us-gov-west-1",
            "ap-southeast-3",
            "cn-north-1",
        ] {
            assert!(is_region_name(good), "{good}");
        }
        for bad in ["0", "127", "us-east", "US-EAST-1", "useast1", "us--1", ""] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }
}
