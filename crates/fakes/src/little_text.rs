//! LinkedIn's "little text" format for post commentary, parsed the way the fake enforces it.
//!
//! Reserved characters: `\ | { } @ [ ] ( ) < > # * _ ~`. Each must be escaped with a backslash to
//! appear literally. Accepted unescaped (the documented template shapes):
//! - mentions `@[Display Name](urn:li:person:…)` / `@[Name](urn:li:organization:…)`;
//! - hashtag templates `{hashtag|\#|tag}`;
//! - a bare `#tag` (`#` directly followed by a letter or digit), which some clients send so the
//!   hashtag stays clickable.
//!
//! Anything else reserved and unescaped is an error (real LinkedIn silently truncates the post
//! there; the fake refuses by default so a test sees the bug, see `LittleTextMode`).

/// A parsed piece of commentary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Mention { name: String, urn: String },
    Hashtag(String),
}

/// Parsed commentary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LittleText {
    pub segments: Vec<Segment>,
}

impl LittleText {
    /// What a reader sees: escapes removed, mentions as their display name, hashtags as `#tag`.
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => out.push_str(t),
                Segment::Mention { name, .. } => out.push_str(name),
                Segment::Hashtag(tag) => {
                    out.push('#');
                    out.push_str(tag);
                }
            }
        }
        out
    }
}

/// The first unescaped reserved character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LittleTextError {
    /// Index of the offending character, counted in characters (not bytes).
    pub offset: usize,
    pub character: char,
}

impl std::fmt::Display for LittleTextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unescaped reserved character {:?} at offset {} (little text format: escape it with a backslash)",
            self.character, self.offset
        )
    }
}

impl std::error::Error for LittleTextError {}

pub const RESERVED: &[char] = &['\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~'];

/// Parses commentary; `Err` at the first reserved character that is neither escaped nor part of
/// an accepted template.
pub fn parse(input: &str) -> Result<LittleText, LittleTextError> {
    let chars: Vec<char> = input.chars().collect();
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let flush = |text: &mut String, segments: &mut Vec<Segment>| {
        if !text.is_empty() {
            segments.push(Segment::Text(std::mem::take(text)));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if !RESERVED.contains(&c) {
            text.push(c);
            i += 1;
            continue;
        }
        let error = LittleTextError { offset: i, character: c };
        match c {
            '\\' => match chars.get(i + 1) {
                Some(next) if RESERVED.contains(next) => {
                    text.push(*next);
                    i += 2;
                }
                _ => return Err(error),
            },
            '@' => {
                let (name, urn, end) = mention_at(&chars, i).ok_or(error)?;
                flush(&mut text, &mut segments);
                segments.push(Segment::Mention { name, urn });
                i = end;
            }
            '{' => {
                let (tag, end) = hashtag_template_at(&chars, i).ok_or(error)?;
                flush(&mut text, &mut segments);
                segments.push(Segment::Hashtag(tag));
                i = end;
            }
            '#' => {
                let tag: String = chars[i + 1..].iter().take_while(|c| c.is_alphanumeric()).collect();
                if tag.is_empty() {
                    return Err(error);
                }
                flush(&mut text, &mut segments);
                i += 1 + tag.chars().count();
                segments.push(Segment::Hashtag(tag));
            }
            _ => return Err(error),
        }
    }
    flush(&mut text, &mut segments);
    Ok(LittleText { segments })
}

/// What LinkedIn keeps of unescaped commentary: everything before the first offending character.
pub fn truncate_like_linkedin(input: &str) -> LittleText {
    match parse(input) {
        Ok(parsed) => parsed,
        Err(e) => {
            let prefix: String = input.chars().take(e.offset).collect();
            parse(&prefix).unwrap_or_default()
        }
    }
}

/// Escapes every reserved character (the reference rule, backslash first). Exposed so tests can
/// build expected commentary; adapters must have their own.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `@[Name](urn:li:…)` starting at `start`: (name, urn, index after the closing parenthesis).
fn mention_at(chars: &[char], start: usize) -> Option<(String, String, usize)> {
    if chars.get(start + 1) != Some(&'[') {
        return None;
    }
    let close = start + 2 + chars[start + 2..].iter().position(|c| *c == ']')?;
    let name: String = chars[start + 2..close].iter().collect();
    if name.is_empty() || chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let open = close + 1;
    let end = open + 1 + chars[open + 1..].iter().position(|c| *c == ')')?;
    let urn: String = chars[open + 1..end].iter().collect();
    let valid_urn = ["urn:li:person:", "urn:li:organization:"]
        .iter()
        .any(|p| urn.strip_prefix(p).is_some_and(|id| !id.is_empty() && !id.contains(char::is_whitespace)));
    valid_urn.then_some((name, urn, end + 1))
}

/// `{hashtag|\#|tag}` starting at `start`: (tag, index after `}`).
fn hashtag_template_at(chars: &[char], start: usize) -> Option<(String, usize)> {
    let prefix: Vec<char> = "{hashtag|\\#|".chars().collect();
    if chars.get(start..start + prefix.len())? != prefix.as_slice() {
        return None;
    }
    let body_start = start + prefix.len();
    let close = body_start + chars[body_start..].iter().position(|c| *c == '}')?;
    let tag: String = chars[body_start..close].iter().collect();
    (!tag.is_empty() && tag.chars().all(char::is_alphanumeric)).then_some((tag, close + 1))
}
