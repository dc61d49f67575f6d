//! The `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.

use crate::error::AuthError;

/// The parts of a SigV4 Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader<'a> {
    pub access_key: &'a str,
    /// `yyyymmdd` of the credential scope.
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    /// Lower-case header names, in the order signed (sorted by the signer).
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

impl<'a> AuthorizationHeader<'a> {
    /// Parses the header the way AWS's front end does, naming every missing part.
    pub fn parse(value: &'a str) -> Result<AuthorizationHeader<'a>, AuthError> {
        let (credential, signed, signature) = parts(value)?;
        let [access_key, date, region, service] = scope(value, credential)?;
        Ok(AuthorizationHeader {
            access_key,
            date,
            region,
            service,
            signed_headers: signed.split(';').filter(|h| !h.is_empty()).collect(),
            signature,
        })
    }

    /// The region of the credential scope of a header that [`AuthorizationHeader::parse`]
    /// accepts, without allocating: what an unauthenticated server reads from every request.
    pub fn region_of(value: &'a str) -> Option<&'a str> {
        let (credential, _, _) = parts(value).ok()?;
        let [_, _, region, _] = scope(value, credential).ok()?;
        Some(region)
    }
}

fn incomplete(what: &str, value: &str) -> AuthError {
    AuthError::Incomplete(format!("{what} Authorization={value}"))
}

/// The Credential, SignedHeaders and Signature values.
fn parts(value: &str) -> Result<(&str, &str, &str), AuthError> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256").ok_or_else(|| {
        incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header, and the AWS4-HMAC-SHA256 algorithm.", value)
    })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in split_at(rest, b',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    match (credential, signed, signature) {
        (Some(credential), Some(signed), Some(signature)) => Ok((credential, signed, signature)),
        _ => {
            let missing: Vec<String> = [
                ("Credential", credential),
                ("Signature", signature),
                ("SignedHeaders", signed),
            ]
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(name, _)| format!("Authorization header requires '{name}' parameter."))
            .collect();
            Err(incomplete(&missing.join(" "), value))
        }
    }
}

/// `text.split(sep as char)`, found with `memchr`: `str::split` sets up a searcher whose
/// cost is most of a split of a header this short, and an unauthenticated server splits
/// every request's.
fn split_at(text: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(sep, text.as_bytes())
        .chain([text.len()])
        .map(move |end| {
            // An ASCII separator always lies on a character boundary.
            let field = text.get(start..end).unwrap_or("");
            start = end + 1;
            field
        })
}

/// Access key, date, region and service of `access/yyyymmdd/region/service/aws4_request`.
fn scope<'a>(value: &str, credential: &'a str) -> Result<[&'a str; 4], AuthError> {
    let mut fields = split_at(credential, b'/');
    let mut scope = [""; 5];
    let mut count = 0;
    for field in fields.by_ref().take(5) {
        scope[count] = field;
        count += 1;
    }
    let [access_key, date, region, service, terminator] = scope;
    if count < 5 || fields.next().is_some() {
        let region = if count > 2 { region } else { "" };
        return Err(incomplete(
            &format!("Credential should be scoped to a valid region, not '{region}'."),
            value,
        ));
    }
    if terminator != "aws4_request" {
        return Err(incomplete(
            &format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
            ),
            value,
        ));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(incomplete(
            &format!("Date must be in ISO-8601 'basic format'. Got '{date}'."),
            value,
        ));
    }
    Ok([access_key, date, region, service])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn split_at_splits_like_str_split(text in "[a-z/, é=]{0,40}") {
            for sep in [b',', b'/'] {
                let ours: Vec<&str> = split_at(&text, sep).collect();
                let std: Vec<&str> = text.split(char::from(sep)).collect();
                prop_assert_eq!(ours, std);
            }
        }
    }

    #[test]
    fn parses_what_boto3_sends() {
        let header = AuthorizationHeader::parse(
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abc123",
        )
        .expect("parses");
        assert_eq!(header.access_key, "AKID");
        assert_eq!(header.region, "us-east-1");
        assert_eq!(
            header.signed_headers,
            ["content-type", "host", "x-amz-date", "x-amz-target"]
        );
        assert_eq!(header.signature, "abc123");
    }

    #[test]
    fn region_of_agrees_with_parse() {
        for value in [
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/0/kinesis/aws4_request,SignedHeaders=host,Signature=0",
            "AWS4-HMAC-SHA256 Credential=AKID/0/127/aws4_request, SignedHeaders=host, Signature=0",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request/x, SignedHeaders=host, Signature=0",
            "AWS4-HMAC-SHA256 Credential=AKID/2026010/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, Signature=0",
            "Basic dXNlcg==",
            "",
        ] {
            assert_eq!(
                AuthorizationHeader::region_of(value),
                AuthorizationHeader::parse(value).ok().map(|h| h.region),
                "{value}"
            );
        }
    }

    #[test]
    fn names_every_missing_part() {
        let error =
            AuthorizationHeader::parse("AWS4-HMAC-SHA256 Signature=00").expect_err("incomplete");
        let AuthError::Incomplete(message) = error else {
            panic!("wrong error")
        };
        assert!(
            message.contains("'Credential'") && message.contains("'SignedHeaders'"),
            "{message}"
        );
        assert!(AuthorizationHeader::parse("Basic dXNlcg==").is_err());
        assert!(
            AuthorizationHeader::parse("AWS4-HMAC-SHA256 Credential=AKID/0/127/aws4_request, SignedHeaders=host, Signature=0").is_err(),
            "a scope needs date, region, service and terminator"
        );
    }
}
