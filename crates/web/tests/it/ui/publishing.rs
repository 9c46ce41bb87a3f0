//! Publishing in the browser, against the LinkedIn fake: the account picker, "Publish now",
//! each target's result with its permalink, and an unconfirmed publication resolved by a person.

use super::Browser;
use super::connections::{local, setup};
use crate::support::TestApp;
use axum::http::StatusCode;
use nanopost_domain::clock::Clock;
use nanopost_domain::post::PostState;
use nanopost_domain::role::Role;
use nanopost_fakes::{Consent, Failure, Route};
use nanopost_jobs::{Handlers, JobQueue, Runtime, RuntimeConfig};
use nanopost_services::Accounts;
use nanopost_services::publishing::Publishing;
use std::sync::Arc;

/// Runs the publishing jobs, as the workers would, moving the clock to each retry (up to an
/// hour ahead).
async fn run_jobs(app: &TestApp, accounts: &Accounts) -> usize {
    let clock: Arc<dyn Clock> = app.clock.clone();
    let handlers = Publishing::new(accounts).register(Handlers::new());
    let queue = app.services.queue().clone();
    let runtime = Runtime::new(queue.clone(), handlers, RuntimeConfig::default(), clock);
    let end = app.clock.now() + jiff::SignedDuration::from_hours(1);
    let mut ran = runtime.run_until_idle(200).await.unwrap();
    while let Some(next) = queue.next_due().await.unwrap().filter(|n| *n <= end) {
        app.clock.set(next.max(app.clock.now()));
        ran += runtime.run_until_idle(200).await.unwrap();
    }
    ran
}

#[tokio::test]
async fn a_post_goes_out_from_the_editor_and_shows_its_permalink_and_what_failed() {
    let s = setup().await;
    let team = s.app.team("pub").await;
    let owner = team.user(Role::Owner);
    let b = super::brand(&s.app, owner, team.workspace, "Bakery").await;
    let ws = team.workspace;
    let mut br = Browser::signed_in(&s.app, owner).await;
    // Connect LinkedIn: a member and a Company Page.
    let res = br.submit(&format!("/w/{ws}/brands/{}/accounts/connect", b.id), &[("login", "linkedin")]).await;
    let back = s.li.consent(res.location().unwrap(), Consent::allow()).unwrap();
    assert_eq!(br.get(&local(&back)).await.status, StatusCode::SEE_OTHER);
    let page_urn = s.li.organizations()[0].urn.clone();

    // A draft for LinkedIn: the editor offers the brand's two LinkedIn accounts.
    let res = br
        .submit(
            &format!("/w/{ws}/posts"),
            &[("brand_id", &b.id.to_string()), ("target_linkedin", "on"), ("caption_linkedin", "Fresh bread at 7")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let editor = res.location().unwrap().split('?').next().unwrap().to_owned();
    let page = br.get(&editor).await;
    page.assert_html();
    assert!(
        page.body.contains(r#"name="account_linkedin""#) && page.body.contains("Nanopost Demo Co"),
        "{}",
        page.body
    );

    // Nothing chosen yet: the editor says so before anyone gets to approve.
    assert!(page.body.contains("Choose which LinkedIn account this post goes to (the brand has 2:"), "{}", page.body);

    // Choose the Company Page, submit, and have a reviewer approve.
    let version = page.hidden("version").unwrap();
    let res = br
        .submit(
            &editor,
            &[
                ("version", &version),
                ("target_linkedin", "on"),
                ("caption_linkedin", "Fresh bread at 7"),
                ("account_linkedin", &page_urn),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let version = br.get(&editor).await.hidden("version").unwrap();
    br.submit(&format!("{editor}/submit"), &[("version", &version)]).await;
    let mut reviewer = Browser::signed_in(&s.app, team.user(Role::Reviewer)).await;
    let digest = reviewer.get(&editor).await.hidden("content_digest").unwrap();
    let res = reviewer.submit(&format!("{editor}/approve"), &[("content_digest", &digest)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // A reviewer cannot push the button; the owner can.
    let page = reviewer.get(&editor).await;
    assert!(!page.body.contains(">Publish now</button>"));
    let page = br.get(&editor).await;
    assert!(page.body.contains(">Publish now</button>"), "{}", page.body);
    assert!(!page.body.contains("Choose which LinkedIn account"), "chosen: nothing to say");
    assert!(page.body.contains("Approved and not scheduled"), "{}", page.body);
    let version = page.hidden("version").unwrap();
    let res = br.submit(&format!("{editor}/publish"), &[("version", &version)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    // The Schedule card tells the post's state, not "once approved".
    let page = br.get(&editor).await;
    assert!(page.body.contains("Approved; publishing now (set for"), "{}", page.body);
    assert!(!page.body.contains("once approved"), "{}", page.body);
    assert_eq!(run_jobs(&s.app, &s.accounts).await, 2);

    let posts = s.li.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].author, page_urn);
    let page = br.get(&editor).await;
    assert!(page.body.contains("pill ok\">published"), "{}", page.body);
    assert!(page.body.contains(&format!("https://www.linkedin.com/feed/update/{}", posts[0].urn)), "{}", page.body);
    assert!(!page.body.contains(">Publish now</button>"), "published: nothing to push");
    assert!(page.body.contains("Published (set for"), "{}", page.body);
}

#[tokio::test]
async fn an_unconfirmed_publication_is_resolved_by_a_person_and_then_retried() {
    let s = setup().await;
    let team = s.app.team("unc").await;
    let owner = team.user(Role::Owner);
    let ws = team.workspace;
    let b = super::brand(&s.app, owner, ws, "Bakery").await;
    let mut br = Browser::signed_in(&s.app, owner).await;
    let res = br.submit(&format!("/w/{ws}/brands/{}/accounts/connect", b.id), &[("login", "linkedin")]).await;
    let back = s.li.consent(res.location().unwrap(), Consent::allow()).unwrap();
    br.get(&local(&back)).await;
    let member = s.li.members()[0].urn.clone();

    let actor = s.app.actor(owner, ws).await;
    let content = nanopost_domain::post::PostContent {
        variants: vec![nanopost_domain::post::Variant {
            network: nanopost_domain::network::Network::Linkedin,
            caption: "Maybe it went".into(),
            media: vec![],
            options: Default::default(),
        }],
        targets: vec![nanopost_domain::post::Target {
            network: nanopost_domain::network::Network::Linkedin,
            account: Some(member.clone()),
        }],
    };
    let svc = &s.app.services;
    let post = svc.create_post(&actor, b.id, content).await.unwrap();
    let post = svc.submit_post(&actor, post.id, post.version).await.unwrap();
    let post = svc.approve_post(&actor, post.id, &post.content.digest()).await.unwrap();
    s.li.fail_next(Route::post("/rest/posts"), Failure::ServerError);
    svc.publish_now(&actor, post.id, post.version).await.unwrap();
    run_jobs(&s.app, &s.accounts).await;
    let editor = format!("/w/{ws}/posts/{}", post.id);
    let page = br.get(&editor).await;
    assert!(page.body.contains("pill warn\">unconfirmed"), "{}", page.body);
    assert!(page.body.contains("could not tell whether this went out"), "{}", page.body);
    let publication = svc.publications(&actor, post.id).await.unwrap().remove(0);
    let resolve = format!("{editor}/publications/{}/resolve", publication.id);

    // Hostile and wrong inputs change nothing.
    let res = br.submit(&resolve, &[("outcome", "maybe"), ("url", "")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    let res = br.submit(&resolve, &[("outcome", "found"), ("url", "javascript:alert(1)")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    let other = format!("/w/{ws}/posts/{}/publications/{}/resolve", b.id, publication.id);
    assert_eq!(br.submit(&other, &[("outcome", "absent")]).await.status, StatusCode::NOT_FOUND);
    let viewer = team.user(Role::Viewer);
    let mut vb = Browser::signed_in(&s.app, viewer).await;
    assert_eq!(vb.submit(&resolve, &[("outcome", "absent")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(svc.post(&actor, post.id).await.unwrap().post.state, PostState::Unconfirmed);

    // "It is not there" → failed; "Try again" → published once.
    let res = br.submit(&resolve, &[("outcome", "absent"), ("url", "")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = br.get(&editor).await;
    assert!(page.body.contains(">Try the failed ones again</button>"), "{}", page.body);
    let version = page.hidden("version").unwrap();
    let res = br.submit(&format!("{editor}/retry"), &[("version", &version)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    run_jobs(&s.app, &s.accounts).await;
    assert_eq!(s.li.posts().len(), 1);
    assert_eq!(svc.post(&actor, post.id).await.unwrap().post.state, PostState::Published);
}

/// A 1080×1080 JPEG (a real one: the networks' fakes sniff and measure what they fetch).
fn square_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(1080, 1080, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn instagram_and_tiktok_fetch_the_approved_image_from_its_signed_url() {
    use nanopost_domain::network::Network;
    use nanopost_domain::post::{PostContent, Target, Variant};
    use nanopost_fakes::{FakeInstagram, FakeTikTok, InstagramConfig as FakeIg, TikTokConfig, demo};
    use nanopost_platforms::Secret;
    use nanopost_platforms::config::{AppCredentials, InstagramConfig, PollSettings};
    use nanopost_platforms::instagram::Instagram;
    use nanopost_platforms::network::Flavour;
    use nanopost_platforms::vault::Networks;

    // The app listens for real: the networks fetch media from its public URL.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    let app = TestApp::with_public_url(&public_url).await;
    let served = app.router.clone().into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, served).await });

    let clock: Arc<dyn Clock> = app.clock.clone();
    let ig = FakeInstagram::start_with(FakeIg::default().with_clock(clock.clone())).await.unwrap();
    let tt = FakeTikTok::start_with(TikTokConfig::default().with_clock(clock)).await.unwrap();
    ig.update_settings(|s| s.check_media_urls = true);
    tt.update_settings(|s| s.check_media_urls = true);
    let callback = |n: &str| format!("{public_url}/oauth/{n}/callback");
    let mut ig_cfg = InstagramConfig::new(
        AppCredentials {
            client_id: demo::INSTAGRAM_APP_ID.into(),
            client_secret: Secret::new(demo::INSTAGRAM_APP_SECRET),
        },
        &callback("instagram"),
    );
    let ig_url = ig.instagram_base_url();
    ig_cfg.authorize_url = format!("{ig_url}/oauth/authorize");
    ig_cfg.oauth_api_url = ig_url.clone();
    ig_cfg.graph_url = ig_url;
    ig_cfg.poll =
        PollSettings { interval: std::time::Duration::from_secs(2), max_wait: std::time::Duration::from_secs(600) };
    let networks = Networks {
        instagram: Some(Instagram::new(ig_cfg)),
        tiktok: Some(crate::support::tiktok_on(&tt, &public_url)),
        ..Default::default()
    };
    let accounts = crate::support::accounts(&app, networks);

    let team = app.team("media").await;
    let owner = team.user(Role::Owner);
    let actor = app.actor(owner, team.workspace).await;
    let b = super::brand(&app, owner, team.workspace, "Bakery").await;
    let url = accounts.begin_connect(&actor, b.id, Flavour::InstagramLogin).await.unwrap();
    let back = ig.consent(&url, Consent::allow()).unwrap();
    accounts.complete_connect(owner, &query(&back)).await.unwrap();
    let url = accounts.begin_connect(&actor, b.id, Flavour::Tiktok).await.unwrap();
    let back = tt.consent(&url, Consent::allow()).unwrap();
    accounts.complete_connect(owner, &query(&back)).await.unwrap();

    // One uploaded photo; each network gets the rendition its rules want (shown to the reviewer).
    let upload = nanopost_services::media::MediaUpload {
        brand_id: Some(b.id),
        file_name: "bread.jpg".into(),
        bytes: square_jpeg(),
        alt_text: "Fresh bread".into(),
        tags: vec![],
    };
    let photo = app.services.upload_media(&actor, upload).await.unwrap().media;
    let svc = &app.services;
    let (for_ig, _) = svc.rendition_for(team.workspace, photo.id, Network::Instagram).await.unwrap();
    let (for_tt, _) = svc.rendition_for(team.workspace, photo.id, Network::Tiktok).await.unwrap();
    let variant = |network, media| Variant {
        network,
        caption: "Bread is out".into(),
        media: vec![media],
        options: Default::default(),
    };
    let content = PostContent {
        variants: vec![variant(Network::Instagram, for_ig), variant(Network::Tiktok, for_tt)],
        targets: vec![
            Target { network: Network::Instagram, account: None },
            Target { network: Network::Tiktok, account: None },
        ],
    };
    let post = svc.create_post(&actor, b.id, content).await.unwrap();
    let post = svc.submit_post(&actor, post.id, post.version).await.unwrap();
    let post = svc.approve_post(&actor, post.id, &post.content.digest()).await.unwrap();
    svc.publish_now(&actor, post.id, post.version).await.unwrap();
    run_jobs(&app, &accounts).await;

    let published = svc.publications(&actor, post.id).await.unwrap();
    assert!(
        published.iter().all(|p| p.state == nanopost_domain::publication::PublicationState::Published),
        "{published:?}"
    );
    assert_eq!(svc.post(&actor, post.id).await.unwrap().post.state, PostState::Published);
    let on_ig = ig.media();
    assert_eq!(on_ig.len(), 1);
    assert_eq!(on_ig[0].caption.as_deref(), Some("Bread is out"));
    let fetched = &on_ig[0].media_urls[0];
    assert!(fetched.starts_with(&format!("{public_url}/media/")), "{fetched}");
    let on_tt = tt.publishes();
    assert_eq!(on_tt.len(), 1, "{on_tt:?}");
    assert_eq!(on_tt[0].privacy_level.as_deref(), Some("SELF_ONLY"), "an unaudited app posts privately");
    assert!(
        !on_tt[0].urls.is_empty() && on_tt[0].urls.iter().all(|u| u.starts_with(&format!("{public_url}/media/"))),
        "{:?}",
        on_tt[0].urls
    );

    // The URL is unguessable and expires: a day later it no longer serves.
    let path = fetched.trim_start_matches(&public_url).to_owned();
    let mut br = Browser::new(&app);
    assert_eq!(br.get(&path).await.status, StatusCode::OK);
    let forged = format!("{}x", &path[..path.len() - 1]);
    assert_eq!(br.get(&forged).await.status, StatusCode::NOT_FOUND);
    app.clock.advance(jiff::SignedDuration::from_hours(24));
    assert_eq!(br.get(&path).await.status, StatusCode::NOT_FOUND);
}

fn query(location: &str) -> std::collections::BTreeMap<String, String> {
    reqwest::Url::parse(location).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

#[tokio::test]
async fn media_are_added_per_network_as_the_rendition_it_takes_with_the_fix_shown() {
    let app = TestApp::new().await;
    let team = app.team("attach").await;
    let owner = team.user(Role::Owner);
    let ws = team.workspace;
    let actor = app.actor(owner, ws).await;
    let b = super::brand(&app, owner, ws, "Bakery").await;
    let post = super::draft(&app, owner, ws, b.id, "Panorama of the shop").await;
    // Too wide for Instagram's feed (at most 1.91:1): it can be fixed by cropping.
    let wide = {
        let img = image::RgbImage::from_fn(1500, 500, |x, _| image::Rgb([(x % 256) as u8, 90, 40]));
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    };
    let upload = nanopost_services::media::MediaUpload {
        brand_id: Some(b.id),
        file_name: "shop.jpg".into(),
        bytes: wide,
        alt_text: String::new(),
        tags: vec![],
    };
    let photo = app.services.upload_media(&actor, upload).await.unwrap().media;
    let editor = format!("/w/{ws}/posts/{}", post.id);
    let mut br = Browser::signed_in(&app, owner).await;
    let page = br.get(&editor).await;
    page.assert_html();
    assert!(
        page.body.contains("The networks&#x27; rules this post breaks now")
            || page.body.contains("rules this post breaks"),
        "{}",
        page.body
    );
    assert!(page.body.contains(">Add to Instagram</button>"), "{}", page.body);

    let version = page.hidden("version").unwrap();
    let add = format!("{editor}/media/add");
    let res =
        br.submit(&add, &[("version", &version), ("network", "instagram"), ("media_id", &photo.id.to_string())]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = br.get(&editor).await;
    assert!(page.body.contains("for Instagram: cropped to an aspect ratio of 1.91"), "{}", page.body);
    let now = app.services.post(&actor, post.id).await.unwrap().post;
    let attached = &now.content.variants[0].media[0];
    assert_ne!(attached.id, photo.id, "a rendition, not the original");
    assert!(
        app.services.post_rule_issues(&actor, &now).await.unwrap().is_empty(),
        "the rendition breaks no Instagram rule"
    );

    // Hostile and wrong input changes nothing.
    let version = page.hidden("version").unwrap();
    let stale =
        br.submit(&add, &[("version", "1"), ("network", "instagram"), ("media_id", &photo.id.to_string())]).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    let bad =
        br.submit(&add, &[("version", &version), ("network", "myspace"), ("media_id", &photo.id.to_string())]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = uuid::Uuid::now_v7().to_string();
    let res = br.submit(&add, &[("version", &version), ("network", "instagram"), ("media_id", &unknown)]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    let no_variant =
        br.submit(&add, &[("version", &version), ("network", "tiktok"), ("media_id", &photo.id.to_string())]).await;
    assert_eq!(no_variant.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", no_variant.body);
    assert!(no_variant.body.contains("add a caption for TikTok first"));
    let mut viewer = Browser::signed_in(&app, team.user(Role::Viewer)).await;
    let res = viewer
        .submit(&add, &[("version", &version), ("network", "instagram"), ("media_id", &photo.id.to_string())])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(app.services.post(&actor, post.id).await.unwrap().post.content.variants[0].media.len(), 1);

    // Removing it.
    let remove = format!("{editor}/media/remove");
    let res = br.submit(&remove, &[("version", &version), ("network", "instagram"), ("position", "0")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(app.services.post(&actor, post.id).await.unwrap().post.content.variants[0].media.is_empty());
}
