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
    let version = page.hidden("version").unwrap();
    let res = br.submit(&format!("{editor}/publish"), &[("version", &version)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(run_jobs(&s.app, &s.accounts).await, 2);

    let posts = s.li.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].author, page_urn);
    let page = br.get(&editor).await;
    assert!(page.body.contains("pill ok\">published"), "{}", page.body);
    assert!(page.body.contains(&format!("https://www.linkedin.com/feed/update/{}", posts[0].urn)), "{}", page.body);
    assert!(!page.body.contains(">Publish now</button>"), "published: nothing to push");
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
