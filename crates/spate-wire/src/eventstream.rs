//! `application/vnd.amazon.eventstream` message framing (used by `SubscribeToShard`).
//!
//! ```text
//! | total len u32 | headers len u32 | prelude CRC | headers | payload | message CRC |
//! ```
//! Big-endian; CRC-32 (ISO-HDLC, as zlib). The prelude CRC covers the first 8 bytes, the
//! message CRC everything before it. Each header is `name_len u8, name, type u8, value`.

/// A header value; the type byte on the wire is given per variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue<'a> {
    /// Types 0 (true) and 1 (false).
    Bool(bool),
    /// Type 2.
    Byte(i8),
    /// Type 3.
    Short(i16),
    /// Type 4.
    Int(i32),
    /// Type 5.
    Long(i64),
    /// Type 6, at most 65,535 bytes.
    Bytes(&'a [u8]),
    /// Type 7, at most 65,535 bytes; every `:`-header uses it.
    String(&'a str),
    /// Type 8, epoch milliseconds.
    Timestamp(i64),
    /// Type 9.
    Uuid([u8; 16]),
}

/// One decoded message, borrowing from the input buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Headers in wire order.
    pub headers: Vec<(&'a str, HeaderValue<'a>)>,
    /// The payload bytes.
    pub payload: &'a [u8],
}

impl<'a> Message<'a> {
    /// The value of a string header, such as `:event-type`.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        self.headers.iter().find_map(|(n, v)| match v {
            HeaderValue::String(s) if *n == name => Some(*s),
            _ => None,
        })
    }
}

/// Why a buffer does not hold a valid message.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum EventStreamError {
    /// Not enough bytes yet; `needed` is the full message length when the prelude is known.
    #[error("incomplete message: {needed:?} bytes needed")]
    Incomplete {
        /// Total bytes the message needs, once the prelude is readable.
        needed: Option<usize>,
    },
    /// The prelude CRC does not match.
    #[error("prelude checksum mismatch")]
    PreludeChecksum,
    /// The message CRC does not match.
    #[error("message checksum mismatch")]
    MessageChecksum,
    /// Lengths or headers are inconsistent.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
}

const PRELUDE: usize = 12;

/// Frames one message. Header names and string/bytes values must fit their length fields
/// (255 and 65,535 bytes); longer ones are truncated, which only a programming error causes.
pub fn encode_message(headers: &[(&str, HeaderValue<'_>)], payload: &[u8]) -> Vec<u8> {
    // Events carry three short string headers: sized for those, so the usual one never grows.
    let mut h = Vec::with_capacity(128);
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(255)];
        h.push(name.len() as u8);
        h.extend_from_slice(name);
        match value {
            HeaderValue::Bool(true) => h.push(0),
            HeaderValue::Bool(false) => h.push(1),
            HeaderValue::Byte(b) => {
                h.push(2);
                h.extend_from_slice(&b.to_be_bytes());
            }
            HeaderValue::Short(v) => {
                h.push(3);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Int(v) => {
                h.push(4);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Long(v) => {
                h.push(5);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Bytes(b) => push_sized(&mut h, 6, b),
            HeaderValue::String(s) => push_sized(&mut h, 7, s.as_bytes()),
            HeaderValue::Timestamp(ms) => {
                h.push(8);
                h.extend_from_slice(&ms.to_be_bytes());
            }
            HeaderValue::Uuid(u) => {
                h.push(9);
                h.extend_from_slice(u);
            }
        }
    }
    let total = PRELUDE + h.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let prelude_crc = crc32(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn push_sized(h: &mut Vec<u8>, ty: u8, b: &[u8]) {
    let b = &b[..b.len().min(usize::from(u16::MAX))];
    h.push(ty);
    h.extend_from_slice(&(b.len() as u16).to_be_bytes());
    h.extend_from_slice(b);
}

/// Decodes the message at the start of `buf`, returning it and the bytes it used.
pub fn decode_message(buf: &[u8]) -> Result<(Message<'_>, usize), EventStreamError> {
    if buf.len() < PRELUDE {
        return Err(EventStreamError::Incomplete { needed: None });
    }
    let total = be32(&buf[0..4]) as usize;
    let headers_len = be32(&buf[4..8]) as usize;
    if be32(&buf[8..12]) != crc32(&buf[0..8]) {
        return Err(EventStreamError::PreludeChecksum);
    }
    if total < PRELUDE + 4 || headers_len > total - PRELUDE - 4 {
        return Err(EventStreamError::Malformed("lengths"));
    }
    if buf.len() < total {
        return Err(EventStreamError::Incomplete {
            needed: Some(total),
        });
    }
    if be32(&buf[total - 4..total]) != crc32(&buf[..total - 4]) {
        return Err(EventStreamError::MessageChecksum);
    }
    let mut rest = &buf[PRELUDE..PRELUDE + headers_len];
    let mut headers = Vec::new();
    while !rest.is_empty() {
        let name_len = usize::from(rest[0]);
        let name = take(&mut rest, 1 + name_len)?;
        let name = std::str::from_utf8(&name[1..])
            .map_err(|_| EventStreamError::Malformed("header name"))?;
        let ty = take(&mut rest, 1)?[0];
        let value = match ty {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(i8::from_be_bytes(fixed(&mut rest)?)),
            3 => HeaderValue::Short(i16::from_be_bytes(fixed(&mut rest)?)),
            4 => HeaderValue::Int(i32::from_be_bytes(fixed(&mut rest)?)),
            5 => HeaderValue::Long(i64::from_be_bytes(fixed(&mut rest)?)),
            6 | 7 => {
                let len = usize::from(u16::from_be_bytes(fixed(&mut rest)?));
                let bytes = take(&mut rest, len)?;
                if ty == 6 {
                    HeaderValue::Bytes(bytes)
                } else {
                    HeaderValue::String(
                        std::str::from_utf8(bytes)
                            .map_err(|_| EventStreamError::Malformed("header string"))?,
                    )
                }
            }
            8 => HeaderValue::Timestamp(i64::from_be_bytes(fixed(&mut rest)?)),
            9 => HeaderValue::Uuid(fixed(&mut rest)?),
            _ => return Err(EventStreamError::Malformed("header type")),
        };
        headers.push((name, value));
    }
    let payload = &buf[PRELUDE + headers_len..total - 4];
    Ok((Message { headers, payload }, total))
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], EventStreamError> {
    if rest.len() < n {
        return Err(EventStreamError::Malformed("header overruns block"));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn fixed<const N: usize>(rest: &mut &[u8]) -> Result<[u8; N], EventStreamError> {
    let mut out = [0u8; N];
    out.copy_from_slice(take(rest, N)?);
    Ok(out)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// CRC-32/ISO-HDLC (zlib's `crc32`), as event-stream messages carry it.
pub fn crc32(data: &[u8]) -> u32 {
    // SIMD (carry-less multiply) where the CPU has it, chosen at run time: an event carrying
    // a megabyte of records is checksummed twice over, once by each side.
    crc32fast::hash(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn initial_response() -> Vec<u8> {
        encode_message(
            &[
                (":message-type", HeaderValue::String("event")),
                (":event-type", HeaderValue::String("initial-response")),
                (
                    ":content-type",
                    HeaderValue::String("application/x-amz-json-1.1"),
                ),
            ],
            b"{}",
        )
    }

    #[test]
    fn matches_the_reference_example_byte_for_byte() {
        let mut want = vec![
            0x00, 0x00, 0x00, 0x72, 0x00, 0x00, 0x00, 0x60, 0xab, 0x82, 0x0d, 0x9e,
        ];
        for (name, value) in [
            (":message-type", "event"),
            (":event-type", "initial-response"),
            (":content-type", "application/x-amz-json-1.1"),
        ] {
            want.push(name.len() as u8);
            want.extend_from_slice(name.as_bytes());
            want.push(7);
            want.extend_from_slice(&(value.len() as u16).to_be_bytes());
            want.extend_from_slice(value.as_bytes());
        }
        want.extend_from_slice(b"{}");
        want.extend_from_slice(&[0xe1, 0x6e, 0x66, 0xe4]);
        assert_eq!(initial_response(), want);
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn decode_round_trip_and_errors() {
        let uuid = [7u8; 16];
        let headers = [
            ("t", HeaderValue::Bool(true)),
            ("f", HeaderValue::Bool(false)),
            ("b", HeaderValue::Byte(-1)),
            ("s", HeaderValue::Short(-2)),
            ("i", HeaderValue::Int(3)),
            ("l", HeaderValue::Long(-4)),
            ("y", HeaderValue::Bytes(b"\x00\x01")),
            ("z", HeaderValue::String("str")),
            ("ts", HeaderValue::Timestamp(1_700_000_000_000)),
            ("u", HeaderValue::Uuid(uuid)),
        ];
        let mut buf = encode_message(&headers, b"payload");
        let first_len = buf.len();
        buf.extend(initial_response());
        let (m, used) = decode_message(&buf).unwrap();
        assert_eq!(used, first_len);
        assert_eq!(m.headers, headers.to_vec());
        assert_eq!(m.payload, b"payload");
        let (m2, _) = decode_message(&buf[used..]).unwrap();
        assert_eq!(m2.header_str(":event-type"), Some("initial-response"));

        assert_eq!(
            decode_message(&buf[..5]),
            Err(EventStreamError::Incomplete { needed: None })
        );
        assert_eq!(
            decode_message(&buf[..20]),
            Err(EventStreamError::Incomplete {
                needed: Some(first_len)
            })
        );
        let mut bad = buf.clone();
        bad[first_len - 1] ^= 1;
        assert_eq!(decode_message(&bad), Err(EventStreamError::MessageChecksum));
        bad[1] ^= 1;
        assert_eq!(decode_message(&bad), Err(EventStreamError::PreludeChecksum));
    }
}
