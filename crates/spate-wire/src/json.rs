//! awsJson 1.1: request parsing into [`Raw`] and shape-guided response writing.
//!
//! Responses are written by hand rather than with `serde_json::to_vec` for one reason:
//! timestamps must come out as plain decimals with at most three fraction digits
//! (`1700000000.123`), never in exponent form, which some Java clients cannot parse.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

use crate::error::WireError;
use crate::model::{Kind, MODEL, ShapeId};
use crate::typecheck::Raw;

/// Parses a request body. Malformed JSON is a `SerializationException` without a message, as
/// Coral answers it.
pub(crate) fn parse(body: &[u8]) -> Result<Raw<'static>, WireError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| WireError::serialization(""))?;
    Ok(to_raw(value))
}

fn to_raw(value: Value) -> Raw<'static> {
    match value {
        Value::Null => Raw::Null,
        Value::Bool(b) => Raw::Bool(b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Raw::Int(i.into()),
            (_, Some(u)) => Raw::Int(u.into()),
            _ => Raw::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Raw::Str(Cow::Owned(s)),
        Value::Array(items) => Raw::Array(items.into_iter().map(to_raw).collect()),
        Value::Object(map) => Raw::Map(
            map.into_iter()
                .map(|(k, v)| (Cow::Owned(k), to_raw(v)))
                .collect(),
        ),
    }
}

/// Writes `value` as JSON, formatting the members the shape `id` declares as timestamps as
/// plain decimals. Members set to `null` are left out.
pub(crate) fn write(id: Option<ShapeId>, value: &Value, out: &mut String) {
    let kind = id.map(|id| &MODEL.shape(id).kind);
    match (kind, value) {
        (Some(Kind::Timestamp), Value::Number(n)) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => out.push_str(&epoch_seconds_text(f)),
            _ => {
                let _ = write!(out, "{n}");
            }
        },
        (_, Value::Object(map)) => {
            out.push('{');
            let mut first = true;
            for (k, v) in map.iter().filter(|(_, v)| !v.is_null()) {
                if !first {
                    out.push(',');
                }
                first = false;
                write_string(k, out);
                out.push(':');
                let child = match kind {
                    Some(Kind::Structure(members)) => {
                        members.iter().find(|m| m.name == *k).map(|m| m.shape)
                    }
                    Some(Kind::Map { value, .. }) => Some(*value),
                    _ => None,
                };
                write(child, v, out);
            }
            out.push('}');
        }
        (_, Value::Array(items)) => {
            let elem = match kind {
                Some(Kind::List { member, .. }) => Some(*member),
                _ => None,
            };
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(elem, item, out);
            }
            out.push(']');
        }
        (_, Value::String(s)) => write_string(s, out),
        (_, other) => {
            // Null, booleans and numbers: their `Display` is their JSON text.
            let _ = write!(out, "{other}");
        }
    }
}

pub(crate) fn write_string(s: &str, out: &mut String) {
    // Most strings (names, ids, sequence numbers) need no escape: copy them whole.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    // `Value::String`'s Display is the escaped JSON string; avoid building a Value for it.
    let _ = write!(out, "{}", Escaped(s));
}

struct Escaped<'a>(&'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_char('"')?;
        let mut start = 0;
        for (i, c) in self.0.char_indices() {
            let esc: Option<Cow<'static, str>> = match c {
                '"' => Some("\\\"".into()),
                '\\' => Some("\\\\".into()),
                '\n' => Some("\\n".into()),
                '\r' => Some("\\r".into()),
                '\t' => Some("\\t".into()),
                c if (c as u32) < 0x20 => Some(format!("\\u{:04x}", c as u32).into()),
                _ => None,
            };
            if let Some(esc) = esc {
                f.write_str(&self.0[start..i])?;
                f.write_str(&esc)?;
                start = i + c.len_utf8();
            }
        }
        f.write_str(&self.0[start..])?;
        f.write_char('"')
    }
}

/// `1700000000.123`-style text for epoch seconds: rounded to the millisecond, trailing zeros
/// dropped, never an exponent.
pub fn epoch_seconds_text(seconds: f64) -> String {
    let ms = (seconds * 1000.0).round() as i64;
    millis_to_seconds_text(ms)
}

/// The same text from integer epoch milliseconds (exact).
pub(crate) fn millis_to_seconds_text(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    let (secs, frac) = (abs / 1000, abs % 1000);
    if frac == 0 {
        return format!("{sign}{secs}");
    }
    let frac = format!("{frac:03}");
    format!("{sign}{secs}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_text_is_plain_decimal() {
        assert_eq!(epoch_seconds_text(1_700_000_000.123), "1700000000.123");
        assert_eq!(epoch_seconds_text(1_603_149_588.042), "1603149588.042");
        assert_eq!(epoch_seconds_text(1_700_000_000.0), "1700000000");
        assert_eq!(epoch_seconds_text(1_700_000_000.5), "1700000000.5");
        assert_eq!(epoch_seconds_text(1_700_000_000.123_4), "1700000000.123");
        assert_eq!(epoch_seconds_text(0.001), "0.001");
        assert_eq!(epoch_seconds_text(-1.5), "-1.5");
        assert_eq!(epoch_seconds_text(1e15), "1000000000000000");
    }

    #[test]
    fn strings_escape_like_serde_json() {
        for s in [
            "plain",
            "quote\"back\\slash",
            "nl\n\t\r\u{1}\u{1f}",
            "é✓😀",
            "",
        ] {
            let mut out = String::new();
            write_string(s, &mut out);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }
}
