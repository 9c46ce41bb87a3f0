//! The offline provider's text: within every network's limits for any brand, reproducible by
//! seed, varied across seeds, in the brand's language, responsive to feedback.

use crate::support;
use nanopost_ai::offline::OfflineProvider;
use nanopost_ai::text::{char_len, contains_word, count_hashtags};
use nanopost_ai::{
    BrandVoice, CaptionRequest, ContentBrief, ImageAnalysisRequest, ImageInput, ImageUnderstanding, PlanRequest,
    ProviderLabel, TextGen,
};
use nanopost_domain::network::Network;
use proptest::prelude::*;
use std::collections::HashSet;

fn text(max: usize) -> impl Strategy<Value = String> {
    // Words, hashtags, mentions, emoji, accents, full stops, line breaks and very long words:
    // what people type. Built from numbers (regex strategies are slow unoptimised).
    proptest::collection::vec((0u8..9, any::<u64>()), 0..max)
        .prop_map(|parts| parts.into_iter().map(|(kind, n)| piece(kind, n)).collect::<Vec<_>>().join(" "))
}

fn piece(kind: u8, n: u64) -> String {
    match kind {
        0 | 1 => word(n, 1, 12),
        2 => format!("#{}", word(n, 1, 15)),
        3 => format!("@{}", word(n, 1, 10)),
        4 => "é".into(),
        5 => "🍞".into(),
        6 => ".".into(),
        7 => "\n".into(),
        _ => word(n, 40, 120),
    }
}

fn word(mut n: u64, min: usize, max: usize) -> String {
    let len = min + (n % (max - min + 1) as u64) as usize;
    (0..len)
        .map(|_| {
            n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let letters = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
            letters[(n >> 33) as usize % letters.len()] as char
        })
        .collect()
}

fn brand_strategy() -> impl Strategy<Value = BrandVoice> {
    (
        "[A-Za-z ]{1,100}",
        text(60),
        prop_oneof![
            Just(""),
            Just("playful"),
            Just("professional, formal"),
            Just("warm"),
            Just("bold"),
            Just("calm expert")
        ],
        text(10),
        prop_oneof![Just("en"), Just("es"), Just("pt-BR"), Just("de")],
        proptest::collection::vec("[a-zA-Z ]{1,100}", 0..50),
        proptest::collection::vec("[a-zA-Z0-9_]{1,100}", 0..31),
        proptest::option::of(text(40)),
        proptest::collection::vec("[a-z]{3,8}", 0..5),
    )
        .prop_map(|(name, description, voice, audience, language, topics, hashtags, cta, avoid)| BrandVoice {
            name,
            description,
            voice: voice.into(),
            audience,
            language: language.into(),
            topics,
            hashtags,
            call_to_action: cta,
            avoid_words: avoid,
            avoid_claims: Vec::new(),
        })
}

/// One provider for every case (loading the bundled fonts is the costly part of `new`).
static PROVIDER: std::sync::LazyLock<OfflineProvider> = std::sync::LazyLock::new(OfflineProvider::new);

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn offline_captions_respect_every_network_limit(
        brand in brand_strategy(),
        topic in text(8),
        brief in text(600),
        feedback in proptest::option::of(prop_oneof![Just("shorter"), Just("longer please, more emoji"), Just("no hashtags"), Just("hmm")]),
        seed in any::<u64>(),
    ) {
        let provider = &*PROVIDER;
        let request = CaptionRequest {
            brand,
            networks: Network::ALL.to_vec(),
            content: ContentBrief { topic, brief, feedback: feedback.map(str::to_owned), previous: None },
            seed,
        };
        let out = provider.write_captions(&request).unwrap();
        prop_assert_eq!(out.provider, ProviderLabel::Offline);
        prop_assert_eq!(out.output.captions.len(), 3);
        for c in &out.output.captions {
            let n = c.network;
            prop_assert!(char_len(&c.text) <= n.caption_limit(), "{} has {} chars", n, char_len(&c.text));
            prop_assert!(count_hashtags(&c.text) <= n.max_hashtags(), "{} has {} hashtags", n, count_hashtags(&c.text));
            prop_assert!(!c.text.trim().is_empty());
            prop_assert!(char_len(c.text.lines().next().unwrap_or("")) <= 2_200);
            prop_assert!(char_len(&c.headline) <= 60);
            for tag in &c.hashtags {
                let with_hash = format!("#{}", tag);
                prop_assert!(c.text.contains(&with_hash));
                for w in &request.brand.avoid_words {
                    prop_assert!(!tag.to_lowercase().contains(w.as_str()), "#{} contains avoided {}", tag, w);
                }
            }
        }
    }
}

fn request(seed: u64) -> CaptionRequest {
    CaptionRequest { seed, ..support::caption_request(&Network::ALL) }
}

#[test]
fn the_same_seed_gives_the_same_text_and_seeds_vary_it() {
    let provider = OfflineProvider::new();
    let a = provider.write_captions(&request(7)).unwrap();
    assert_eq!(a, provider.write_captions(&request(7)).unwrap());
    let distinct: HashSet<String> =
        (0..20).map(|s| provider.write_captions(&request(s)).unwrap().output.captions[0].text.clone()).collect();
    assert!(distinct.len() >= 12, "only {} distinct captions over 20 seeds", distinct.len());
}

#[test]
fn captions_use_the_brand_profile() {
    let out = OfflineProvider::new().write_captions(&request(3)).unwrap();
    for c in &out.output.captions {
        assert!(c.text.contains("Order at acme.example."), "the brand's call to action: {}", c.text);
        assert!(c.hashtags.iter().any(|h| h == "AcmeBakery"), "brand hashtag first: {:?}", c.hashtags);
        assert!(c.text.contains("rye loaf") || c.text.contains("Rye loaf"));
        assert!(!contains_word(&c.text, "cheap"));
    }
    let linkedin = out.output.for_network(Network::Linkedin).unwrap();
    let instagram = out.output.for_network(Network::Instagram).unwrap();
    assert!(linkedin.hashtags.len() <= 3 && instagram.hashtags.len() > linkedin.hashtags.len());
    let tiktok = out.output.for_network(Network::Tiktok).unwrap();
    assert!(char_len(tiktok.text.lines().next().unwrap()) <= 90, "TikTok's title line");
}

#[test]
fn languages_with_templates_and_the_english_fallback() {
    let provider = OfflineProvider::new();
    let mut spanish = request(1);
    spanish.brand.language = "es".into();
    spanish.brand.call_to_action = None;
    let out = provider.write_captions(&spanish).unwrap();
    assert!(out.notes.is_empty(), "{:?}", out.notes);
    let all: String = out.output.captions.iter().map(|c| c.text.as_str()).collect();
    let spanish_words = [
        "Hablemos",
        "como debe ser",
        "Novedad",
        "probaste",
        "importa",
        "mirada",
        "semana",
        "estilo",
        "segundos",
        "verdad",
        "explicado",
        "Espera",
    ];
    assert!(spanish_words.iter().any(|w| all.contains(w)), "{all}");

    let mut portuguese = request(1);
    portuguese.brand.language = "pt-BR".into();
    let out = provider.write_captions(&portuguese).unwrap();
    assert!(out.notes.iter().any(|n| n.contains("pt-BR") && n.contains("English")), "{:?}", out.notes);
}

#[test]
fn feedback_changes_the_caption_as_asked() {
    let provider = OfflineProvider::new();
    let long_brief = "Our rye is slow-fermented for 36 hours. It keeps fresh for days. We bake it with local flour. Try it toasted with butter. It pairs well with soup.";
    let base = CaptionRequest { content: ContentBrief::about("rye loaf", long_brief), ..request(5) };
    let before = provider.write_captions(&base).unwrap();
    let mut again = base.clone();
    again.content =
        again.content.with_feedback("Shorter, no emoji, no hashtags", Some(before.output.captions[0].text.clone()));
    let after = provider.write_captions(&again).unwrap();
    assert!(after.notes.iter().any(|n| n.contains("shorter")), "{:?}", after.notes);
    for (b, a) in before.output.captions.iter().zip(&after.output.captions) {
        assert!(char_len(&a.text) < char_len(&b.text), "{} not shorter:\n{}\n---\n{}", a.network, b.text, a.text);
        assert_eq!(count_hashtags(&a.text), 0);
        assert!(!a.text.chars().any(|c| c as u32 >= 0x1F300), "no emoji: {}", a.text);
    }
    let mut vague = base.clone();
    vague.content.feedback = Some("hmm, not quite".into());
    let out = provider.write_captions(&vague).unwrap();
    assert_ne!(out.output, before.output, "a new variant");
    assert!(out.notes.iter().any(|n| n.contains("could not apply")));
}

#[tokio::test]
async fn offline_plans_spread_topics_and_angles() {
    let provider = OfflineProvider::new();
    let request = PlanRequest {
        brand: support::brand(),
        networks: vec![Network::Instagram],
        count: 12,
        theme: "autumn".into(),
        seed: 9,
    };
    let plan = provider.plan(&request).await.unwrap();
    assert_eq!(plan.output.posts.len(), 12);
    let pairs: HashSet<(String, String)> =
        plan.output.posts.iter().map(|p| (p.topic.clone(), p.angle.clone())).collect();
    assert_eq!(pairs.len(), 12, "no topic/angle pairing repeats");
    assert!(plan.output.posts.iter().all(|p| p.brief.contains("autumn")));
    assert_eq!(plan.output, provider.plan(&request).await.unwrap().output);
    let too_many = PlanRequest { count: 500, ..request };
    assert!(provider.plan(&too_many).await.is_err());
}

#[tokio::test]
async fn offline_image_analysis_is_labelled_and_describes_pixels() {
    let provider = OfflineProvider::new();
    let request = ImageAnalysisRequest {
        image: ImageInput::Bytes(support::png(300, 200, [20, 40, 160])),
        brand: support::brand(),
        network: Some(Network::Instagram),
        seed: 2,
    };
    let out = provider.analyse_image(&request).await.unwrap();
    assert_eq!(out.provider, ProviderLabel::Offline);
    let alt = &out.output.alt_text;
    assert!(alt.starts_with("Offline description"), "{alt}");
    assert!(alt.contains("landscape") && alt.contains("300×200") && alt.contains("blue"), "{alt}");
    assert!(char_len(&out.output.suggested_caption) <= Network::Instagram.caption_limit());
    assert!(!out.output.suggested_caption.is_empty());

    let garbage = ImageAnalysisRequest { image: ImageInput::Bytes(b"not an image".to_vec()), ..request.clone() };
    assert!(matches!(provider.analyse_image(&garbage).await.unwrap_err(), nanopost_ai::AiError::InvalidInput(_)));
    let link = ImageAnalysisRequest { image: ImageInput::Url("https://x.example/a.png".into()), ..request };
    assert!(provider.analyse_image(&link).await.is_err());
}
