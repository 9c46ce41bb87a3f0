//! AI generation in the browser: the brand's Generate page, the status page that reloads itself
//! while the job works, the drafts it made in the editor (flags, provenance, suggested time,
//! regenerate), "Describe this image", the quota and bad input told on the page, roles, CSRF
//! and escaping.

use super::{Browser, Page, html_escape};
use crate::support::TestApp;
use axum::http::{StatusCode, header};
use nanopost_domain::brand::BrandInput;
use nanopost_domain::clock::Clock;
use nanopost_domain::ids::{BrandId, WorkspaceId};
use nanopost_domain::post::PostState;
use nanopost_domain::role::Role;
use nanopost_jobs::{Handlers, Runtime, RuntimeConfig};
use nanopost_services::generation::Generation;
use nanopost_services::media::MediaUpload;
use nanopost_storage::{PageRequest, PostFilter, User};
use std::sync::Arc;

const HOSTILE: &str = "<script>alert('x')</script> Rye & \"friends\"";

/// Runs the generation jobs, as the workers would.
async fn run_jobs(app: &TestApp) -> usize {
    let clock: Arc<dyn Clock> = app.clock.clone();
    let handlers = Generation::new(&app.services).register(Handlers::new());
    Runtime::new(app.services.queue().clone(), handlers, RuntimeConfig::default(), clock)
        .run_until_idle(100)
        .await
        .unwrap()
}

async fn bakery(app: &TestApp, user: &User, ws: WorkspaceId) -> BrandId {
    let actor = app.actor(user, ws).await;
    let input = BrandInput {
        name: "Acme <Bakery>".into(),
        timezone: "Europe/Berlin".into(),
        topics: vec!["sourdough".into()],
        avoid_words: vec!["cheap".into()],
        slots: vec!["mon 09:00".into(), "wed 09:00".into(), "fri 09:00".into()],
        posts_per_week: 3,
        ..Default::default()
    };
    app.services.create_brand(&actor, &input).await.unwrap().id
}

/// The generation id a form redirected to.
fn generation_path(res: &Page) -> String {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let to = res.location().unwrap().to_owned();
    assert!(to.contains("/generations/"), "{to}");
    to
}

#[tokio::test]
async fn a_post_generated_from_the_brand_page_shows_progress_then_its_draft_in_the_editor() {
    let app = TestApp::new().await;
    let team = app.team("gen").await;
    let (owner, ws) = (team.user(Role::Owner), team.workspace);
    let brand = bakery(&app, owner, ws).await;
    let mut b = Browser::signed_in(&app, owner).await;

    // The brand page links to the Generate page, which says the output is offline.
    let edit = b.get(&format!("/w/{ws}/brands/{brand}")).await;
    assert!(edit.body.contains(&format!("/w/{ws}/brands/{brand}/generate")), "{}", edit.body);
    let page = b.get(&format!("/w/{ws}/brands/{brand}/generate")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_html();
    assert!(page.body.contains("Generate a post") && page.body.contains("Plan a week or a month"));
    assert!(page.body.contains("Written offline"), "the UI labels offline output");
    assert!(
        page.body.contains("AI usage in") && page.body.contains("Generations: <strong>0</strong>"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&html_escape("Acme <Bakery>")) && !page.body.contains("Acme <Bakery>"));

    let res = b
        .submit(
            &format!("/w/{ws}/brands/{brand}/generate/post"),
            &[("network_instagram", "on"), ("network_linkedin", "on"), ("brief", HOSTILE)],
        )
        .await;
    let status_path = generation_path(&res);
    let waiting = b.get(&status_path).await;
    assert_eq!(waiting.status, StatusCode::OK);
    assert_eq!(waiting.headers.get("refresh").map(|v| v.to_str().unwrap()), Some("3"), "reloads while it works");
    assert!(waiting.body.contains("waiting") && waiting.body.contains("you may leave it"));
    assert!(waiting.body.contains(&html_escape(HOSTILE)), "the brief is shown, escaped");
    assert!(!waiting.body.contains("<script>"), "nothing the person typed becomes markup");

    assert_eq!(run_jobs(&app).await, 1);
    let done = b.get(&status_path).await;
    assert!(done.headers.get("refresh").is_none(), "a finished generation stops reloading");
    assert!(done.body.contains("pill ok\">done"), "{}", done.body);
    assert!(done.body.contains("written offline"));
    let start = done.body.find(&format!("/w/{ws}/posts/")).expect("a link to the draft");
    let editor_path: String = done.body[start..].split('"').next().unwrap().to_owned();

    let editor = b.get(&editor_path).await;
    assert_eq!(editor.status, StatusCode::OK);
    assert!(editor.body.contains("pending review"));
    assert!(editor.body.contains("Checks and AI") && editor.body.contains("This draft was written offline"));
    assert!(editor.body.contains("Regenerate with feedback"));
    assert!(editor.body.contains("No guardrail flags"), "{}", editor.body);
    let usage = b.get(&format!("/w/{ws}/brands/{brand}/generate")).await;
    assert!(usage.body.contains("Generations: <strong>1</strong>") && usage.body.contains("Images: 1"));
    assert!(usage.body.contains(&status_path), "the recent list links the generation");
}

#[tokio::test]
async fn a_plan_suggests_times_that_a_person_may_take_without_anything_being_approved() {
    let app = TestApp::new().await;
    let team = app.team("plan").await;
    let (owner, ws) = (team.user(Role::Owner), team.workspace);
    let brand = bakery(&app, owner, ws).await;
    let mut b = Browser::signed_in(&app, owner).await;
    let res = b
        .submit(
            &format!("/w/{ws}/brands/{brand}/generate/plan"),
            &[("network_tiktok", "on"), ("period", "week"), ("count", "2"), ("theme", "")],
        )
        .await;
    let status_path = generation_path(&res);
    let waiting = b.get(&status_path).await;
    assert!(waiting.body.contains("Suggested times:") && waiting.body.contains("(Europe/Berlin)"), "{}", waiting.body);
    run_jobs(&app).await;
    let done = b.get(&status_path).await;
    assert!(done.body.contains("Draft 1") && done.body.contains("Draft 2"));
    assert!(done.body.contains("(not scheduled)"));

    let actor = app.actor(owner, ws).await;
    let posts = app.services.posts(&actor, &PostFilter::default(), PageRequest::first(10)).await.unwrap().items;
    assert_eq!(posts.len(), 2);
    let post = &posts[0];
    let editor = b.get(&format!("/w/{ws}/posts/{}", post.id)).await;
    assert!(
        editor.body.contains("Suggested time:") && editor.body.contains("Use the suggested time"),
        "{}",
        editor.body
    );
    let at = editor.hidden("at").expect("the suggestion in the form");
    let res = b
        .submit(&format!("/w/{ws}/posts/{}/schedule", post.id), &[("version", &post.version.to_string()), ("at", &at)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let after = app.services.post(&actor, post.id).await.unwrap().post;
    assert_eq!(after.state, PostState::PendingReview, "a time is not an approval");
    assert_eq!(after.schedule.unwrap().local.strftime("%Y-%m-%dT%H:%M").to_string(), at);
}

#[tokio::test]
async fn regenerate_from_the_editor_and_flags_on_a_persons_draft() {
    let app = TestApp::new().await;
    let team = app.team("regen").await;
    let (owner, ws) = (team.user(Role::Owner), team.workspace);
    let brand = bakery(&app, owner, ws).await;
    let post = super::draft(&app, owner, ws, brand, "Cheap bread, today only").await;
    let mut b = Browser::signed_in(&app, owner).await;
    let editor = b.get(&format!("/w/{ws}/posts/{}", post.id)).await;
    assert!(editor.body.contains("Look at this before approving"));
    assert!(editor.body.contains(&html_escape("Uses \"cheap\", a word the brand avoids.")), "{}", editor.body);
    assert!(!editor.body.contains("This draft was written"), "a person wrote it");

    // Empty feedback re-renders the editor with the reason.
    let res = b.submit(&format!("/w/{ws}/posts/{}/regenerate", post.id), &[("feedback", "  ")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("Feedback"), "{}", res.body);
    let res = b.submit(&format!("/w/{ws}/posts/{}/regenerate", post.id), &[("feedback", "no discounts, warmer")]).await;
    let status_path = generation_path(&res);
    run_jobs(&app).await;
    let done = b.get(&status_path).await;
    assert!(done.body.contains("A new version of a post") && done.body.contains("no discounts, warmer"));
    let actor = app.actor(owner, ws).await;
    let after = app.services.post(&actor, post.id).await.unwrap().post;
    assert_eq!(after.state, PostState::PendingReview);
    assert_ne!(after.content.variants[0].caption, post.content.variants[0].caption);
}

#[tokio::test]
async fn describing_an_image_suggests_alt_text_a_person_may_use() {
    let app = TestApp::new().await;
    let team = app.team("describe").await;
    let (owner, ws) = (team.user(Role::Owner), team.workspace);
    let brand = bakery(&app, owner, ws).await;
    let actor = app.actor(owner, ws).await;
    let mut png = Vec::new();
    let img = image::RgbImage::from_pixel(40, 30, image::Rgb([20, 90, 200]));
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    let upload = MediaUpload {
        brand_id: Some(brand),
        file_name: "blue.png".into(),
        bytes: png,
        alt_text: String::new(),
        tags: vec![],
    };
    let media = app.services.upload_media(&actor, upload).await.unwrap().media;
    let mut b = Browser::signed_in(&app, owner).await;
    let library = b.get(&format!("/w/{ws}/media")).await;
    assert!(library.body.contains(&format!("/w/{ws}/media/{}/describe", media.id)), "the library offers it");
    let page = b.get(&format!("/w/{ws}/media/{}/describe", media.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("None yet"));
    let res = b.submit(&format!("/w/{ws}/media/{}/describe", media.id), &[]).await;
    let status_path = generation_path(&res);
    run_jobs(&app).await;
    let done = b.get(&status_path).await;
    assert!(done.body.contains("Use as the image"), "{}", done.body);
    let res = b.submit(&format!("/w/{ws}/media/{}/describe/use", media.id), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let alt = app.services.media_item(&actor, media.id).await.unwrap().alt_text;
    assert!(alt.contains("40×30"), "{alt}");
}

#[tokio::test]
async fn bad_input_and_the_quota_are_told_on_the_page() {
    let app = TestApp::with_config(|c| c.generation.monthly_quota = 1).await;
    let (owner, ws) = app.user("quota@example.com").await;
    let brand = bakery(&app, &owner, ws).await;
    let mut b = Browser::signed_in(&app, &owner).await;
    let path = format!("/w/{ws}/brands/{brand}/generate");

    let res = b.submit(&format!("{path}/post"), &[("brief", "no network ticked")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("choose at least one network") && res.body.contains("no network ticked"), "{}", res.body);
    let res = b
        .submit(
            &format!("{path}/plan"),
            &[("network_instagram", "on"), ("period", "year"), ("count", ""), ("theme", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("choose a week or a month"));
    let res = b
        .submit(
            &format!("{path}/plan"),
            &[("network_instagram", "on"), ("period", "week"), ("count", "many"), ("theme", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("whole number"));
    let res = b
        .submit(
            &format!("{path}/plan"),
            &[("network_instagram", "on"), ("period", "week"), ("count", "9"), ("theme", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("3 queue slots in the coming week"), "{}", res.body);
    let res = b.submit(&format!("{path}/post"), &[("network_bluesky", "on")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "an unknown field is refused: {}", res.body);
    assert!(res.body.contains("nothing was saved"));

    generation_path(&b.submit(&format!("{path}/post"), &[("network_instagram", "on")]).await);
    let res = b.submit(&format!("{path}/post"), &[("network_instagram", "on"), ("brief", "one more")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("This workspace has used its 1 AI generations"), "{}", res.body);
    assert!(res.body.contains("one more"), "what was typed is kept");
    let page = b.get(&path).await;
    assert!(page.body.contains("1 a month, 0 left"), "{}", page.body);
}

#[tokio::test]
async fn only_editors_generate_and_every_form_needs_its_csrf_token() {
    let app = TestApp::new().await;
    let team = app.team("roles").await;
    let (owner, ws) = (team.user(Role::Owner), team.workspace);
    let brand = bakery(&app, owner, ws).await;
    let post = super::draft(&app, owner, ws, brand, "a draft").await;
    let owner_actor = app.actor(owner, ws).await;
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::new(8, 8))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let upload =
        MediaUpload { brand_id: None, file_name: "x.png".into(), bytes: png, alt_text: String::new(), tags: vec![] };
    let media = app.services.upload_media(&owner_actor, upload).await.unwrap().media;
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/w/{ws}/brands/{brand}/generate/post"), vec![("network_instagram", "on")]),
        (format!("/w/{ws}/brands/{brand}/generate/plan"), vec![("network_instagram", "on"), ("period", "week")]),
        (format!("/w/{ws}/posts/{}/regenerate", post.id), vec![("feedback", "shorter")]),
        (format!("/w/{ws}/media/{}/describe", media.id), vec![]),
    ];
    for role in [Role::Viewer, Role::Reviewer] {
        let mut b = Browser::signed_in(&app, team.user(role)).await;
        let page = b.get(&format!("/w/{ws}/brands/{brand}/generate")).await;
        assert_eq!(page.status, StatusCode::OK, "{role} may look");
        assert!(page.body.contains("does not allow asking for drafts") && !page.body.contains("generate/post\""));
        let editor = b.get(&format!("/w/{ws}/posts/{}", post.id)).await;
        assert!(!editor.body.contains("Regenerate with feedback"), "{role} is not offered regenerate");
        for (path, fields) in &forms {
            let res = b.submit(path, fields).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{role} {path}: {}", res.body);
        }
    }
    let owner_session = app.session(owner).await;
    let (intruder, _) = app.user("intruder@example.com").await;
    let intruder_csrf = app.services.csrf_token(&app.session(&intruder).await);
    for (path, fields) in &forms {
        for csrf in [None, Some("wrong"), Some(intruder_csrf.as_str())] {
            let mut b = Browser::new(&app);
            b.set_cookie_value("np_session", &owner_session);
            let mut all: Vec<(&str, &str)> = fields.clone();
            if let Some(c) = csrf {
                all.push(("csrf", c));
            }
            let res = b.post(path, &all).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{path} with {csrf:?}");
        }
        // From another site, even with the right token.
        let mut b = Browser::new(&app);
        b.set_cookie_value("np_session", &owner_session);
        b.extra.push(("origin".into(), "http://evil.example".into()));
        let mut all = fields.clone();
        let good = app.services.csrf_token(&owner_session);
        all.push(("csrf", &good));
        assert_eq!(b.post(path, &all).await.status, StatusCode::FORBIDDEN, "{path} cross-site");
    }
    let usage = app.services.ai_usage(&owner_actor).await.unwrap();
    assert_eq!(usage.generations, 0, "nothing refused was recorded");
    // Another workspace's generation is not found.
    let mut b = Browser::signed_in(&app, owner).await;
    let res = b.submit(&forms[0].0, &forms[0].1).await;
    let status_path = generation_path(&res);
    let (stranger, _) = app.user("stranger@example.com").await;
    let mut s = Browser::signed_in(&app, &stranger).await;
    assert_eq!(s.get(&status_path).await.status, StatusCode::NOT_FOUND);
    assert!(b.get(&status_path).await.headers.get(header::CONTENT_TYPE).is_some());
}
