//! Text rules shared by every provider: hashtags, counting, cutting at a word.

/// A hashtag without `#`, letters, digits and `_` only (what the networks link), or `None`.
pub fn normalise_hashtag(raw: &str) -> Option<String> {
    let tag: String = raw.trim().trim_start_matches('#').chars().filter(|c| c.is_alphanumeric() || *c == '_').collect();
    (!tag.is_empty() && tag.chars().count() <= 100).then_some(tag)
}

/// A phrase as one hashtag: `"sourdough bread"` → `SourdoughBread`.
pub fn phrase_hashtag(phrase: &str) -> Option<String> {
    let words: Vec<&str> =
        phrase.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    if words.len() == 1 {
        return normalise_hashtag(words[0]);
    }
    let joined: String = words
        .iter()
        .map(|w| {
            let mut cs = w.chars();
            cs.next().map(|f| f.to_uppercase().chain(cs).collect::<String>()).unwrap_or_default()
        })
        .collect();
    normalise_hashtag(&joined)
}

/// Hashtags as the networks count them: words starting with `#` (the same rule as the checks
/// before review).
pub fn count_hashtags(text: &str) -> usize {
    text.split_whitespace().filter(|w| w.starts_with('#') && w.len() > 1).count()
}

pub fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// At most `max` characters, cut at a word boundary with `…` when it has to be cut.
pub fn cut_at_word(text: &str, max: usize) -> String {
    let text = text.trim();
    if char_len(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    // Ends on a whole word when the next character is a space.
    let whole = text.chars().nth(max.saturating_sub(1)).is_some_and(char::is_whitespace);
    let at_word = match cut.rfind(char::is_whitespace) {
        _ if whole => cut.as_str(),
        Some(i) if i >= cut.len() / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    let trimmed = at_word.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-'));
    format!("{trimmed}…")
}

/// Sentences of free text, in order (split after `.`, `!`, `?` or a line break).
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            push_sentence(&mut out, &mut current);
            continue;
        }
        current.push(c);
        if matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| n.is_whitespace()) {
            push_sentence(&mut out, &mut current);
        }
    }
    push_sentence(&mut out, &mut current);
    out
}

fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let s = current.trim();
    if !s.is_empty() {
        out.push(s.to_owned());
    }
    current.clear();
}

/// Whether `text` contains `word` as a whole word or phrase, ignoring case.
pub fn contains_word(text: &str, word: &str) -> bool {
    let word = word.trim().to_lowercase();
    if word.is_empty() {
        return false;
    }
    let hay = text.to_lowercase();
    let mut start = 0;
    while let Some(pos) = hay[start..].find(&word) {
        let begin = start + pos;
        let end = begin + word.len();
        let before_ok = hay[..begin].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after_ok = hay[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            return true;
        }
        start = begin + hay[begin..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// The first of `words` that `text` contains, if any.
pub fn first_avoided<'a>(text: &str, words: &'a [String]) -> Option<&'a str> {
    words.iter().map(String::as_str).find(|w| contains_word(text, w))
}

/// Drops the `#` of hashtags in `text` past the first `keep`, so the count stays within a limit
/// without losing the words.
pub fn limit_inline_hashtags(text: &str, keep: usize) -> String {
    let mut seen = 0;
    let mut out = String::with_capacity(text.len());
    let mut word_start = true;
    for c in text.chars() {
        if c == '#' && word_start {
            seen += 1;
            if seen > keep {
                word_start = false;
                continue;
            }
        }
        word_start = c.is_whitespace();
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_normalised_and_counted() {
        assert_eq!(normalise_hashtag("#Sour-dough!").as_deref(), Some("Sourdough"));
        assert_eq!(normalise_hashtag("#"), None);
        assert_eq!(phrase_hashtag("sourdough bread").as_deref(), Some("SourdoughBread"));
        assert_eq!(count_hashtags("a #b #c # d"), 2);
        assert_eq!(count_hashtags(&limit_inline_hashtags("#a #b #c x#d", 1)), 1);
    }

    #[test]
    fn cuts_at_a_word() {
        assert_eq!(cut_at_word("hello brave new world", 12), "hello brave…");
        assert!(char_len(&cut_at_word(&"x".repeat(50), 10)) <= 10);
        assert_eq!(cut_at_word("short", 10), "short");
    }

    #[test]
    fn words_match_whole() {
        assert!(contains_word("Best cheap bread", "cheap"));
        assert!(!contains_word("cheapest", "cheap"));
        assert!(contains_word("no miracle cure here", "miracle cure"));
        assert_eq!(sentences("One. Two! Three\nFour"), vec!["One.", "Two!", "Three", "Four"]);
    }
}
