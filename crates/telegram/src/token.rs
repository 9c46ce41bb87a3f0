//! The bot token: redacted in `Debug`, never `Display`ed, wiped when dropped.
//!
//! Telegram puts the token in the request *path* (`/bot<token>/<method>`), so every URL the
//! client builds is a secret too: the client never logs one and strips it from transport errors.

use std::fmt;
use zeroize::Zeroize;

#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

/// Why a configured token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the bot token must look like 123456789:AA… (the bot's numeric id, a colon, then letters, digits, '_' or '-')")]
pub struct MalformedToken;

impl BotToken {
    /// Checks the shape `<digits>:<[A-Za-z0-9_-]+>`, so a token can never inject path segments
    /// or a query into the URLs it is put in.
    pub fn parse(value: impl Into<String>) -> Result<Self, MalformedToken> {
        let mut value: String = value.into();
        let ok = match value.split_once(':') {
            Some((id, secret)) => {
                !id.is_empty()
                    && id.len() <= 20
                    && id.bytes().all(|b| b.is_ascii_digit())
                    && !secret.is_empty()
                    && secret.len() <= 200
                    && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            }
            None => false,
        };
        if ok {
            Ok(Self(value))
        } else {
            value.zeroize();
            Err(MalformedToken)
        }
    }

    /// The bot's own user id (the part before the colon): public, fine to log and store.
    pub fn bot_id(&self) -> &str {
        self.0.split_once(':').map_or("", |(id, _)| id)
    }

    /// Read only where the token goes on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BotToken({}:<redacted>)", self.bot_id())
    }
}

impl Drop for BotToken {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_checked_and_the_secret_never_printed() {
        let t = BotToken::parse("123456:AAH-secret_part").unwrap();
        assert_eq!(t.bot_id(), "123456");
        assert_eq!(format!("{t:?}"), "BotToken(123456:<redacted>)");
        for bad in ["", "123456", ":abc", "abc:def", "123:abc/def", "123:abc?x=1", "123:a b", "123:"] {
            assert!(BotToken::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
