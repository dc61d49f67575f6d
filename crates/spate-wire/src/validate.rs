//! Model constraint checks with Coral's `ValidationException` messages.
//!
//! Runs on the normalized value (after [`crate::typecheck`]), depth first in model member
//! order, and stops collecting after ten failures as Coral does. Within one member the checks
//! run in kinesalite's order: not-null, pattern, minimum length, maximum length, enum; value
//! minimum, value maximum. Lists and maps of scalars are checked as a whole
//! (`Member must satisfy constraint: [...]`); lists of structures are entered with
//! `name.N.member` paths (1-based).

use serde_json::Value;

use crate::error::WireError;
use crate::model::{Kind, MODEL, Range, Shape, ShapeId};
use crate::typecheck::base64_decoded_len;

/// Coral lists at most this many failures.
const MAX_ERRORS: usize = 10;

/// Validates a normalized input structure against its shape.
pub(crate) fn validate(id: ShapeId, value: &Value) -> Result<(), WireError> {
    let mut v = Validator { errors: Vec::new() };
    v.structure(id, value, "");
    if v.errors.is_empty() {
        return Ok(());
    }
    let n = v.errors.len();
    let plural = if n > 1 { "s" } else { "" };
    Err(WireError::Validation(format!(
        "{n} validation error{plural} detected: {}",
        v.errors.join("; ")
    )))
}

struct Validator {
    errors: Vec<String>,
}

impl Validator {
    fn push(&mut self, path: &str, shape: &Shape, value: Option<&Value>, constraint: &str) {
        if self.errors.len() >= MAX_ERRORS {
            return;
        }
        let shown = match value {
            None | Some(Value::Null) => "null".to_owned(),
            Some(v) => format!("'{}'", render(shape, v)),
        };
        self.errors.push(format!(
            "Value {shown} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    fn structure(&mut self, id: ShapeId, value: &Value, path: &str) {
        let Kind::Structure(members) = &MODEL.shape(id).kind else {
            return;
        };
        for m in members {
            let child = if path.is_empty() {
                m.path_name.clone()
            } else {
                format!("{path}.{}", m.path_name)
            };
            self.member(&child, m.shape, value.get(&m.name), m.required);
        }
    }

    fn member(&mut self, path: &str, id: ShapeId, value: Option<&Value>, required: bool) {
        let shape = MODEL.shape(id);
        let Some(value) = value.filter(|v| !v.is_null()) else {
            if required {
                self.push(path, shape, None, "Member must not be null");
            }
            return;
        };
        match &shape.kind {
            Kind::Structure(_) => self.structure(id, value, path),
            Kind::List { member, len } => {
                let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
                self.lengths(path, shape, value, items.len(), *len);
                let elem = MODEL.shape(*member);
                match elem.kind {
                    Kind::Structure(_) | Kind::List { .. } | Kind::Map { .. } => {
                        for (i, item) in items.iter().enumerate() {
                            self.member(
                                &format!("{path}.{}.member", i + 1),
                                *member,
                                Some(item),
                                false,
                            );
                        }
                    }
                    _ if elem.has_constraints()
                        && !items
                            .iter()
                            .all(|item| scalar_failures(elem, item).is_empty()) =>
                    {
                        let c = format!(
                            "Member must satisfy constraint: [{}]",
                            constraint_list(elem)
                        );
                        self.push(path, shape, Some(value), &c);
                    }
                    _ => {}
                }
            }
            Kind::Map {
                key,
                value: value_shape,
                len,
            } => {
                let Some(map) = value.as_object() else { return };
                self.lengths(path, shape, value, map.len(), *len);
                let key_shape = MODEL.shape(*key);
                if key_shape.has_constraints()
                    && !map
                        .keys()
                        .all(|k| scalar_failures(key_shape, &Value::String(k.clone())).is_empty())
                {
                    let c = format!(
                        "Map keys must satisfy constraint: [{}]",
                        constraint_list(key_shape)
                    );
                    self.push(path, shape, Some(value), &c);
                }
                let vshape = MODEL.shape(*value_shape);
                match vshape.kind {
                    Kind::Structure(_) | Kind::List { .. } | Kind::Map { .. } => {
                        for (k, v) in map {
                            self.member(
                                &format!("{path}.{k}.member"),
                                *value_shape,
                                Some(v),
                                false,
                            );
                        }
                    }
                    _ if vshape.has_constraints()
                        && !map.values().all(|v| scalar_failures(vshape, v).is_empty()) =>
                    {
                        let c = format!(
                            "Map value must satisfy constraint: [{}]",
                            constraint_list(vshape)
                        );
                        self.push(path, shape, Some(value), &c);
                    }
                    _ => {}
                }
            }
            _ => {
                for failure in scalar_failures(shape, value) {
                    self.push(path, shape, Some(value), &failure);
                }
            }
        }
    }

    fn lengths(&mut self, path: &str, shape: &Shape, value: &Value, len: usize, range: Range) {
        let len = len as i64;
        if let Some(min) = range.min.filter(|min| len < *min) {
            self.push(path, shape, Some(value), &min_len(min));
        }
        if let Some(max) = range.max.filter(|max| len > *max) {
            self.push(path, shape, Some(value), &max_len(max));
        }
    }
}

fn min_len(n: i64) -> String {
    format!("Member must have length greater than or equal to {n}")
}

fn max_len(n: i64) -> String {
    format!("Member must have length less than or equal to {n}")
}

fn enum_text(values: &[String]) -> String {
    format!(
        "Member must satisfy enum value set: [{}]",
        values.join(", ")
    )
}

/// The failed constraints of one scalar value, in check order.
fn scalar_failures(shape: &Shape, value: &Value) -> Vec<String> {
    match (&shape.kind, value) {
        (Kind::String { .. }, Value::String(s)) => string_failures(shape, s),
        (Kind::Integer(range) | Kind::Long(range), _) => {
            let mut out = Vec::new();
            let Some(n) = value.as_i64() else { return out };
            if let Some(min) = range.min.filter(|m| n < *m) {
                out.push(format!(
                    "Member must have value greater than or equal to {min}"
                ));
            }
            if let Some(max) = range.max.filter(|m| n > *m) {
                out.push(format!(
                    "Member must have value less than or equal to {max}"
                ));
            }
            out
        }
        (Kind::Blob(_), Value::String(s)) => blob_failures(shape, base64_decoded_len(s)),
        _ => Vec::new(),
    }
}

/// The failed constraints of a string shape's value, in check order. Allocates nothing when
/// the value satisfies them all, so the PutRecords fast path can check every record with it.
pub(crate) fn string_failures(shape: &Shape, s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Kind::String {
        len,
        pattern,
        enums,
    } = &shape.kind
    else {
        return out;
    };
    if let Some(p) = pattern.as_ref().filter(|p| !p.matches(s)) {
        out.push(format!(
            "Member must satisfy regular expression pattern: {}",
            p.source
        ));
    }
    // Lengths count Unicode code points; the byte length bounds them from above.
    let needs_count = len.max.is_some_and(|m| s.len() as i64 > m)
        || len.min.is_some_and(|m| (s.len() as i64) < 4 * m);
    if needs_count {
        let chars = s.chars().count() as i64;
        if let Some(min) = len.min.filter(|m| chars < *m) {
            out.push(min_len(min));
        }
        if let Some(max) = len.max.filter(|m| chars > *m) {
            out.push(max_len(max));
        }
    }
    if let Some(values) = enums.as_ref().filter(|e| !e.iter().any(|x| x == s)) {
        out.push(enum_text(values));
    }
    out
}

/// The failed length constraints of a blob shape's value of `len` decoded bytes.
pub(crate) fn blob_failures(shape: &Shape, len: usize) -> Vec<String> {
    let mut out = Vec::new();
    let Kind::Blob(range) = &shape.kind else {
        return out;
    };
    let n = len as i64;
    if let Some(min) = range.min.filter(|m| n < *m) {
        out.push(min_len(min));
    }
    if let Some(max) = range.max.filter(|m| n > *m) {
        out.push(max_len(max));
    }
    out
}

/// All constraints of a scalar shape, as listed inside Coral's `[...]` for collection elements
/// (maximum length before minimum, as kinesalite records it).
fn constraint_list(shape: &Shape) -> String {
    let mut parts = Vec::new();
    match &shape.kind {
        Kind::String {
            len,
            pattern,
            enums,
        } => {
            parts.extend(len.max.map(max_len));
            parts.extend(len.min.map(min_len));
            parts.extend(pattern.as_ref().map(|p| {
                format!(
                    "Member must satisfy regular expression pattern: {}",
                    p.source
                )
            }));
            parts.extend(enums.as_deref().map(enum_text));
        }
        Kind::Blob(r) => {
            parts.extend(r.max.map(max_len));
            parts.extend(r.min.map(min_len));
        }
        Kind::Integer(r) | Kind::Long(r) => {
            parts.extend(
                r.max
                    .map(|m| format!("Member must have value less than or equal to {m}")),
            );
            parts.extend(
                r.min
                    .map(|m| format!("Member must have value greater than or equal to {m}")),
            );
        }
        _ => {}
    }
    parts.join(", ")
}

/// How Coral prints a value in a validation message (Java `toString` of the bound object).
fn render(shape: &Shape, value: &Value) -> String {
    match (&shape.kind, value) {
        (Kind::Blob(_), Value::String(s)) => {
            let n = base64_decoded_len(s);
            format!("java.nio.HeapByteBuffer[pos=0 lim={n} cap={n}]")
        }
        (Kind::List { member, .. }, Value::Array(items)) => {
            let elem = MODEL.shape(*member);
            let parts: Vec<String> = items.iter().map(|i| render(elem, i)).collect();
            format!("[{}]", parts.join(", "))
        }
        (Kind::Map { value: v, .. }, Value::Object(map)) => {
            let vshape = MODEL.shape(*v);
            let parts: Vec<String> = map
                .iter()
                .map(|(k, x)| format!("{k}={}", render(vshape, x)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        (Kind::Structure(_), v) => {
            // Java's default `Object.toString`: class name and identity hash. The hash cannot be
            // reproduced; a hash of the content keeps messages deterministic.
            format!(
                "com.amazonaws.kinesis.v20131202.{}@{:x}",
                shape.name,
                fnv1a(v.to_string().as_bytes())
            )
        }
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}
