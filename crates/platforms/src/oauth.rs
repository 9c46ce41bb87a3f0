//! The network-independent parts of OAuth: state values, PKCE, callbacks, token grants.

use crate::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use jiff::Timestamp;
use nanopost_storage::TokenHash;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The `state` of one authorization: 256 random bits. Only its hash is stored (server side);
/// the value itself travels through the browser and comes back on the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateValue(Secret);

impl StateValue {
    pub fn generate() -> Self {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).expect("the operating system has no random source");
        Self(Secret::new(URL_SAFE_NO_PAD.encode(b)))
    }

    /// What came back on the callback.
    pub fn presented(value: &str) -> Self {
        Self(Secret::new(value))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.expose().as_bytes()).into())
    }
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// The PKCE verifier of an authorization, derived from its state and a server key, so that it
/// need not be stored at all: whoever sees the callback URL (and so the state) still cannot
/// compute it. 43 URL-safe characters, as RFC 7636 requires.
pub fn pkce_verifier(pkce_key: &[u8; 32], state: &StateValue) -> Secret {
    let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(pkce_key).expect("HMAC takes any key");
    mac.update(b"pkce\0");
    mac.update(state.expose().as_bytes());
    Secret::new(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// `code_challenge` for `code_challenge_method=S256`.
pub fn pkce_challenge(verifier: &Secret) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()))
}

/// What the network sent the browser back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    Code {
        state: StateValue,
        code: Secret,
    },
    /// The user refused consent (or the network refused the request).
    Refused {
        state: Option<StateValue>,
        error: String,
        description: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("the callback has no state value; start the connection again")]
    MissingState,
    #[error("the callback has neither a code nor an error")]
    MissingCode,
}

/// Reads the callback's query parameters. Meta appends `#_` to the code; it is not part of it.
pub fn parse_callback(params: &BTreeMap<String, String>) -> Result<Callback, CallbackError> {
    let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let state = get("state").map(StateValue::presented);
    if let Some(error) = get("error") {
        let description = get("error_description").or_else(|| get("error_reason")).unwrap_or(error);
        return Ok(Callback::Refused { state, error: error.to_owned(), description: description.to_owned() });
    }
    let state = state.ok_or(CallbackError::MissingState)?;
    let code = get("code").ok_or(CallbackError::MissingCode)?;
    let code = code.strip_suffix("#_").unwrap_or(code);
    Ok(Callback::Code { state, code: Secret::new(code) })
}

/// Tokens a network granted, with their lifetimes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub access: Secret,
    /// `None` where the network has no refresh token (Instagram refreshes the access token itself).
    pub refresh: Option<Secret>,
    pub issued_at: Timestamp,
    pub access_expires_at: Option<Timestamp>,
    pub refresh_expires_at: Option<Timestamp>,
    pub scopes: Vec<String>,
}

impl TokenGrant {
    /// Folds a refresh answer into the previous grant. The rule for every network: keep the
    /// newest refresh token (TikTok rotates them: the old one stops working), and never replace
    /// a stored refresh token by an empty one (some answers omit it).
    pub fn refreshed(previous: &TokenGrant, mut new: TokenGrant) -> TokenGrant {
        if new.refresh.as_ref().is_none_or(Secret::is_empty) {
            new.refresh = previous.refresh.clone();
            if new.refresh_expires_at.is_none() {
                new.refresh_expires_at = previous.refresh_expires_at;
            }
        }
        if new.scopes.is_empty() {
            new.scopes = previous.scopes.clone();
        }
        new
    }
}

pub(crate) fn expires_in(now: Timestamp, secs: Option<i64>) -> Option<Timestamp> {
    secs.filter(|s| *s > 0).and_then(|s| now.checked_add(jiff::SignedDuration::from_secs(s)).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn callbacks_are_read_and_meta_suffix_is_stripped() {
        let c = parse_callback(&params(&[("code", "abc#_"), ("state", "s1")])).unwrap();
        assert_eq!(c, Callback::Code { state: StateValue::presented("s1"), code: Secret::new("abc") });
        let refused =
            parse_callback(&params(&[("error", "access_denied"), ("error_reason", "user_denied"), ("state", "s1")]))
                .unwrap();
        assert!(
            matches!(refused, Callback::Refused { ref error, ref description, .. } if error == "access_denied" && description == "user_denied")
        );
        assert_eq!(parse_callback(&params(&[("code", "abc")])), Err(CallbackError::MissingState));
        assert_eq!(parse_callback(&params(&[("state", "s")])), Err(CallbackError::MissingCode));
    }

    #[test]
    fn pkce_verifier_is_derived_and_well_formed() {
        let s = StateValue::generate();
        let v = pkce_verifier(&[3; 32], &s);
        assert_eq!(v, pkce_verifier(&[3; 32], &s));
        assert_ne!(v, pkce_verifier(&[4; 32], &s));
        assert_eq!(v.expose().len(), 43);
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge(&Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn refresh_keeps_the_newest_refresh_token_and_never_an_empty_one() {
        let t0 = Timestamp::from_second(1_800_000_000).unwrap();
        let old = TokenGrant {
            access: Secret::new("a1"),
            refresh: Some(Secret::new("r1")),
            issued_at: t0,
            access_expires_at: None,
            refresh_expires_at: Some(t0),
            scopes: vec!["video.publish".into()],
        };
        let rotated =
            TokenGrant { access: Secret::new("a2"), refresh: Some(Secret::new("r2")), scopes: vec![], ..old.clone() };
        let merged = TokenGrant::refreshed(&old, rotated);
        assert_eq!(merged.refresh, Some(Secret::new("r2")));
        assert_eq!(merged.scopes, vec!["video.publish".to_owned()]);
        for empty in [None, Some(Secret::new("")), Some(Secret::new("  "))] {
            let answer =
                TokenGrant { access: Secret::new("a3"), refresh: empty, refresh_expires_at: None, ..old.clone() };
            let merged = TokenGrant::refreshed(&old, answer);
            assert_eq!(merged.access, Secret::new("a3"));
            assert_eq!(merged.refresh, Some(Secret::new("r1")));
            assert_eq!(merged.refresh_expires_at, Some(t0));
        }
    }
}
