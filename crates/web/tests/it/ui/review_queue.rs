//! The review queue: the workspace's pending drafts with a preview per network and the
//! guardrail flags; approve (bound to the digest shown), reject, schedule at a time or into
//! the brand's next free queue slot; read-only for viewers; the keyboard script served by the
//! binary and no inline script anywhere.

use super::{Browser, Page, brand, draft, html_escape};
use crate::api::media::png;
use crate::support::TestApp;
use axum::http::{StatusCode, header};
use nanopost_domain::brand::BrandInput;
use nanopost_domain::ids::{BrandId, PostId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{MediaRef, Post, PostContent, PostState, Target, Variant};
use nanopost_domain::role::Role;
use nanopost_services::media::MediaUpload;
use nanopost_storage::User;
use std::collections::BTreeMap;

/// A draft submitted for review.
async fn pending(app: &TestApp, user: &User, ws: WorkspaceId, brand: BrandId, caption: &str) -> Post {
    let p = draft(app, user, ws, brand, caption).await;
    let actor = app.actor(user, ws).await;
    app.services.submit_post(&actor, p.id, p.version).await.expect("submit")
}

/// The `<article>` of one draft on the queue page.
fn item(page: &Page, id: PostId) -> &str {
    let start = page.body.find(&format!("id=\"post-{id}\"")).unwrap_or_else(|| panic!("{id} not on the page"));
    let end = page.body[start..].find("</article>").map_or(page.body.len(), |e| start + e);
    &page.body[start..end]
}

/// The value of the first `name="{name}" value="…"` inside `html`.
fn value_in(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle).unwrap_or_else(|| panic!("no {name} field")) + needle.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// Every `<script` tag of a page loads a file: no inline script.
fn assert_no_inline_script(page: &Page) {
    for (i, _) in page.body.match_indices("<script") {
        let tag = &page.body[i..i + page.body[i..].find('>').unwrap()];
        assert!(tag.contains(" src=\"/static/"), "inline or foreign script: {tag}");
        assert!(page.body[i..].starts_with(&format!("{tag}></script>")), "a script tag with a body: {tag}");
    }
    let csp = page.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
}

#[tokio::test]
async fn the_queue_shows_only_pending_drafts_of_the_actors_workspace() {
    let app = TestApp::new().await;
    let team = app.team("queue").await;
    let ws = team.workspace;
    let owner = team.user(Role::Owner);
    let acme = brand(&app, owner, ws, "Acme").await;
    let rival = brand(&app, owner, ws, "Rival").await;
    let waiting = pending(&app, owner, ws, acme.id, "Waiting for you").await;
    let other_brand = pending(&app, owner, ws, rival.id, "Rival is waiting").await;
    let still_draft = draft(&app, owner, ws, acme.id, "Not submitted yet").await;
    let decided = pending(&app, owner, ws, acme.id, "Already approved").await;
    let reviewer = app.actor(team.user(Role::Reviewer), ws).await;
    app.services.approve_post(&reviewer, decided.id, &decided.content.digest()).await.unwrap();
    // Another workspace's pending draft.
    let (stranger, their_ws) = app.user("stranger@elsewhere.test").await;
    let theirs_brand = brand(&app, &stranger, their_ws, "Theirs").await;
    let theirs = pending(&app, &stranger, their_ws, theirs_brand.id, "Somebody else's draft").await;

    let mut b = Browser::signed_in(&app, team.user(Role::Reviewer)).await;
    let page = b.get(&format!("/w/{ws}/review")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_html();
    for shown in [&waiting, &other_brand] {
        assert!(page.body.contains(&format!("id=\"post-{}\"", shown.id)), "{} is waiting", shown.id);
    }
    for hidden in [&still_draft, &decided, &theirs] {
        assert!(!page.body.contains(&hidden.id.to_string()), "{} is not pending here", hidden.id);
    }
    assert!(!page.body.contains("Somebody else") && !page.body.contains("Not submitted yet"));
    assert!(page.body.contains(">Review</a>") && page.body.contains(">Calendar</a>"), "in the navigation");

    // One brand at a time.
    let page = b.get(&format!("/w/{ws}/review?brand={}", rival.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&other_brand.id.to_string()) && !page.body.contains(&waiting.id.to_string()));
    assert!(page.body.contains(&format!("name=\"brand\" value=\"{}\"", rival.id)), "actions come back filtered");
    // A brand of another workspace, or no brand at all, is a clear 400.
    for bad in [theirs_brand.id.to_string(), "not-a-brand".into()] {
        let page = b.get(&format!("/w/{ws}/review?brand={bad}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        page.assert_html();
        assert!(page.body.contains("not a brand of this workspace"), "{}", page.body);
    }
    // Another workspace's queue does not exist for this person; nor may they act on its drafts.
    assert_eq!(b.get(&format!("/w/{their_ws}/review")).await.status, StatusCode::NOT_FOUND);
    let digest = theirs.content.digest();
    let res = b.submit(&format!("/w/{ws}/review/{}/approve", theirs.id), &[("content_digest", digest.as_str())]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let stranger_actor = app.actor(&stranger, their_ws).await;
    assert_eq!(app.services.post(&stranger_actor, theirs.id).await.unwrap().post.state, PostState::PendingReview);
}

#[tokio::test]
async fn previews_show_each_network_and_escape_user_text() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("ana@example.com").await;
    let actor = app.actor(&user, ws).await;
    let input = BrandInput {
        name: "Acme <b>Bakery</b>".into(),
        timezone: "Europe/Berlin".into(),
        avoid_words: vec!["cheap".into()],
        ..Default::default()
    };
    let b = app.services.create_brand(&actor, &input).await.unwrap();
    let mut media = Vec::new();
    for (w, h) in [(1080, 1350), (1080, 1080), (900, 900)] {
        let up = MediaUpload {
            brand_id: Some(b.id),
            file_name: format!("{w}.png"),
            bytes: png(w, h),
            alt_text: "Loaf <on> a board".into(),
            tags: vec![],
        };
        let m = app.services.upload_media(&actor, up).await.unwrap().media;
        media.push(MediaRef { id: m.id, digest: m.digest });
    }
    let hostile = "<script>alert(1)</script> Cheap bread! #sourdough @acme_bakery";
    let long_instagram = format!("{hostile} {}", "Crust and crumb. ".repeat(10));
    let variant = |network, caption: &str, media: Vec<MediaRef>| Variant {
        network,
        caption: caption.into(),
        media,
        options: BTreeMap::new(),
    };
    let content = PostContent {
        variants: vec![
            variant(Network::Instagram, &long_instagram, media.clone()),
            variant(
                Network::Linkedin,
                &format!("{hostile} {}", "We are hiring bakers. ".repeat(12)),
                media[..1].to_vec(),
            ),
            variant(Network::Tiktok, "Watch the #bread rise", vec![]),
        ],
        targets: vec![
            Target { network: Network::Instagram, account: None },
            Target { network: Network::Linkedin, account: None },
            Target { network: Network::Tiktok, account: None },
        ],
    };
    let p = app.services.create_post(&actor, b.id, content).await.unwrap();
    app.services.submit_post(&actor, p.id, p.version).await.unwrap();

    let mut browser = Browser::signed_in(&app, &user).await;
    let page = browser.get(&format!("/w/{ws}/review")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let html = item(&page, p.id);
    // User text is escaped everywhere: caption, brand name, alt text.
    assert!(!page.body.contains("<script>alert(1)"), "a caption's markup never reaches the page");
    assert!(html.contains(&html_escape("<script>alert(1)</script>")));
    assert!(html.contains(&html_escape("Acme <b>Bakery</b>")) && !page.body.contains("<b>Bakery</b>"));
    assert!(html.contains(&format!("alt=\"{}\"", html_escape("Loaf <on> a board"))));
    // One preview per targeted network.
    for net in ["pv-instagram", "pv-linkedin", "pv-tiktok"] {
        assert!(html.contains(net), "{net} preview");
    }
    // Hashtags and mentions are styled; the networks cut long captions where they do.
    assert!(
        html.contains("<span class=\"tag\">#sourdough</span>")
            && html.contains("<span class=\"mention\">@acme_bakery</span>")
    );
    assert!(html.contains("… more</span>") && html.contains("… see more</span>"));
    // Instagram: a 4:5 frame from the first picture, a carousel of three with its dots.
    assert!(html.contains("pv-frame ar-4-5 fit-cover"), "{html}");
    assert!(html.contains("1/3") && html.contains("aria-label=\"3 slides\""));
    assert!(html.contains("<img src=\"http://127.0.0.1:8080/media/"), "thumbnails at signed URLs");
    // TikTok: 9:16, caption-only here, with who will see it.
    assert!(html.contains("pv-frame ar-9-16"));
    assert!(html.contains("Who can see it:") && html.contains("Not chosen yet"), "{html}");
    // Guardrail flags: the brand's word to avoid, and the network's media rules.
    assert!(html.contains(&html_escape("Uses \"cheap\", a word the brand avoids.")), "{html}");
    assert!(html.contains("Instagram takes JPEG images only; it will be converted to JPEG."), "{html}");
    assert!(html.contains("TikTok posts need at least 1 picture or video."), "{html}");
}

#[tokio::test]
async fn approving_from_the_queue_is_bound_to_the_digest_shown() {
    let app = TestApp::new().await;
    let team = app.team("digest").await;
    let ws = team.workspace;
    let b = brand(&app, team.user(Role::Owner), ws, "Acme").await;
    let p = pending(&app, team.user(Role::Editor), ws, b.id, "Fresh bread at 7").await;
    let second = pending(&app, team.user(Role::Editor), ws, b.id, "Rye on Tuesdays").await;
    let mut reviewer = Browser::signed_in(&app, team.user(Role::Reviewer)).await;
    let actor = app.actor(team.user(Role::Reviewer), ws).await;

    let page = reviewer.get(&format!("/w/{ws}/review?brand={}", b.id)).await;
    let seen = value_in(item(&page, p.id), "content_digest");
    assert_eq!(seen, p.content.digest().as_str());

    // The editor changes the caption after the reviewer looked.
    let editor = app.actor(team.user(Role::Editor), ws).await;
    let mut changed = p.content.clone();
    changed.variants[0].caption = "Fresh bread at 8".into();
    app.services.edit_post(&editor, p.id, p.version, changed).await.unwrap();

    // Approving what was seen is refused, with a message, on the queue showing the new text.
    let res = reviewer
        .submit(&format!("/w/{ws}/review/{}/approve", p.id), &[("content_digest", &seen), ("brand", &b.id.to_string())])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    res.assert_html();
    let html = item(&res, p.id);
    assert!(html.to_lowercase().contains("the post changed since you looked at it"), "{html}");
    assert!(html.contains("Fresh bread at 8") && html.contains("role=\"alert\""));
    let view = app.services.post(&actor, p.id).await.unwrap();
    assert_eq!(view.post.state, PostState::PendingReview);
    assert!(view.approvals.is_empty());
    // A malformed digest is refused too.
    let res = reviewer.submit(&format!("/w/{ws}/review/{}/approve", p.id), &[("content_digest", "nope")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("malformed"), "{}", res.body);

    // With the digest now shown, the approval goes through and the queue comes back.
    let fresh = value_in(html, "content_digest");
    assert_ne!(fresh, seen);
    let res = reviewer
        .submit(
            &format!("/w/{ws}/review/{}/approve", p.id),
            &[("content_digest", &fresh), ("brand", &b.id.to_string())],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some(format!("/w/{ws}/review?msg=post_approved&brand={}", b.id).as_str()));
    let view = app.services.post(&actor, p.id).await.unwrap();
    assert_eq!(view.post.state, PostState::Approved);
    assert_eq!(view.approvals[0].digest.as_str(), fresh);
    let page = reviewer.get(res.location().unwrap()).await;
    assert!(page.body.contains("Post approved.") && !page.body.contains(&format!("post-{}", p.id)));

    // Rejecting needs a reason; with one, the draft leaves the queue.
    let digest = second.content.digest();
    let res = reviewer
        .submit(
            &format!("/w/{ws}/review/{}/reject", second.id),
            &[("content_digest", digest.as_str()), ("reason", " ")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(item(&res, second.id).contains("Reason"), "{}", res.body);
    let res = reviewer
        .submit(
            &format!("/w/{ws}/review/{}/reject", second.id),
            &[("content_digest", digest.as_str()), ("reason", "Rye <is> on Wednesdays")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let view = app.services.post(&actor, second.id).await.unwrap();
    assert_eq!(view.post.state, PostState::Rejected);
    assert_eq!(view.post.rejection_reason.as_deref(), Some("Rye <is> on Wednesdays"));
}

#[tokio::test]
async fn roles_decide_what_the_queue_offers() {
    let app = TestApp::new().await;
    let team = app.team("roles").await;
    let ws = team.workspace;
    let b = brand(&app, team.user(Role::Owner), ws, "Acme").await;
    let p = pending(&app, team.user(Role::Editor), ws, b.id, "Fresh bread").await;
    let digest = p.content.digest();
    let path = format!("/w/{ws}/review");
    let owner = app.actor(team.user(Role::Owner), ws).await;

    // A viewer reads the queue: previews, no forms.
    let mut viewer = Browser::signed_in(&app, team.user(Role::Viewer)).await;
    let page = viewer.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = item(&page, p.id);
    assert!(html.contains("Fresh bread") && html.contains("pv-instagram"));
    assert!(!html.contains("<form") && !html.contains("data-action"), "read-only: {html}");
    assert!(page.body.contains("You can read the queue."));
    let res = viewer.submit(&format!("{path}/{}/approve", p.id), &[("content_digest", digest.as_str())]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = viewer.submit(&format!("{path}/{}/schedule", p.id), &[("version", "2"), ("slot", "next")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // An editor edits and schedules, but does not approve.
    let mut editor = Browser::signed_in(&app, team.user(Role::Editor)).await;
    let html = editor.get(&path).await.body;
    assert!(!html.contains(">Approve</button>") && !html.contains(">Reject</button>"));
    assert!(html.contains("Schedule at this time") && html.contains("data-action=\"edit\""));
    assert!(html.contains(&format!("action=\"/w/{ws}/posts/{}/regenerate\"", p.id)), "regenerate with feedback");
    let res = editor.submit(&format!("{path}/{}/approve", p.id), &[("content_digest", digest.as_str())]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert!(res.body.contains("does not allow approving or rejecting posts"), "{}", res.body);
    assert_eq!(app.services.post(&owner, p.id).await.unwrap().post.state, PostState::PendingReview);

    // A reviewer decides, but does not schedule or edit.
    let mut reviewer = Browser::signed_in(&app, team.user(Role::Reviewer)).await;
    let page = reviewer.get(&path).await;
    let html = item(&page, p.id);
    assert!(html.contains(">Approve</button>") && html.contains(">Reject</button>"));
    assert!(!html.contains("Schedule at this time") && !html.contains("data-action=\"edit\""));
    assert!(!html.contains("/regenerate\""), "regenerating rewrites content: editors do it");
    let res = reviewer.submit(&format!("{path}/{}/approve", p.id), &[("content_digest", digest.as_str())]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(app.services.post(&owner, p.id).await.unwrap().post.state, PostState::Approved);
}

#[tokio::test]
async fn schedule_from_the_queue_at_a_time_or_into_the_next_free_slot() {
    let app = TestApp::new().await;
    let team = app.team("slots").await;
    let ws = team.workspace;
    let owner = team.user(Role::Owner);
    let owner_actor = app.actor(owner, ws).await;
    // The test clock reads Friday 15 January 2027, 09:00 in Berlin.
    assert_eq!(app.clock_now().to_string(), "2027-01-15T08:00:00Z");
    let input = BrandInput {
        name: "Acme".into(),
        timezone: "Europe/Berlin".into(),
        slots: vec!["mon 09:00".into(), "thu 17:30".into()],
        ..Default::default()
    };
    let b = app.services.create_brand(&owner_actor, &input).await.unwrap();
    let plain = brand(&app, owner, ws, "No slots").await;
    // Monday's slot is taken by another post of the brand.
    let taken = draft(&app, owner, ws, b.id, "Already on Monday").await;
    app.services
        .schedule_post(&owner_actor, taken.id, taken.version, Some("2027-01-18T09:00".parse().unwrap()))
        .await
        .unwrap();
    let p = pending(&app, team.user(Role::Editor), ws, b.id, "Fill the queue").await;
    let q = pending(&app, team.user(Role::Editor), ws, plain.id, "No slot for me").await;

    let mut editor = Browser::signed_in(&app, team.user(Role::Editor)).await;
    let page = editor.get(&format!("/w/{ws}/review")).await;
    let html = item(&page, p.id);
    assert!(html.contains("Next queue slot: Thu 21 Jan 2027, 17:30 (Europe/Berlin)"), "{html}");
    assert!(item(&page, q.id).contains("This brand has no queue slots"));
    let version = value_in(html, "version");
    let res = editor
        .submit(&format!("/w/{ws}/review/{}/schedule", p.id), &[("version", &version), ("at", ""), ("slot", "next")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some(format!("/w/{ws}/review?msg=post_scheduled").as_str()));
    let post = app.services.post(&owner_actor, p.id).await.unwrap().post;
    let s = post.schedule.clone().unwrap();
    assert_eq!((s.local.to_string().as_str(), s.timezone.as_str()), ("2027-01-21T17:30:00", "Europe/Berlin"));
    assert_eq!(post.state, PostState::PendingReview, "a time does not decide the review");
    let page = editor.get(&format!("/w/{ws}/review")).await;
    let html = item(&page, p.id);
    assert!(html.contains("publishes Thu 21 Jan 2027, 17:30 (Europe/Berlin) once approved"), "{html}");
    // Asking again keeps the slot it holds (its own time does not count as taken).
    let res = editor
        .submit(
            &format!("/w/{ws}/review/{}/schedule", p.id),
            &[("version", &post.version.to_string()), ("slot", "next")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let post = app.services.post(&owner_actor, p.id).await.unwrap().post;
    assert_eq!(post.schedule.as_ref().unwrap().local.to_string(), "2027-01-21T17:30:00");

    // At a chosen time, read in the brand's zone.
    let res = editor
        .submit(
            &format!("/w/{ws}/review/{}/schedule", p.id),
            &[("version", &post.version.to_string()), ("at", "2027-02-01T10:15"), ("slot", "at")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let post = app.services.post(&owner_actor, p.id).await.unwrap().post;
    assert_eq!(post.schedule.as_ref().unwrap().instant().to_string(), "2027-02-01T09:15:00Z");
    // Bad input and a stale version are answered on the queue.
    let res = editor
        .submit(&format!("/w/{ws}/review/{}/schedule", p.id), &[("version", &post.version.to_string()), ("at", "soon")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(item(&res, p.id).contains("must be a date and time"), "{}", res.body);
    let res = editor
        .submit(&format!("/w/{ws}/review/{}/schedule", p.id), &[("version", "1"), ("at", "2027-02-01T10:15")])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(item(&res, p.id).contains("reload and try again"));
    // A brand without slots has no next slot.
    let res = editor
        .submit(&format!("/w/{ws}/review/{}/schedule", q.id), &[("version", &q.version.to_string()), ("slot", "next")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(item(&res, q.id).contains("no free queue slot"), "{}", res.body);
}

#[tokio::test]
async fn the_keyboard_script_is_served_and_no_page_has_inline_script() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("ana@example.com").await;
    let b = brand(&app, &user, ws, "Acme").await;
    pending(&app, &user, ws, b.id, "Fresh bread").await;
    let mut browser = Browser::signed_in(&app, &user).await;

    let js = browser.get("/static/review.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(js.headers.get(header::CONTENT_TYPE).unwrap(), "text/javascript; charset=utf-8");
    assert_eq!(js.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
    assert!(js.body.contains("keydown") && js.body.contains("[data-review-item]"));

    let page = browser.get(&format!("/w/{ws}/review")).await;
    assert!(page.body.contains("<script src=\"/static/review.js\" defer></script>"));
    assert!(page.body.contains("data-review-item") && page.body.contains("data-action=\"approve\""));
    assert_no_inline_script(&page);
    for path in [format!("/w/{ws}/calendar"), format!("/w/{ws}/calendar?view=week"), format!("/w/{ws}/posts")] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_no_inline_script(&page);
    }
}

#[tokio::test]
async fn a_draft_whose_linkedin_account_is_not_chosen_says_so_and_is_not_approved() {
    let app = TestApp::new().await;
    let team = app.team("targets").await;
    let ws = team.workspace;
    let b = brand(&app, team.user(Role::Owner), ws, "Acme").await;
    crate::api::two_linkedin_accounts(&app, &b).await;
    let editor = app.actor(team.user(Role::Editor), ws).await;
    let p = crate::api::pending_linkedin(&app, &editor, &b, "Member or <b>page</b>?").await;
    let mut reviewer = Browser::signed_in(&app, team.user(Role::Reviewer)).await;
    let sentence = "Choose which LinkedIn account this post goes to (the brand has 2: Ada Lovelace, Acme Page), save, then approve it.";

    // Said on the queue and in the editor, before anyone presses Approve.
    let page = reviewer.get(&format!("/w/{ws}/review")).await;
    page.assert_html();
    assert!(item(&page, p.id).contains(sentence), "{}", item(&page, p.id));
    let editor_page = reviewer.get(&format!("/w/{ws}/posts/{}", p.id)).await;
    assert!(editor_page.body.contains(sentence), "{}", editor_page.body);
    assert!(editor_page.body.contains("Before approving:"));

    // Approving anyway is refused with the same sentence, on the queue and in the editor.
    let digest = p.content.digest();
    let res =
        reviewer.submit(&format!("/w/{ws}/review/{}/approve", p.id), &[("content_digest", digest.as_str())]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(item(&res, p.id).contains("role=\"alert\""));
    let res = reviewer.submit(&format!("/w/{ws}/posts/{}/approve", p.id), &[("content_digest", digest.as_str())]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.matches(sentence).count() >= 2, "the notice and the refusal: {}", res.body);
    let actor = app.actor(team.user(Role::Reviewer), ws).await;
    let view = app.services.post(&actor, p.id).await.unwrap();
    assert_eq!(view.post.state, PostState::PendingReview);
    assert!(view.approvals.is_empty());

    // Once the member is chosen, nothing is said and the approval goes through.
    let mut chosen = p.content.clone();
    chosen.targets[0].account = Some("urn:li:person:1".into());
    let edited = app.services.edit_post(&editor, p.id, p.version, chosen).await.unwrap();
    let page = reviewer.get(&format!("/w/{ws}/review")).await;
    assert!(!item(&page, p.id).contains("Choose which LinkedIn account"));
    let digest = edited.content.digest();
    let res =
        reviewer.submit(&format!("/w/{ws}/review/{}/approve", p.id), &[("content_digest", digest.as_str())]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
}
