//! CBOR (`application/x-amz-cbor-1.1`): request decoding into [`Raw`] and shape-guided
//! response encoding.
//!
//! Decoding accepts what the Java SDKs' Jackson generator writes: definite or indefinite
//! lengths for maps, arrays, text and byte strings, and tags anywhere (they are skipped; a
//! number in a timestamp position means epoch milliseconds whether or not it carries tag 1).
//! Encoding writes definite lengths only, blobs as byte strings and timestamps as tag 1 plus
//! integer epoch milliseconds, which is what the Java SDKs parse.

use std::borrow::Cow;

use base64::Engine as _;
use minicbor::data::{Tag, Type};
use minicbor::{Decoder, Encoder};
use serde_json::Value;

use crate::error::WireError;
use crate::model::{Kind, MODEL, ShapeId};
use crate::typecheck::Raw;

/// Deeper documents are rejected rather than risking the stack; the model nests far less.
const MAX_DEPTH: usize = 64;

/// Decodes one CBOR data item that must span the whole body.
pub(crate) fn parse(body: &[u8]) -> Result<Raw<'_>, WireError> {
    let mut d = Decoder::new(body);
    let raw = item(&mut d, 0)?;
    if d.position() != body.len() {
        return Err(WireError::serialization(""));
    }
    Ok(raw)
}

fn bad(_: minicbor::decode::Error) -> WireError {
    WireError::serialization("")
}

fn item<'b>(d: &mut Decoder<'b>, depth: usize) -> Result<Raw<'b>, WireError> {
    if depth > MAX_DEPTH {
        return Err(WireError::serialization("Document nested too deeply"));
    }
    Ok(match d.datatype().map_err(bad)? {
        Type::Bool => Raw::Bool(d.bool().map_err(bad)?),
        Type::Null | Type::Undefined => {
            d.skip().map_err(bad)?;
            Raw::Null
        }
        Type::U8
        | Type::U16
        | Type::U32
        | Type::U64
        | Type::I8
        | Type::I16
        | Type::I32
        | Type::I64
        | Type::Int => Raw::Int(i128::from(d.int().map_err(bad)?)),
        Type::F16 => {
            // minicbor decodes half floats only with its `half` feature; three bytes by hand.
            let pos = d.position();
            let bits = d
                .input()
                .get(pos + 1..pos + 3)
                .ok_or_else(|| WireError::serialization(""))?;
            d.set_position(pos + 3);
            Raw::Float(half_to_f64(u16::from_be_bytes([bits[0], bits[1]])))
        }
        Type::F32 => Raw::Float(f64::from(d.f32().map_err(bad)?)),
        Type::F64 => Raw::Float(d.f64().map_err(bad)?),
        Type::Bytes => Raw::Bytes(Cow::Borrowed(d.bytes().map_err(bad)?)),
        Type::BytesIndef => {
            let mut buf = Vec::new();
            for chunk in d.bytes_iter().map_err(bad)? {
                buf.extend_from_slice(chunk.map_err(bad)?);
            }
            Raw::Bytes(Cow::Owned(buf))
        }
        Type::String => Raw::Str(Cow::Borrowed(d.str().map_err(bad)?)),
        Type::StringIndef => {
            let mut buf = String::new();
            for chunk in d.str_iter().map_err(bad)? {
                buf.push_str(chunk.map_err(bad)?);
            }
            Raw::Str(Cow::Owned(buf))
        }
        Type::Array | Type::ArrayIndef => {
            let len = d.array().map_err(bad)?;
            let mut items = Vec::with_capacity(len.unwrap_or(0).min(1024) as usize);
            match len {
                Some(n) => {
                    for _ in 0..n {
                        items.push(item(d, depth + 1)?);
                    }
                }
                None => {
                    while !at_break(d)? {
                        items.push(item(d, depth + 1)?);
                    }
                }
            }
            Raw::Array(items)
        }
        Type::Map | Type::MapIndef => {
            let len = d.map().map_err(bad)?;
            let mut entries = Vec::with_capacity(len.unwrap_or(0).min(1024) as usize);
            let mut entry = |d: &mut Decoder<'b>| -> Result<(), WireError> {
                let key = match item(d, depth + 1)? {
                    Raw::Str(k) => k,
                    _ => return Err(WireError::serialization("Map keys must be text strings")),
                };
                entries.push((key, item(d, depth + 1)?));
                Ok(())
            };
            match len {
                Some(n) => {
                    for _ in 0..n {
                        entry(d)?;
                    }
                }
                None => {
                    while !at_break(d)? {
                        entry(d)?;
                    }
                }
            }
            Raw::Map(entries)
        }
        Type::Tag => {
            d.tag().map_err(bad)?;
            item(d, depth + 1)?
        }
        Type::Simple | Type::Break | Type::Unknown(_) => return Err(WireError::serialization("")),
    })
}

/// IEEE 754 binary16 to f64 (RFC 8949 appendix D).
fn half_to_f64(h: u16) -> f64 {
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = f64::from(h & 0x3ff);
    let magnitude = match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (mant + 1024.0) * 2f64.powi(exp - 25),
    };
    if h & 0x8000 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// At the `0xFF` that ends an indefinite-length item? Consumes it if so.
fn at_break(d: &mut Decoder<'_>) -> Result<bool, WireError> {
    if d.datatype().map_err(bad)? == Type::Break {
        d.set_position(d.position() + 1);
        Ok(true)
    } else {
        Ok(false)
    }
}

/// Encodes `value` as CBOR, guided by the shape `id` (`None`: no shape known, encode as is).
pub(crate) fn write(
    id: Option<ShapeId>,
    value: &Value,
    e: &mut Encoder<Vec<u8>>,
) -> Result<(), WireError> {
    let kind = id.map(|id| &MODEL.shape(id).kind);
    match (kind, value) {
        (Some(Kind::Timestamp), Value::Number(n)) => {
            let ms = match (n.as_i64(), n.as_f64()) {
                (Some(i), _) if n.is_i64() => i.saturating_mul(1000),
                (_, Some(f)) => (f * 1000.0).round() as i64,
                _ => return Err(WireError::Encoding(format!("bad timestamp {n}"))),
            };
            e.tag(Tag::new(1)).map_err(enc)?.i64(ms).map_err(enc)?;
        }
        (Some(Kind::Blob(_)), Value::String(s)) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|err| WireError::Encoding(format!("blob is not base64: {err}")))?;
            e.bytes(&bytes).map_err(enc)?;
        }
        (_, Value::Object(map)) => {
            let present = map.iter().filter(|(_, v)| !v.is_null());
            e.map(present.clone().count() as u64).map_err(enc)?;
            for (k, v) in present {
                e.str(k).map_err(enc)?;
                let child = match kind {
                    Some(Kind::Structure(members)) => {
                        members.iter().find(|m| m.name == *k).map(|m| m.shape)
                    }
                    Some(Kind::Map { value, .. }) => Some(*value),
                    _ => None,
                };
                write(child, v, e)?;
            }
        }
        (_, Value::Array(items)) => {
            let elem = match kind {
                Some(Kind::List { member, .. }) => Some(*member),
                _ => None,
            };
            e.array(items.len() as u64).map_err(enc)?;
            for item in items {
                write(elem, item, e)?;
            }
        }
        (_, Value::String(s)) => {
            e.str(s).map_err(enc)?;
        }
        (_, Value::Bool(b)) => {
            e.bool(*b).map_err(enc)?;
        }
        (_, Value::Null) => {
            e.null().map_err(enc)?;
        }
        (_, Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                e.u64(u).map_err(enc)?;
            } else if let Some(i) = n.as_i64() {
                e.i64(i).map_err(enc)?;
            } else if let Some(f) = n.as_f64() {
                e.f64(f).map_err(enc)?;
            }
        }
    }
    Ok(())
}

pub(crate) fn enc<E: std::fmt::Display>(err: minicbor::encode::Error<E>) -> WireError {
    WireError::Encoding(err.to_string())
}
