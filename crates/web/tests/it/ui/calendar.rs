//! The calendar: posts on their day in their brand's time zone, month/week/day navigation,
//! clear 400 pages for bad parameters, "+ N more" on busy days, status per network with the
//! permalink or the reason, and rescheduling that keeps the approval.

use super::{Browser, Page, brand, draft, html_escape};
use crate::support::TestApp;
use axum::http::StatusCode;
use nanopost_domain::brand::{Brand, BrandInput};
use nanopost_domain::ids::{PostId, PublicationId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostAction, PostState};
use nanopost_domain::publication::PublicationState;
use nanopost_domain::role::Role;
use nanopost_storage::{Publication, User};

async fn brand_in(app: &TestApp, user: &User, ws: WorkspaceId, name: &str, timezone: &str) -> Brand {
    let actor = app.actor(user, ws).await;
    let input = BrandInput { name: name.into(), timezone: timezone.into(), ..Default::default() };
    app.services.create_brand(&actor, &input).await.expect("brand")
}

/// A draft with a time, `local` in its brand's zone.
async fn planned(app: &TestApp, user: &User, ws: WorkspaceId, b: &Brand, caption: &str, local: &str) -> Post {
    let p = draft(app, user, ws, b.id, caption).await;
    let actor = app.actor(user, ws).await;
    app.services.schedule_post(&actor, p.id, p.version, Some(local.parse().unwrap())).await.expect("schedule")
}

/// The HTML of the calendar cell or column of `date`.
fn day<'a>(page: &'a Page, date: &str) -> &'a str {
    let start = page.body.find(&format!("data-date=\"{date}\"")).unwrap_or_else(|| panic!("no {date} on the page"));
    let end = page.body[start + 10..].find("data-date=\"").map_or(page.body.len(), |e| start + 10 + e);
    &page.body[start..end]
}

#[tokio::test]
async fn posts_sit_on_their_day_in_their_brand_zone() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("ana@example.com").await;
    let la = brand_in(&app, &user, ws, "Los Angeles", "America/Los_Angeles").await;
    let berlin = brand_in(&app, &user, ws, "Berlin", "Europe/Berlin").await;
    // 23:30 on 1 February in Los Angeles is already 2 February in UTC (07:30) and in Berlin.
    let late = planned(&app, &user, ws, &la, "Late evening in LA", "2027-02-01T23:30").await;
    // 00:30 on 2 February in Berlin is still 1 February in UTC (23:30).
    let early = planned(&app, &user, ws, &berlin, "Just after midnight in Berlin", "2027-02-02T00:30").await;
    let mut b = Browser::signed_in(&app, &user).await;

    let page = b.get(&format!("/w/{ws}/calendar?view=month&date=2027-02-10&brand={}", la.id)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_html();
    assert!(page.body.contains("February 2027") && page.body.contains("Times are in America/Los_Angeles"));
    assert!(day(&page, "2027-02-01").contains(&format!("post-{}", late.id)), "on its local day");
    assert!(day(&page, "2027-02-01").contains("23:30") && day(&page, "2027-02-01").contains("Late evening in LA"));
    assert!(!day(&page, "2027-02-02").contains(&late.id.to_string()));
    assert!(!page.body.contains(&early.id.to_string()), "the other brand is filtered out");

    // Every brand: each post at its own brand's local time, the zone named.
    let page = b.get(&format!("/w/{ws}/calendar?view=week&date=2027-02-01")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&html_escape("its brand's local time")));
    let monday = day(&page, "2027-02-01");
    assert!(monday.contains(&late.id.to_string()) && monday.contains("23:30 PST"), "{monday}");
    let tuesday = day(&page, "2027-02-02");
    assert!(tuesday.contains(&early.id.to_string()) && tuesday.contains("00:30 CET"), "{tuesday}");
    // Day views.
    let page = b.get(&format!("/w/{ws}/calendar?view=day&date=2027-02-02")).await;
    assert!(page.body.contains(&early.id.to_string()) && !page.body.contains(&late.id.to_string()));
    assert!(page.body.contains("Tuesday 2 February 2027"));
}

#[tokio::test]
async fn navigation_between_months_weeks_and_days() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("ana@example.com").await;
    let b = brand(&app, &user, ws, "Acme").await;
    let mut browser = Browser::signed_in(&app, &user).await;
    let w = format!("/w/{ws}/calendar");

    // Without parameters: this month in the brand's zone (the test clock reads 15 January 2027).
    let page = browser.get(&w).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("January 2027"));
    assert!(page.body.contains("class=\" today\" data-date=\"2027-01-15\""), "today is marked");

    let page = browser.get(&format!("{w}?view=month&date=2027-02-10&brand={}", b.id)).await;
    assert!(page.body.contains("February 2027"));
    let brand_q = format!("brand={}", b.id);
    for (rel, date) in [("prev", "2027-01-01"), ("next", "2027-03-01")] {
        let link = format!("href=\"{w}?view=month&#38;date={date}&#38;{brand_q}\" rel=\"{rel}\"");
        assert!(page.body.contains(&link), "{link} in {}", page.body);
    }
    // February 2027 starts on a Monday and fills four weeks exactly; April starts on a
    // Thursday, after three days of March shown outside the month.
    assert_eq!(page.body.matches("<tr>").count(), 5, "a header row and four weeks");
    assert!(!page.body.contains("class=\"outside"));
    let april = browser.get(&format!("{w}?view=month&date=2027-04-30")).await;
    assert!(april.body.contains("April 2027"));
    for date in ["2027-03-29", "2027-03-30", "2027-03-31", "2027-05-01", "2027-05-02"] {
        assert!(april.body.contains(&format!("class=\"outside\" data-date=\"{date}\"")), "{date}");
    }
    assert_eq!(april.body.matches("<tr>").count(), 6, "a header row and five weeks");
    // Week of Wednesday 10 February: Monday 8 to Sunday 14.
    let week = browser.get(&format!("{w}?view=week&date=2027-02-10")).await;
    assert!(week.body.contains("Week of Mon 8 Feb 2027"));
    assert!(week.body.contains("data-date=\"2027-02-08\"") && week.body.contains("data-date=\"2027-02-14\""));
    assert!(!week.body.contains("data-date=\"2027-02-15\""));
    assert!(week.body.contains(&format!("href=\"{w}?view=week&#38;date=2027-02-01\" rel=\"prev\"")));
    assert!(week.body.contains(&format!("href=\"{w}?view=week&#38;date=2027-02-15\" rel=\"next\"")));
    // The month view links each day to its day view, and the views to each other.
    assert!(page.body.contains(&format!("href=\"{w}?view=day&#38;date=2027-02-14&#38;{brand_q}\"")));
    assert!(page.body.contains(&format!("href=\"{w}?view=week&#38;date=2027-02-10&#38;{brand_q}\"")));
}

#[tokio::test]
async fn bad_parameters_get_a_clear_400_page() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("ana@example.com").await;
    let (stranger, their_ws) = app.user("stranger@elsewhere.test").await;
    let theirs = brand(&app, &stranger, their_ws, "Theirs").await;
    let mut b = Browser::signed_in(&app, &user).await;
    let w = format!("/w/{ws}/calendar");
    for (query, says) in [
        ("view=year", "month, week or day"),
        ("view=%3Cscript%3E", "month, week or day"),
        ("date=2027-13-01", "a day written like 2026-06-01"),
        ("date=2027-02-30", "a day written like 2026-06-01"),
        ("date=tomorrow", "a day written like 2026-06-01"),
        ("date=20270201", "a day written like 2026-06-01"),
        ("date=0001-01-01", "between the years 1900 and 9000"),
        ("brand=nope", "not a brand of this workspace"),
        (&format!("brand={}", theirs.id), "not a brand of this workspace"),
    ] {
        let page = b.get(&format!("{w}?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        page.assert_html();
        assert!(page.body.contains(says), "{query}: {}", page.body);
        assert!(!page.body.contains("<script>"));
    }
    // Another workspace's calendar does not exist for this person.
    assert_eq!(b.get(&format!("/w/{their_ws}/calendar")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn busy_days_show_the_first_few_and_link_to_the_rest() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("ana@example.com").await;
    let b = brand(&app, &user, ws, "Acme").await;
    let mut ids: Vec<PostId> = Vec::new();
    for i in 0..10 {
        ids.push(
            planned(&app, &user, ws, &b, &format!("Post number {i}"), &format!("2027-02-03T{:02}:00", 8 + i)).await.id,
        );
    }
    let mut browser = Browser::signed_in(&app, &user).await;
    let page = browser.get(&format!("/w/{ws}/calendar?view=month&date=2027-02-01")).await;
    let cell = day(&page, "2027-02-03");
    // The first three by time, then a link to the day.
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(cell.contains(&id.to_string()), i < 3, "post {i}");
    }
    assert!(cell.contains(">+ 7 more</a>") && cell.contains("view=day&#38;date=2027-02-03"), "{cell}");
    assert!(cell.contains("<span class=\"muted small\">10</span>"), "the day's count");
    // The day shows them all, each with a reschedule form.
    let page = browser.get(&format!("/w/{ws}/calendar?view=day&date=2027-02-03")).await;
    for id in &ids {
        assert!(page.body.contains(&format!("action=\"/w/{ws}/calendar/{id}/schedule\"")));
    }
    assert!(!page.body.contains("more</a>"));
}

fn publication(
    post: &Post,
    network: Network,
    state: PublicationState,
    url: Option<&str>,
    error: Option<&str>,
) -> Publication {
    let at = post.updated_at;
    Publication {
        id: PublicationId::new(),
        workspace_id: post.workspace_id,
        post_id: post.id,
        approval_id: post.approval_id.expect("approved"),
        network,
        target: String::new(),
        account_id: None,
        account_name: "acme".into(),
        state,
        progress: "{}".into(),
        external_id: None,
        url: url.map(str::to_owned),
        error_class: None,
        error: error.map(str::to_owned),
        version: 1,
        created_at: at,
        updated_at: at,
        finished_at: Some(at),
    }
}

#[tokio::test]
async fn published_and_failed_posts_show_the_permalink_or_the_reason() {
    let app = TestApp::new().await;
    let team = app.team("status").await;
    let ws = team.workspace;
    let b = brand(&app, team.user(Role::Owner), ws, "Acme").await;
    let editor = app.actor(team.user(Role::Editor), ws).await;
    let reviewer = app.actor(team.user(Role::Reviewer), ws).await;
    let p = planned(&app, team.user(Role::Editor), ws, &b, "Went out, mostly", "2027-01-20T09:00").await;
    let p = app.services.submit_post(&editor, p.id, p.version).await.unwrap();
    let mut p = app.services.approve_post(&reviewer, p.id, &p.content.digest()).await.unwrap();
    assert_eq!(p.state, PostState::Scheduled);
    // What the job engine records: Instagram published with its permalink, LinkedIn failed.
    p.start_publishing(app.clock_now()).unwrap();
    let pubs = [
        publication(&p, Network::Instagram, PublicationState::Published, Some("https://instagram.example/p/abc"), None),
        publication(&p, Network::Linkedin, PublicationState::Failed, None, Some("LinkedIn says the <token> expired.")),
    ];
    let (mut p, _) = app.services.store().begin_publishing(&p, &pubs, &[]).await.unwrap();
    p.settle_publishing(PostAction::MarkFailed, app.clock_now()).unwrap();
    let p = app.services.store().save_post(&p).await.unwrap();

    let mut browser = Browser::signed_in(&app, team.user(Role::Editor)).await;
    let page = browser.get(&format!("/w/{ws}/calendar?view=week&date=2027-01-20")).await;
    let cell = day(&page, "2027-01-20");
    assert!(cell.contains("href=\"https://instagram.example/p/abc\"") && cell.contains("Instagram ↗"), "{cell}");
    assert!(cell.contains("LinkedIn: failed") && cell.contains("LinkedIn says the &#60;token&#62; expired."), "{cell}");
    assert!(cell.contains(&format!("href=\"/w/{ws}/posts/{}#publishing\">Why, and try again</a>", p.id)));
    assert!(!cell.contains("Reschedule"), "a failed post is retried, not rescheduled");
    let month = browser.get(&format!("/w/{ws}/calendar?date=2027-01-20")).await;
    assert!(day(&month, "2027-01-20").contains("1 need attention"));
    // The review queue lists it too, above the drafts, with each network's outcome.
    let queue = browser.get(&format!("/w/{ws}/review")).await;
    assert!(queue.body.contains("Needs attention"), "{}", queue.body);
    assert!(queue.body.contains(&format!("href=\"/w/{ws}/posts/{}#publishing\">Went out, mostly</a>", p.id)));
    assert!(
        queue.body.contains("LinkedIn says the &#60;token&#62; expired.")
            && queue.body.contains("https://instagram.example/p/abc")
    );
    // The editor's publishing section is where the link goes.
    let editor_page = browser.get(&format!("/w/{ws}/posts/{}", p.id)).await;
    assert!(editor_page.body.contains("id=\"publishing\"") && editor_page.body.contains("Try the failed ones again"));
}

#[tokio::test]
async fn rescheduling_from_the_calendar_keeps_the_approval() {
    let app = TestApp::new().await;
    let team = app.team("move").await;
    let ws = team.workspace;
    let b = brand(&app, team.user(Role::Owner), ws, "Acme").await;
    let editor = app.actor(team.user(Role::Editor), ws).await;
    let reviewer = app.actor(team.user(Role::Reviewer), ws).await;
    let p = planned(&app, team.user(Role::Editor), ws, &b, "Move me", "2027-01-20T09:00").await;
    let p = app.services.submit_post(&editor, p.id, p.version).await.unwrap();
    let p = app.services.approve_post(&reviewer, p.id, &p.content.digest()).await.unwrap();
    let approval = p.approval_id.unwrap();

    let mut browser = Browser::signed_in(&app, team.user(Role::Editor)).await;
    let page = browser.get(&format!("/w/{ws}/calendar?view=week&date=2027-01-20&brand={}", b.id)).await;
    let cell = day(&page, "2027-01-20");
    assert!(cell.contains("value=\"2027-01-20T09:00\""), "the form shows the local time: {cell}");
    let version = page.hidden("version").unwrap();
    let res = browser
        .submit(
            &format!("/w/{ws}/calendar/{}/schedule", p.id),
            &[
                ("version", &version),
                ("at", "2027-01-22T18:45"),
                ("view", "week"),
                ("date", "2027-01-20"),
                ("brand", &b.id.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        res.location(),
        Some(
            format!("/w/{ws}/calendar?view=week&msg=post_scheduled&date=2027-01-20&brand={}#post-{}", b.id, p.id)
                .as_str()
        )
    );
    let post = app.services.post(&editor, p.id).await.unwrap().post;
    assert_eq!(post.state, PostState::Scheduled);
    assert_eq!(post.approval_id, Some(approval), "time is not content: the approval stands");
    assert_eq!(post.schedule.as_ref().unwrap().local.to_string(), "2027-01-22T18:45:00");
    let page = browser.get(res.location().unwrap()).await;
    assert!(page.body.contains("Schedule saved.") && day(&page, "2027-01-22").contains(&p.id.to_string()));

    // A time in the past, a bad time or a stale version: the calendar says why.
    let version = post.version.to_string();
    for (at, v, status, says) in [
        ("2001-01-01T09:00", version.as_str(), StatusCode::UNPROCESSABLE_ENTITY, "must be in the future"),
        ("later", version.as_str(), StatusCode::UNPROCESSABLE_ENTITY, "must be a date and time"),
        ("2027-01-23T10:00", "1", StatusCode::CONFLICT, "reload and try again"),
    ] {
        let res = browser
            .submit(
                &format!("/w/{ws}/calendar/{}/schedule", p.id),
                &[("version", v), ("at", at), ("view", "week"), ("date", "2027-01-20")],
            )
            .await;
        assert_eq!(res.status, status, "{at}: {}", res.body);
        assert!(res.body.contains(says) && res.body.contains("Week of Mon 18 Jan 2027"), "{at}: {}", res.body);
    }
    // Viewers and reviewers see the calendar without the forms and may not move posts.
    for role in [Role::Viewer, Role::Reviewer] {
        let mut other = Browser::signed_in(&app, team.user(role)).await;
        let page = other.get(&format!("/w/{ws}/calendar?view=week&date=2027-01-22")).await;
        assert!(page.body.contains(&p.id.to_string()) && !page.body.contains("Reschedule"), "{role}");
        let res = other
            .submit(
                &format!("/w/{ws}/calendar/{}/schedule", p.id),
                &[("version", &version), ("at", "2027-01-25T10:00")],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{role}");
    }
}

/// The `<li>` of post `id` on the page.
fn item(page: &Page, id: PostId) -> &str {
    let start = page.body.find(&format!("id=\"post-{id}\"")).unwrap_or_else(|| panic!("no post {id}"));
    let start = page.body[..start].rfind("<li").unwrap();
    let end = page.body[start..].find("</li>").map_or(page.body.len(), |e| start + e);
    &page.body[start..end]
}

#[tokio::test]
async fn dragging_a_post_onto_a_day_posts_the_reschedule_form_and_keeps_the_approval() {
    let app = TestApp::new().await;
    let team = app.team("drag").await;
    let ws = team.workspace;
    let b = brand(&app, team.user(Role::Owner), ws, "Acme").await;
    let editor = app.actor(team.user(Role::Editor), ws).await;
    let reviewer = app.actor(team.user(Role::Reviewer), ws).await;
    let p = planned(&app, team.user(Role::Editor), ws, &b, "Drag me", "2027-01-20T09:30").await;
    let p = app.services.submit_post(&editor, p.id, p.version).await.unwrap();
    let p = app.services.approve_post(&reviewer, p.id, &p.content.digest()).await.unwrap();
    let approval = p.approval_id.unwrap();
    // A post on its way out: not draggable.
    let out = planned(&app, team.user(Role::Editor), ws, &b, "Going out", "2027-01-21T10:00").await;
    let out = app.services.submit_post(&editor, out.id, out.version).await.unwrap();
    let mut out = app.services.approve_post(&reviewer, out.id, &out.content.digest()).await.unwrap();
    out.start_publishing(app.clock_now()).unwrap();
    let pubs = [publication(&out, Network::Instagram, PublicationState::Pending, None, None)];
    let (out, _) = app.services.store().begin_publishing(&out, &pubs, &[]).await.unwrap();
    assert_eq!(out.state, PostState::Publishing);

    let mut browser = Browser::signed_in(&app, team.user(Role::Editor)).await;
    for view in ["month", "week", "day"] {
        let date = if view == "day" { "2027-01-20" } else { "2027-01-21" };
        let page = browser.get(&format!("/w/{ws}/calendar?view={view}&date={date}")).await;
        assert_eq!(page.status, StatusCode::OK);
        // The script and its form, which carries the page's CSRF token and the way back.
        assert!(page.body.contains("<script src=\"/static/calendar.js\" defer></script>"), "{view}");
        assert!(page.body.contains("<link rel=\"stylesheet\" href=\"/static/calendar.css\">"), "{view}");
        let form = &page.body[page.body.find("data-cal-drop").expect("the drop form")..];
        let form = &form[..form.find("</form>").unwrap()];
        assert!(form.contains(&format!("name=\"csrf\" value=\"{}\"", browser.csrf())), "{form}");
        assert!(form.contains(&format!("name=\"view\" value=\"{view}\"")), "{form}");
        assert!(page.body.contains("data-drag-help hidden"), "the hint waits for the script");
        // The draggable post says where to post and what it is now.
        let li = item(&page, p.id);
        let expected = format!(
            "draggable=\"true\" data-move=\"/w/{ws}/calendar/{}/schedule\" data-version=\"{}\" data-at=\"2027-01-20T09:30\"",
            p.id, p.version
        );
        assert!(li.contains(&expected), "{view}: {li}");
        if view != "day" {
            let li = item(&page, out.id);
            assert!(!li.contains("draggable") && !li.contains("data-move"), "{view}: publishing stays put: {li}");
        }
    }

    // What the script posts after a drop on Saturday in the month view: the same time of day.
    let res = browser
        .submit(
            &format!("/w/{ws}/calendar/{}/schedule", p.id),
            &[
                ("view", "month"),
                ("date", "2027-01-21"),
                ("brand", ""),
                ("version", &p.version.to_string()),
                ("at", "2027-01-23T09:30"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        res.location(),
        Some(format!("/w/{ws}/calendar?view=month&msg=post_scheduled&date=2027-01-21#post-{}", p.id).as_str())
    );
    let post = app.services.post(&editor, p.id).await.unwrap().post;
    assert_eq!(post.schedule.as_ref().unwrap().local.to_string(), "2027-01-23T09:30:00");
    assert_eq!(post.approval_id, Some(approval), "moving is not editing: the approval stands");
    let page = browser.get(res.location().unwrap()).await;
    assert!(
        day(&page, "2027-01-23").contains(&p.id.to_string()) && !day(&page, "2027-01-20").contains(&p.id.to_string())
    );

    // Dropped on an hour of the week view: that hour, the minutes kept.
    let res = browser
        .submit(
            &format!("/w/{ws}/calendar/{}/schedule", p.id),
            &[
                ("view", "week"),
                ("date", "2027-01-21"),
                ("version", &post.version.to_string()),
                ("at", "2027-01-23T16:30"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let post = app.services.post(&editor, p.id).await.unwrap().post;
    assert_eq!(post.schedule.as_ref().unwrap().local.to_string(), "2027-01-23T16:30:00");

    // Without the page's token the drop is refused; a post on its way out cannot be moved.
    let no_token = browser
        .post(
            &format!("/w/{ws}/calendar/{}/schedule", p.id),
            &[("version", &post.version.to_string()), ("at", "2027-01-24T16:30")],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN, "{}", no_token.body);
    let moved = browser
        .submit(
            &format!("/w/{ws}/calendar/{}/schedule", out.id),
            &[("view", "month"), ("version", &out.version.to_string()), ("at", "2027-01-24T10:00")],
        )
        .await;
    assert!(moved.status.is_client_error(), "{}: {}", moved.status, moved.body);
    assert_eq!(app.services.post(&editor, out.id).await.unwrap().post.state, PostState::Publishing);

    // Viewers get neither the script nor anything to drag.
    let mut viewer = Browser::signed_in(&app, team.user(Role::Viewer)).await;
    let page = viewer.get(&format!("/w/{ws}/calendar?view=week&date=2027-01-21")).await;
    assert!(page.body.contains(&p.id.to_string()));
    assert!(
        !page.body.contains("calendar.js") && !page.body.contains("data-move") && !page.body.contains("data-cal-drop")
    );
}
