//! SMTP through lettre.

use crate::{MailTransport, OutgoingMail, SendError, SendFuture};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::fmt;
use std::time::Duration;

/// How the connection to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP: only for a relay on the same machine or network (port 25).
    None,
    /// Plain TCP upgraded with STARTTLS, which is required: a server that does not offer it
    /// is refused (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::None => "none",
            TlsMode::StartTls => "starttls",
            TlsMode::Tls => "tls",
        }
    }
}

/// Where and how to reach the SMTP server. `Debug` never shows the password.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Sign in with these (AUTH PLAIN or LOGIN) when both are set.
    pub username: Option<String>,
    pub password: Option<String>,
    /// For connecting and for each answer of the server.
    pub timeout: Duration,
    /// The name given in EHLO; `localhost` when unset.
    pub hello_name: Option<String>,
    /// PEM certificates trusted in addition to the platform's (a private CA; the tests' CA).
    pub extra_roots_pem: Vec<Vec<u8>>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("hello_name", &self.hello_name)
            .field("extra_roots", &self.extra_roots_pem.len())
            .finish()
    }
}

/// Sends each message on its own connection (mail is rare: a pool would mostly hold idle
/// sockets open to the server).
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    settings: SmtpSettings,
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport").field("settings", &self.settings).finish()
    }
}

impl SmtpTransport {
    /// Builds the client; fails on unusable TLS settings (a certificate that does not parse).
    /// Connects to nothing yet.
    pub fn new(settings: SmtpSettings) -> Result<Self, SendError> {
        let tls = match settings.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => Tls::Required(tls_parameters(&settings)?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters(&settings)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some(name) = &settings.hello_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self { inner: builder.build(), settings })
    }

    async fn deliver(&self, mail: &OutgoingMail) -> Result<(), SendError> {
        let message = compose(mail)?;
        // lettre bounds each step by the timeout; this bounds the whole conversation.
        let whole = self.settings.timeout.saturating_mul(4);
        match tokio::time::timeout(whole, self.inner.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(SendError::transient(format!("the SMTP server did not finish within {} s", whole.as_secs()))),
        }
    }
}

impl MailTransport for SmtpTransport {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> SendFuture<'a> {
        Box::pin(self.deliver(mail))
    }

    fn describe(&self) -> String {
        let s = &self.settings;
        format!("smtp://{}:{} ({})", s.host, s.port, s.tls.as_str())
    }
}

fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, SendError> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    for pem in &settings.extra_roots_pem {
        let cert = Certificate::from_pem(pem)
            .map_err(|e| SendError::permanent(format!("a trusted certificate does not parse: {e}")))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build_rustls().map_err(|e| SendError::permanent(format!("TLS settings are unusable: {e}")))
}

/// A 5xx answer about the message or its recipient is final. Everything else may pass: 4xx,
/// network, TLS, timeouts, and problems of the installation rather than of the mail (a
/// rejected sign-in, a server without the required STARTTLS), which the operator can fix
/// before the attempts run out.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let message = e.to_string();
    let code = e.status().map(u16::from);
    match code {
        // 530 authentication required, 534 mechanism too weak, 535 credentials invalid,
        // 538 encryption required for the mechanism.
        Some(530 | 534 | 535 | 538) => {
            SendError::transient(format!("{message} (check [email.smtp] username and password)"))
        }
        _ if e.is_permanent() => SendError::permanent(message),
        _ => SendError::transient(message),
    }
}

const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");

/// The MIME message: plain text, with the HTML as an alternative when there is one.
pub(crate) fn compose(mail: &OutgoingMail) -> Result<Message, SendError> {
    let mailbox = |what: &str, s: &str| {
        if s.contains(['\r', '\n']) {
            return Err(SendError::permanent(format!("the {what} address is not valid")));
        }
        s.trim().parse::<Mailbox>().map_err(|_| SendError::permanent(format!("the {what} address {s:?} is not valid")))
    };
    // A header is one line: a line break in a subject would start a header of its own.
    let subject: String = mail.subject.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut b = Message::builder()
        .from(mailbox("sender", &mail.from)?)
        .to(mailbox("recipient", &mail.to)?)
        .subject(subject)
        .date_now()
        .message_id(mail.message_id.clone());
    if let Some(reply_to) = &mail.reply_to {
        b = b.reply_to(mailbox("reply-to", reply_to)?);
    }
    if let Some(url) = &mail.list_unsubscribe {
        if !url.starts_with("https://") && !url.starts_with("http://")
            || url.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        {
            return Err(SendError::permanent("the unsubscribe link is not a plain http(s) URL"));
        }
        b = b
            .raw_header(HeaderValue::new(LIST_UNSUBSCRIBE, format!("<{url}>")))
            .raw_header(HeaderValue::new(LIST_UNSUBSCRIBE_POST, "List-Unsubscribe=One-Click".into()));
    }
    let built = match &mail.html {
        Some(html) => b.multipart(MultiPart::alternative_plain_html(mail.text.clone(), html.clone())),
        None => b.singlepart(SinglePart::plain(mail.text.clone())),
    };
    built.map_err(|e| SendError::permanent(format!("the message cannot be built: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> OutgoingMail {
        OutgoingMail {
            from: "Nanopost <no-reply@example.com>".into(),
            reply_to: None,
            to: "ana@example.com".into(),
            subject: "Hello".into(),
            text: "Hi".into(),
            html: None,
            list_unsubscribe: None,
            message_id: Some("<1@example.com>".into()),
        }
    }

    #[test]
    fn a_line_break_in_the_subject_cannot_add_a_header() {
        let m = OutgoingMail { subject: "Hi\r\nBcc: evil@example.com".into(), ..mail() };
        let raw = String::from_utf8(compose(&m).unwrap().formatted()).unwrap();
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
    }

    #[test]
    fn unsubscribe_links_must_be_plain_urls() {
        let bad = OutgoingMail { list_unsubscribe: Some("https://x/u>\r\nBcc: a@b.c".into()), ..mail() };
        assert!(compose(&bad).unwrap_err().is_permanent());
        let other = OutgoingMail { list_unsubscribe: Some("mailto:x@y.z".into()), ..mail() };
        assert!(compose(&other).is_err());
        let good = OutgoingMail { list_unsubscribe: Some("https://x.example/unsubscribe?u=1&sig=a".into()), ..mail() };
        let raw = String::from_utf8(compose(&good).unwrap().formatted()).unwrap();
        assert!(raw.contains("List-Unsubscribe: <https://x.example/unsubscribe?u=1&sig=a>\r\n"), "{raw}");
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"), "{raw}");
    }

    #[test]
    fn the_password_is_never_printed() {
        let s = SmtpSettings {
            host: "smtp.example.com".into(),
            port: 587,
            tls: TlsMode::StartTls,
            username: Some("user".into()),
            password: Some("hunter2".into()),
            timeout: Duration::from_secs(10),
            hello_name: None,
            extra_roots_pem: vec![],
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        let t = SmtpTransport::new(s).unwrap();
        assert!(!format!("{t:?}").contains("hunter2"));
        assert_eq!(t.describe(), "smtp://smtp.example.com:587 (starttls)");
    }
}
