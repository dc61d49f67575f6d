//! Turning a parsed document (JSON or CBOR) into the normalized JSON-convention value of a
//! model shape, with Coral's `SerializationException` texts for type mismatches.
//!
//! Both codecs first produce a [`Raw`] tree; this module is the only place that knows which
//! raw types a shape accepts. Unknown structure members and `null`s are dropped here.

use std::borrow::Cow;

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use crate::error::WireError;
use crate::model::{Kind, MODEL, ShapeId};

/// A decoded document before it is checked against a shape. Strings and byte strings borrow
/// from the request body where the codec allows, so large blobs are not copied twice.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw<'a> {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
    Array(Vec<Raw<'a>>),
    Map(Vec<(Cow<'a, str>, Raw<'a>)>),
}

/// What a bare number means in a timestamp position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeUnit {
    /// awsJson: epoch seconds, fraction allowed.
    Seconds,
    /// CBOR from the Java SDKs: epoch milliseconds (tagged 1 or not).
    Millis,
}

const LIST_HERE: &str = "Start of list found where not expected";
const MAP_HERE: &str = "Start of structure or map found where not expected.";
const NUMBER_CLASS: &str = "class com.amazon.coral.value.json.numbers.TruncatingBigNumber";
const BOOLEAN_CLASS: &str = "class java.lang.Boolean";
const STRING_CLASS: &str = "class java.lang.String";
const BYTES_CLASS: &str = "class java.nio.HeapByteBuffer";

fn err<T>(msg: impl Into<String>) -> Result<T, WireError> {
    Err(WireError::serialization(msg))
}

/// Checks `raw` against the shape `id` and converts it to the JSON conventions
/// (blobs as base64 strings, timestamps as f64 epoch seconds).
pub(crate) fn to_value(id: ShapeId, raw: Raw<'_>, unit: TimeUnit) -> Result<Value, WireError> {
    let shape = MODEL.shape(id);
    match &shape.kind {
        Kind::Structure(members) => match raw {
            Raw::Map(entries) => {
                let mut out = Map::new();
                for (key, value) in entries {
                    if value == Raw::Null {
                        continue;
                    }
                    if let Some(m) = members.iter().find(|m| m.name == key) {
                        out.insert(key.into_owned(), to_value(m.shape, value, unit)?);
                    }
                }
                Ok(Value::Object(out))
            }
            Raw::Array(_) => err(LIST_HERE),
            _ => err("Expected null"),
        },
        Kind::List { member, .. } => match raw {
            Raw::Array(items) => items
                .into_iter()
                .filter(|item| *item != Raw::Null)
                .map(|item| to_value(*member, item, unit))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Raw::Map(_) => err(MAP_HERE),
            _ => err("Expected list or null"),
        },
        Kind::Map { key, value, .. } => match raw {
            Raw::Map(entries) => {
                let mut out = Map::new();
                for (k, v) in entries {
                    if v == Raw::Null {
                        continue;
                    }
                    // Keys are strings on the wire already; this only enforces the key shape's type.
                    to_value(*key, Raw::Str(Cow::Borrowed(&k)), unit)?;
                    out.insert(k.into_owned(), to_value(*value, v, unit)?);
                }
                Ok(Value::Object(out))
            }
            Raw::Array(_) => err(LIST_HERE),
            _ => err("Expected map or null"),
        },
        Kind::String { .. } => match raw {
            Raw::Str(s) => Ok(Value::String(s.into_owned())),
            other => mismatch(&other, "an String"),
        },
        Kind::Boolean => match raw {
            Raw::Bool(b) => Ok(Value::Bool(b)),
            Raw::Str(s) => err(format!(
                "'{}' can not be converted to an Boolean",
                s.to_uppercase()
            )),
            other => mismatch(&other, "an Boolean"),
        },
        Kind::Integer(_) => integer(raw, "Integer", i32::MIN.into(), i32::MAX.into()),
        Kind::Long(_) => integer(raw, "Long", i64::MIN, i64::MAX),
        Kind::Blob(_) => match raw {
            Raw::Bytes(b) => Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(b),
            )),
            Raw::Str(s) => match check_base64(&s) {
                Ok(_) => Ok(Value::String(s.into_owned())),
                Err(why) => err(format!("'{s}' can not be converted to a Blob: {why}")),
            },
            other => mismatch(&other, "a Blob"),
        },
        Kind::Timestamp => {
            let seconds = match raw {
                Raw::Int(i) => i as f64,
                Raw::Float(f) if f.is_finite() => f,
                Raw::Float(_) => {
                    return err("Numeric value out of range of milliseconds since epoch");
                }
                other => return mismatch(&other, "milliseconds since epoch"),
            };
            let seconds = match unit {
                TimeUnit::Seconds => seconds,
                TimeUnit::Millis => seconds / 1000.0,
            };
            Number::from_f64(seconds).map(Value::Number).ok_or_else(|| {
                WireError::serialization("Numeric value out of range of milliseconds since epoch")
            })
        }
    }
}

/// The Coral text for a value of the wrong type; `target` is e.g. `an Integer` or `a Blob`.
fn mismatch<T>(raw: &Raw<'_>, target: &str) -> Result<T, WireError> {
    let class = match raw {
        Raw::Array(_) => return err(LIST_HERE),
        Raw::Map(_) => return err(MAP_HERE),
        Raw::Bool(_) => BOOLEAN_CLASS,
        Raw::Int(_) | Raw::Float(_) => NUMBER_CLASS,
        Raw::Str(_) => STRING_CLASS,
        Raw::Bytes(_) => BYTES_CLASS,
        Raw::Null => "null",
    };
    err(format!("{class} can not be converted to {target}"))
}

/// Coral truncates fractions and saturates at the type's bounds rather than rejecting
/// (kinesalite mirrors this with `Math.floor` and `Math.min`).
fn integer(raw: Raw<'_>, class: &str, min: i64, max: i64) -> Result<Value, WireError> {
    let n = match raw {
        Raw::Int(i) => i.clamp(min.into(), max.into()) as i64,
        Raw::Float(f) if f.is_nan() => {
            return err(format!("{NUMBER_CLASS} can not be converted to an {class}"));
        }
        // `as` saturates, then the clamp applies the narrower Integer bounds.
        Raw::Float(f) => (f.floor() as i64).clamp(min, max),
        other => return mismatch(&other, &format!("an {class}")),
    };
    Ok(Value::from(n))
}

/// Validates standard padded base64 exactly as Coral does and returns the decoded length.
/// The error texts (typo included) are Coral's.
pub(crate) fn check_base64(s: &str) -> Result<usize, String> {
    let b = s.as_bytes();
    let len = if s.is_ascii() {
        b.len()
    } else {
        s.chars().count()
    };
    if !len.is_multiple_of(4) {
        return Err(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {len}"
        ));
    }
    // Byte-wise scan (this runs over every record's data): a non-ASCII byte is always invalid,
    // and the character reported is the one starting there.
    for (i, &c) in b.iter().enumerate() {
        let bad = !(c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=');
        let pad_inside = c == b'=' && b.get(i + 1).is_some_and(|n| *n != b'=');
        if bad || pad_inside {
            let shown = s[i..].chars().next().unwrap_or('=');
            return Err(format!("Invalid Base64 character: '{shown}'"));
        }
    }
    // Only ASCII is left, so bytes are characters.
    let pad = b.iter().rev().take_while(|c| **c == b'=').count();
    let canonical = match pad {
        0 => true,
        1 => sextet(b[b.len() - 2]) & 0b11 == 0,
        2 => sextet(b[b.len() - 3]) & 0b1111 == 0,
        _ => false,
    };
    if !canonical {
        return Err("Invalid last non-pad Base64 character dectected".to_owned());
    }
    Ok((b.len() - pad) * 3 / 4)
}

/// Decoded length of a base64 string already accepted by [`check_base64`] (or produced by us).
pub(crate) fn base64_decoded_len(s: &str) -> usize {
    let b = s.as_bytes();
    let pad = b.iter().rev().take(2).take_while(|c| **c == b'=').count();
    (b.len() - pad) * 3 / 4
}

fn sextet(c: u8) -> u8 {
    match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_texts_match_coral() {
        assert_eq!(check_base64(""), Ok(0));
        assert_eq!(check_base64("aGVsbG8A/w=="), Ok(7));
        assert_eq!(check_base64("aGk="), Ok(2));
        assert_eq!(
            check_base64("23456").unwrap_err(),
            "Base64 encoded length is expected a multiple of 4 bytes but found: 5"
        );
        assert_eq!(
            check_base64("=+/=").unwrap_err(),
            "Invalid Base64 character: '='"
        );
        assert_eq!(
            check_base64("ab!d").unwrap_err(),
            "Invalid Base64 character: '!'"
        );
        assert_eq!(
            check_base64("abcé").unwrap_err(),
            "Invalid Base64 character: 'é'"
        );
        assert_eq!(
            check_base64("+/+=").unwrap_err(),
            "Invalid last non-pad Base64 character dectected"
        );
        assert_eq!(
            check_base64("aR==").unwrap_err(),
            "Invalid last non-pad Base64 character dectected"
        );
        assert_eq!(
            check_base64("a===").unwrap_err(),
            "Invalid last non-pad Base64 character dectected"
        );
        assert_eq!(
            check_base64("====").unwrap_err(),
            "Invalid last non-pad Base64 character dectected"
        );
    }

    #[test]
    fn base64_check_agrees_with_the_decoder() {
        let engine = base64::engine::general_purpose::STANDARD;
        for len in 0..20usize {
            let data: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37)).collect();
            let text = engine.encode(&data);
            assert_eq!(check_base64(&text), Ok(len));
            assert_eq!(base64_decoded_len(&text), len);
        }
    }
}
