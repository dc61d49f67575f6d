//! Encryption at rest with KMS-style keys held locally.
//!
//! StartStreamEncryption names a key the way KMS does (UUID, key ARN, `alias/...`, alias
//! ARN); the [`KeyRing`] resolves it to a local key from the key file, or to the built-in
//! `alias/aws/kinesis` key derived from a master key. Records written while encryption is on
//! are sealed by the record log with the key's cipher (`cipher.rs`) and name the key's UUID
//! in their frame; reads open them here. A key that is missing, disabled or pending deletion
//! answers with the KMS error AWS uses.
//!
//! - `cipher.rs`: AES-256-GCM-SIV with random nonces.
//! - `keyfile.rs`: the key file's TOML format.
//! - `ring.rs`: key lookup by every key id form, and the KMS errors.
//! - `records.rs`: sealing for the write path, opening for the read path.

mod cipher;
mod keyfile;
mod records;
mod ring;

pub use cipher::KEY_LEN;
pub use keyfile::{KeySpec, KeyState, parse_key_file};
pub use ring::{KeyRing, KmsKey};

pub(crate) use records::{append_sealed, record_encryption_type};

/// The AWS-managed Kinesis key's alias; it works with no key file at all.
pub const DEFAULT_ALIAS: &str = "alias/aws/kinesis";

/// Fresh random key material (for a generated master key).
pub fn generate_material() -> [u8; KEY_LEN] {
    rand::random()
}
