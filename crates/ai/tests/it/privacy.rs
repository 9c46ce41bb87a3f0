//! The privacy promise: providers receive only the brand and content data needed.

use crate::support;
use nanopost_ai::{BrandVisual, BrandVoice, CaptionRequest, ContentBrief, ImageGen, ImageRequest, TextGen};
use nanopost_domain::brand::{Brand, BrandInput};
use nanopost_domain::ids::{BrandId, WorkspaceId};
use nanopost_domain::network::Network;

#[tokio::test]
async fn only_brand_and_content_data_reach_the_provider() {
    let fake = support::fake().await;
    let owner_email = "owner.secret@acme-private.example";
    let profile = BrandInput {
        name: "Acme Bakery".into(),
        description: "Sourdough since 1990.".into(),
        voice: "warm".into(),
        timezone: "Europe/Berlin".into(),
        topics: vec!["rye".into()],
        hashtags: vec!["acme".into()],
        colors: vec!["#112233".into()],
        slots: vec!["mon 09:00".into()],
        competitors: vec!["instagram:rival_bakery_handle".into()],
        ..Default::default()
    }
    .validate()
    .unwrap();
    let now = jiff::Timestamp::now();
    // What the generation service holds when it builds a request: far more than is needed.
    struct Workspace {
        owner_email: String,
        brand: Brand,
    }
    let workspace = Workspace {
        owner_email: owner_email.into(),
        brand: Brand {
            id: BrandId::new(),
            workspace_id: WorkspaceId::new(),
            profile,
            created_at: now,
            updated_at: now,
        },
    };
    let brand = &workspace.brand;

    let ai = support::provider(&fake);
    let request = CaptionRequest {
        brand: BrandVoice::from_profile(&brand.profile).with_call_to_action("Visit us."),
        networks: vec![Network::Instagram],
        content: ContentBrief::about("rye", "Fresh rye."),
        seed: 1,
    };
    ai.captions(&request).await.unwrap();
    let image = ImageRequest {
        brand: BrandVisual::from_profile(&brand.profile).with_logo(nanopost_ai::LogoImage(support::png(
            8,
            8,
            [1, 2, 3],
        ))),
        network: Network::Instagram,
        format: None,
        headline: "Rye".into(),
        description: "bread".into(),
        seed: 1,
    };
    let out = ai.generate_image(&image).await.unwrap();
    assert!(out.notes.iter().any(|n| n.contains("logo")), "the logo stays local");

    let sent: String = fake.requests().iter().map(|r| r.body_text()).collect();
    assert!(sent.contains("Acme Bakery") && sent.contains("Fresh rye"), "the needed data is there");
    for secret in [
        workspace.owner_email.clone(),
        brand.id.to_string(),
        brand.workspace_id.to_string(),
        "Europe/Berlin".to_owned(),
        "rival_bakery_handle".to_owned(),
        "mon 09:00".to_owned(),
    ] {
        assert!(!sent.contains(&secret), "{secret} reached the provider");
    }
    // The logo's bytes are not sent either (base64 of a PNG starts with iVBOR).
    assert!(!sent.contains("iVBOR"));
}
