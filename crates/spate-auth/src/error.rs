//! Why a request was not authenticated, named as AWS names it.

/// A failed authentication. `aws_type` gives the error AWS answers with (all HTTP 400 in
/// Kinesis's JSON protocol).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Missing Authentication Token")]
    MissingToken,
    /// The header is there but lacks a part, or a part is malformed.
    #[error("{0}")]
    Incomplete(String),
    /// The access key is unknown.
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    /// The signature does not match, or the request time is too far off.
    #[error("{0}")]
    BadSignature(String),
}

impl AuthError {
    pub fn aws_type(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "MissingAuthenticationTokenException",
            AuthError::Incomplete(_) => "IncompleteSignatureException",
            AuthError::UnknownKey => "UnrecognizedClientException",
            AuthError::BadSignature(_) => "InvalidSignatureException",
        }
    }
}
