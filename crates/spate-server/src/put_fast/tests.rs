//! The fast path is judged by the generic one: for random valid bodies in both codecs it must
//! produce exactly the typed input `decode_request` + `serde_json::from_value` produce, and
//! for randomly mutated ones it must either decline or still agree. Either way, a body cut
//! into frames anywhere is read exactly as the same body in one piece.

use base64::Engine as _;
use bytes::Bytes;
use minicbor::Encoder;
use minicbor::data::Tag;
use proptest::prelude::*;
use spate_engine::ops::{put_record, put_records};
use spate_wire::{Codec, Operation};

use super::PutInput;
use crate::body::Body;

/// A document, written to either codec.
#[derive(Debug, Clone)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    /// A blob: a byte string in CBOR, base64 text in JSON.
    Bytes(Vec<u8>),
    Array(Vec<Node>),
    Map(Vec<(String, Node)>),
    /// A CBOR tag (JSON has none and writes the value alone).
    Tagged(Box<Node>),
}

/// How a document is written, beyond its content.
#[derive(Debug, Clone, Copy)]
struct Style {
    /// JSON: write each string's first character as a `\u` escape.
    escape: bool,
    /// CBOR: indefinite lengths for maps and arrays.
    indefinite: bool,
}

fn json(node: &Node, style: Style, out: &mut String) {
    match node {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(&b.to_string()),
        Node::Int(i) => out.push_str(&i.to_string()),
        Node::Str(s) => json_str(s, style, out),
        Node::Bytes(b) => json_str(
            &base64::engine::general_purpose::STANDARD.encode(b),
            style,
            out,
        ),
        Node::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json(item, style, out);
            }
            out.push(']');
        }
        Node::Map(members) => {
            out.push_str("{ ");
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_str(
                    key,
                    Style {
                        escape: false,
                        ..style
                    },
                    out,
                );
                out.push(':');
                json(value, style, out);
            }
            out.push_str("}\n");
        }
        Node::Tagged(inner) => json(inner, style, out),
    }
}

fn json_str(s: &str, style: Style, out: &mut String) {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if style.escape && c.is_ascii() => {
            out.push_str(&format!("\"\\u{:04x}", c as u32));
            let rest = serde_json::to_string(chars.as_str()).unwrap_or_default();
            out.push_str(&rest[1..]);
        }
        _ => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
    }
}

fn cbor(node: &Node, style: Style, e: &mut Encoder<Vec<u8>>) {
    // Writing to a Vec cannot fail.
    let _ = match node {
        Node::Null => e.null().map(|_| ()),
        Node::Bool(b) => e.bool(*b).map(|_| ()),
        Node::Int(i) => e.i64(*i).map(|_| ()),
        Node::Str(s) => e.str(s).map(|_| ()),
        Node::Bytes(b) => e.bytes(b).map(|_| ()),
        Node::Array(items) => {
            let _ = if style.indefinite {
                e.begin_array()
            } else {
                e.array(items.len() as u64)
            };
            for item in items {
                cbor(item, style, e);
            }
            if style.indefinite {
                e.end().map(|_| ())
            } else {
                Ok(())
            }
        }
        Node::Map(members) => {
            let _ = if style.indefinite {
                e.begin_map()
            } else {
                e.map(members.len() as u64)
            };
            for (key, value) in members {
                let _ = e.str(key);
                cbor(value, style, e);
            }
            if style.indefinite {
                e.end().map(|_| ())
            } else {
                Ok(())
            }
        }
        Node::Tagged(inner) => {
            let _ = e.tag(Tag::new(24));
            cbor(inner, style, e);
            Ok(())
        }
    };
}

fn encode(node: &Node, codec: Codec, style: Style) -> Vec<u8> {
    match codec {
        Codec::Json => {
            let mut out = String::new();
            json(node, style, &mut out);
            out.into_bytes()
        }
        Codec::Cbor => {
            let mut e = Encoder::new(Vec::new());
            cbor(node, style, &mut e);
            e.into_writer()
        }
    }
}

/// The generic path's typed input, printed (the inputs compare by their `Debug` text).
fn generic(operation: Operation, codec: Codec, body: &[u8]) -> Option<String> {
    let value = spate_wire::decode_request(operation, codec, body).ok()?;
    match operation {
        Operation::PutRecords => serde_json::from_value::<put_records::Input>(value)
            .ok()
            .map(|input| format!("{:?}", PutInput::Records(input))),
        _ => serde_json::from_value::<put_record::Input>(value)
            .ok()
            .map(|input| format!("{:?}", PutInput::Record(input))),
    }
}

fn fast(operation: Operation, codec: Codec, body: &[u8]) -> Option<String> {
    PutInput::decode(operation, codec, &Body::from(Bytes::copy_from_slice(body)))
        .map(|input| format!("{input:?}"))
}

/// [`fast`] for the body cut into frames at `cuts` (taken modulo its length), as hyper may
/// hand it over.
fn fast_in_frames(
    operation: Operation,
    codec: Codec,
    body: &[u8],
    cuts: &[usize],
) -> Option<String> {
    let mut at: Vec<usize> = cuts.iter().map(|cut| cut % (body.len() + 1)).collect();
    at.sort_unstable();
    let mut frames = Vec::new();
    let mut start = 0;
    for end in at.into_iter().chain([body.len()]) {
        frames.push(Bytes::copy_from_slice(&body[start..end]));
        start = end;
    }
    PutInput::decode(operation, codec, &Body::from_frames(frames)).map(|input| format!("{input:?}"))
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(any::<usize>(), 0..12)
}

fn stream_members() -> impl Strategy<Value = Vec<(String, Node)>> {
    let name = "[a-zA-Z0-9_.-]{1,20}";
    let arn = "arn:aws:kinesis:us-east-1:[0-9]{12}:stream/[a-z0-9]{1,8}";
    (proptest::option::of(name), proptest::option::of(arn)).prop_map(|(name, arn)| {
        let mut members = Vec::new();
        if let Some(name) = name {
            members.push(("StreamName".to_owned(), Node::Str(name)));
        }
        if let Some(arn) = arn {
            members.push(("StreamARN".to_owned(), Node::Str(arn)));
        }
        members
    })
}

/// A record's members, valid by the model (a partition key is optional there).
fn record_members() -> impl Strategy<Value = Vec<(String, Node)>> {
    (
        proptest::collection::vec(any::<u8>(), 0..48),
        proptest::option::weighted(0.9, "[a-zA-Z0-9 é✓😀]{1,12}"),
        proptest::option::weighted(0.3, any::<u128>()),
    )
        .prop_map(|(data, key, hash)| {
            let mut members = vec![("Data".to_owned(), Node::Bytes(data))];
            if let Some(key) = key {
                members.push(("PartitionKey".to_owned(), Node::Str(key)));
            }
            if let Some(hash) = hash {
                members.push(("ExplicitHashKey".to_owned(), Node::Str(hash.to_string())));
            }
            members
        })
}

/// A valid body for `operation`, members in a random order.
fn valid_body(operation: Operation) -> BoxedStrategy<Node> {
    match operation {
        Operation::PutRecords => (
            stream_members(),
            proptest::collection::vec(record_members().prop_shuffle(), 1..6),
        )
            .prop_map(|(mut members, records)| {
                let records = records.into_iter().map(Node::Map).collect();
                members.push(("Records".to_owned(), Node::Array(records)));
                members
            })
            .prop_shuffle()
            .prop_map(Node::Map)
            .boxed(),
        _ => (
            stream_members(),
            record_members(),
            proptest::option::of("0|[1-9][0-9]{0,60}"),
        )
            .prop_map(|(mut members, record, ordering)| {
                members.extend(record);
                if let Some(ordering) = ordering {
                    members.push(("SequenceNumberForOrdering".to_owned(), Node::Str(ordering)));
                }
                members
            })
            .prop_shuffle()
            .prop_map(Node::Map)
            .boxed(),
    }
}

fn style() -> impl Strategy<Value = Style> {
    (any::<bool>(), any::<bool>()).prop_map(|(escape, indefinite)| Style { escape, indefinite })
}

/// Values that are wrong somewhere, or right only in some places.
fn odd_value() -> impl Strategy<Value = Node> {
    prop_oneof![
        Just(Node::Null),
        Just(Node::Bool(true)),
        Just(Node::Int(1)),
        Just(Node::Str(String::new())),
        Just(Node::Str("bad name".into())),
        Just(Node::Str("01".into())),
        Just(Node::Str("7".into())),
        Just(Node::Str("AB==".into())),
        Just(Node::Str("aGk=".into())),
        Just(Node::Str("abc".into())),
        Just(Node::Str("k".repeat(257))),
        Just(Node::Str("arn:aws:kinesis:r:1:stream/s".into())),
        Just(Node::Bytes(vec![1, 2])),
        Just(Node::Array(Vec::new())),
        Just(Node::Array(vec![Node::Null])),
        Just(Node::Map(Vec::new())),
        Just(Node::Tagged(Box::new(Node::Str("s".into())))),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(&'static str, Node),
    Remove(usize),
    Duplicate(usize),
    Replace(usize, Node),
    WrapInArray,
    TooManyRecords,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let key = prop_oneof![
        Just("StreamName"),
        Just("StreamARN"),
        Just("Records"),
        Just("Data"),
        Just("PartitionKey"),
        Just("ExplicitHashKey"),
        Just("SequenceNumberForOrdering"),
        Just("DryRun"),
        Just("StreamId"),
        Just("Other"),
    ];
    prop_oneof![
        (key, odd_value()).prop_map(|(k, v)| Mutation::Insert(k, v)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), odd_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        Just(Mutation::WrapInArray),
        Just(Mutation::TooManyRecords),
    ]
}

fn count_maps(node: &Node) -> usize {
    match node {
        Node::Map(members) => 1 + members.iter().map(|(_, v)| count_maps(v)).sum::<usize>(),
        Node::Array(items) => items.iter().map(count_maps).sum(),
        _ => 0,
    }
}

/// Applies `mutation` to the `target`-th map of the document, depth first.
fn mutate_map(node: &mut Node, target: &mut usize, mutation: &Mutation) {
    match node {
        Node::Map(members) => {
            if *target == 0 {
                let n = members.len().max(1);
                match mutation.clone() {
                    Mutation::Insert(key, value) => members.push((key.to_owned(), value)),
                    Mutation::Remove(i) if !members.is_empty() => {
                        members.remove(i % n);
                    }
                    Mutation::Duplicate(i) if !members.is_empty() => {
                        let member = members[i % n].clone();
                        members.push(member);
                    }
                    Mutation::Replace(i, value) if !members.is_empty() => members[i % n].1 = value,
                    _ => {}
                }
                *target = usize::MAX;
                return;
            }
            *target -= 1;
            for (_, value) in members.iter_mut() {
                mutate_map(value, target, mutation);
            }
        }
        Node::Array(items) => items
            .iter_mut()
            .for_each(|item| mutate_map(item, target, mutation)),
        _ => {}
    }
}

fn mutate(mut node: Node, mutation: &Mutation, pick: usize) -> Node {
    match mutation {
        Mutation::WrapInArray => Node::Array(vec![node]),
        Mutation::TooManyRecords => {
            if let Node::Map(members) = &mut node {
                let record = Node::Map(vec![
                    ("Data".into(), Node::Bytes(vec![0])),
                    ("PartitionKey".into(), Node::Str("k".into())),
                ]);
                members.retain(|(k, _)| k != "Records");
                members.push(("Records".into(), Node::Array(vec![record; 501])));
            }
            node
        }
        _ => {
            let mut target = pick % count_maps(&node).max(1);
            mutate_map(&mut node, &mut target, mutation);
            node
        }
    }
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![Just(Operation::PutRecords), Just(Operation::PutRecord)]
}

fn codec() -> impl Strategy<Value = Codec> {
    prop_oneof![Just(Codec::Json), Just(Codec::Cbor)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every valid body is the fast path's, and it reads it as the generic path does.
    #[test]
    fn valid_bodies_are_handled_and_agree(
        (operation, body) in operation().prop_flat_map(|op| (Just(op), valid_body(op))),
        codec in codec(),
        style in style(),
        cuts in cuts(),
    ) {
        let style = Style { escape: false, ..style };
        let bytes = encode(&body, codec, style);
        let fast = fast(operation, codec, &bytes);
        prop_assert!(fast.is_some(), "declined {}", String::from_utf8_lossy(&bytes));
        prop_assert_eq!(&fast, &fast_in_frames(operation, codec, &bytes, &cuts));
        prop_assert_eq!(fast, generic(operation, codec, &bytes));
    }

    /// A mutated body is declined, or read exactly as the generic path reads it.
    #[test]
    fn mutated_bodies_are_declined_or_agree(
        (operation, body) in operation().prop_flat_map(|op| (Just(op), valid_body(op))),
        mutations in proptest::collection::vec((mutation(), any::<usize>()), 0..3),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<bool>()), 0..3),
        codec in codec(),
        style in style(),
        cuts in cuts(),
    ) {
        let body = mutations
            .iter()
            .fold(body, |body, (mutation, pick)| mutate(body, mutation, *pick));
        let mut bytes = encode(&body, codec, style);
        // Bytes replaced or inserted anywhere, punctuation and whitespace most of all.
        const LIKELY: &[u8] = b" \t\n\r\x0c,:{}[]\"\\/0e-nu\x00\x7f\xff\xc3";
        for (at, byte, insert) in flips {
            let byte = if byte < 128 { LIKELY[usize::from(byte) % LIKELY.len()] } else { byte };
            let at = at % (bytes.len() + 1);
            if insert || at == bytes.len() {
                bytes.insert(at, byte);
            } else {
                bytes[at] = byte;
            }
        }
        let fast = fast(operation, codec, &bytes);
        prop_assert_eq!(&fast, &fast_in_frames(operation, codec, &bytes, &cuts));
        if let Some(fast) = fast {
            prop_assert_eq!(Some(fast), generic(operation, codec, &bytes));
        }
    }
}

/// The stream a typed input names is the one `request::stream_named` finds in its value.
#[test]
fn names_the_stream_as_the_generic_path_does() {
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s1";
    for (name, arn) in [
        (Some("s0"), None),
        (None, Some(arn)),
        (Some("s0"), Some(arn)),
        (None, None),
    ] {
        let mut body = serde_json::json!({"Data": "", "PartitionKey": "k"});
        if let Some(name) = name {
            body["StreamName"] = name.into();
        }
        if let Some(arn) = arn {
            body["StreamARN"] = arn.into();
        }
        let bytes = body.to_string();
        let input = PutInput::decode(
            Operation::PutRecord,
            Codec::Json,
            &Body::from(Bytes::copy_from_slice(bytes.as_bytes())),
        );
        let value = spate_wire::decode_request(Operation::PutRecord, Codec::Json, bytes.as_bytes());
        let value = value.unwrap_or_default();
        assert_eq!(
            input.as_ref().and_then(PutInput::stream_named),
            crate::request::stream_named(&value)
        );
    }
}

/// JSON oddities the two parsers might judge differently: each is declined or agrees.
#[test]
fn json_oddities_are_declined_or_agree() {
    let ok = r#"{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k"}]}"#;
    let mut bodies: Vec<Vec<u8>> = [
        ok.to_owned(),
        ok.replace("}]}", "},]}"),
        ok.replace("}]}", "}],}"),
        format!("\u{feff}{ok}"),
        format!(" \t\r\n{ok}\n "),
        format!("\x0c{ok}"),
        format!("{ok}\x00"),
        format!("/**/{ok}"),
        ok.replace('"', "'"),
        ok.replace("\"k\"", "\"k\u{0}\""),
        ok.replace("\"k\"", "\"\\u00e9\""),
        ok.replace("\"k\"", "\"k\\/\""),
        ok.replace("\"k\"", "\"\\ud800\""),
        ok.replace("\"k\"", "\"\t\""),
        ok.replace("\"k\"", "\"\x7f\""),
        ok.replace("aGk=", "aGk=\\n"),
        ok.replace(":", " : "),
        ok.replace("\"s\"", "NaN"),
        ok.replace("\"s\"", "1e999"),
        format!("[{ok}]"),
        format!("{ok}{ok}"),
        ok.replace("\"k\"", "null"),
        ok.replace("\"k\"", "nul"),
        ok.replace("\"k\"", "nullx"),
        ok.replace("\"k\"", "true"),
        ok.replace("\"aGk=\"", "null"),
        ok.replace("\"s\"", "null"),
        ok.replace("\"s\",", "\"s\",\"StreamName\":null,"),
        ok.replace(
            "\"PartitionKey\":\"k\"",
            "\"PartitionKey\":null,\"PartitionKey\":\"k\"",
        ),
        ok.replace("}]}", "}],\"Records\":[]}"),
        ok.replace("[{", "[ {")
            .replace("}]", "} ]")
            .replace(",", " ,\n"),
        ok.replace("}]}", "},{\"Data\":\"\",\"PartitionKey\":\"\u{e9}\"}]}"),
        ok.replace("}]}", "}]"),
        ok.replace("\"Records\":[", "\"Records\":[]"),
        r#"{"Records":[]}"#.to_owned(),
        r#"{"Records":null}"#.to_owned(),
        "{}".to_owned(),
        String::new(),
        ok[..ok.len() / 2].to_owned(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let mut invalid_utf8 = ok.as_bytes().to_vec();
    invalid_utf8[50] = 0xff;
    bodies.push(invalid_utf8);
    let mut overlong = ok.replace("\"k\"", "\"k\u{e9}\"").into_bytes();
    let at = overlong.len() - 5;
    overlong[at] = 0xc0;
    bodies.push(overlong);
    for body in bodies {
        let text = String::from_utf8_lossy(&body);
        if let Some(fast) = fast(Operation::PutRecords, Codec::Json, &body) {
            assert_eq!(
                Some(fast),
                generic(Operation::PutRecords, Codec::Json, &body),
                "{text}"
            );
        }
    }
    assert!(fast(Operation::PutRecords, Codec::Json, ok.as_bytes()).is_some());
    // Whitespace anywhere and a null optional member are usual JSON: the fast path takes them.
    let spaced = format!(" {}\n", ok.replace(':', " : ").replace(',', " ,\n\t"));
    assert!(fast(Operation::PutRecords, Codec::Json, spaced.as_bytes()).is_some());
    let null_key = ok.replace("\"k\"", "null");
    assert!(fast(Operation::PutRecords, Codec::Json, null_key.as_bytes()).is_some());
}
