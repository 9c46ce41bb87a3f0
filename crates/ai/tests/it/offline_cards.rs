//! Offline brand cards: the network's pixel size, a real JPEG, the brand's colours, the seed.

use crate::support;
use nanopost_ai::offline::OfflineProvider;
use nanopost_ai::{AiError, BrandVisual, CardFormat, ImageGen, ImageRequest, LogoImage, ProviderLabel};
use nanopost_domain::network::Network;
use std::time::Instant;

fn request(network: Network, format: Option<CardFormat>, seed: u64) -> ImageRequest {
    ImageRequest {
        brand: support::visual(),
        network,
        format,
        headline: "Fresh rye, every morning at seven — straight from our oven to your table".into(),
        description: String::new(),
        seed,
    }
}

#[tokio::test]
async fn cards_have_each_networks_size_and_decode_as_jpeg() {
    let provider = OfflineProvider::new();
    let started = Instant::now();
    for (network, format, size) in [
        (Network::Instagram, None, (1080, 1350)),
        (Network::Instagram, Some(CardFormat::Square), (1080, 1080)),
        (Network::Linkedin, None, (1200, 627)),
        (Network::Linkedin, Some(CardFormat::Square), (1080, 1080)),
        (Network::Tiktok, None, (1080, 1920)),
    ] {
        let out = provider.generate_image(&request(network, format, 1)).await.unwrap();
        assert_eq!(out.provider, ProviderLabel::Offline);
        assert_eq!((out.output.width, out.output.height), size);
        assert!(out.output.jpeg.starts_with(&[0xff, 0xd8, 0xff]));
        let img = image::load_from_memory_with_format(&out.output.jpeg, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((img.width(), img.height()), size, "{network} {format:?}");
    }
    eprintln!("5 brand cards rendered and decoded in {:?}", started.elapsed());
}

#[tokio::test]
async fn a_format_the_network_does_not_show_is_refused() {
    let err = OfflineProvider::new()
        .generate_image(&request(Network::Tiktok, Some(CardFormat::Landscape), 1))
        .await
        .unwrap_err();
    assert!(matches!(err, AiError::InvalidInput(ref m) if m.contains("story")), "{err:?}");
}

#[tokio::test]
async fn cards_are_reproducible_by_seed_and_use_the_brand_colours() {
    let provider = OfflineProvider::new();
    let a = provider.generate_image(&request(Network::Linkedin, None, 11)).await.unwrap().output;
    let b = provider.generate_image(&request(Network::Linkedin, None, 11)).await.unwrap().output;
    assert_eq!(a.jpeg, b.jpeg);
    let others: Vec<Vec<u8>> = futures_seeds(&provider, &[12, 13, 14]).await;
    assert!(others.iter().any(|o| *o != a.jpeg), "seeds vary the card");

    // Most of the card is one of the brand's two colours (JPEG-close).
    let img = image::load_from_memory(&a.jpeg).unwrap().to_rgb8();
    let brand = [[0x7a, 0x3e, 0x1d], [0xf4, 0xd3, 0x5e]];
    let near =
        |p: &image::Rgb<u8>, c: [u8; 3]| p.0.iter().zip(c).all(|(x, y)| (i16::from(*x) - i16::from(y)).abs() < 40);
    let samples: Vec<&image::Rgb<u8>> = img.pixels().step_by(97).collect();
    let on_brand = samples.iter().filter(|p| brand.iter().any(|c| near(p, *c)) || is_between(p, brand)).count();
    assert!(on_brand * 2 > samples.len(), "{on_brand} of {} samples in brand colours", samples.len());
}

async fn futures_seeds(provider: &OfflineProvider, seeds: &[u64]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for s in seeds {
        out.push(provider.generate_image(&request(Network::Linkedin, None, *s)).await.unwrap().output.jpeg);
    }
    out
}

/// On the gradient between the two colours.
fn is_between(p: &image::Rgb<u8>, [a, b]: [[u8; 3]; 2]) -> bool {
    (0..3).all(|i| {
        let (lo, hi) = (a[i].min(b[i]), a[i].max(b[i]));
        p.0[i] >= lo.saturating_sub(30) && p.0[i] <= hi.saturating_add(30)
    })
}

#[tokio::test]
async fn the_logo_is_drawn_and_a_broken_logo_is_noted() {
    let provider = OfflineProvider::new();
    let plain = provider.generate_image(&request(Network::Instagram, Some(CardFormat::Square), 4)).await.unwrap();
    let mut with_logo = request(Network::Instagram, Some(CardFormat::Square), 4);
    with_logo.brand = BrandVisual { logo: Some(LogoImage(support::png(64, 32, [0, 200, 0]))), ..support::visual() };
    let logo = provider.generate_image(&with_logo).await.unwrap();
    assert_ne!(plain.output.jpeg, logo.output.jpeg);
    let img = image::load_from_memory(&logo.output.jpeg).unwrap().to_rgb8();
    let green = img.pixels().filter(|p| p[1] > 150 && p[0] < 60 && p[2] < 60).count();
    assert!(green > 1_000, "the green logo shows: {green} pixels");

    with_logo.brand.logo = Some(LogoImage(b"garbage".to_vec()));
    let broken = provider.generate_image(&with_logo).await.unwrap();
    assert!(broken.notes.iter().any(|n| n.contains("logo was left out")), "{:?}", broken.notes);
}

#[tokio::test]
async fn brands_without_colours_or_with_odd_headlines_still_render() {
    let provider = OfflineProvider::new();
    for (colors, headline) in [
        (vec![], ""),
        (vec!["#ffffff".to_owned()], "🍞🍞🍞"),
        (vec!["#000000".to_owned()], &*"Supercalifragilisticexpialidocious".repeat(3)),
        (vec!["#123456".to_owned(), "#abcdef".to_owned(), "#fedcba".to_owned()], "Ünïcödé ÇŞĞ Ελληνικά Кириллица"),
    ] {
        let mut r = request(Network::Tiktok, None, 2);
        r.brand.colors = colors;
        r.headline = headline.to_owned();
        let out = provider.generate_image(&r).await.unwrap();
        assert_eq!((out.output.width, out.output.height), (1080, 1920));
    }
}
