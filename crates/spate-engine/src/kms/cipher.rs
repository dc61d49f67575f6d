//! One data key: AES-256-GCM-SIV from aws-lc-rs with random 96-bit nonces. GCM-SIV is
//! chosen over plain GCM because keys here are long-lived and see billions of records: a
//! random-nonce GCM key must retire after about 2^32 messages, while GCM-SIV stays safe far
//! past that and a repeated nonce leaks only whether two records were equal.

use aws_lc_rs::aead::{AES_256_GCM_SIV, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// Bytes of key material.
pub const KEY_LEN: usize = 32;

pub(crate) struct Cipher {
    key: LessSafeKey,
}

impl Cipher {
    pub(crate) fn new(material: &[u8; KEY_LEN]) -> Result<Cipher, String> {
        let key = UnboundKey::new(&AES_256_GCM_SIV, material)
            .map_err(|_| "the key material is not an AES-256 key".to_owned())?;
        Ok(Cipher {
            key: LessSafeKey::new(key),
        })
    }

    /// Encrypts in place and appends the tag; returns the fresh random nonce.
    pub(crate) fn seal(&self, aad: &[u8], in_out: &mut Vec<u8>) -> Result<[u8; NONCE_LEN], String> {
        // rand's thread-local CSPRNG (ChaCha, reseeded from the OS): a nonce must be unique,
        // not secret, and this costs ~30 ns where a call into aws-lc's DRBG cost ~340 ns, a
        // third of sealing a 1 KiB record (release build, docs/operations.md).
        let nonce: [u8; NONCE_LEN] = rand::random();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
            .map_err(|_| "sealing failed".to_owned())?;
        Ok(nonce)
    }

    /// Decrypts `ciphertext` (tag last); `None` if it does not authenticate.
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Option<Vec<u8>> {
        let mut buf = ciphertext.to_vec();
        let len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                &mut buf,
            )
            .ok()?
            .len();
        buf.truncate(len);
        Some(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering_and_other_keys() {
        let cipher = Cipher::new(&[1; KEY_LEN]).unwrap();
        let mut sealed = b"partition key and data".to_vec();
        let nonce = cipher.seal(b"header", &mut sealed).unwrap();
        assert_eq!(sealed.len(), 22 + 16);
        assert!(!sealed.windows(4).any(|w| w == b"data"));
        assert_eq!(
            cipher.open(&nonce, b"header", &sealed).unwrap(),
            b"partition key and data"
        );
        for at in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[at] ^= 1;
            assert!(cipher.open(&nonce, b"header", &bad).is_none(), "flip {at}");
        }
        assert!(cipher.open(&nonce, b"headeR", &sealed).is_none());
        let mut other_nonce = nonce;
        other_nonce[0] ^= 1;
        assert!(cipher.open(&other_nonce, b"header", &sealed).is_none());
        let other = Cipher::new(&[2; KEY_LEN]).unwrap();
        assert!(other.open(&nonce, b"header", &sealed).is_none());
    }

    #[test]
    fn nonces_are_fresh() {
        let cipher = Cipher::new(&[1; KEY_LEN]).unwrap();
        let a = cipher.seal(b"", &mut b"x".to_vec()).unwrap();
        let b = cipher.seal(b"", &mut b"x".to_vec()).unwrap();
        assert_ne!(a, b);
    }
}
