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
        let incomplete =
            |what: String| AuthError::Incomplete(format!("{what} Authorization={value}"));
        let rest = value.strip_prefix("AWS4-HMAC-SHA256").ok_or_else(|| {
            incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header, and the AWS4-HMAC-SHA256 algorithm.".to_owned())
        })?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                signature = Some(v);
            }
        }
        let missing: Vec<String> = [
            ("Credential", credential),
            ("Signature", signature),
            ("SignedHeaders", signed),
        ]
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(name, _)| format!("Authorization header requires '{name}' parameter."))
        .collect();
        if !missing.is_empty() {
            return Err(incomplete(missing.join(" ")));
        }
        let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature)
        else {
            return Err(incomplete(String::new()));
        };
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key, date, region, service, terminator] = scope[..] else {
            return Err(incomplete(format!(
                "Credential should be scoped to a valid region, not '{}'.",
                scope.get(2).copied().unwrap_or("")
            )));
        };
        if terminator != "aws4_request" {
            return Err(incomplete(format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
            )));
        }
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{date}'."
            )));
        }
        Ok(AuthorizationHeader {
            access_key,
            date,
            region,
            service,
            signed_headers: signed.split(';').filter(|h| !h.is_empty()).collect(),
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
