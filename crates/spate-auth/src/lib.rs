//! SigV4 verification for Spate: parses the `Authorization` header every AWS SDK sends,
//! rebuilds the canonical request and string to sign exactly as the signer did, and checks
//! the signature in constant time against a secret from a [`CredentialStore`].
//!
//! It is pure: no HTTP types, no I/O, no clock of its own (callers pass the time). Layout:
//! [`header`] parses `Authorization`; [`canonical`] builds the canonical request and string
//! to sign; [`verify`] derives (and caches) signing keys and decides; [`error`] names the
//! AWS errors a failure maps to; [`policy`] parses resource and identity policies and
//! decides whether a principal may perform an action on a resource.

pub mod canonical;
pub mod error;
pub mod header;
pub mod policy;
pub mod verify;

pub use error::AuthError;
pub use header::AuthorizationHeader;
pub use policy::{Policy, PolicyKind, Principal};
pub use verify::{Credential, CredentialStore, Request, Verified, Verifier};
