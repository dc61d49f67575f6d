//! Deciding whether a request's signature is good.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::canonical::{
    canonical_header_value, canonical_query, canonical_uri, hex, sha256_hex, string_to_sign,
};
use crate::error::AuthError;
use crate::header::AuthorizationHeader;

/// A secret and the account it acts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub secret_access_key: String,
    pub account_id: String,
}

/// Where secrets come from.
pub trait CredentialStore: Send + Sync {
    fn lookup(&self, access_key: &str) -> Option<Credential>;
}

impl CredentialStore for HashMap<String, Credential> {
    fn lookup(&self, access_key: &str) -> Option<Credential> {
        self.get(access_key).cloned()
    }
}

/// What the server received, as the signer saw it.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Every header as (lower-case name, value). HTTP/2's `:authority` goes in under that
    /// name: JS v3 signs it as a header, and `host` falls back to it.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl Request<'_> {
    fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).into_iter().next()
    }
}

/// Who a good signature says the caller is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub access_key: String,
    pub account_id: String,
    /// The credential scope's region, as signed (it may be nonsense: boto 2 signs `0`).
    pub region: String,
}

/// How far a request's time may be from the server's: AWS allows 15 minutes.
const MAX_SKEW_SECS: i64 = 15 * 60;

/// Signing keys kept per (key, date, region, service); a day's key serves every request
/// of that day. Bounded: the cache is emptied when it grows past this.
const KEY_CACHE_LIMIT: usize = 4_096;

type KeyCacheKey = (String, String, String, String);

pub struct Verifier<S> {
    store: S,
    keys: Mutex<HashMap<KeyCacheKey, [u8; 32]>>,
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `20260101T000000Z` → epoch seconds.
pub fn parse_amz_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Epoch seconds → `20260101T000000Z`.
pub fn format_amz_date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl<S: CredentialStore> Verifier<S> {
    pub fn new(store: S) -> Verifier<S> {
        Verifier {
            store,
            keys: Mutex::new(HashMap::new()),
        }
    }

    fn signing_key(&self, secret: &str, header: &AuthorizationHeader<'_>) -> [u8; 32] {
        let cache_key = (
            header.access_key.to_owned(),
            header.date.to_owned(),
            header.region.to_owned(),
            header.service.to_owned(),
        );
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(key) = keys.get(&cache_key) {
            return *key;
        }
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), header.date.as_bytes());
        let k_region = hmac(&k_date, header.region.as_bytes());
        let k_service = hmac(&k_region, header.service.as_bytes());
        let key = hmac(&k_service, b"aws4_request");
        if keys.len() >= KEY_CACHE_LIMIT {
            keys.clear();
        }
        keys.insert(cache_key, key);
        key
    }

    /// Verifies `request` at `now_secs` (epoch seconds).
    pub fn verify(&self, request: &Request<'_>, now_secs: i64) -> Result<Verified, AuthError> {
        let Some(value) = request.header("authorization") else {
            return Err(AuthError::MissingToken);
        };
        let header = AuthorizationHeader::parse(value)?;
        let credential = self
            .store
            .lookup(header.access_key)
            .ok_or(AuthError::UnknownKey)?;
        let amz_date = match request.header("x-amz-date") {
            Some(date) => date,
            None => {
                return Err(AuthError::Incomplete(format!(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={value}"
                )));
            }
        };
        let signed_at = parse_amz_date(amz_date).ok_or_else(|| {
            AuthError::Incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
            ))
        })?;
        if signed_at < now_secs - MAX_SKEW_SECS {
            return Err(AuthError::BadSignature(format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
                format_amz_date(now_secs - MAX_SKEW_SECS),
                format_amz_date(now_secs)
            )));
        }
        if signed_at > now_secs + MAX_SKEW_SECS {
            return Err(AuthError::BadSignature(format!(
                "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
                format_amz_date(now_secs + MAX_SKEW_SECS),
                format_amz_date(now_secs)
            )));
        }
        if !amz_date.starts_with(header.date) {
            return Err(AuthError::BadSignature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                header.date,
                &amz_date[..8]
            )));
        }

        let mut canonical_headers = String::new();
        for name in &header.signed_headers {
            let mut values = request.header_values(name);
            if values.is_empty() && *name == "host" {
                values = request.header_values(":authority");
            }
            let joined: Vec<String> = values.iter().map(|v| canonical_header_value(v)).collect();
            canonical_headers.push_str(&format!("{name}:{}\n", joined.join(",")));
        }
        let payload_hash = match request.header("x-amz-content-sha256") {
            Some(hash) => hash.to_owned(),
            None => sha256_hex(request.body),
        };
        let canonical_request = format!(
            "{}\n{}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
            request.method,
            canonical_uri(request.path),
            canonical_query(request.query),
            header.signed_headers.join(";"),
        );
        let scope = format!(
            "{}/{}/{}/aws4_request",
            header.date, header.region, header.service
        );
        let to_sign = string_to_sign(amz_date, &scope, &canonical_request);
        let key = self.signing_key(&credential.secret_access_key, &header);
        let expected = hex(&hmac(&key, to_sign.as_bytes()));
        if !bool::from(expected.as_bytes().ct_eq(header.signature.as_bytes())) {
            return Err(AuthError::BadSignature(
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".to_owned(),
            ));
        }
        Ok(Verified {
            access_key: header.access_key.to_owned(),
            account_id: credential.account_id,
            region: header.region.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20260101T010203Z"), Some(1_767_229_323));
        assert_eq!(format_amz_date(1_767_229_323), "20260101T010203Z");
        assert_eq!(parse_amz_date("2026-01-01"), None);
    }
}
