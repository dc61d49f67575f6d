//! Shard identifiers: `shardId-` and a 12-digit zero-padded index, assigned per stream in order.

use std::fmt;

/// The index part of a shard id; the textual form is [`ShardId`]'s `Display`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardId(pub u32);

/// The id of the shard with this index, e.g. `shardId-000000000007`.
pub fn shard_id(index: u32) -> String {
    // `shardId-` and twelve digits, written directly: every put reply carries one.
    let mut text = *b"shardId-000000000000";
    let mut rest = index;
    for at in (8..text.len()).rev() {
        text[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    std::str::from_utf8(&text)
        .map(str::to_owned)
        .unwrap_or_default()
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shardId-{:012}", self.0)
    }
}

impl ShardId {
    /// Parses `shardId-000000000001`, and, as kinesalite and AWS tolerate, `shardId-1` and `1`.
    pub fn parse(text: &str) -> Option<ShardId> {
        let digits = text.strip_prefix("shardId-").unwrap_or(text);
        if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .map(ShardId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(shard_id(0), "shardId-000000000000");
        assert_eq!(shard_id(12), "shardId-000000000012");
        assert_eq!(shard_id(u32::MAX), format!("shardId-{:012}", u32::MAX));
        assert_eq!(ShardId::parse("shardId-000000000012"), Some(ShardId(12)));
        assert_eq!(ShardId::parse("shardId-3"), Some(ShardId(3)));
        assert_eq!(ShardId::parse("3"), Some(ShardId(3)));
        assert_eq!(ShardId::parse("shardId-"), None);
        assert_eq!(ShardId::parse("shard-1"), None);
        assert_eq!(ShardId::parse("99999999999"), None);
    }
}
