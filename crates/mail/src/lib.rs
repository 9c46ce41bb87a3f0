//! Outgoing e-mail.
//!
//! The services compose a message ([`OutgoingMail`]: addresses, subject, plain text, HTML,
//! optional one-click unsubscribe) and hand it to a [`MailTransport`]. The transport says
//! whether the server accepted it, refused it for good ([`Failure::Permanent`]: a 5xx answer,
//! an address it will never take) or for now ([`Failure::Transient`]: a 4xx answer, a
//! connection that failed or timed out), which decides between "failed" and "retry later".
//!
//! [`SmtpTransport`] is the one implementation: SMTP through lettre, over plain TCP, STARTTLS
//! or implicit TLS (rustls with the ring provider, certificates checked by the platform
//! verifier).

mod address;
mod smtp;
#[cfg(feature = "testing")]
pub mod testing;

pub use address::{AddressError, check_mailbox};
pub use smtp::{SmtpSettings, SmtpTransport, TlsMode};

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A message ready to send. Addresses are RFC 5322 mailboxes (`a@b.c` or `Name <a@b.c>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub from: String,
    pub reply_to: Option<String>,
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The HTML alternative; every piece of user text in it is already escaped.
    pub html: Option<String>,
    /// For mail people may turn off: the one-click unsubscribe URL (RFC 8058). Sent as
    /// `List-Unsubscribe: <url>` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub list_unsubscribe: Option<String>,
    /// `<id@domain>`; the same id on every attempt of one outbox mail, so a receiver can tell
    /// a repeat (after a crash between "accepted" and "recorded") from a new message.
    pub message_id: Option<String>,
}

/// Why a message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Sending it again cannot help (5xx, an invalid address or message).
    Permanent,
    /// It may work later (4xx, connection refused or lost, timeout, TLS handshake).
    Transient,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub failure: Failure,
    /// For logs and the outbox row: the server's answer or the reason. Never a password.
    pub message: String,
}

impl SendError {
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { failure: Failure::Permanent, message: message.into() }
    }
    pub fn transient(message: impl Into<String>) -> Self {
        Self { failure: Failure::Transient, message: message.into() }
    }
    pub fn is_permanent(&self) -> bool {
        self.failure == Failure::Permanent
    }
}

/// The future a transport returns (boxed: transports are used as `dyn MailTransport`).
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// Something that delivers mail. The services depend on this, never on SMTP.
pub trait MailTransport: Send + Sync + fmt::Debug {
    /// Hands the message to the server; `Ok` once it accepted it.
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> SendFuture<'a>;
    /// Where mail goes, for logs (`smtp://host:587 (starttls)`). Never a password.
    fn describe(&self) -> String;
}
