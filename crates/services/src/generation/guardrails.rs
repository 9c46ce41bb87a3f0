//! Guardrails before review: the one place that says what a reviewer should look at twice in a
//! draft, whoever wrote it (the AI or a person). Pure functions over the brand profile and the
//! content, so they are computed when a draft is shown (always current: an edit that removes
//! the word removes the flag) and applied to generated captions before they are stored.
//!
//! What is checked, per network variant:
//! - the brand's words to avoid (whole words or phrases, any case) and claims to avoid (the
//!   phrase as written, any case: a claim worded differently is the reviewer's to spot);
//! - the network's caption length, hashtag and mention limits
//!   ([`nanopost_platforms::rules::check`], the same rules the publisher enforces).

use nanopost_ai::text::{contains_word, cut_at_word, limit_inline_hashtags};
use nanopost_domain::brand::BrandProfile;
use nanopost_domain::network::Network;
use nanopost_domain::post::PostContent;
use nanopost_platforms::rules;

/// Why a draft is flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagKind {
    AvoidWord,
    AvoidClaim,
    /// Longer than the network takes.
    Length,
    Hashtags,
    Mentions,
}

impl FlagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::AvoidWord => "avoid_word",
            FlagKind::AvoidClaim => "avoid_claim",
            FlagKind::Length => "length",
            FlagKind::Hashtags => "hashtags",
            FlagKind::Mentions => "mentions",
        }
    }
}

/// One thing a reviewer should look at, with the reason as a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub network: Network,
    pub kind: FlagKind,
    pub reason: String,
}

/// The flags of `content` for the brand `profile`, in variant order.
pub fn check(profile: &BrandProfile, content: &PostContent) -> Vec<Flag> {
    let mut flags = Vec::new();
    for v in &content.variants {
        flags.extend(check_caption(profile, v.network, &v.caption));
    }
    flags
}

/// The flags of one caption for one network.
pub fn check_caption(profile: &BrandProfile, network: Network, caption: &str) -> Vec<Flag> {
    let mut flags = Vec::new();
    let flag = |kind, reason: String| Flag { network, kind, reason };
    for word in profile.avoid_words.iter().filter(|w| contains_word(caption, w)) {
        flags.push(flag(FlagKind::AvoidWord, format!("Uses \"{word}\", a word the brand avoids.")));
    }
    for claim in profile.avoid_claims.iter().filter(|c| contains_word(caption, c)) {
        flags.push(flag(FlagKind::AvoidClaim, format!("Makes the claim \"{claim}\", which the brand does not make.")));
    }
    for issue in rules::check(network, caption, &[]).into_iter().filter(|i| i.field == "caption") {
        let kind = if issue.message.contains("hashtag") {
            FlagKind::Hashtags
        } else if issue.message.contains("mention") {
            FlagKind::Mentions
        } else {
            FlagKind::Length
        };
        flags.push(flag(kind, format!("{}.", crate::generation::capitalise(&issue.message))));
    }
    flags
}

/// A generated caption made to fit the network before it is stored (a draft over the limits
/// cannot be saved): hashtags past the limit lose their `#`, and a caption that is too long
/// is cut at a word. Each change is returned as a note for the reviewer.
pub fn fit_caption(network: Network, caption: &str) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let mut text = caption.trim().replace("\r\n", "\n");
    let tags = rules::hashtags(&text);
    if tags > network.max_hashtags() {
        text = limit_inline_hashtags(&text, network.max_hashtags());
        notes.push(format!(
            "The AI wrote {tags} hashtags for {}; only the first {} are kept as hashtags.",
            network.label(),
            network.max_hashtags()
        ));
    }
    let chars = text.chars().count();
    if chars > network.caption_limit() {
        text = cut_at_word(&text, network.caption_limit());
        notes.push(format!(
            "The {} caption was {chars} characters; it was cut to the network's {}.",
            network.label(),
            network.caption_limit()
        ));
    }
    (text, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nanopost_domain::brand::BrandInput;
    use nanopost_domain::post::{Target, Variant};
    use std::collections::BTreeMap;

    fn profile() -> BrandProfile {
        BrandInput {
            name: "Acme".into(),
            avoid_words: vec!["cheap".into(), "best ever".into()],
            avoid_claims: vec!["gluten-free".into()],
            ..Default::default()
        }
        .validate()
        .unwrap()
    }

    fn content(network: Network, caption: &str) -> PostContent {
        PostContent {
            variants: vec![Variant { network, caption: caption.into(), media: vec![], options: BTreeMap::new() }],
            targets: vec![Target { network, account: None }],
        }
    }

    #[test]
    fn words_and_claims_to_avoid_are_flagged_with_the_reason() {
        let flags =
            check(&profile(), &content(Network::Instagram, "Our CHEAP bread is Gluten-Free and the best ever."));
        let kinds: Vec<_> = flags.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, vec![FlagKind::AvoidWord, FlagKind::AvoidWord, FlagKind::AvoidClaim]);
        assert_eq!(flags[0].reason, "Uses \"cheap\", a word the brand avoids.");
        assert!(flags[2].reason.contains("gluten-free"));
        assert!(check(&profile(), &content(Network::Instagram, "Cheapest? No: fair prices.")).is_empty());
    }

    #[test]
    fn network_limits_are_flagged() {
        let many_tags: String = (0..31).map(|i| format!("#t{i} ")).collect();
        let flags = check_caption(&profile(), Network::Linkedin, &many_tags);
        assert_eq!(flags.iter().map(|f| f.kind).collect::<Vec<_>>(), vec![FlagKind::Hashtags]);
        assert_eq!(flags[0].reason, "LinkedIn allows at most 30 hashtags.");
        let mentions: String = (0..21).map(|i| format!("@user{i} ")).collect();
        assert_eq!(check_caption(&profile(), Network::Instagram, &mentions)[0].kind, FlagKind::Mentions);
        assert!(check_caption(&profile(), Network::Linkedin, &mentions).is_empty(), "only Instagram limits mentions");
        let long = "word ".repeat(500);
        assert_eq!(check_caption(&profile(), Network::Tiktok, &long)[0].kind, FlagKind::Length);
    }

    #[test]
    fn generated_captions_are_made_to_fit_with_a_note() {
        let many_tags: String = (0..40).map(|i| format!("#t{i} ")).collect();
        let (text, notes) = fit_caption(Network::Instagram, &many_tags);
        assert_eq!(rules::hashtags(&text), 30);
        assert!(notes[0].contains("40 hashtags"), "{notes:?}");
        let (text, notes) = fit_caption(Network::Instagram, &"word ".repeat(600));
        assert!(text.chars().count() <= Network::Instagram.caption_limit());
        assert!(notes[0].contains("cut"));
        assert!(check_caption(&profile(), Network::Instagram, &text).is_empty());
        assert_eq!(fit_caption(Network::Linkedin, " fine "), ("fine".to_owned(), vec![]));
    }
}
