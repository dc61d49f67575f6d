//! The one error type of this crate and the AWS error name each variant maps to.

/// Why a request body could not be turned into an operation input, or an output could not be
/// encoded.
///
/// The `String` payloads are the exact messages a client sees; for the two client-facing
/// variants they copy the texts of Coral, the framework behind the real service.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The body is not a well-formed document of the right types (AWS `SerializationException`).
    /// The message may be empty: Coral sends no message for an empty or unparsable body.
    #[error("serialization error: {0}")]
    Serialization(String),
    /// The document is well-typed but breaks a model constraint (AWS `ValidationException`).
    #[error("validation error: {0}")]
    Validation(String),
    /// An output value did not fit its model shape (a server bug, AWS `InternalFailureException`).
    #[error("cannot encode output: {0}")]
    Encoding(String),
}

impl WireError {
    /// The `__type` the client should receive for this error.
    pub fn aws_type(&self) -> &'static str {
        match self {
            WireError::Serialization(_) => "SerializationException",
            WireError::Validation(_) => "ValidationException",
            WireError::Encoding(_) => "InternalFailureException",
        }
    }

    /// The message the client should receive (possibly empty).
    pub fn message(&self) -> &str {
        match self {
            WireError::Serialization(m) | WireError::Validation(m) | WireError::Encoding(m) => m,
        }
    }

    /// HTTP status for this error: 500 for our own faults, 400 for the client's.
    pub fn http_status(&self) -> u16 {
        match self {
            WireError::Encoding(_) => 500,
            _ => 400,
        }
    }

    pub(crate) fn serialization(msg: impl Into<String>) -> Self {
        WireError::Serialization(msg.into())
    }
}
