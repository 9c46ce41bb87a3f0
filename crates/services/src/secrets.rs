//! Random tokens and their hashes, passwords and their Argon2id hashes.

use crate::config::{Argon2Params, SecretKey};
use crate::error::ServiceError;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use nanopost_storage::TokenHash;
use sha2::{Digest, Sha256};
use std::fmt;

/// A secret handed to a person once (cookie value, e-mailed link, API token). Only its
/// [`TokenHash`] is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// 256 random bits, URL-safe.
    pub fn generate() -> Self {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).expect("the operating system has no random source");
        Self(URL_SAFE_NO_PAD.encode(b))
    }

    /// API tokens carry a recognisable prefix so leaked ones can be found by secret scanners.
    pub fn generate_api() -> Self {
        Self(format!("np_{}", Self::generate().0))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        hash_token(&self.0)
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

/// The stored form of a token someone presents.
pub fn hash_token(presented: &str) -> TokenHash {
    TokenHash(Sha256::digest(presented.as_bytes()).into())
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// A keyed tag over `data`, bound to `purpose`, under the installation secret.
pub fn sign(key: &SecretKey, purpose: &str, data: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key.expose()).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.update(&[0]);
    mac.update(data);
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Constant-time check of a tag made by [`sign`].
pub fn verify(key: &SecretKey, purpose: &str, data: &[u8], tag: &str) -> bool {
    let Ok(raw) = URL_SAFE_NO_PAD.decode(tag) else { return false };
    let mut mac = HmacSha256::new_from_slice(key.expose()).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.update(&[0]);
    mac.update(data);
    mac.verify_slice(&raw).is_ok()
}

/// Argon2id with the configured cost.
#[derive(Clone)]
pub struct PasswordHashing {
    params: Params,
}

impl PasswordHashing {
    pub fn new(p: Argon2Params) -> Result<Self, ServiceError> {
        let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
            .map_err(|e| ServiceError::Internal(format!("argon2 parameters rejected: {e}")))?;
        Ok(Self { params })
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// The PHC string of `password` with a fresh salt. CPU-heavy: call off the async runtime.
    pub fn hash(&self, password: &str) -> Result<String, ServiceError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
        self.argon()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))
    }

    /// Whether `password` matches `phc`. The cost is read from the stored string, so raising
    /// the configured cost does not lock anyone out.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        self.argon().verify_password(password.as_bytes(), phc).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let a = SecretToken::generate();
        let b = SecretToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.hash(), hash_token(a.expose()));
        assert!(!format!("{a:?}").contains(a.expose()));
        assert!(SecretToken::generate_api().expose().starts_with("np_"));
    }

    #[test]
    fn signatures_verify_only_for_the_same_key_purpose_and_data() {
        let k = SecretKey::generate();
        let tag = sign(&k, "csrf", b"abc");
        assert!(verify(&k, "csrf", b"abc", &tag));
        assert!(!verify(&k, "other", b"abc", &tag));
        assert!(!verify(&k, "csrf", b"abd", &tag));
        assert!(!verify(&SecretKey::generate(), "csrf", b"abc", &tag));
        assert!(!verify(&k, "csrf", b"abc", "not base64!"));
    }

    #[test]
    fn passwords_hash_with_argon2id() {
        let h = PasswordHashing::new(Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 }).unwrap();
        let phc = h.hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"));
        assert!(h.verify("correct horse battery", &phc));
        assert!(!h.verify("wrong horse battery", &phc));
        assert!(!h.verify("x", "not a hash"));
    }
}
