//! Contract of the calendar reads, on SQLite and PostgreSQL: a month of posts by time (light
//! rows, of one workspace and brand), and the details of the shown ones.

use crate::fixtures::*;
use nanopost_domain::approval::ApprovalId;
use nanopost_domain::ids::PostId;
use nanopost_domain::ids::PublicationId;
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostState, Schedule};
use nanopost_domain::publication::PublicationState;
use nanopost_storage::{DayWindow, Publication, Store};

macro_rules! calendar_contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $case() {
                crate::harness::run(crate::harness::sqlite().await, true, super::$case).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $case() {
                crate::harness::run(crate::harness::postgres().await, true, super::$case).await
            })*
        }
    };
}

calendar_contract![
    entries_are_placed_by_their_time,
    days_are_counted_with_their_first_posts,
    details_of_shown_posts_only,
    publications_of_several_posts_in_one_read,
    placements_in_one_brand_never_share_a_slot,
];

fn at_local(p: &mut Post, local: &str) {
    p.schedule = Some(Schedule::new(local.parse().unwrap(), "Europe/Berlin").unwrap());
}

async fn entries_are_placed_by_their_time(s: Store) {
    let (_, other_ws) = owner(&s, "other@example.com").await;
    let (owner, ws) = owner(&s, "cal@example.com").await;
    let acme = brand(ws.id, "Acme");
    let rival = brand(ws.id, "Rival");
    let foreign = brand(other_ws.id, "Foreign");
    for b in [&acme, &rival, &foreign] {
        s.insert_brand(b).await.unwrap();
    }
    // Scheduled: inside June, at its edges, outside; one archived; one of another workspace.
    let mut inside = post(ws.id, acme.id, owner.id, "inside");
    at_local(&mut inside, "2026-06-10T09:00");
    inside.state = PostState::Scheduled;
    let mut first = post(ws.id, rival.id, owner.id, "first");
    at_local(&mut first, "2026-06-01T00:00");
    let mut july = post(ws.id, acme.id, owner.id, "july");
    at_local(&mut july, "2026-07-01T00:00");
    let mut archived = post(ws.id, acme.id, owner.id, "archived");
    at_local(&mut archived, "2026-06-11T09:00");
    archived.state = PostState::Archived;
    let mut theirs = post(other_ws.id, foreign.id, owner.id, "theirs");
    at_local(&mut theirs, "2026-06-12T09:00");
    let unscheduled_draft = post(ws.id, acme.id, owner.id, "draft");
    for p in [&inside, &first, &july, &archived, &theirs, &unscheduled_draft] {
        s.insert_post(p).await.unwrap();
    }
    // June in Berlin: [2026-05-31T22:00Z, 2026-06-30T22:00Z).
    let from: jiff::Timestamp = "2026-05-31T22:00:00Z".parse().unwrap();
    let to: jiff::Timestamp = "2026-06-30T22:00:00Z".parse().unwrap();
    let june = s.calendar_entries(ws.id, None, from, to, 1000).await.unwrap();
    let ids: Vec<PostId> = june.iter().map(|e| e.post_id).collect();
    assert_eq!(ids, vec![first.id, inside.id], "{june:?}");
    assert_eq!(june[0].at, from, "the first instant of the month is in it");
    assert_eq!((june[1].state, june[1].brand_id), (PostState::Scheduled, acme.id));
    assert_eq!(june[1].at.to_string(), "2026-06-10T07:00:00Z");

    // One brand only; and the limit.
    let acme_only = s.calendar_entries(ws.id, Some(acme.id), from, to, 1000).await.unwrap();
    assert_eq!(acme_only.iter().map(|e| e.post_id).collect::<Vec<_>>(), vec![inside.id]);
    assert_eq!(s.calendar_entries(ws.id, None, from, to, 1).await.unwrap().len(), 1);
    // Another workspace sees only its own; a brand of another workspace finds nothing here.
    let theirs_seen = s.calendar_entries(other_ws.id, None, from, to, 1000).await.unwrap();
    assert_eq!(theirs_seen.iter().map(|e| e.post_id).collect::<Vec<_>>(), vec![theirs.id]);
    assert!(s.calendar_entries(ws.id, Some(foreign.id), from, to, 1000).await.unwrap().is_empty());
    // The end is not in it: July's first instant belongs to July.
    let july_seen = s.calendar_entries(ws.id, None, to, to + jiff::SignedDuration::from_hours(1), 10).await.unwrap();
    assert_eq!(july_seen.iter().map(|e| e.post_id).collect::<Vec<_>>(), vec![july.id]);
}

/// Berlin's local days from `first` (a DST change on 29 March 2026 makes that day 23 hours).
fn berlin_days(first: jiff::civil::Date, n: i64) -> Vec<DayWindow> {
    let tz = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let start =
        |k: i64| first.checked_add(jiff::Span::new().days(k)).unwrap().to_zoned(tz.clone()).unwrap().timestamp();
    (0..n).map(|k| DayWindow { start: start(k), end: start(k + 1) }).collect()
}

async fn days_are_counted_with_their_first_posts(s: Store) {
    let (_, other_ws) = owner(&s, "other@example.com").await;
    let (owner, ws) = owner(&s, "cal@example.com").await;
    let acme = brand(ws.id, "Acme");
    let rival = brand(ws.id, "Rival");
    let foreign = brand(other_ws.id, "Foreign");
    for b in [&acme, &rival, &foreign] {
        s.insert_brand(b).await.unwrap();
    }
    let at = |ws, brand, local: &str, state: PostState| {
        let mut p = post(ws, brand, owner.id, local);
        at_local(&mut p, local);
        p.state = state;
        p
    };
    // Sunday 29 March 2026 (23 hours in Berlin) and the days around it.
    let posts = [
        at(ws.id, acme.id, "2026-03-29T23:59", PostState::Scheduled),
        at(ws.id, acme.id, "2026-03-29T00:00", PostState::Published),
        at(ws.id, rival.id, "2026-03-29T03:30", PostState::Failed),
        at(ws.id, acme.id, "2026-03-29T12:00", PostState::Unconfirmed),
        at(ws.id, acme.id, "2026-03-29T08:00", PostState::Archived),
        at(ws.id, acme.id, "2026-03-31T09:00", PostState::Draft),
        at(ws.id, acme.id, "2026-03-28T23:59", PostState::Scheduled),
        at(other_ws.id, foreign.id, "2026-03-29T10:00", PostState::Scheduled),
    ];
    for p in &posts {
        s.insert_post(p).await.unwrap();
    }
    let days = berlin_days(jiff::civil::date(2026, 3, 29), 3);
    assert_eq!(days[0].end.duration_since(days[0].start).as_hours(), 23);
    let got = s.calendar_days(ws.id, None, &days, 2).await.unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!((got[0].total, got[0].problems), (4, 2), "archived left out, failed and unconfirmed counted");
    let first: Vec<_> = got[0].first.iter().map(|e| e.post_id).collect();
    assert_eq!(first, vec![posts[1].id, posts[2].id], "the earliest two");
    assert_eq!(got[0].first[1].state, PostState::Failed);
    assert_eq!(got[0].first[1].brand_id, rival.id);
    assert_eq!((got[1].total, got[1].first.len()), (0, 0));
    assert_eq!((got[2].total, got[2].first[0].post_id), (1, posts[5].id));
    // One brand; no brand at all; a brand of another workspace.
    let acme_only = s.calendar_days(ws.id, Some(&[acme.id]), &days, 10).await.unwrap();
    assert_eq!((acme_only[0].total, acme_only[0].problems, acme_only[0].first.len()), (3, 1, 3));
    assert!(s.calendar_days(ws.id, Some(&[]), &days, 10).await.unwrap().iter().all(|d| d.total == 0));
    assert!(s.calendar_days(ws.id, Some(&[foreign.id]), &days, 10).await.unwrap().iter().all(|d| d.total == 0));
    let theirs = s.calendar_days(other_ws.id, None, &days, 10).await.unwrap();
    assert_eq!(theirs[0].first.iter().map(|e| e.post_id).collect::<Vec<_>>(), vec![posts[7].id]);
    assert!(s.calendar_days(ws.id, None, &[], 10).await.unwrap().is_empty());
}

async fn details_of_shown_posts_only(s: Store) {
    let (_, other_ws) = owner(&s, "other@example.com").await;
    let (owner, ws) = owner(&s, "cal@example.com").await;
    let acme = brand(ws.id, "Acme");
    let foreign = brand(other_ws.id, "Foreign");
    s.insert_brand(&acme).await.unwrap();
    s.insert_brand(&foreign).await.unwrap();
    let long = format!("Ünïcode {} <b>", "x".repeat(300));
    let a = post(ws.id, acme.id, owner.id, &long);
    let b = post(ws.id, acme.id, owner.id, "short");
    let theirs = post(other_ws.id, foreign.id, owner.id, "theirs");
    for p in [&a, &b, &theirs] {
        s.insert_post(p).await.unwrap();
    }
    let mut details = s.calendar_details(ws.id, &[a.id, b.id, theirs.id]).await.unwrap();
    details.sort_by_key(|d| if d.post_id == a.id { 0 } else { 1 });
    assert_eq!(details.len(), 2, "another workspace's post is not found");
    assert_eq!(details[0].excerpt.chars().count(), 120);
    assert!(long.starts_with(&details[0].excerpt));
    assert_eq!(details[0].networks, vec![Network::Instagram, Network::Linkedin]);
    assert_eq!(details[0].version, 1);
    assert_eq!(details[1].excerpt, "short");
    assert!(s.calendar_details(ws.id, &[]).await.unwrap().is_empty());
    // More ids than one statement takes.
    let many: Vec<PostId> = (0..1_200).map(|_| PostId::new()).chain([b.id]).collect();
    let found = s.calendar_details(ws.id, &many).await.unwrap();
    assert_eq!(found.iter().map(|d| d.post_id).collect::<Vec<_>>(), vec![b.id]);
}

fn publication(p: &Post, network: Network, at: jiff::Timestamp) -> Publication {
    Publication {
        id: PublicationId::new(),
        workspace_id: p.workspace_id,
        post_id: p.id,
        approval_id: ApprovalId::new(),
        network,
        target: String::new(),
        account_id: None,
        account_name: "acme".into(),
        state: PublicationState::Failed,
        progress: "{}".into(),
        external_id: Some("x1".into()),
        url: Some("https://example.com/p/1".into()),
        error_class: Some("retry_later".into()),
        error: Some("The network <said> no.".into()),
        version: 1,
        created_at: at,
        updated_at: at,
        finished_at: Some(at),
    }
}

async fn publications_of_several_posts_in_one_read(s: Store) {
    let (_, other_ws) = owner(&s, "other@example.com").await;
    let (owner, ws) = owner(&s, "cal@example.com").await;
    let acme = brand(ws.id, "Acme");
    let foreign = brand(other_ws.id, "Foreign");
    s.insert_brand(&acme).await.unwrap();
    s.insert_brand(&foreign).await.unwrap();
    let a = post(ws.id, acme.id, owner.id, "a");
    let b = post(ws.id, acme.id, owner.id, "b");
    let quiet = post(ws.id, acme.id, owner.id, "never published");
    let theirs = post(other_ws.id, foreign.id, owner.id, "theirs");
    for p in [&a, &b, &quiet, &theirs] {
        s.insert_post(p).await.unwrap();
        if p.id == quiet.id {
            continue;
        }
        let mut going = p.clone();
        going.state = PostState::Publishing;
        let pubs = [publication(p, Network::Linkedin, t(20)), publication(p, Network::Instagram, t(10))];
        s.begin_publishing(&going, &pubs, &[]).await.unwrap();
    }
    let got = s.publications_of_posts(ws.id, &[a.id, b.id, quiet.id, theirs.id]).await.unwrap();
    // Exactly what the one-post read gives, post by post; nothing of another workspace.
    let mut expected = s.publications_of_post(ws.id, a.id).await.unwrap();
    expected.extend(s.publications_of_post(ws.id, b.id).await.unwrap());
    let mut got_sorted = got.clone();
    got_sorted.sort_by_key(|p| (p.post_id != a.id, p.created_at));
    assert_eq!(got_sorted, expected);
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|p| p.workspace_id == ws.id));
    assert_eq!(got.iter().find(|p| p.post_id == a.id).unwrap().network, Network::Instagram, "recorded order per post");
    assert!(s.publications_of_posts(ws.id, &[]).await.unwrap().is_empty());
}

/// Eight placements at once into one brand's queue (each picks the first candidate nobody
/// holds): the brand is held while one chooses and writes, so each gets its own slot. A stale
/// version is refused, and a post of another brand is not written.
async fn placements_in_one_brand_never_share_a_slot(s: Store) {
    let (owner, ws) = owner(&s, "slots@example.com").await;
    let acme = brand(ws.id, "Acme");
    let rival = brand(ws.id, "Rival");
    s.insert_brand(&acme).await.unwrap();
    s.insert_brand(&rival).await.unwrap();
    let candidates: Vec<Schedule> = (1..=12)
        .map(|d| Schedule::new(format!("2026-06-{d:02}T09:00").parse().unwrap(), "Europe/Berlin").unwrap())
        .collect();
    let mut posts = vec![];
    for i in 0..8 {
        let p = post(ws.id, acme.id, owner.id, &format!("queued {i}"));
        s.insert_post(&p).await.unwrap();
        posts.push(p);
    }
    let from: jiff::Timestamp = "2026-05-31T00:00:00Z".parse().unwrap();
    let to: jiff::Timestamp = "2026-07-01T00:00:00Z".parse().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for p in posts.clone() {
        let (s, candidates) = (s.clone(), candidates.clone());
        tasks.spawn(async move {
            let place = |taken: &[nanopost_storage::CalendarEntry]| {
                let free = candidates.iter().find(|c| !taken.iter().any(|e| e.at == c.instant()))?;
                let mut placed = p.clone();
                placed.schedule = Some(free.clone());
                Some((placed, None))
            };
            s.place_post_in_slot(p.workspace_id, p.brand_id, from, to, 1000, &place).await.unwrap().unwrap()
        });
    }
    let placed = tasks.join_all().await;
    let mut at: Vec<jiff::Timestamp> = placed.iter().map(|p| p.schedule.as_ref().unwrap().instant()).collect();
    at.sort();
    let expected: Vec<jiff::Timestamp> = candidates[..8].iter().map(Schedule::instant).collect();
    assert_eq!(at, expected, "the first eight candidates, one post each");
    assert!(placed.iter().all(|p| p.version == 2));

    // What was read is written only if nobody changed it since.
    let stale = |_: &[nanopost_storage::CalendarEntry]| Some((posts[0].clone(), None));
    assert!(matches!(
        s.place_post_in_slot(ws.id, acme.id, from, to, 1000, &stale).await,
        Err(nanopost_storage::StorageError::Stale)
    ));
    // Holding one brand does not allow writing another brand's post.
    let other = post(ws.id, rival.id, owner.id, "rival");
    s.insert_post(&other).await.unwrap();
    let wrong = |_: &[nanopost_storage::CalendarEntry]| Some((other.clone(), None));
    assert!(s.place_post_in_slot(ws.id, acme.id, from, to, 1000, &wrong).await.is_err());
    // Nothing chosen, nothing written.
    assert!(s.place_post_in_slot(ws.id, acme.id, from, to, 1000, &|_| None).await.unwrap().is_none());
}
