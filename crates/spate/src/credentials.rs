//! The `--credentials` file: the access keys `--auth sigv4` accepts, the account each acts
//! for, and optionally the IAM user it is and the identity-based policies that govern it.
//!
//! ```toml
//! [[credentials]]
//! access_key_id = "AKIDWRITER"
//! secret_access_key = "..."
//! account_id = "111122223333"
//! user = "writer"            # optional: arn:aws:iam::111122223333:user/writer
//! policies = ['''            # optional: none at all makes the key its account's administrator
//! {"Version": "2012-10-17",
//!  "Statement": [{"Effect": "Allow", "Action": "kinesis:PutRecord*", "Resource": "*"}]}
//! ''']
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;
use spate_auth::{Credential, Policy, PolicyKind, Principal};

/// One `[[credentials]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialEntry {
    access_key_id: String,
    secret_access_key: String,
    account_id: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    policies: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    credentials: Vec<CredentialEntry>,
}

/// What the file gives `--auth sigv4`: each key's secret and account, and whom it acts as.
pub struct Credentials {
    pub secrets: HashMap<String, Credential>,
    pub principals: HashMap<String, Arc<Principal>>,
}

/// IAM's rule for user names: 1 to 64 of letters, digits and `+=,.@_-`.
fn is_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// Reads the credentials file. Errors name the entry by access key and never quote a secret.
pub fn load(path: &Path) -> anyhow::Result<Credentials> {
    let file: CredentialsFile = Figment::from(Toml::file_exact(path))
        .extract()
        .with_context(|| format!("reading credentials from {}", path.display()))?;
    let mut credentials = Credentials {
        secrets: HashMap::new(),
        principals: HashMap::new(),
    };
    for entry in file.credentials {
        let key = &entry.access_key_id;
        if entry.account_id.len() != 12 || !entry.account_id.bytes().all(|b| b.is_ascii_digit()) {
            bail!("credentials for {key}: account_id must be 12 digits");
        }
        let policies = entry
            .policies
            .iter()
            .enumerate()
            .map(|(i, text)| {
                Policy::parse(text, PolicyKind::Identity)
                    .with_context(|| format!("credentials for {key}: policy {}", i + 1))
            })
            .collect::<anyhow::Result<Vec<Policy>>>()?;
        let principal = match &entry.user {
            Some(name) if !is_user_name(name) => {
                bail!("credentials for {key}: user must be 1 to 64 of A-Z a-z 0-9 +=,.@_-")
            }
            Some(name) => Principal::user(&entry.account_id, name, policies),
            None => Principal {
                policies,
                ..Principal::root(&entry.account_id)
            },
        };
        let credential = Credential {
            secret_access_key: entry.secret_access_key,
            account_id: entry.account_id,
        };
        if credentials
            .secrets
            .insert(key.clone(), credential)
            .is_some()
        {
            bail!("access key {key} is listed twice in {}", path.display());
        }
        credentials
            .principals
            .insert(key.clone(), Arc::new(principal));
    }
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> anyhow::Result<Credentials> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("credentials.toml");
        std::fs::write(&path, text)?;
        load(&path)
    }

    #[test]
    fn reads_users_and_policies() {
        let credentials = load_text(
            r#"
[[credentials]]
access_key_id = "AKIDADMIN"
secret_access_key = "s1"
account_id = "111122223333"

[[credentials]]
access_key_id = "AKIDWRITER"
secret_access_key = "s2"
account_id = "111122223333"
user = "writer"
policies = ['''
{"Version": "2012-10-17",
 "Statement": [{"Effect": "Deny", "Action": "kinesis:PutRecord", "Resource": "*"}]}
''']
"#,
        )
        .expect("loads");
        let admin = &credentials.principals["AKIDADMIN"];
        assert_eq!(admin.arn, "arn:aws:iam::111122223333:root");
        assert!(admin.policies.is_empty());
        let writer = &credentials.principals["AKIDWRITER"];
        assert_eq!(writer.arn, "arn:aws:iam::111122223333:user/writer");
        assert_eq!(writer.policies.len(), 1);
        assert_eq!(credentials.secrets["AKIDWRITER"].secret_access_key, "s2");
    }

    #[test]
    fn refuses_bad_entries_naming_the_key() {
        let entry = |extra: &str| {
            format!(
                "[[credentials]]\naccess_key_id = \"AKIDX\"\nsecret_access_key = \"hush\"\naccount_id = \"111122223333\"\n{extra}\n"
            )
        };
        for (extra, expected) in [
            ("user = \"no spaces\"", "user must be"),
            ("policies = ['not json']", "policy 1"),
            (
                r#"policies = ['{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}']"#,
                "policy 1",
            ),
            ("role = \"x\"", "unknown field"),
        ] {
            let error = format!("{:#}", load_text(&entry(extra)).err().expect("refused"));
            assert!(error.contains(expected), "{extra}: {error}");
            assert!(!error.contains("hush"), "{error}");
        }
    }
}
