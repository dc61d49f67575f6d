//! The errors operations answer with. The AWS error name is decided here, once; the HTTP
//! status that goes with it is decided in one place in the server.

use std::fmt;

/// The AWS error types Kinesis operations return (`__type` on the wire).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidArgument,
    Validation,
    ResourceNotFound,
    ResourceInUse,
    LimitExceeded,
    ProvisionedThroughputExceeded,
    ExpiredIterator,
    ExpiredNextToken,
    DryRunOperation,
    UnknownOperation,
    Serialization,
    MissingAuthenticationToken,
    IncompleteSignature,
    InvalidSignature,
    UnrecognizedClient,
    AccessDenied,
    KmsDisabled,
    KmsInvalidState,
    KmsAccessDenied,
    KmsNotFound,
    InternalFailure,
}

impl ErrorKind {
    pub fn aws_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "InvalidArgumentException",
            ErrorKind::Validation => "ValidationException",
            ErrorKind::ResourceNotFound => "ResourceNotFoundException",
            ErrorKind::ResourceInUse => "ResourceInUseException",
            ErrorKind::LimitExceeded => "LimitExceededException",
            ErrorKind::ProvisionedThroughputExceeded => "ProvisionedThroughputExceededException",
            ErrorKind::ExpiredIterator => "ExpiredIteratorException",
            ErrorKind::ExpiredNextToken => "ExpiredNextTokenException",
            ErrorKind::DryRunOperation => "DryRunOperationException",
            ErrorKind::UnknownOperation => "UnknownOperationException",
            ErrorKind::Serialization => "SerializationException",
            ErrorKind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorKind::IncompleteSignature => "IncompleteSignatureException",
            ErrorKind::InvalidSignature => "InvalidSignatureException",
            ErrorKind::UnrecognizedClient => "UnrecognizedClientException",
            ErrorKind::AccessDenied => "AccessDeniedException",
            ErrorKind::KmsDisabled => "KMSDisabledException",
            ErrorKind::KmsInvalidState => "KMSInvalidStateException",
            ErrorKind::KmsAccessDenied => "KMSAccessDeniedException",
            ErrorKind::KmsNotFound => "KMSNotFoundException",
            ErrorKind::InternalFailure => "InternalFailureException",
        }
    }
}

/// An error an operation answers with: the AWS type and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::InvalidArgument, message)
    }

    pub fn internal(message: impl fmt::Display) -> ApiError {
        tracing::error!(%message, "internal failure");
        ApiError::new(ErrorKind::InternalFailure, "Internal service failure.")
    }

    pub fn stream_not_found(name: &str, account: &str) -> ApiError {
        ApiError::new(
            ErrorKind::ResourceNotFound,
            format!("Stream {name} under account {account} not found."),
        )
    }

    pub fn shard_not_found(shard: &str, stream: &str, account: &str) -> ApiError {
        ApiError::new(
            ErrorKind::ResourceNotFound,
            format!("Shard {shard} in stream {stream} under account {account} does not exist"),
        )
    }

    pub fn dry_run() -> ApiError {
        ApiError::new(
            ErrorKind::DryRunOperation,
            "The request was rejected because the DryRun parameter was specified.",
        )
    }

    /// Coral's format for one failed constraint, as the model-driven validator writes it.
    pub fn validation(value: &str, member: &str, constraint: &str) -> ApiError {
        ApiError::new(
            ErrorKind::Validation,
            format!(
                "1 validation error detected: Value {value} at '{member}' failed to satisfy constraint: {constraint}"
            ),
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.aws_type(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<spate_meta::MetaError> for ApiError {
    fn from(error: spate_meta::MetaError) -> ApiError {
        ApiError::internal(error)
    }
}
