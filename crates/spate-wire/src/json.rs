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

/// Where JSON text is written: a `String`, or the bytes of a body that never needs to be one
/// (a record reply, which can then copy in ASCII it holds as bytes, such as sequence digits,
/// without checking them as UTF-8).
pub(crate) trait JsonOut {
    fn push_str(&mut self, s: &str);
    /// Only for ASCII `bytes`: a `String` would take a larger byte as a Latin-1 character.
    fn push_ascii(&mut self, bytes: &[u8]);
}

impl JsonOut for String {
    #[inline]
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }

    #[inline]
    fn push_ascii(&mut self, bytes: &[u8]) {
        self.extend(bytes.iter().map(|&b| char::from(b)));
    }
}

impl JsonOut for Vec<u8> {
    #[inline]
    fn push_str(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }

    #[inline]
    fn push_ascii(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Writes `s` as a JSON string: `"`, `\\`, `\n`, `\r` and `\t` as two-character escapes, other
/// control characters as `\u00xx`. Runs of plain text are copied whole: record replies write
/// many strings, and most need no escape at all.
pub(crate) fn write_string(s: &str, out: &mut impl JsonOut) {
    out.push_ascii(b"\"");
    if is_plain(s) {
        out.push_str(s);
        out.push_ascii(b"\"");
        return;
    }
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if !needs_escape(b) {
            continue;
        }
        // Escaped bytes are ASCII, so `i` and `i + 1` are character boundaries.
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push_ascii(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push_ascii(b"\"");
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether no byte of `s` needs an escape, as nearly every string's does not: eight bytes a
/// step (SWAR), where a byte at a time cost ~10 instructions a byte in every reply.
fn is_plain(s: &str) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES * 0x80;
    // Sets a byte's high bit where `x` has a zero byte; exact as to whether there is one.
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut words = s.as_bytes().chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_ne_bytes(bytes);
        // Below 0x20 (exact for a bound under 0x80), or equal to a quote or a backslash.
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        let quote = zero_byte(x ^ (ONES * u64::from(b'"')));
        let backslash = zero_byte(x ^ (ONES * u64::from(b'\\')));
        if control | quote | backslash != 0 {
            return false;
        }
    }
    !words.remainder().iter().any(|&b| needs_escape(b))
}

/// The exact length [`write_string`] writes for `s`, so a reply can be sized up front.
pub(crate) fn string_len(s: &str) -> usize {
    if is_plain(s) {
        return s.len() + 2;
    }
    s.bytes().fold(2, |len, b| {
        len + match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 2,
            b if b < 0x20 => 6,
            _ => 1,
        }
    })
}

/// `1700000000.123`-style text for epoch seconds: rounded to the millisecond, trailing zeros
/// dropped, never an exponent.
pub fn epoch_seconds_text(seconds: f64) -> String {
    let ms = (seconds * 1000.0).round() as i64;
    millis_to_seconds_text(ms)
}

/// The same text from integer epoch milliseconds (exact).
pub(crate) fn millis_to_seconds_text(ms: i64) -> String {
    let mut out = String::new();
    write_seconds_text(ms, &mut out);
    out
}

/// Appends [`millis_to_seconds_text`] of `ms` to `out` without a string of its own.
pub(crate) fn write_seconds_text(ms: i64, out: &mut impl JsonOut) {
    // Written without the formatting machinery: one per record of a reply.
    let abs = ms.unsigned_abs();
    let (secs, frac) = (abs / 1000, abs % 1000);
    if ms < 0 {
        out.push_ascii(b"-");
    }
    out.push_str(itoa::Buffer::new().format(secs));
    if frac != 0 {
        let digits = [frac / 100, frac / 10 % 10, frac % 10];
        let kept = if digits[2] != 0 {
            3
        } else if digits[1] != 0 {
            2
        } else {
            1
        };
        let mut text = [b'.', 0, 0, 0];
        for (slot, d) in text[1..].iter_mut().zip(&digits[..kept]) {
            *slot = b'0' + *d as u8;
        }
        out.push_ascii(&text[..1 + kept]);
    }
}

/// Bytes [`write_seconds_text`] writes at most: sign, 19 digits, point, three digits.
pub(crate) const SECONDS_TEXT_MAX: usize = 24;

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
    fn seconds_text_fits_its_bound() {
        for ms in [i64::MIN, i64::MAX, -1, 0, 1_700_000_000_120] {
            assert!(millis_to_seconds_text(ms).len() <= SECONDS_TEXT_MAX);
        }
        assert_eq!(millis_to_seconds_text(1_700_000_000_120), "1700000000.12");
        assert_eq!(millis_to_seconds_text(-1), "-0.001");
    }

    proptest::proptest! {
        #[test]
        fn plain_means_nothing_to_escape(bytes in proptest::collection::vec(
            proptest::prop_oneof![0u8..0x30, 0x58u8..0x60, proptest::num::u8::ANY], 0..40,
        )) {
            let s = String::from_utf8_lossy(&bytes);
            proptest::prop_assert_eq!(is_plain(&s), !s.bytes().any(needs_escape));
        }

        /// Against `Display` of the whole seconds and the fraction's digits, into either output.
        #[test]
        fn seconds_text_is_display_of_its_parts(ms in proptest::num::i64::ANY) {
            let (secs, frac) = (ms.unsigned_abs() / 1000, ms.unsigned_abs() % 1000);
            let sign = if ms < 0 { "-" } else { "" };
            let expected = match frac {
                0 => format!("{sign}{secs}"),
                _ => format!("{sign}{secs}.{}", format!("{frac:03}").trim_end_matches('0')),
            };
            let mut bytes = Vec::new();
            write_seconds_text(ms, &mut bytes);
            proptest::prop_assert_eq!(&millis_to_seconds_text(ms), &expected);
            proptest::prop_assert_eq!(bytes, expected.into_bytes());
        }
    }

    #[test]
    fn strings_escape_like_serde_json() {
        for s in [
            "plain",
            "quote\"back\\slash",
            "nl\n\t\r\u{1}\u{1f}",
            "é✓😀",
            "",
            "eight by",
            "sixteen bytes ok",
            "sixteen bytes \"k",
            "0123456789abcde\u{1f}",
            "\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\\",
        ] {
            let mut out = String::new();
            write_string(s, &mut out);
            assert_eq!(out, serde_json::to_string(s).unwrap());
            assert_eq!(out.len(), string_len(s));
        }
    }
}
