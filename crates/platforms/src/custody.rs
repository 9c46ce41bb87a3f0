//! Token custody: envelope encryption of access and refresh tokens at rest.
//!
//! Each account row gets its own random 256-bit data key. The tokens are sealed under it with
//! XChaCha20-Poly1305 (24-byte random nonces, so random nonces are safe), and the data key is
//! itself sealed ("wrapped") under a key-encryption key (KEK) named by a key id. The associated
//! data of every seal is `workspace_id ‖ account_id ‖ purpose`, so a ciphertext copied into
//! another row, another workspace or the other token slot fails to open.
//!
//! KEKs come from the installation secret (derived, never used directly) plus any additional
//! keys from configuration. New seals use the current KEK; rotation re-seals every row under it,
//! after which the old KEK can be dropped from configuration.

use crate::secret::Secret;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hmac::Mac;
use nanopost_domain::ids::WorkspaceId;
use nanopost_storage::{ConnectedAccountId, SealedSecret, SealedTokens};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroize;

const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// Why tokens could not be opened or a key ring built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustodyError {
    /// The row names a key this installation does not hold (dropped too early after rotation).
    #[error("the tokens are sealed with key {0:?}, which is not configured")]
    UnknownKey(String),
    /// Wrong key, wrong row, or altered bytes: authentication failed.
    #[error("the stored tokens do not open (wrong key, moved between rows, or altered)")]
    Tampered,
    #[error("key configuration: {0}")]
    Config(String),
}

/// What a seal is bound to (its associated data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowContext {
    pub workspace_id: WorkspaceId,
    pub account_id: ConnectedAccountId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    DataKey,
    AccessToken,
    RefreshToken,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::DataKey => b"data_key",
            Purpose::AccessToken => b"access_token",
            Purpose::RefreshToken => b"refresh_token",
        }
    }
}

impl RowContext {
    /// `workspace_id (16 bytes) ‖ account_id (16 bytes) ‖ purpose`: fixed-width ids, so the
    /// concatenation is unambiguous.
    fn aad(&self, purpose: Purpose) -> Vec<u8> {
        let mut aad = Vec::with_capacity(48);
        aad.extend_from_slice(self.workspace_id.as_uuid().as_bytes());
        aad.extend_from_slice(self.account_id.as_uuid().as_bytes());
        aad.extend_from_slice(purpose.label());
        aad
    }
}

/// A 256-bit key that wipes itself and never prints.
#[derive(Clone)]
struct Key([u8; KEY_LEN]);

impl Drop for Key {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Key {
    fn random() -> Self {
        let mut k = [0u8; KEY_LEN];
        getrandom::fill(&mut k).expect("the operating system has no random source");
        Self(k)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new_from_slice(&self.0).expect("32-byte key")
    }

    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> SealedSecret {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the operating system has no random source");
        let ciphertext = self
            .cipher()
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad })
            .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
        SealedSecret { nonce: nonce.to_vec(), ciphertext }
    }

    fn open(&self, aad: &[u8], sealed: &SealedSecret) -> Result<Vec<u8>, CustodyError> {
        let nonce: [u8; NONCE_LEN] = sealed.nonce.as_slice().try_into().map_err(|_| CustodyError::Tampered)?;
        self.cipher()
            .decrypt(&XNonce::from(nonce), Payload { msg: &sealed.ciphertext, aad })
            .map_err(|_| CustodyError::Tampered)
    }
}

/// The key-encryption keys this installation holds, and which one seals new tokens.
#[derive(Clone)]
pub struct KeyRing {
    current: String,
    keys: Vec<(String, Key)>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("KeyRing").field("current", &self.current).field("key_ids", &ids).finish()
    }
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// A key derived from the installation secret for one use, so the secret itself never meets
/// the cipher (and signing keys never double as encryption keys).
pub fn derive_key(installation_secret: &[u8; KEY_LEN], label: &str) -> [u8; KEY_LEN] {
    let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(installation_secret).expect("HMAC takes any key");
    mac.update(b"nanopost key derivation\0");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

/// A public name for a key: a short fingerprint, which says nothing about the key itself.
fn fingerprint(key: &[u8; KEY_LEN]) -> String {
    let digest = Sha256::new().chain_update(b"nanopost key id\0").chain_update(key).finalize();
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("local-{hex}")
}

impl KeyRing {
    /// The ring with one key, derived from the installation secret; it seals new tokens.
    pub fn from_installation_secret(secret: &[u8; KEY_LEN]) -> Self {
        let kek = derive_key(secret, "token-kek/v1");
        let id = fingerprint(&kek);
        Self { current: id.clone(), keys: vec![(id, Key(kek))] }
    }

    /// Adds a configured key (for rotation). Ids are unique and at most 64 printable characters.
    pub fn with_key(mut self, id: &str, key: [u8; KEY_LEN]) -> Result<Self, CustodyError> {
        if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(CustodyError::Config(format!(
                "key id {id:?} must be 1 to 64 letters, digits, '-', '_' or '.'"
            )));
        }
        if self.keys.iter().any(|(k, _)| k == id) {
            return Err(CustodyError::Config(format!("key id {id:?} is configured twice")));
        }
        self.keys.push((id.to_owned(), Key(key)));
        Ok(self)
    }

    /// Chooses the key that seals new tokens (and that rotation moves every row to).
    pub fn sealing_with(mut self, id: &str) -> Result<Self, CustodyError> {
        if !self.keys.iter().any(|(k, _)| k == id) {
            return Err(CustodyError::Config(format!("the current key {id:?} is not among the configured keys")));
        }
        self.current = id.to_owned();
        Ok(self)
    }

    /// Drops a key (after rotation moved every row off it).
    pub fn without_key(mut self, id: &str) -> Result<Self, CustodyError> {
        if id == self.current {
            return Err(CustodyError::Config(format!("key {id:?} still seals new tokens")));
        }
        self.keys.retain(|(k, _)| k != id);
        Ok(self)
    }

    pub fn current_key_id(&self) -> &str {
        &self.current
    }

    fn key(&self, id: &str) -> Result<&Key, CustodyError> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, key)| key).ok_or_else(|| CustodyError::UnknownKey(id.into()))
    }

    /// Seals the tokens of one row under a fresh data key wrapped by the current KEK.
    pub fn seal(&self, row: RowContext, tokens: &PlainTokens) -> SealedTokens {
        let kek = self.key(&self.current).expect("the current key is always in the ring");
        let data_key = Key::random();
        let wrapped = kek.seal(&row.aad(Purpose::DataKey), &data_key.0);
        let mut wrapped_key = wrapped.nonce;
        wrapped_key.extend_from_slice(&wrapped.ciphertext);
        SealedTokens {
            key_id: self.current.clone(),
            wrapped_key,
            access: data_key.seal(&row.aad(Purpose::AccessToken), tokens.access.expose().as_bytes()),
            refresh: tokens
                .refresh
                .as_ref()
                .map(|r| data_key.seal(&row.aad(Purpose::RefreshToken), r.expose().as_bytes())),
        }
    }

    /// Opens the tokens of one row. Fails if the row, key or bytes are not the ones sealed.
    pub fn open(&self, row: RowContext, sealed: &SealedTokens) -> Result<PlainTokens, CustodyError> {
        let kek = self.key(&sealed.key_id)?;
        if sealed.wrapped_key.len() <= NONCE_LEN {
            return Err(CustodyError::Tampered);
        }
        let (nonce, ciphertext) = sealed.wrapped_key.split_at(NONCE_LEN);
        let wrapped = SealedSecret { nonce: nonce.to_vec(), ciphertext: ciphertext.to_vec() };
        let mut raw = kek.open(&row.aad(Purpose::DataKey), &wrapped)?;
        let data_key = Key(raw.as_slice().try_into().map_err(|_| CustodyError::Tampered)?);
        raw.zeroize();
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).map(Secret::new).map_err(|_| CustodyError::Tampered);
        let access = text(data_key.open(&row.aad(Purpose::AccessToken), &sealed.access)?)?;
        let refresh = match &sealed.refresh {
            Some(r) => Some(text(data_key.open(&row.aad(Purpose::RefreshToken), r)?)?),
            None => None,
        };
        Ok(PlainTokens { access, refresh })
    }

    /// Opens with whatever key sealed the row and seals again under the current key.
    pub fn reseal(&self, row: RowContext, sealed: &SealedTokens) -> Result<SealedTokens, CustodyError> {
        Ok(self.seal(row, &self.open(row, sealed)?))
    }
}

/// Tokens in the clear, only in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainTokens {
    pub access: Secret,
    pub refresh: Option<Secret>,
}

/// Reads a configured key: 32 bytes as standard or URL-safe base64.
pub fn parse_key(text: &str) -> Result<[u8; KEY_LEN], CustodyError> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let t = text.trim();
    let bytes = STANDARD
        .decode(t)
        .or_else(|_| URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')))
        .map_err(|_| CustodyError::Config("a token key must be base64".into()))?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| CustodyError::Config(format!("a token key must be 32 bytes, not {}", bytes.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> RowContext {
        RowContext { workspace_id: WorkspaceId::new(), account_id: ConnectedAccountId::new() }
    }

    fn tokens() -> PlainTokens {
        PlainTokens { access: Secret::new("access-AAAA"), refresh: Some(Secret::new("refresh-RRRR")) }
    }

    #[test]
    fn seals_and_opens_with_fresh_nonces_and_keys() {
        let ring = KeyRing::from_installation_secret(&[7; 32]);
        let r = row();
        let a = ring.seal(r, &tokens());
        let b = ring.seal(r, &tokens());
        assert_ne!(a.wrapped_key, b.wrapped_key);
        assert_ne!(a.access.ciphertext, b.access.ciphertext);
        assert_eq!(ring.open(r, &a).unwrap(), tokens());
        assert!(!a.access.ciphertext.windows(11).any(|w| w == b"access-AAAA"));
        assert!(ring.current_key_id().starts_with("local-"));
        // The id is stable for the same secret and differs for another.
        assert_eq!(KeyRing::from_installation_secret(&[7; 32]).current_key_id(), ring.current_key_id());
        assert_ne!(KeyRing::from_installation_secret(&[8; 32]).current_key_id(), ring.current_key_id());
    }

    #[test]
    fn ciphertext_cannot_move_between_rows_workspaces_or_slots() {
        let ring = KeyRing::from_installation_secret(&[7; 32]);
        let r = row();
        let sealed = ring.seal(r, &tokens());
        let other_account = RowContext { account_id: ConnectedAccountId::new(), ..r };
        let other_ws = RowContext { workspace_id: WorkspaceId::new(), ..r };
        assert_eq!(ring.open(other_account, &sealed), Err(CustodyError::Tampered));
        assert_eq!(ring.open(other_ws, &sealed), Err(CustodyError::Tampered));
        let mut swapped = sealed.clone();
        swapped.refresh = Some(sealed.access.clone());
        swapped.access = sealed.refresh.clone().unwrap();
        assert_eq!(ring.open(r, &swapped), Err(CustodyError::Tampered));
        let mut flipped = sealed.clone();
        flipped.access.ciphertext[0] ^= 1;
        assert_eq!(ring.open(r, &flipped), Err(CustodyError::Tampered));
        let mut short = sealed;
        short.wrapped_key.truncate(10);
        assert_eq!(ring.open(r, &short), Err(CustodyError::Tampered));
    }

    #[test]
    fn rotation_moves_rows_to_the_new_key_and_the_old_key_can_go() {
        let old = KeyRing::from_installation_secret(&[1; 32]);
        let old_id = old.current_key_id().to_owned();
        let r = row();
        let sealed = old.seal(r, &tokens());
        let ring = old.with_key("2027-01", [9; 32]).unwrap().sealing_with("2027-01").unwrap();
        assert_eq!(ring.open(r, &sealed).unwrap(), tokens(), "old rows still open during rotation");
        let moved = ring.reseal(r, &sealed).unwrap();
        assert_eq!(moved.key_id, "2027-01");
        let after = ring.without_key(&old_id).unwrap();
        assert_eq!(after.open(r, &moved).unwrap(), tokens());
        assert_eq!(after.open(r, &sealed), Err(CustodyError::UnknownKey(old_id)));
    }

    #[test]
    fn key_configuration_is_checked() {
        let ring = KeyRing::from_installation_secret(&[1; 32]);
        assert!(ring.clone().with_key("bad id!", [0; 32]).is_err());
        assert!(ring.clone().with_key("a", [0; 32]).unwrap().with_key("a", [1; 32]).is_err());
        assert!(ring.clone().sealing_with("missing").is_err());
        let id = ring.current_key_id().to_owned();
        assert!(ring.clone().without_key(&id).is_err());
        assert!(!format!("{ring:?}").contains("[1,"));
        assert_eq!(parse_key(&"A".repeat(43)).map(|k| k.len()), Ok(32));
        assert!(parse_key("short").is_err());
    }
}
