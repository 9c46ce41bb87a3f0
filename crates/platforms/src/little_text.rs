//! LinkedIn's "little text" format for `commentary`.
//!
//! The reserved characters must be backslash-escaped, or LinkedIn accepts the post and silently
//! cuts it at the first one. Mention templates (`@[Name](urn:li:organization:123)`) are markup
//! and pass through unescaped (their display name is escaped inside the brackets).

/// Every character LinkedIn reserves, backslash first.
pub const RESERVED: [char; 15] = ['\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~'];

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        if RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Escapes plain text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    escape_into(&mut out, text);
    out
}

/// Escapes a caption, keeping `@[Name](urn:li:person|organization:…)` mentions as markup.
pub fn escape_commentary(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut rest = text;
    while let Some(at) = rest.find("@[") {
        let (before, candidate) = rest.split_at(at);
        escape_into(&mut out, before);
        match mention(candidate) {
            Some((name, urn, len)) => {
                out.push_str("@[");
                // The name is text: only the characters that would end the template need escaping.
                for c in name.chars() {
                    if matches!(c, '\\' | '[' | ']') {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push_str("](");
                out.push_str(urn);
                out.push(')');
                rest = &candidate[len..];
            }
            None => {
                out.push_str("\\@");
                rest = &candidate[1..];
            }
        }
    }
    escape_into(&mut out, rest);
    out
}

/// `@[name](urn:li:person:x)` at the start of `s`: the name, the URN and the template's length.
fn mention(s: &str) -> Option<(&str, &str, usize)> {
    let body = s.strip_prefix("@[")?;
    let close = body.find("](")?;
    let name = &body[..close];
    if name.is_empty() || name.contains('[') || name.contains('\n') {
        return None;
    }
    let after = &body[close + 2..];
    let end = after.find(')')?;
    let urn = &after[..end];
    let valid_urn = ["urn:li:person:", "urn:li:organization:"].iter().any(|p| {
        urn.strip_prefix(p)
            .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    });
    valid_urn.then_some((name, urn, 2 + close + 2 + end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reserved_character_is_escaped() {
        let all: String = RESERVED.iter().collect();
        assert_eq!(all, "\\|{}@[]()<>#*_~");
        assert_eq!(escape(&all), "\\\\\\|\\{\\}\\@\\[\\]\\(\\)\\<\\>\\#\\*\\_\\~");
        assert_eq!(escape_commentary(&all), escape(&all));
        for c in RESERVED {
            let s = format!("a{c}b");
            assert_eq!(escape_commentary(&s), format!("a\\{c}b"), "{c}");
        }
        assert_eq!(escape("plain text, é and 😀 stay"), "plain text, é and 😀 stay");
    }

    #[test]
    fn mentions_stay_markup_and_lookalikes_are_escaped() {
        assert_eq!(
            escape_commentary("Thanks @[ACME Corp](urn:li:organization:123) #win (really)"),
            "Thanks @[ACME Corp](urn:li:organization:123) \\#win \\(really\\)"
        );
        assert_eq!(escape_commentary("@[Jo](urn:li:person:Ab-1_x)!"), "@[Jo](urn:li:person:Ab-1_x)!");
        assert_eq!(escape_commentary("@[x](http://evil)"), "\\@\\[x\\]\\(http://evil\\)");
        assert_eq!(escape_commentary("mail me @ home"), "mail me \\@ home");
        assert_eq!(escape_commentary("@["), "\\@\\[");
    }
}
