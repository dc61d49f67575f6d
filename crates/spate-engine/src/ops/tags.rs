//! The tag rules every tagging operation shares.

use std::collections::BTreeMap;

use spate_meta::StreamRecord;
use spate_types::limits::MAX_TAGS_PER_STREAM;

use crate::error::{ApiError, ApiResult};

fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_./=+-@%".contains(c)
}

/// Tag keys and values may hold Unicode letters, digits, white space and `_ . / = + - @`.
pub(crate) fn check_tag_text<'a>(texts: impl IntoIterator<Item = &'a str>) -> ApiResult<()> {
    let texts: Vec<&str> = texts.into_iter().collect();
    if texts.iter().any(|t| !t.chars().all(allowed)) {
        return Err(ApiError::invalid_argument(
            "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.",
        ));
    }
    Ok(())
}

pub(crate) fn check_tags(tags: &BTreeMap<String, String>) -> ApiResult<()> {
    check_tag_text(tags.keys().chain(tags.values()).map(String::as_str))?;
    if tags.len() > MAX_TAGS_PER_STREAM {
        return Err(ApiError::invalid_argument(format!(
            "A stream cannot have more than {MAX_TAGS_PER_STREAM} tags associated with it."
        )));
    }
    Ok(())
}

/// Adds (or overwrites) tags, keeping the stream within its tag limit.
pub(crate) fn add_tags(record: &mut StreamRecord, tags: BTreeMap<String, String>) -> ApiResult<()> {
    let resource = format!("stream {} under account {}", record.name, record.account);
    add_tags_to(&mut record.tags, tags, "stream", &resource)
}

/// Adds (or overwrites) tags of any taggable resource: `kind` is `stream` or `consumer`,
/// `resource` names it in messages.
pub(crate) fn add_tags_to(
    existing: &mut BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    kind: &str,
    resource: &str,
) -> ApiResult<()> {
    check_tag_text(tags.keys().chain(tags.values()).map(String::as_str))?;
    if tags.keys().chain(tags.values()).any(|t| t.contains('%')) {
        return Err(ApiError::invalid_argument(format!(
            "Failed to add tags to {resource} because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'."
        )));
    }
    let total = existing
        .keys()
        .chain(tags.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if total > MAX_TAGS_PER_STREAM {
        return Err(ApiError::invalid_argument(format!(
            "Failed to add tags to {resource} because a given {kind} cannot have more than {MAX_TAGS_PER_STREAM} tags associated with it."
        )));
    }
    existing.extend(tags);
    Ok(())
}

pub(crate) fn remove_tags(record: &mut StreamRecord, keys: &[String]) -> ApiResult<()> {
    remove_tags_from(&mut record.tags, keys)
}

pub(crate) fn remove_tags_from(
    existing: &mut BTreeMap<String, String>,
    keys: &[String],
) -> ApiResult<()> {
    check_tag_text(keys.iter().map(String::as_str))?;
    for key in keys {
        existing.remove(key);
    }
    Ok(())
}
