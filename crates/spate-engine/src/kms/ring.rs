//! The keys this server knows, found by any of the forms KMS accepts, and the KMS errors
//! for keys that cannot be used.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::hkdf;
use spate_log::{KEY_ID_LEN, NONCE_LEN};
use uuid::Uuid;

use super::cipher::{Cipher, KEY_LEN};
use super::keyfile::{KeySpec, KeyState};
use crate::error::{ApiError, ApiResult, ErrorKind};

/// One usable-or-not key: its identity, state and cipher. The material lives only inside
/// the cipher and is never printed.
pub struct KmsKey {
    pub id: Uuid,
    pub aliases: Vec<String>,
    pub state: KeyState,
    /// Only this account may use the key; `None`: any account.
    pub account: Option<String>,
    cipher: Cipher,
}

impl KmsKey {
    fn new(spec: KeySpec) -> Result<KmsKey, String> {
        Ok(KmsKey {
            cipher: Cipher::new(&spec.material)?,
            id: spec.id,
            aliases: spec.aliases,
            state: spec.state,
            account: spec.account,
        })
    }

    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Option<Vec<u8>> {
        self.cipher.open(nonce, aad, ciphertext)
    }

    fn arn(&self, region: &str, account: &str) -> String {
        let owner = self.account.as_deref().unwrap_or(account);
        format!("arn:aws:kms:{region}:{owner}:key/{}", self.id)
    }

    /// Whether `account` may use the key now: the KMS error if not.
    pub(crate) fn check_usable(&self, region: &str, account: &str) -> ApiResult<()> {
        let arn = self.arn(region, account);
        if self
            .account
            .as_deref()
            .is_some_and(|owner| owner != account)
        {
            return Err(ApiError::new(
                ErrorKind::KmsAccessDenied,
                format!(
                    "User: arn:aws:iam::{account}:root is not authorized to use KMS key {arn}."
                ),
            ));
        }
        match self.state {
            KeyState::Enabled => Ok(()),
            KeyState::Disabled => Err(ApiError::new(
                ErrorKind::KmsDisabled,
                format!("{arn} is disabled."),
            )),
            KeyState::PendingDeletion => Err(ApiError::new(
                ErrorKind::KmsInvalidState,
                format!("{arn} is pending deletion."),
            )),
        }
    }
}

impl spate_log::Sealer for KmsKey {
    fn key_id(&self) -> [u8; KEY_ID_LEN] {
        *self.id.as_bytes()
    }

    fn seal(&self, aad: &[u8], in_out: &mut Vec<u8>) -> Result<[u8; NONCE_LEN], String> {
        self.cipher.seal(aad, in_out)
    }
}

/// Every key of this server, the built-in `alias/aws/kinesis` key included.
pub struct KeyRing {
    keys: Vec<Arc<KmsKey>>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for key in &self.keys {
            list.entry(&(key.id, &key.aliases, key.state));
        }
        list.finish()
    }
}

/// An HKDF output length.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand(prk: &hkdf::Prk, info: &[u8], out: &mut [u8]) -> Result<(), String> {
    prk.expand(&[info], Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| "HKDF failed".to_owned())
}

impl KeyRing {
    /// The key file's keys, plus `alias/aws/kinesis` derived from `master` unless the file
    /// gives that alias to one of its keys.
    pub fn new(specs: Vec<KeySpec>, master: &[u8; KEY_LEN]) -> Result<KeyRing, String> {
        let mut specs = specs;
        if !specs
            .iter()
            .any(|s| s.aliases.iter().any(|a| a == super::DEFAULT_ALIAS))
        {
            let default = KeyRing::derive_default(master)?;
            if specs.iter().any(|s| s.id == default.id) {
                return Err(format!(
                    "key {} collides with the derived default key",
                    default.id
                ));
            }
            specs.push(default);
        }
        let keys = specs
            .into_iter()
            .map(|spec| KmsKey::new(spec).map(Arc::new))
            .collect::<Result<_, _>>()?;
        Ok(KeyRing { keys })
    }

    /// A ring with only a default key that lives as long as the process (in-memory servers,
    /// tests): records it seals cannot outlive it.
    pub fn ephemeral() -> KeyRing {
        let master: [u8; KEY_LEN] = rand::random();
        KeyRing::new(Vec::new(), &master).unwrap_or(KeyRing { keys: Vec::new() })
    }

    /// `alias/aws/kinesis` from a master key: HKDF-SHA256 (salt `spate-kms-v1`) expanded
    /// once for the material and once for the id, so the same master always gives the same
    /// key and records sealed under it stay readable across restarts.
    pub fn derive_default(master: &[u8; KEY_LEN]) -> Result<KeySpec, String> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"spate-kms-v1").extract(master);
        let mut material = [0; KEY_LEN];
        expand(&prk, b"alias/aws/kinesis material", &mut material)?;
        let mut id = [0; 16];
        expand(&prk, b"alias/aws/kinesis id", &mut id)?;
        Ok(KeySpec {
            id: uuid::Builder::from_random_bytes(id).into_uuid(),
            aliases: vec![super::DEFAULT_ALIAS.to_owned()],
            material,
            state: KeyState::Enabled,
            account: None,
        })
    }

    /// The key with this UUID (as recorded in a sealed frame).
    pub fn by_id(&self, id: &[u8; KEY_ID_LEN]) -> Option<&Arc<KmsKey>> {
        self.keys.iter().find(|k| k.id.as_bytes() == id)
    }

    /// Finds the key `given` names: a UUID, `arn:aws:kms:<region>:<account>:key/<uuid>`,
    /// `alias/<name>` or `arn:aws:kms:<region>:<account>:alias/<name>`. An ARN must name
    /// the request's region and the key's account. Does not check the key is usable.
    pub(crate) fn resolve(
        &self,
        given: &str,
        region: &str,
        account: &str,
    ) -> ApiResult<Arc<KmsKey>> {
        let (resource, arn_place) = match given.strip_prefix("arn:") {
            Some(rest) => {
                let parts: Vec<&str> = rest.splitn(5, ':').collect();
                match parts[..] {
                    [_, "kms", arn_region, arn_account, resource] => {
                        (resource, Some((arn_region, arn_account)))
                    }
                    _ => return Err(not_found(given)),
                }
            }
            None => (given, None),
        };
        let found = if let Some(alias) = resource.strip_prefix("alias/") {
            let alias = format!("alias/{alias}");
            self.keys.iter().find(|k| k.aliases.contains(&alias))
        } else {
            let id = match (resource.strip_prefix("key/"), arn_place) {
                (Some(id), Some(_)) => id,
                (None, None) => resource,
                _ => return Err(not_found(given)),
            };
            Uuid::try_parse(id)
                .ok()
                .and_then(|id| self.by_id(id.as_bytes()))
        };
        let key = found.ok_or_else(|| not_found(given))?;
        if let Some((arn_region, arn_account)) = arn_place {
            let owner = key.account.as_deref().unwrap_or(account);
            if arn_region != region || arn_account != owner {
                return Err(not_found(given));
            }
        }
        Ok(key.clone())
    }
}

fn not_found(given: &str) -> ApiError {
    let message = if given.starts_with("alias/") || given.contains(":alias/") {
        format!("Alias {given} is not found.")
    } else {
        format!("Key '{given}' does not exist.")
    };
    ApiError::new(ErrorKind::KmsNotFound, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    fn ring() -> KeyRing {
        let spec = |id: &str, alias: &str, state, account: Option<&str>| KeySpec {
            id: Uuid::try_parse(id).unwrap(),
            aliases: vec![alias.to_owned()],
            material: [7; KEY_LEN],
            state,
            account: account.map(str::to_owned),
        };
        KeyRing::new(
            vec![
                spec(ID, "alias/orders", KeyState::Enabled, None),
                spec(
                    "00000000-0000-4000-8000-000000000002",
                    "alias/off",
                    KeyState::Disabled,
                    None,
                ),
                spec(
                    "00000000-0000-4000-8000-000000000003",
                    "alias/going",
                    KeyState::PendingDeletion,
                    None,
                ),
                spec(
                    "00000000-0000-4000-8000-000000000004",
                    "alias/theirs",
                    KeyState::Enabled,
                    Some("999999999999"),
                ),
            ],
            &[9; KEY_LEN],
        )
        .unwrap()
    }

    fn kind(ring: &KeyRing, given: &str) -> Result<Uuid, ErrorKind> {
        let key = ring
            .resolve(given, "us-east-1", "000000000000")
            .map_err(|e| e.kind)?;
        key.check_usable("us-east-1", "000000000000")
            .map_err(|e| e.kind)?;
        Ok(key.id)
    }

    #[test]
    fn resolves_every_key_id_form() {
        let ring = ring();
        let id = Uuid::try_parse(ID).unwrap();
        for given in [
            ID.to_owned(),
            ID.to_uppercase(),
            format!("arn:aws:kms:us-east-1:000000000000:key/{ID}"),
            "alias/orders".to_owned(),
            "arn:aws:kms:us-east-1:000000000000:alias/orders".to_owned(),
        ] {
            assert_eq!(kind(&ring, &given), Ok(id), "{given}");
        }
        let default = kind(&ring, "alias/aws/kinesis").unwrap();
        assert_eq!(
            kind(
                &ring,
                "arn:aws:kms:us-east-1:000000000000:alias/aws/kinesis"
            ),
            Ok(default)
        );
        assert_eq!(kind(&ring, &default.to_string()), Ok(default));
    }

    #[test]
    fn unusable_keys_get_the_kms_errors() {
        let ring = ring();
        for (given, expected) in [
            ("alias/nope", ErrorKind::KmsNotFound),
            (
                "00000000-0000-4000-8000-00000000000f",
                ErrorKind::KmsNotFound,
            ),
            ("not-a-key", ErrorKind::KmsNotFound),
            (
                "key/1234abcd-12ab-34cd-56ef-1234567890ab",
                ErrorKind::KmsNotFound,
            ),
            (
                "arn:aws:kms:eu-west-1:000000000000:alias/orders",
                ErrorKind::KmsNotFound,
            ),
            (
                "arn:aws:kms:us-east-1:111111111111:alias/orders",
                ErrorKind::KmsNotFound,
            ),
            ("arn:aws:s3:::bucket", ErrorKind::KmsNotFound),
            ("alias/off", ErrorKind::KmsDisabled),
            ("alias/going", ErrorKind::KmsInvalidState),
            ("alias/theirs", ErrorKind::KmsAccessDenied),
            (
                "arn:aws:kms:us-east-1:999999999999:alias/theirs",
                ErrorKind::KmsAccessDenied,
            ),
        ] {
            assert_eq!(kind(&ring, given), Err(expected), "{given}");
        }
    }

    #[test]
    fn the_default_key_is_derived_the_same_way_every_time() {
        let a = KeyRing::derive_default(&[1; KEY_LEN]).unwrap();
        let b = KeyRing::derive_default(&[1; KEY_LEN]).unwrap();
        let c = KeyRing::derive_default(&[2; KEY_LEN]).unwrap();
        assert_eq!((a.id, a.material), (b.id, b.material));
        assert_ne!(a.id, c.id);
        assert_ne!(a.material, c.material);
        assert_eq!(a.id.get_version_num(), 4);
    }

    #[test]
    fn debug_never_shows_material() {
        let text = format!("{:?}", ring());
        assert!(text.contains("alias/orders") && !text.contains("[7, 7"));
    }
}
