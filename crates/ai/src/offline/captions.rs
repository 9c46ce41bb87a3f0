//! Offline captions: the brand profile through templates, shaped per network and kept within
//! each network's limits by construction.

use super::templates::{self, Pack, Tone};
use crate::brand::BrandVoice;
use crate::output::NetworkCaption;
use crate::rng::SeededRng;
use crate::text::{
    char_len, count_hashtags, cut_at_word, first_avoided, limit_inline_hashtags, normalise_hashtag, phrase_hashtag,
    sentences,
};
use nanopost_domain::network::Network;

/// The TikTok photo title is the caption's first line, 90 characters at most.
const HOOK_MAX: usize = 90;
const HEADLINE_MAX: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Short,
    Normal,
    Long,
}

/// What "regenerate with this feedback" asked for, as far as keywords can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustments {
    pub length: Length,
    pub emoji: Option<bool>,
    pub hashtags: bool,
    pub tone: Option<Tone>,
    pub question: bool,
    /// The adjustments understood, for the note shown to the reviewer.
    pub understood: Vec<&'static str>,
}

impl Adjustments {
    pub fn from_feedback(feedback: Option<&str>) -> Self {
        let mut a = Adjustments {
            length: Length::Normal,
            emoji: None,
            hashtags: true,
            tone: None,
            question: false,
            understood: Vec::new(),
        };
        let Some(f) = feedback.map(str::to_lowercase) else { return a };
        let has = |words: &[&str]| words.iter().any(|w| f.contains(w));
        if has(&["shorter", "too long", "concise", "brief", "más corto", "mas corto"]) {
            a.length = Length::Short;
            a.understood.push("shorter");
        } else if has(&["longer", "more detail", "too short", "más largo", "mas largo"]) {
            a.length = Length::Long;
            a.understood.push("longer");
        }
        if has(&["no emoji", "without emoji", "fewer emoji", "less emoji", "sin emoji"]) {
            a.emoji = Some(false);
            a.understood.push("no emoji");
        } else if has(&["emoji"]) {
            a.emoji = Some(true);
            a.understood.push("emoji");
        }
        if has(&["no hashtag", "without hashtag", "sin hashtag"]) {
            a.hashtags = false;
            a.understood.push("no hashtags");
        }
        for (tone, words, label) in [
            (Tone::Professional, &["formal", "professional", "serious", "profesional"][..], "more formal"),
            (Tone::Playful, &["playful", "fun", "casual", "lighter", "divertid"][..], "more playful"),
            (Tone::Warm, &["warm", "friendly", "cálid", "cercan"][..], "warmer"),
            (Tone::Bold, &["bold", "energetic", "punchy", "audaz"][..], "bolder"),
        ] {
            if a.tone.is_none() && has(words) {
                a.tone = Some(tone);
                a.understood.push(label);
            }
        }
        if has(&["question", "pregunta"]) {
            a.question = true;
            a.understood.push("ends with a question");
        }
        a
    }
}

/// Everything a caption is made from, resolved once per request.
pub struct Context<'a> {
    pub brand: &'a BrandVoice,
    pub pack: &'static Pack,
    pub topic: String,
    pub tone: Tone,
    pub adjust: &'a Adjustments,
    pub brief: &'a str,
}

/// One network's caption.
pub fn compose(ctx: &Context<'_>, network: Network, seed: u64) -> NetworkCaption {
    let mut rng = SeededRng::derive(seed, network.as_str());
    let avoid = &ctx.brand.avoid_words;
    let fill = |t: &str| templates::fill(t, &ctx.topic, ctx.brand.name.trim(), ctx.brand.audience.trim());
    // A template line, skipping variants that contain a word the brand avoids.
    let line = |rng: &mut SeededRng, options: &[&str]| -> Option<String> {
        let mut order: Vec<&str> = options.to_vec();
        rng.shuffle(&mut order);
        order.into_iter().map(fill).find(|l| first_avoided(l, avoid).is_none())
    };

    let emoji_on = ctx.adjust.emoji.unwrap_or(ctx.tone != Tone::Professional) && network != Network::Linkedin;
    let emoji = if emoji_on { rng.pick(templates::emoji(ctx.tone)).copied() } else { None };

    let hook_options = if network == Network::Tiktok { ctx.pack.short_hooks } else { ctx.pack.hooks };
    let mut hook = cut_at_word(&line(&mut rng, hook_options).unwrap_or_else(|| capitalise_topic(ctx)), HOOK_MAX);
    if let Some(e) = emoji
        && char_len(&hook) + 2 <= HOOK_MAX
    {
        hook = format!("{hook} {e}");
    }
    let headline =
        cut_at_word(&line(&mut rng, ctx.pack.headlines).unwrap_or_else(|| capitalise_topic(ctx)), HEADLINE_MAX);

    let body_budget = match (network, ctx.adjust.length) {
        (Network::Tiktok, Length::Short) => 80,
        (Network::Tiktok, Length::Normal) => 160,
        (Network::Tiktok, Length::Long) => 400,
        (Network::Instagram, Length::Short) => 160,
        (Network::Instagram, Length::Normal) => 450,
        (Network::Instagram, Length::Long) => 1_000,
        (Network::Linkedin, Length::Short) => 280,
        (Network::Linkedin, Length::Normal) => 900,
        (Network::Linkedin, Length::Long) => 1_800,
    };
    let body = if ctx.brief.trim().is_empty() {
        line(&mut rng, ctx.pack.filler_bodies).unwrap_or_default()
    } else {
        take_sentences(ctx.brief, body_budget)
    };

    let mut middle = Vec::new();
    if network == Network::Linkedin && ctx.adjust.length != Length::Short && !ctx.brand.description.trim().is_empty() {
        let about = take_sentences(&ctx.brand.description, 300);
        if first_avoided(&about, avoid).is_none() {
            middle.push(about);
        }
    }
    middle.push(body);
    if ctx.adjust.length != Length::Short || network == Network::Linkedin {
        let tone_line = line(&mut rng, (ctx.pack.tone_lines)(ctx.tone));
        middle.extend(tone_line);
    }
    if !ctx.brand.audience.trim().is_empty() && ctx.adjust.length != Length::Short && rng.chance(0.6) {
        middle.extend(line(&mut rng, ctx.pack.audience_lines));
    }

    let brand_cta = ctx.brand.call_to_action.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    let cta = brand_cta.or_else(|| line(&mut rng, (ctx.pack.network_ctas)(network)));
    let question = (ctx.adjust.question || (network == Network::Linkedin && rng.chance(0.5)))
        .then(|| line(&mut rng, ctx.pack.questions))
        .flatten();

    let mut closing = Vec::new();
    closing.extend(question);
    closing.extend(cta);

    let hashtags = if ctx.adjust.hashtags { pick_hashtags(ctx, network, &mut rng) } else { Vec::new() };
    fit(network, &hook, &middle, &closing, hashtags, headline)
}

/// Assembles the parts per network's layout and keeps the result within the network's caption
/// length and hashtag count, dropping the least important parts first.
fn fit(
    network: Network,
    hook: &str,
    middle: &[String],
    closing: &[String],
    mut hashtags: Vec<String>,
    headline: String,
) -> NetworkCaption {
    let limit = network.caption_limit();
    let max_tags = network.max_hashtags();
    let mut middle: Vec<String> = middle.iter().filter(|s| !s.trim().is_empty()).cloned().collect();
    let closing: Vec<String> = closing.iter().filter(|s| !s.trim().is_empty()).cloned().collect();
    loop {
        let mut text = layout(network, hook, &middle, &closing);
        let inline = count_hashtags(&text);
        if inline > max_tags {
            text = limit_inline_hashtags(&text, max_tags);
        }
        let room = max_tags.saturating_sub(count_hashtags(&text));
        hashtags.retain(|t| !crate::text::contains_word(&text, &format!("#{t}")));
        hashtags.truncate(room);
        let tag_line = hashtags.iter().map(|t| format!("#{t}")).collect::<Vec<_>>().join(" ");
        let full = match (network, tag_line.is_empty()) {
            (_, true) => text.clone(),
            (Network::Tiktok, false) => format!("{text}\n{tag_line}"),
            (_, false) => format!("{text}\n\n{tag_line}"),
        };
        if char_len(&full) <= limit {
            return NetworkCaption { network, text: full, hashtags, headline };
        }
        // Too long: shed hashtags past five, then the middle from the end, then cut what is left.
        let over = char_len(&full) - limit;
        let current = middle.first().map(|m| char_len(m)).unwrap_or(0);
        if hashtags.len() > 5 {
            hashtags.truncate(5);
        } else if middle.len() > 1 {
            middle.pop();
        } else if over + 10 < current {
            middle = vec![cut_at_word(&middle[0], current - over - 1)];
        } else if !middle.is_empty() {
            middle.clear();
        } else if !hashtags.is_empty() {
            hashtags.clear();
        } else {
            // Only a brand's call to action longer than the limit gets here.
            let text = limit_inline_hashtags(&cut_at_word(&text, limit), max_tags);
            return NetworkCaption { network, text, hashtags, headline };
        }
    }
}

fn layout(network: Network, hook: &str, middle: &[String], closing: &[String]) -> String {
    let mut blocks = vec![hook.to_owned()];
    match network {
        // Short lines, a body paragraph and a call to action.
        Network::Instagram => {
            if !middle.is_empty() {
                blocks.push(middle.join(" "));
            }
            if !closing.is_empty() {
                blocks.push(closing.join(" "));
            }
            blocks.join("\n\n")
        }
        // Airy paragraphs: one per part.
        Network::Linkedin => {
            blocks.extend(middle.iter().cloned());
            if !closing.is_empty() {
                blocks.push(closing.join("\n"));
            }
            blocks.join("\n\n")
        }
        // Title line, then one compact line.
        Network::Tiktok => {
            let rest: Vec<String> = middle.iter().chain(closing).cloned().collect();
            if !rest.is_empty() {
                blocks.push(rest.join(" "));
            }
            blocks.join("\n")
        }
    }
}

/// Whole sentences of `text` up to `budget` characters (the first one cut at a word if alone
/// it is longer).
pub fn take_sentences(text: &str, budget: usize) -> String {
    let mut out = String::new();
    for s in sentences(text) {
        let extra = if out.is_empty() { char_len(&s) } else { char_len(&s) + 1 };
        if char_len(&out) + extra > budget {
            if out.is_empty() {
                out = cut_at_word(&s, budget);
            }
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&s);
    }
    out
}

/// How many hashtags each network's style calls for (always within its limit).
fn style_hashtags(network: Network) -> usize {
    let style = match network {
        Network::Instagram => 8,
        Network::Linkedin => 3,
        Network::Tiktok => 5,
    };
    style.min(network.max_hashtags())
}

fn pick_hashtags(ctx: &Context<'_>, network: Network, rng: &mut SeededRng) -> Vec<String> {
    let mut brand_tags: Vec<String> = ctx.brand.hashtags.iter().filter_map(|t| normalise_hashtag(t)).collect();
    // The first two are the brand's signature tags; the rest rotate.
    if brand_tags.len() > 2 {
        rng.shuffle(&mut brand_tags[2..]);
    }
    let mut topic_tags: Vec<String> = ctx.brand.topics.iter().filter_map(|t| phrase_hashtag(t)).collect();
    rng.shuffle(&mut topic_tags);
    let mut candidates = Vec::new();
    candidates.extend(phrase_hashtag(&ctx.topic));
    candidates.extend(brand_tags);
    candidates.extend(topic_tags);
    candidates.extend(phrase_hashtag(&ctx.brand.name));

    let mut out: Vec<String> = Vec::new();
    for tag in candidates {
        let clash = out.iter().any(|t| t.eq_ignore_ascii_case(&tag));
        let avoided = ctx.brand.avoid_words.iter().any(|w| {
            let w: String = w.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
            !w.is_empty() && tag.to_lowercase().contains(&w)
        });
        if !clash && !avoided && char_len(&tag) <= 40 {
            out.push(tag);
        }
    }
    out.truncate(style_hashtags(network));
    out
}

fn capitalise_topic(ctx: &Context<'_>) -> String {
    templates::capitalise(&ctx.topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_keywords() {
        let a = Adjustments::from_feedback(Some("Shorter please, no emoji, more professional"));
        assert_eq!(a.length, Length::Short);
        assert_eq!(a.emoji, Some(false));
        assert_eq!(a.tone, Some(Tone::Professional));
        assert!(Adjustments::from_feedback(Some("hmm")).understood.is_empty());
    }

    #[test]
    fn sentences_within_budget() {
        assert_eq!(take_sentences("One two. Three four. Five six.", 20), "One two. Three four.");
        assert!(char_len(&take_sentences(&"word ".repeat(100), 30)) <= 30);
    }
}
