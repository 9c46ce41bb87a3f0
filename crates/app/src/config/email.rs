//! `[email]`: delivery of the outbox over SMTP. Off unless `enabled = true`; while off, mail
//! waits in the outbox (and is sent once delivery is turned on, if it is not too old by then).
//!
//! ```toml
//! [email]
//! enabled = true
//! from = "Nanopost <no-reply@example.com>"
//! reply_to = "support@example.com"       # optional
//!
//! [email.smtp]
//! host = "smtp.example.com"
//! port = 587                             # default: 25, 587 or 465 after `tls`
//! tls = "starttls"                       # "none", "starttls" (required, not opportunistic) or "tls"
//! username = "apikey"                    # optional; with password
//! password = "…"                         # secret: shown as *** by `config check`
//! timeout_secs = 30
//! ```

use super::{ConfigError, SecretText, range};
use nanopost_mail::{SmtpSettings, SmtpTransport, TlsMode, check_mailbox};
use nanopost_services::{DeliveryPolicy, Mailer};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Email {
    /// Send the outbox. Off: mail stays in the outbox.
    pub enabled: bool,
    /// The sender: `address` or `Name <address>`. Required when enabled.
    pub from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// With nothing due, how often delivery looks for new mail.
    pub poll_secs: u32,
    pub smtp: Smtp,
}

impl Default for Email {
    fn default() -> Self {
        Self { enabled: false, from: String::new(), reply_to: None, poll_secs: 5, smtp: Smtp::default() }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain TCP (a relay on the same host or network).
    None,
    /// STARTTLS, required: a server that does not offer it gets no mail.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl SmtpTls {
    fn mode(self) -> TlsMode {
        match self {
            SmtpTls::None => TlsMode::None,
            SmtpTls::Starttls => TlsMode::StartTls,
            SmtpTls::Tls => TlsMode::Tls,
        }
    }

    fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Smtp {
    /// The server's host name or IP address (no `smtp://`).
    pub host: String,
    /// Default: 25 (`tls = "none"`), 587 (`"starttls"`) or 465 (`"tls"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub tls: SmtpTls,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretText>,
    /// For connecting and for each answer of the server.
    pub timeout_secs: u32,
}

impl Default for Smtp {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: None,
            tls: SmtpTls::Starttls,
            username: None,
            password: None,
            timeout_secs: 30,
        }
    }
}

/// Keys of `[email]` (and `[email.smtp]`) whose environment value is text even when it looks
/// like a number.
pub(super) fn is_text_key(path: &[String]) -> bool {
    match path {
        [_, key] => ["from", "reply_to"].contains(&key.as_str()),
        [_, smtp, key] if smtp == "smtp" => ["host", "username", "password", "tls"].contains(&key.as_str()),
        _ => false,
    }
}

impl Email {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        range("email.poll_secs", self.poll_secs, 1, 300)?;
        range("email.smtp.timeout_secs", self.smtp.timeout_secs, 1, 300)?;
        if !self.from.trim().is_empty() {
            check_mailbox(&self.from).map_err(|e| ConfigError::new("email.from", e.to_string()))?;
        }
        if let Some(r) = &self.reply_to {
            check_mailbox(r).map_err(|e| ConfigError::new("email.reply_to", e.to_string()))?;
        }
        let s = &self.smtp;
        if s.port == Some(0) {
            return Err(ConfigError::new("email.smtp.port", "0 is not a port; leave it unset for the usual one"));
        }
        let host = s.host.trim();
        if host.contains("://") || host.contains(['/', ' ', ':']) && host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(ConfigError::new(
                "email.smtp.host",
                format!(
                    "{:?} is not a host name; write it alone, like smtp.example.com (the port goes in `port`)",
                    s.host
                ),
            ));
        }
        match (&s.username, &s.password) {
            (Some(_), None) => return Err(ConfigError::new("email.smtp.password", "is required when username is set")),
            (None, Some(_)) => return Err(ConfigError::new("email.smtp.username", "is required when password is set")),
            _ => {}
        }
        if s.tls == SmtpTls::None && s.password.is_some() && !is_loopback(host) {
            return Err(ConfigError::new(
                "email.smtp.tls",
                "is \"none\" but a password is set: it would cross the network unencrypted; use \"starttls\" or \"tls\"",
            ));
        }
        if !self.enabled {
            return Ok(());
        }
        if self.from.trim().is_empty() {
            return Err(ConfigError::new("email.from", "is required when email is enabled (the sender's address)"));
        }
        if host.is_empty() {
            return Err(ConfigError::new("email.smtp.host", "is required when email is enabled"));
        }
        // Builds the client (no connection yet), so unusable TLS settings fail here.
        self.transport().map(|_| ())
    }

    fn settings(&self) -> SmtpSettings {
        let s = &self.smtp;
        // The EHLO name: the sender's domain, a name the server can look up.
        let hello_name = self.from.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>').trim().to_owned());
        SmtpSettings {
            host: s.host.trim().to_owned(),
            port: s.port.unwrap_or(s.tls.default_port()),
            tls: s.tls.mode(),
            username: s.username.clone(),
            password: s.password.as_ref().map(|p| p.expose().to_owned()),
            timeout: Duration::from_secs(u64::from(s.timeout_secs)),
            hello_name,
            extra_roots_pem: vec![],
        }
    }

    fn transport(&self) -> Result<SmtpTransport, ConfigError> {
        SmtpTransport::new(self.settings()).map_err(|e| ConfigError::new("email.smtp", e.to_string()))
    }

    /// The sender the services use; `None` when delivery is off.
    pub fn mailer(&self) -> Option<Mailer> {
        if !self.enabled {
            return None;
        }
        // Checked by `validate` at load; a failure now would be a bug, reported and survived.
        match self.transport() {
            Ok(t) => {
                Some(Mailer { transport: Arc::new(t), from: self.from.trim().into(), reply_to: self.reply_to.clone() })
            }
            Err(e) => {
                tracing::error!(error = %e, "the SMTP client cannot be built; e-mail stays in the outbox");
                None
            }
        }
    }

    pub fn delivery_policy(&self) -> DeliveryPolicy {
        let d = DeliveryPolicy::default();
        // The lease must outlast a whole batch against a server that answers as slowly as the
        // timeout allows (each mail is bounded by four timeouts), or a second sender could take
        // a mail that is still being sent.
        let worst = i64::from(d.batch) * 4 * i64::from(self.smtp.timeout_secs) + 60;
        DeliveryPolicy {
            poll: jiff::SignedDuration::from_secs(i64::from(self.poll_secs)),
            lease: d.lease.max(jiff::SignedDuration::from_secs(worst)),
            ..d
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> Email {
        Email {
            enabled: true,
            from: "Nanopost <no-reply@example.com>".into(),
            smtp: Smtp { host: "smtp.example.com".into(), ..Smtp::default() },
            ..Email::default()
        }
    }

    fn problem(e: &Email) -> String {
        e.validate().unwrap_err().to_string()
    }

    #[test]
    fn off_by_default_and_complete_when_on() {
        assert!(Email::default().validate().is_ok());
        assert!(Email::default().mailer().is_none());
        assert!(enabled().validate().is_ok());
        let m = enabled().mailer().unwrap();
        assert_eq!(m.transport.describe(), "smtp://smtp.example.com:587 (starttls)");
        assert_eq!(m.from, "Nanopost <no-reply@example.com>");
    }

    #[test]
    fn ports_follow_the_tls_mode() {
        for (tls, port) in [(SmtpTls::None, 25), (SmtpTls::Starttls, 587), (SmtpTls::Tls, 465)] {
            let e = Email { smtp: Smtp { tls, ..enabled().smtp }, ..enabled() };
            assert_eq!(e.settings().port, port);
        }
        let e = Email { smtp: Smtp { port: Some(2525), ..enabled().smtp }, ..enabled() };
        assert_eq!(e.settings().port, 2525);
        assert_eq!(e.settings().hello_name.as_deref(), Some("example.com"));
    }

    #[test]
    fn the_lease_outlasts_a_slow_batch() {
        let slow = Email { smtp: Smtp { timeout_secs: 300, ..enabled().smtp }, ..enabled() };
        let p = slow.delivery_policy();
        assert!(p.lease.as_secs() >= i64::from(p.batch) * 4 * 300, "{p:?}");
        assert_eq!(enabled().delivery_policy().poll.as_secs(), 5);
    }

    #[test]
    fn bad_values_are_named() {
        let cases = [
            (Email { from: String::new(), ..enabled() }, "email.from: is required"),
            (Email { from: "nobody".into(), ..enabled() }, "email.from: \"nobody\" is not an e-mail address"),
            (Email { reply_to: Some("x y".into()), ..enabled() }, "email.reply_to:"),
            (
                Email { smtp: Smtp { host: String::new(), ..enabled().smtp }, ..enabled() },
                "email.smtp.host: is required",
            ),
            (
                Email { smtp: Smtp { host: "smtp://mail.example.com:587".into(), ..enabled().smtp }, ..enabled() },
                "email.smtp.host: \"smtp://mail.example.com:587\" is not a host name",
            ),
            (Email { smtp: Smtp { port: Some(0), ..enabled().smtp }, ..enabled() }, "email.smtp.port"),
            (
                Email { smtp: Smtp { username: Some("u".into()), ..enabled().smtp }, ..enabled() },
                "email.smtp.password: is required when username is set",
            ),
            (
                Email {
                    smtp: Smtp {
                        tls: SmtpTls::None,
                        username: Some("u".into()),
                        password: Some(SecretText::new("p")),
                        ..enabled().smtp
                    },
                    ..enabled()
                },
                "email.smtp.tls: is \"none\" but a password is set",
            ),
            (Email { smtp: Smtp { timeout_secs: 0, ..enabled().smtp }, ..enabled() }, "email.smtp.timeout_secs"),
            (Email { poll_secs: 0, ..enabled() }, "email.poll_secs"),
        ];
        for (e, expected) in cases {
            let got = problem(&e);
            assert!(got.starts_with(expected), "{got:?} should start with {expected:?}");
        }
        // A password over plain SMTP is fine to a relay on the same machine.
        let local = Email {
            smtp: Smtp {
                host: "127.0.0.1".into(),
                tls: SmtpTls::None,
                username: Some("u".into()),
                password: Some(SecretText::new("p")),
                ..enabled().smtp
            },
            ..enabled()
        };
        assert!(local.validate().is_ok());
    }

    #[test]
    fn the_password_is_redacted() {
        let e = Email {
            smtp: Smtp { username: Some("u".into()), password: Some(SecretText::new("hunter2")), ..enabled().smtp },
            ..enabled()
        };
        assert!(!format!("{e:?}").contains("hunter2"));
        assert!(!toml::to_string(&e).unwrap().contains("hunter2"));
        assert!(!format!("{:?}", e.mailer().unwrap()).contains("hunter2"));
    }
}
