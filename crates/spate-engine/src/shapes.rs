//! Serde forms for the two Kinesis types that JSON cannot carry natively: blobs (base64
//! text) and timestamps (epoch seconds with a millisecond fraction). The server's codec has
//! already turned CBOR byte strings and millisecond integers into these forms.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Binary data, base64 on the JSON wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blob(pub Bytes);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Blob, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        STANDARD
            .decode(text.as_bytes())
            .map(|bytes| Blob(Bytes::from(bytes)))
            .map_err(|_| serde::de::Error::custom("Base64 encoded data is invalid"))
    }
}

/// Writes text shared by several replies' members (a batch's shard ids) as a plain string.
pub fn optional_shared_str<S: Serializer>(
    value: &Option<Arc<str>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    value.as_deref().serialize(serializer)
}

/// A point in time in epoch milliseconds, epoch seconds (a decimal fraction) on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Shortest round-trip printing keeps this `1700000000.123`, never an exponent.
        serializer.serialize_f64(self.0 as f64 / 1000.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let secs = f64::deserialize(deserializer)?;
        if !secs.is_finite() {
            return Err(serde::de::Error::custom("timestamp is not a finite number"));
        }
        Ok(Timestamp((secs * 1000.0).round() as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_as_plain_decimals() {
        let text = serde_json::to_string(&Timestamp(1_700_000_000_123)).expect("serializes");
        assert_eq!(text, "1700000000.123");
        let back: Timestamp = serde_json::from_str("1700000000.123").expect("parses");
        assert_eq!(back, Timestamp(1_700_000_000_123));
    }

    #[test]
    fn blobs_are_base64() {
        let blob: Blob = serde_json::from_str("\"aGVsbG8A/w==\"").expect("parses");
        assert_eq!(&blob.0[..], b"hello\x00\xff");
        assert_eq!(
            serde_json::to_string(&blob).expect("serializes"),
            "\"aGVsbG8A/w==\""
        );
        assert!(serde_json::from_str::<Blob>("\"!!\"").is_err());
    }
}
