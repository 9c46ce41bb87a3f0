//! Accounts: the values a person types at sign-up, parsed once at the edge.

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A normalised e-mail address (trimmed, lower-cased).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim().to_lowercase();
        let err = |m: &str| Err(ValidationError::new("email", m));
        if s.is_empty() {
            return err("is required");
        }
        if s.len() > 254 {
            return err("must be at most 254 characters");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return err("must look like name@example.com");
        };
        if local.is_empty() || local.len() > 64 || domain.len() < 3 || !domain.contains('.') {
            return err("must look like name@example.com");
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return err("has an invalid domain");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')) {
            return err("contains characters an address cannot have");
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

/// A password as typed, checked against the policy. Its `Debug` never shows it.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    /// Bounded so that hashing cannot be turned into a denial of service.
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(ValidationError::new("password", format!("must be at least {} characters", Self::MIN_CHARS)));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(ValidationError::new("password", format!("must be at most {} bytes", Self::MAX_BYTES)));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// A display name: 1 to 100 characters, no control characters.
pub fn parse_display_name(raw: &str) -> Result<String, ValidationError> {
    bounded_text("name", raw, 1, 100)
}

/// Trimmed text of `min..=max` characters without control characters (newlines excepted when
/// the caller allows multi-line text by calling [`bounded_multiline`]).
pub fn bounded_text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, ValidationError> {
    let s = raw.trim();
    if s.chars().any(char::is_control) {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    check_len(field, s, min, max)
}

/// Like [`bounded_text`] but keeps line breaks and tabs.
pub fn bounded_multiline(field: &str, raw: &str, min: usize, max: usize) -> Result<String, ValidationError> {
    let s = raw.trim();
    if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    check_len(field, s, min, max)
}

fn check_len(field: &str, s: &str, min: usize, max: usize) -> Result<String, ValidationError> {
    let n = s.chars().count();
    if n < min {
        return Err(ValidationError::new(
            field,
            if min == 1 { "is required".to_owned() } else { format!("must be at least {min} characters") },
        ));
    }
    if n > max {
        return Err(ValidationError::new(field, format!("must be at most {max} characters")));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse("  Ana@Example.COM ").unwrap().as_str(), "ana@example.com");
        for bad in ["", "ana", "ana@", "@example.com", "ana@example", "a b@example.com", "ana@@x.com.", "<a>@x.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn passwords_have_bounds_and_hide_in_debug() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse(&"x".repeat(2000)).is_err());
        let p = NewPassword::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn text_rejects_control_characters() {
        assert!(bounded_text("name", "a\u{0}b", 1, 10).is_err());
        assert!(bounded_multiline("bio", "line\nline", 1, 20).is_ok());
        assert!(bounded_text("name", "   ", 1, 10).is_err());
    }
}
