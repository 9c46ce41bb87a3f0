//! What each kind of mail says, and how every mail looks in HTML.
//!
//! A mail is written to the outbox as plain text (subject and body) by the use case that
//! causes it. At delivery, [`render`] turns that text into the message people receive: the
//! text with the footer its kind needs, and an HTML alternative made from the same text, every
//! character of which is escaped (a brand called `<script>` stays text), links made clickable
//! and the kind's main link shown as a button. One source of wording, so the two parts never
//! disagree.

use std::fmt::Write as _;

/// The kinds of mail Nanopost sends. Essential ones (about the account itself) cannot be
/// turned off and carry no unsubscribe header; the others can, with one click.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MailKind {
    VerifyEmail,
    ResetPassword,
    Invitation,
    AccountDeleted,
    WorkspaceDeleted,
    DraftsReady,
    PublishFailed,
    PublishUnconfirmed,
    ReconnectNeeded,
    Marketing,
}

impl MailKind {
    pub const ALL: [MailKind; 10] = [
        MailKind::VerifyEmail,
        MailKind::ResetPassword,
        MailKind::Invitation,
        MailKind::AccountDeleted,
        MailKind::WorkspaceDeleted,
        MailKind::DraftsReady,
        MailKind::PublishFailed,
        MailKind::PublishUnconfirmed,
        MailKind::ReconnectNeeded,
        MailKind::Marketing,
    ];

    /// The kinds a person can turn off, in the order the settings page lists them.
    pub const OPTIONAL: [MailKind; 5] = [
        MailKind::DraftsReady,
        MailKind::PublishFailed,
        MailKind::PublishUnconfirmed,
        MailKind::ReconnectNeeded,
        MailKind::Marketing,
    ];

    /// The name stored in the outbox and in preferences.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::VerifyEmail => "verify_email",
            MailKind::ResetPassword => "reset_password",
            MailKind::Invitation => "invitation",
            MailKind::AccountDeleted => "account_deleted",
            MailKind::WorkspaceDeleted => "workspace_deleted",
            MailKind::DraftsReady => "drafts_ready",
            MailKind::PublishFailed => "publish_failed",
            MailKind::PublishUnconfirmed => "publish_unconfirmed",
            MailKind::ReconnectNeeded => "reconnect_needed",
            MailKind::Marketing => "marketing",
        }
    }

    pub fn parse(s: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// About the account itself (sign-in, deletion): always sent, never an unsubscribe link.
    pub fn is_essential(self) -> bool {
        !MailKind::OPTIONAL.contains(&self)
    }

    /// What the settings page calls it.
    pub fn label(self) -> &'static str {
        match self {
            MailKind::VerifyEmail => "Address confirmation",
            MailKind::ResetPassword => "Password reset",
            MailKind::Invitation => "Invitations",
            MailKind::AccountDeleted => "Account deletion",
            MailKind::WorkspaceDeleted => "Workspace deletion",
            MailKind::DraftsReady => "New drafts ready for review",
            MailKind::PublishFailed => "A post could not be published",
            MailKind::PublishUnconfirmed => "A post may not have been published",
            MailKind::ReconnectNeeded => "A connected account must be reconnected",
            MailKind::Marketing => "News about Nanopost",
        }
    }

    /// Why someone receives it (the footer of optional mail).
    fn because(self) -> &'static str {
        match self {
            MailKind::DraftsReady => "you write or review posts in this workspace",
            MailKind::PublishFailed | MailKind::PublishUnconfirmed => {
                "you write or review posts in this workspace and something went wrong publishing one"
            }
            MailKind::ReconnectNeeded => "you manage this workspace's connected accounts",
            MailKind::Marketing => "you agreed to receive news from Nanopost",
            _ => "of your Nanopost account",
        }
    }

    /// The words on the button for the mail's main link.
    fn action(self) -> &'static str {
        match self {
            MailKind::VerifyEmail => "Confirm your address",
            MailKind::ResetPassword => "Choose a new password",
            MailKind::Invitation => "Accept the invitation",
            MailKind::DraftsReady => "Open the review queue",
            MailKind::PublishFailed => "Open the post",
            MailKind::PublishUnconfirmed => "Check the post",
            MailKind::ReconnectNeeded => "Reconnect the account",
            MailKind::AccountDeleted | MailKind::WorkspaceDeleted | MailKind::Marketing => "Open",
        }
    }

    /// Whether people who never chose get it by e-mail. Marketing needs recorded consent.
    pub fn email_by_default(self) -> bool {
        self != MailKind::Marketing
    }
}

impl std::fmt::Display for MailKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The message people receive, made from an outbox mail at delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Links the footer of optional mail offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FooterLinks {
    /// One click, no sign-in: stops this kind of mail.
    pub unsubscribe: String,
    /// The notification settings page.
    pub settings: String,
}

/// `kind` is `None` for a kind this version does not know (sent as written, no footer).
pub fn render(kind: Option<MailKind>, subject: &str, body: &str, footer: Option<&FooterLinks>) -> Rendered {
    let subject = one_line(subject);
    // A body that already ends with its unsubscribe link (marketing, written by the privacy
    // centre) does not get it twice.
    let footer = footer.filter(|f| !body.contains(&f.unsubscribe));
    let mut text = body.trim_end().to_owned();
    if let (Some(kind), Some(links)) = (kind, footer) {
        write!(
            text,
            "\n\n--\nYou receive this because {}.\nUnsubscribe with one click: {}\nAll notification settings: {}",
            kind.because(),
            links.unsubscribe,
            links.settings
        )
        .expect("writing to a String");
    }
    text.push('\n');
    let html = html(kind, &subject, body, footer);
    Rendered { subject, text, html }
}

/// Control characters (line breaks) become spaces: a subject is one header line.
pub fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn is_link(word: &str) -> bool {
    (word.starts_with("https://") || word.starts_with("http://")) && word.len() > "https://".len()
}

const P: &str = "margin:0 0 16px;line-height:1.5";
const BUTTON: &str = "display:inline-block;padding:10px 18px;border-radius:6px;background:#2f5bea;color:#ffffff;\
                      text-decoration:none;font-weight:600";

fn html(kind: Option<MailKind>, subject: &str, body: &str, footer: Option<&FooterLinks>) -> String {
    let mut out = String::with_capacity(body.len() * 2 + 1024);
    out.push_str(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">",
    );
    let _ = write!(out, "<title>{}</title></head>", escape(subject));
    out.push_str(
        "<body style=\"margin:0;padding:24px;background:#f5f6f8;color:#1c1e21;font-family:-apple-system,Segoe UI,Roboto,sans-serif\">\
         <div style=\"max-width:560px;margin:0 auto;padding:24px;background:#ffffff;border-radius:8px\">",
    );
    let _ = write!(out, "<h1 style=\"font-size:20px;margin:0 0 16px\">{}</h1>", escape(subject));
    let mut button_done = false;
    for paragraph in body.trim().split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        let lines: Vec<&str> = paragraph.lines().collect();
        // The first link alone on the last line of a paragraph is the mail's main action: a
        // button after the lines that lead to it.
        let last = lines.last().map_or("", |l| l.trim());
        let button = !button_done && !last.contains(char::is_whitespace) && is_link(last);
        let text_lines = if button { &lines[..lines.len() - 1] } else { &lines[..] };
        if !text_lines.is_empty() {
            let _ = write!(out, "<p style=\"{P}\">");
            for (i, line) in text_lines.iter().enumerate() {
                if i > 0 {
                    out.push_str("<br>");
                }
                push_linked(&mut out, line);
            }
            out.push_str("</p>");
        }
        if button {
            let label = kind.map_or("Open", MailKind::action);
            let url = escape(last);
            let _ = write!(
                out,
                "<p style=\"{P}\"><a href=\"{url}\" style=\"{BUTTON}\">{}</a></p>\
                 <p style=\"{P};font-size:13px;color:#555\">Or open this link: <a href=\"{url}\">{url}</a></p>",
                escape(label)
            );
            button_done = true;
        }
    }
    if let (Some(kind), Some(links)) = (kind, footer) {
        let _ = write!(
            out,
            "<hr style=\"border:none;border-top:1px solid #ddd;margin:24px 0 12px\">\
             <p style=\"margin:0;font-size:12px;color:#666;line-height:1.5\">You receive this because {}. \
             <a href=\"{}\">Unsubscribe with one click</a> or change <a href=\"{}\">all notification settings</a>.</p>",
            escape(kind.because()),
            escape(&links.unsubscribe),
            escape(&links.settings)
        );
    }
    out.push_str("</div></body></html>\n");
    out
}

/// One line of text, escaped, with its http(s) links made clickable.
fn push_linked(out: &mut String, line: &str) {
    let mut rest = line;
    while !rest.is_empty() {
        let start = rest.find("https://").into_iter().chain(rest.find("http://")).min();
        let Some(start) = start else {
            out.push_str(&escape(rest));
            return;
        };
        out.push_str(&escape(&rest[..start]));
        let tail = &rest[start..];
        let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        // Sentence punctuation after a link is not part of it.
        let link = tail[..end].trim_end_matches(['.', ',', ';', ':', ')', '!', '?', '"', '\'']);
        if is_link(link) {
            let url = escape(link);
            let _ = write!(out, "<a href=\"{url}\">{url}</a>");
        } else {
            out.push_str(&escape(link));
        }
        rest = &tail[link.len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> FooterLinks {
        FooterLinks {
            unsubscribe: "https://app.test/unsubscribe?u=1&k=drafts_ready&sig=x".into(),
            settings: "https://app.test/notifications/settings".into(),
        }
    }

    #[test]
    fn kinds_round_trip_and_only_optional_ones_can_be_turned_off() {
        for k in MailKind::ALL {
            assert_eq!(MailKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(MailKind::parse("nope"), None);
        for k in [MailKind::VerifyEmail, MailKind::ResetPassword, MailKind::AccountDeleted, MailKind::WorkspaceDeleted]
        {
            assert!(k.is_essential(), "{k}");
        }
        for k in MailKind::OPTIONAL {
            assert!(!k.is_essential(), "{k}");
        }
        assert!(!MailKind::Marketing.email_by_default());
    }

    #[test]
    fn user_text_is_escaped_and_links_become_clickable() {
        let body = "Brand <script>alert(1)</script> & \"friends\" has 2 drafts.\n\nhttps://app.test/w/1/posts?brand=2&x=<y>\n\nSee https://app.test/help.";
        let r = render(Some(MailKind::DraftsReady), "2 drafts for <script>", body, Some(&links()));
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(r.html.contains("Brand &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;friends&quot;"));
        assert!(r.html.contains("<title>2 drafts for &lt;script&gt;</title>"));
        assert!(r.html.contains("href=\"https://app.test/w/1/posts?brand=2&amp;x=&lt;y&gt;\""));
        assert!(r.html.contains(">Open the review queue</a>"));
        assert!(r.html.contains("See <a href=\"https://app.test/help\">https://app.test/help</a>."));
        // The text part stays text.
        assert!(r.text.starts_with("Brand <script>alert(1)</script>"));
        assert!(r.text.contains("Unsubscribe with one click: https://app.test/unsubscribe?u=1&k=drafts_ready&sig=x"));
    }

    #[test]
    fn essential_mail_has_no_footer() {
        let r = render(Some(MailKind::ResetPassword), "Reset", "Open:\nhttps://app.test/reset?token=t", None);
        assert!(!r.text.contains("Unsubscribe"));
        assert!(!r.html.contains("Unsubscribe"));
        assert!(r.html.contains("<p style=\"margin:0 0 16px;line-height:1.5\">Open:</p>"), "{}", r.html);
        assert!(r.html.contains("<a href=\"https://app.test/reset?token=t\" style="), "{}", r.html);
        assert!(r.html.contains(">Choose a new password</a>"));
    }

    #[test]
    fn subjects_are_one_line() {
        assert_eq!(one_line(" A\r\nBcc: x@y.z "), "A  Bcc: x@y.z");
    }
}
