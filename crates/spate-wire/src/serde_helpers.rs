//! serde adapters for the server's typed input/output structs.

use serde_json::{Number, Value};

/// The JSON-convention value of a timestamp given in epoch milliseconds (`f64` seconds).
pub fn timestamp_json(ms: i64) -> Value {
    Number::from_f64(ms as f64 / 1000.0)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// `#[serde(with = "spate_wire::epoch_seconds")]` on an `i64` field of epoch **milliseconds**:
/// serializes as epoch seconds (an integer when whole, else a float with at most three
/// fraction digits), deserializes from any JSON number of epoch seconds.
/// [`epoch_seconds::option`] does the same for `Option<i64>`.
pub mod epoch_seconds {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes epoch milliseconds as epoch seconds.
    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        if ms % 1000 == 0 {
            s.serialize_i64(ms / 1000)
        } else {
            s.serialize_f64(*ms as f64 / 1000.0)
        }
    }

    /// Deserializes epoch seconds (integer or fractional) into epoch milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let seconds = f64::deserialize(d)?;
        Ok((seconds * 1000.0).round() as i64)
    }

    /// The same for `Option<i64>`; pair with `#[serde(default)]`.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        /// Serializes `Some` as epoch seconds, `None` as null.
        pub fn serialize<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
            match ms {
                Some(ms) => super::serialize(ms, s),
                None => s.serialize_none(),
            }
        }

        /// Deserializes optional epoch seconds into epoch milliseconds.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
            Ok(Option::<f64>::deserialize(d)?.map(|s| (s * 1000.0).round() as i64))
        }
    }
}

/// `#[serde(with = "spate_wire::blob")]` on a `Vec<u8>` (or `bytes::Bytes`, or anything
/// `AsRef<[u8]> + From<Vec<u8>>`) field: standard padded base64 text on the JSON side.
/// [`blob::option`] does the same for `Option<_>`.
pub mod blob {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    /// Serializes bytes as base64 text.
    pub fn serialize<T: AsRef<[u8]>, S: Serializer>(bytes: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&ENGINE.encode(bytes.as_ref()))
    }

    /// Deserializes base64 text into bytes.
    pub fn deserialize<'de, T: From<Vec<u8>>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ENGINE
            .decode(text.as_bytes())
            .map(T::from)
            .map_err(D::Error::custom)
    }

    /// The same for optional blobs; pair with `#[serde(default)]`.
    pub mod option {
        use super::ENGINE;
        use base64::Engine as _;
        use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

        /// Serializes `Some` as base64 text, `None` as null.
        pub fn serialize<T: AsRef<[u8]>, S: Serializer>(
            bytes: &Option<T>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match bytes {
                Some(b) => super::serialize(b, s),
                None => s.serialize_none(),
            }
        }

        /// Deserializes optional base64 text into bytes.
        pub fn deserialize<'de, T: From<Vec<u8>>, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<T>, D::Error> {
            match Option::<std::borrow::Cow<'de, str>>::deserialize(d)? {
                Some(text) => ENGINE
                    .decode(text.as_bytes())
                    .map(|v| Some(T::from(v)))
                    .map_err(D::Error::custom),
                None => Ok(None),
            }
        }
    }
}
