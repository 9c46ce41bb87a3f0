//! `[secrets]`: extra key-encryption keys for connected accounts' tokens, for rotation.

use super::{ConfigError, SecretText};
use serde::{Deserialize, Serialize};

/// Additional key-encryption keys for the tokens of connected accounts, beside the key derived
/// from the installation secret. Used to rotate: add a key, make it the sealing key, run
/// `nanopost admin rotate-keys`, then remove the old key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Secrets {
    /// The key that seals new tokens (and that rotation moves every token to); default: the
    /// key derived from the installation secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealing_key_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub token_keys: Vec<TokenKey>,
}

/// One configured key: an id and either a file holding the key or the key itself (32 bytes as
/// base64). The file form keeps the key out of the configuration file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenKey {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<SecretText>,
}

impl Secrets {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.keys().map(|_| ())
    }

    /// The configured keys, read and checked: ids well-formed and unique, exactly one of
    /// `key_file` and `key`, 32 bytes of base64, and a sealing key that is among them.
    pub fn keys(&self) -> Result<Vec<(String, [u8; 32])>, ConfigError> {
        let mut keys: Vec<(String, [u8; 32])> = Vec::new();
        for (i, k) in self.token_keys.iter().enumerate() {
            let at = format!("secrets.token_keys[{i}]");
            if k.id.is_empty()
                || k.id.len() > 64
                || !k.id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(ConfigError::new(
                    format!("{at}.id"),
                    format!("{:?} must be 1 to 64 letters, digits, '-', '_' or '.'", k.id),
                ));
            }
            if k.id.starts_with("local-") {
                return Err(ConfigError::new(
                    format!("{at}.id"),
                    format!("{:?} must not start with \"local-\" (reserved for the installation key)", k.id),
                ));
            }
            if keys.iter().any(|(id, _)| *id == k.id) {
                return Err(ConfigError::new(format!("{at}.id"), format!("{:?} is configured twice", k.id)));
            }
            let text = match (&k.key_file, &k.key) {
                (Some(path), None) => std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::new(format!("{at}.key_file"), format!("cannot read {path:?}: {e}")))?,
                (None, Some(key)) => key.expose().to_owned(),
                _ => {
                    return Err(ConfigError::new(at, format!("key {:?} needs exactly one of key_file and key", k.id)));
                }
            };
            let field = if k.key_file.is_some() { "key_file" } else { "key" };
            let key = nanopost_platforms::custody::parse_key(&text).map_err(|_| {
                ConfigError::new(
                    format!("{at}.{field}"),
                    format!(
                        "key {:?} must be 32 random bytes written as base64 (e.g. from `openssl rand -base64 32`)",
                        k.id
                    ),
                )
            })?;
            keys.push((k.id.clone(), key));
        }
        if let Some(id) = &self.sealing_key_id
            && !keys.iter().any(|(k, _)| k == id)
        {
            return Err(ConfigError::new(
                "secrets.sealing_key_id",
                format!("{id:?} is not the id of any entry in secrets.token_keys"),
            ));
        }
        Ok(keys)
    }
}
