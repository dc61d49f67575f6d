//! Shard iterators and pagination tokens: opaque to clients, authenticated with an
//! HMAC-SHA256 under the node's key (kept in the metadata store, so they stay valid across
//! restarts), and stamped with their issue time so they expire.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Serialize, de::DeserializeOwned};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of MAC kept: 128 bits is plenty against forgery and keeps iterators short.
const MAC_LEN: usize = 16;

/// AWS's iterators decode to a first 8 bytes of `00 .. 00 01`; ours start the same way.
const ITERATOR_MAGIC: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 1];

/// What a shard iterator points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IteratorPosition {
    pub stream_uid: u64,
    pub shard_index: u32,
    /// The record-log counter of the next record to return.
    pub counter: u64,
    pub issued_ms: i64,
}

pub struct TokenKey {
    key: Vec<u8>,
}

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    Expired { issued_ms: i64 },
}

impl TokenKey {
    pub fn new(key: Vec<u8>) -> TokenKey {
        TokenKey { key }
    }

    fn mac(&self, domain: &[u8], body: &[u8]) -> [u8; MAC_LEN] {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(domain);
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut out = [0; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    fn verify(&self, domain: &[u8], body: &[u8], tag: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        self.mac(domain, body).ct_eq(tag).into()
    }

    pub fn encode_iterator(&self, position: IteratorPosition) -> String {
        let mut body = Vec::with_capacity(8 + 28 + MAC_LEN);
        body.extend_from_slice(&ITERATOR_MAGIC);
        body.extend_from_slice(&position.stream_uid.to_be_bytes());
        body.extend_from_slice(&position.shard_index.to_be_bytes());
        body.extend_from_slice(&position.counter.to_be_bytes());
        body.extend_from_slice(&position.issued_ms.to_be_bytes());
        let tag = self.mac(b"iterator", &body);
        body.extend_from_slice(&tag);
        STANDARD.encode(body)
    }

    pub fn decode_iterator(
        &self,
        text: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<IteratorPosition, TokenError> {
        let bytes = STANDARD.decode(text).map_err(|_| TokenError::Malformed)?;
        if bytes.len() != 36 + MAC_LEN || bytes[..8] != ITERATOR_MAGIC {
            return Err(TokenError::Malformed);
        }
        let (body, tag) = bytes.split_at(36);
        if !self.verify(b"iterator", body, tag) {
            return Err(TokenError::Malformed);
        }
        let u64_at = |at: usize| u64::from_be_bytes(body[at..at + 8].try_into().unwrap_or([0; 8]));
        let position = IteratorPosition {
            stream_uid: u64_at(8),
            shard_index: u32::from_be_bytes(body[16..20].try_into().unwrap_or([0; 4])),
            counter: u64_at(20),
            issued_ms: u64_at(28) as i64,
        };
        if now_ms - position.issued_ms > ttl_ms {
            return Err(TokenError::Expired {
                issued_ms: position.issued_ms,
            });
        }
        Ok(position)
    }

    /// A pagination token carrying `state`, issued at `now_ms`.
    pub fn encode_token<T: Serialize>(&self, kind: &str, state: &T, now_ms: i64) -> String {
        let body = serde_json::to_vec(&(now_ms, state)).unwrap_or_default();
        let tag = self.mac(kind.as_bytes(), &body);
        let mut bytes = body;
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode_token<T: DeserializeOwned>(
        &self,
        kind: &str,
        text: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<T, TokenError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| TokenError::Malformed)?;
        if bytes.len() < MAC_LEN {
            return Err(TokenError::Malformed);
        }
        let (body, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        if !self.verify(kind.as_bytes(), body, tag) {
            return Err(TokenError::Malformed);
        }
        let (issued_ms, state): (i64, T) =
            serde_json::from_slice(body).map_err(|_| TokenError::Malformed)?;
        if now_ms - issued_ms > ttl_ms {
            return Err(TokenError::Expired { issued_ms });
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position() -> IteratorPosition {
        IteratorPosition {
            stream_uid: 7,
            shard_index: 3,
            counter: 42,
            issued_ms: 1_000,
        }
    }

    #[test]
    fn iterators_round_trip_and_expire() {
        let key = TokenKey::new(vec![1; 32]);
        let text = key.encode_iterator(position());
        assert!(text.len() <= 512);
        assert!(text.starts_with("AAAAAAAAAAE"));
        assert_eq!(key.decode_iterator(&text, 2_000, 300_000), Ok(position()));
        assert_eq!(
            key.decode_iterator(&text, 301_001, 300_000),
            Err(TokenError::Expired { issued_ms: 1_000 })
        );
    }

    #[test]
    fn forged_iterators_are_refused() {
        let key = TokenKey::new(vec![1; 32]);
        let text = key.encode_iterator(position());
        let mut bytes = STANDARD.decode(&text).expect("base64");
        bytes[20] ^= 1; // move the position
        assert_eq!(
            key.decode_iterator(&STANDARD.encode(&bytes), 2_000, 300_000),
            Err(TokenError::Malformed)
        );
        let other = TokenKey::new(vec![2; 32]);
        assert_eq!(
            other.decode_iterator(&text, 2_000, 300_000),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            key.decode_iterator("garbage", 2_000, 300_000),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn tokens_are_bound_to_their_kind() {
        let key = TokenKey::new(vec![1; 32]);
        let token = key.encode_token("ListShards", &("s", 5u32), 0);
        assert_eq!(
            key.decode_token::<(String, u32)>("ListShards", &token, 1, 300_000),
            Ok(("s".into(), 5))
        );
        assert_eq!(
            key.decode_token::<(String, u32)>("ListStreams", &token, 1, 300_000),
            Err(TokenError::Malformed)
        );
    }
}
