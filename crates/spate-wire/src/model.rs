//! The Kinesis service model, embedded and compiled once into a compact shape tree.
//!
//! Only what decoding, validation and encoding need is kept: member names and required flags,
//! collection element shapes, and the constraints (`min`, `max`, `pattern`, `enum`).

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::operation::Operation;

/// botocore 1.44.5 `kinesis/2013-12-02/service-2.json`, unmodified.
const MODEL_JSON: &str = include_str!("../model/service-2.json");

/// Index of a shape in [`Model::shapes`].
pub(crate) type ShapeId = usize;

pub(crate) struct Model {
    pub shapes: Vec<Shape>,
    by_name: HashMap<String, ShapeId>,
    /// `(input, output)` per operation, indexed by [`Operation::index`]; `None` when the model
    /// gives the operation no output.
    ops: Vec<(ShapeId, Option<ShapeId>)>,
}

pub(crate) struct Shape {
    /// The model's shape name, used in Coral's rendering of structures (`...PutRecordsRequestEntry@1a2b`).
    pub name: String,
    pub kind: Kind,
}

pub(crate) enum Kind {
    Structure(Vec<Member>),
    List {
        member: ShapeId,
        len: Range,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
        len: Range,
    },
    String {
        len: Range,
        pattern: Option<Pattern>,
        enums: Option<Vec<String>>,
    },
    Integer(Range),
    Long(Range),
    Blob(Range),
    Boolean,
    Timestamp,
}

pub(crate) struct Member {
    /// Wire name (`StreamName`).
    pub name: String,
    /// Name in validation paths (`streamName`).
    pub path_name: String,
    pub shape: ShapeId,
    pub required: bool,
}

/// Inclusive bounds from the model's `min`/`max`.
#[derive(Clone, Copy, Default)]
pub(crate) struct Range {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

pub(crate) struct Pattern {
    /// The pattern exactly as the model spells it; it appears in validation messages.
    pub source: String,
    pub matcher: Matcher,
}

pub(crate) enum Matcher {
    /// `^(0|([1-9]\d{0,N}))$`: a decimal number without leading zeros, at most `N + 1` digits.
    /// Checked by hand: these guard every hash key and sequence number on the data path.
    Decimal {
        max_digits: usize,
    },
    Regex(Regex),
}

impl Pattern {
    pub fn matches(&self, s: &str) -> bool {
        match &self.matcher {
            Matcher::Decimal { max_digits } => {
                let b = s.as_bytes();
                !b.is_empty()
                    && b.len() <= *max_digits
                    && b.iter().all(u8::is_ascii_digit)
                    && (b[0] != b'0' || b.len() == 1)
            }
            Matcher::Regex(re) => re.is_match(s),
        }
    }
}

impl Shape {
    /// Whether values of this shape carry constraints of their own (used to decide if list
    /// elements and map keys/values need checking).
    pub fn has_constraints(&self) -> bool {
        match &self.kind {
            Kind::String {
                len,
                pattern,
                enums,
            } => len.min.is_some() || len.max.is_some() || pattern.is_some() || enums.is_some(),
            Kind::Integer(r) | Kind::Long(r) | Kind::Blob(r) => r.min.is_some() || r.max.is_some(),
            _ => false,
        }
    }
}

pub(crate) static MODEL: LazyLock<Model> = LazyLock::new(|| {
    // The model is compiled into the binary and covered by tests, so a failure here is a
    // build defect, not a runtime condition.
    Model::parse(MODEL_JSON).expect("embedded Kinesis model is valid")
});

impl Model {
    pub fn shape(&self, id: ShapeId) -> &Shape {
        &self.shapes[id]
    }

    pub fn input(&self, op: Operation) -> ShapeId {
        self.ops[op.index()].0
    }

    pub fn output(&self, op: Operation) -> Option<ShapeId> {
        self.ops[op.index()].1
    }

    pub fn shape_id(&self, name: &str) -> Option<ShapeId> {
        self.by_name.get(name).copied()
    }

    fn parse(text: &str) -> Result<Model, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let shapes = doc["shapes"].as_object().ok_or("no shapes")?;
        let by_name: HashMap<String, ShapeId> = shapes
            .keys()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let id = |v: &Value| -> Result<ShapeId, String> {
            let name = v["shape"]
                .as_str()
                .ok_or("shape reference without a name")?;
            by_name
                .get(name)
                .copied()
                .ok_or_else(|| format!("unknown shape {name}"))
        };
        let mut out = Vec::with_capacity(shapes.len());
        for (name, s) in shapes {
            let range = Range {
                min: s["min"].as_i64(),
                max: s["max"].as_i64(),
            };
            let kind = match s["type"].as_str().unwrap_or_default() {
                "structure" => {
                    let required: Vec<&str> = s["required"]
                        .as_array()
                        .map(|r| r.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let mut members = Vec::new();
                    for (m, def) in s["members"]
                        .as_object()
                        .ok_or("structure without members")?
                    {
                        members.push(Member {
                            name: m.clone(),
                            path_name: lower_first(m),
                            shape: id(def)?,
                            required: required.contains(&m.as_str()),
                        });
                    }
                    Kind::Structure(members)
                }
                "list" => Kind::List {
                    member: id(&s["member"])?,
                    len: range,
                },
                "map" => Kind::Map {
                    key: id(&s["key"])?,
                    value: id(&s["value"])?,
                    len: range,
                },
                "string" => Kind::String {
                    len: range,
                    pattern: s["pattern"].as_str().map(compile_pattern).transpose()?,
                    enums: s["enum"].as_array().map(|e| {
                        e.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    }),
                },
                "integer" => Kind::Integer(range),
                "long" => Kind::Long(range),
                "blob" => Kind::Blob(range),
                "boolean" => Kind::Boolean,
                "timestamp" => Kind::Timestamp,
                other => return Err(format!("shape {name}: unsupported type {other:?}")),
            };
            out.push(Shape {
                name: name.clone(),
                kind,
            });
        }
        let mut ops = Vec::with_capacity(Operation::ALL.len());
        for op in Operation::ALL {
            let def = &doc["operations"][op.name()];
            let input = id(&def["input"]).map_err(|e| format!("{op}: {e}"))?;
            let output = if def["output"].is_object() {
                Some(id(&def["output"])?)
            } else {
                None
            };
            ops.push((input, output));
        }
        Ok(Model {
            shapes: out,
            by_name,
            ops,
        })
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn compile_pattern(source: &str) -> Result<Pattern, String> {
    let decimal = |rest: &str| -> Option<usize> {
        let n = rest
            .strip_prefix("^(0|([1-9]\\d{0,")?
            .strip_suffix("}))$")?;
        Some(n.parse::<usize>().ok()? + 1)
    };
    let matcher = match decimal(source) {
        Some(max_digits) => Matcher::Decimal { max_digits },
        None => {
            // Java's `\d` is ASCII-only; the regex crate's is Unicode-wide.
            let body = source.replace("\\d", "[0-9]");
            let re = Regex::new(&format!("^(?:{body})$")).map_err(|e| format!("{source}: {e}"))?;
            Matcher::Regex(re)
        }
    };
    Ok(Pattern {
        source: source.to_owned(),
        matcher,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_loads_every_operation() {
        for op in Operation::ALL {
            let input = MODEL.shape(MODEL.input(*op));
            assert!(matches!(input.kind, Kind::Structure(_)), "{op}");
        }
        assert!(MODEL.output(Operation::CreateStream).is_none());
        assert!(MODEL.output(Operation::PutRecords).is_some());
    }

    #[test]
    fn decimal_patterns_are_hand_checked_and_exact() {
        let hash = compile_pattern("^(0|([1-9]\\d{0,38}))$").unwrap();
        assert!(matches!(hash.matcher, Matcher::Decimal { max_digits: 39 }));
        let re = Regex::new("^(?:^(0|([1-9][0-9]{0,38}))$)$").unwrap();
        let long39 = "1".repeat(39);
        let long40 = "1".repeat(40);
        for s in [
            "0",
            "1",
            "10",
            "00",
            "01",
            "",
            "-1",
            "1a",
            "٣",
            &long39,
            &long40,
            "340282366920938463463374607431768211455",
        ] {
            assert_eq!(hash.matches(s), re.is_match(s), "{s:?}");
        }
    }

    #[test]
    fn regex_patterns_are_anchored_and_ascii_digits() {
        let p = compile_pattern("[a-zA-Z0-9_.-]+").unwrap();
        assert!(p.matches("my-stream_1.x"));
        assert!(!p.matches("bad name"));
        assert!(!p.matches(""));
        let p = compile_pattern("\\d{12}").unwrap();
        assert!(p.matches("123456789012"));
        assert!(!p.matches("١٢٣٤٥٦٧٨٩٠١٢"));
    }
}
