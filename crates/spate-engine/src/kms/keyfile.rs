//! The key file: local stand-ins for KMS keys, in TOML (documented in docs/operations.md).
//!
//! ```toml
//! [[keys]]
//! id = "1234abcd-12ab-34cd-56ef-1234567890ab"   # the key's UUID
//! aliases = ["alias/orders"]                   # optional
//! material = "<base64 of 32 random bytes>"
//! state = "Enabled"                            # optional: Enabled, Disabled, PendingDeletion
//! account = "123456789012"                     # optional: only this account may use it
//! ```

use base64::Engine as _;
use serde::Deserialize;
use uuid::Uuid;

use super::cipher::KEY_LEN;

/// What a key may be used for, as KMS's key states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
pub enum KeyState {
    #[default]
    Enabled,
    Disabled,
    PendingDeletion,
}

/// One key as the file describes it.
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub id: Uuid,
    pub aliases: Vec<String>,
    pub material: [u8; KEY_LEN],
    pub state: KeyState,
    pub account: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    keys: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    material: String,
    #[serde(default)]
    state: KeyState,
    account: Option<String>,
}

/// Most keys a file may hold: the ring is searched linearly, and a real deployment has few.
const MAX_KEYS: usize = 10_000;

/// Parses a key file. Errors say which key was wrong and why, never its material.
pub fn parse_key_file(text: &str) -> Result<Vec<KeySpec>, String> {
    // The message and position only: toml's Display quotes the offending line, which may
    // hold key material.
    let file: File = toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => format!("{} (at byte {})", e.message(), span.start),
        None => e.message().to_owned(),
    })?;
    if file.keys.len() > MAX_KEYS {
        return Err(format!("more than {MAX_KEYS} keys"));
    }
    let mut specs: Vec<KeySpec> = Vec::with_capacity(file.keys.len());
    for (n, entry) in file.keys.into_iter().enumerate() {
        let at = format!("keys[{n}] (id {:?})", entry.id);
        let id = Uuid::try_parse(&entry.id).map_err(|_| {
            format!("{at}: id must be a UUID like 1234abcd-12ab-34cd-56ef-1234567890ab")
        })?;
        let material = base64::engine::general_purpose::STANDARD
            .decode(entry.material.trim())
            .ok()
            .and_then(|bytes| <[u8; KEY_LEN]>::try_from(bytes).ok())
            .ok_or_else(|| format!("{at}: material must be {KEY_LEN} bytes in base64"))?;
        for alias in &entry.aliases {
            check_alias(alias).map_err(|why| format!("{at}: alias {alias:?} {why}"))?;
        }
        if let Some(account) = &entry.account
            && (account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!("{at}: account must be 12 digits"));
        }
        for other in &specs {
            if other.id == id {
                return Err(format!("{at}: id appears twice"));
            }
            if let Some(alias) = entry.aliases.iter().find(|a| other.aliases.contains(a)) {
                return Err(format!("{at}: alias {alias} is also key {}'s", other.id));
            }
        }
        specs.push(KeySpec {
            id,
            aliases: entry.aliases,
            material,
            state: entry.state,
            account: entry.account,
        });
    }
    Ok(specs)
}

/// KMS's alias rules: `alias/` then 1–250 of `[a-zA-Z0-9/_-]`; `alias/aws/` is AWS's own,
/// and only `alias/aws/kinesis` (which the file may pin to a key of its own) is allowed.
fn check_alias(alias: &str) -> Result<(), &'static str> {
    let Some(name) = alias.strip_prefix("alias/") else {
        return Err("must start with alias/");
    };
    if name.is_empty()
        || name.len() > 250
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
    {
        return Err("must be alias/ followed by 1 to 250 of a-z, A-Z, 0-9, /, _ and -");
    }
    if name.starts_with("aws/") && alias != super::DEFAULT_ALIAS {
        return Err("is reserved for AWS");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MATERIAL: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    #[test]
    fn parses_every_field_and_defaults() {
        let text = format!(
            r#"
            [[keys]]
            id = "1234abcd-12ab-34cd-56ef-1234567890ab"
            aliases = ["alias/orders", "alias/aws/kinesis"]
            material = "{MATERIAL}"
            state = "Disabled"
            account = "123456789012"

            [[keys]]
            id = "00000000-0000-4000-8000-000000000001"
            material = "{MATERIAL}"
            "#
        );
        let keys = parse_key_file(&text).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].aliases, ["alias/orders", "alias/aws/kinesis"]);
        assert_eq!(keys[0].state, KeyState::Disabled);
        assert_eq!(keys[0].account.as_deref(), Some("123456789012"));
        assert_eq!(keys[0].material, [1; KEY_LEN]);
        assert_eq!(keys[1].state, KeyState::Enabled);
        assert!(keys[1].aliases.is_empty() && keys[1].account.is_none());
        assert!(parse_key_file("").unwrap().is_empty());
    }

    #[test]
    fn refuses_bad_keys_without_echoing_material() {
        let key = |extra: &str| {
            format!(
                "[[keys]]\nid = \"1234abcd-12ab-34cd-56ef-1234567890ab\"\nmaterial = \"{MATERIAL}\"\n{extra}"
            )
        };
        for (text, why) in [
            (key("aliases = [\"orders\"]"), "must start with alias/"),
            (key("aliases = [\"alias/aws/s3\"]"), "reserved"),
            (key("aliases = [\"alias/a b\"]"), "followed by"),
            (key("state = \"Gone\""), "unknown variant"),
            (key("account = \"12\""), "12 digits"),
            (key("colour = \"red\""), "unknown field"),
            (key("").replace("1234abcd-12ab", "nope"), "UUID"),
            (key("").replace(MATERIAL, "c2hvcnQ="), "32 bytes"),
            (format!("{}\n{}", key(""), key("")), "twice"),
        ] {
            let error = parse_key_file(&text).unwrap_err();
            assert!(error.contains(why), "{error} lacks {why}");
            assert!(!error.contains(MATERIAL), "{error}");
        }
    }
}
