//! Contract of the generation repository, on SQLite and PostgreSQL: the monthly quota is taken
//! atomically, a generation ends with its drafts and usage in one transaction (or not at all),
//! tenants are isolated, and deletion takes generations with what they belong to.

use crate::fixtures::*;
use jiff::civil;
use nanopost_domain::ids::{GenerationId, MediaId, WorkspaceId};
use nanopost_domain::post::{Post, PostState};
use nanopost_storage::{
    Admission, GeneratedPost, GenerationKind, GenerationOutcome, GenerationRecord, GenerationState, MediaRecord,
    MediaType, NewJob, PageRequest, Store, UsageDelta,
};
use serde_json::json;

macro_rules! generation_contract {
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

generation_contract![
    the_monthly_quota_admits_up_to_its_limit_per_workspace_and_month,
    a_generation_ends_with_its_drafts_links_and_usage_in_one_transaction,
    a_failing_end_writes_nothing_and_a_failed_generation_gives_its_unit_back,
    open_generations_are_updated_until_they_end_and_the_sweep_finds_stale_ones,
    tenants_are_isolated_and_lists_page_by_brand,
    deleting_a_post_brand_or_media_takes_what_belongs_to_it,
];

const MONTH: &str = "2027-01";

fn record(ws: WorkspaceId, brand: Option<nanopost_domain::ids::BrandId>, n: i64) -> GenerationRecord {
    GenerationRecord {
        id: GenerationId::new(),
        workspace_id: ws,
        brand_id: brand,
        kind: GenerationKind::Post,
        state: GenerationState::Queued,
        request: json!({"networks": ["instagram"], "brief": format!("brief {n}")}),
        work: json!({}),
        progress: "Waiting for a worker.".into(),
        result: None,
        error: None,
        provider: None,
        offline: false,
        post_id: None,
        media_id: None,
        requested_by: None,
        created_at: t(n),
        updated_at: t(n),
        finished_at: None,
    }
}

fn job_for(g: &GenerationRecord) -> NewJob {
    NewJob::new("generation.post", json!({"generation_id": g.id}), g.created_at)
        .workspace(g.workspace_id)
        .unique_key(format!("generation:{}", g.id))
}

fn link(g: &GenerationRecord, post: &Post, position: u32) -> GeneratedPost {
    GeneratedPost {
        workspace_id: g.workspace_id,
        generation_id: g.id,
        post_id: post.id,
        position,
        suggested_local: Some(civil::date(2027, 3, 28).at(9, 0, 0, 0)),
        suggested_tz: Some("Europe/Berlin".into()),
        suggested_at: Some(t(3_600 * i64::from(position + 1))),
        notes: vec![format!("note {position}")],
        created_at: t(10),
    }
}

fn done(g: &GenerationRecord, at: i64) -> GenerationRecord {
    GenerationRecord {
        state: GenerationState::Done,
        progress: "Done.".into(),
        provider: Some("offline".into()),
        offline: true,
        updated_at: t(at),
        finished_at: Some(t(at)),
        ..g.clone()
    }
}

async fn admit(s: &Store, g: &GenerationRecord, quota: u32) -> Admission {
    s.insert_generation(g, MONTH, quota, &[job_for(g)]).await.unwrap()
}

async fn the_monthly_quota_admits_up_to_its_limit_per_workspace_and_month(s: Store) {
    let (_, ws) = owner(&s, "ana@example.com").await;
    let (_, other) = owner(&s, "bob@example.com").await;
    let b = brand(ws.id, "Bakery");
    s.insert_brand(&b).await.unwrap();
    let first = record(ws.id, Some(b.id), 1);
    let second = record(ws.id, Some(b.id), 2);
    let third = record(ws.id, Some(b.id), 3);
    assert_eq!(admit(&s, &first, 2).await, Admission::Admitted);
    assert_eq!(admit(&s, &second, 2).await, Admission::Admitted);
    assert_eq!(admit(&s, &third, 2).await, Admission::QuotaReached { used: 2, quota: 2 });
    assert!(s.generation(ws.id, third.id).await.unwrap().is_none(), "a refused generation is not recorded");
    assert!(s.job_by_key(&format!("generation:{}", third.id)).await.unwrap().is_none(), "nor is its job");
    assert!(s.job_by_key(&format!("generation:{}", first.id)).await.unwrap().is_some(), "an admitted one's job is");
    assert_eq!(s.ai_usage(ws.id, MONTH).await.unwrap().generations, 2);

    // Another month, another workspace, and no quota at all are each their own count.
    let next_month = record(ws.id, Some(b.id), 4);
    assert_eq!(s.insert_generation(&next_month, "2027-02", 2, &[]).await.unwrap(), Admission::Admitted);
    let theirs = record(other.id, None, 5);
    assert_eq!(admit(&s, &theirs, 2).await, Admission::Admitted);
    for n in 6..9 {
        assert_eq!(admit(&s, &record(ws.id, None, n), 0).await, Admission::Admitted, "0 means unlimited");
    }
    assert_eq!(s.ai_usage(ws.id, MONTH).await.unwrap().generations, 5);
    assert_eq!(s.ai_usage(ws.id, "2027-02").await.unwrap().generations, 1);
    assert_eq!(s.ai_usage(other.id, MONTH).await.unwrap().generations, 1);
    let unused = s.ai_usage(other.id, "2026-12").await.unwrap();
    assert_eq!((unused.month.as_str(), unused.generations, unused.images), ("2026-12", 0, 0));
}

async fn a_generation_ends_with_its_drafts_links_and_usage_in_one_transaction(s: Store) {
    let (u, ws) = owner(&s, "ana@example.com").await;
    let b = brand(ws.id, "Bakery");
    s.insert_brand(&b).await.unwrap();
    let mut g = record(ws.id, Some(b.id), 1);
    g.kind = GenerationKind::Plan;
    g.requested_by = Some(u.id);
    assert_eq!(admit(&s, &g, 0).await, Admission::Admitted);
    let stored = s.generation(ws.id, g.id).await.unwrap().unwrap();
    assert_eq!(stored, g, "a generation round-trips");

    let mut posts = Vec::new();
    for n in 0..2 {
        let mut p = post(ws.id, b.id, u.id, &format!("generated {n}"));
        p.submit(t(5)).unwrap();
        posts.push(p);
    }
    let links: Vec<_> = posts.iter().enumerate().map(|(i, p)| link(&g, p, i as u32)).collect();
    let end = done(&g, 20);
    let usage = UsageDelta { generations: 0, prompt_tokens: 120, completion_tokens: 80, images: 2 };
    let outcome = GenerationOutcome { generation: &end, posts: &posts, links: &links, usage, month: MONTH };
    assert!(s.finish_generation(&outcome).await.unwrap());

    assert_eq!(s.generation(ws.id, g.id).await.unwrap().unwrap(), end);
    for p in &posts {
        let stored = s.post(ws.id, p.id).await.unwrap().unwrap();
        assert_eq!(stored.state, PostState::PendingReview);
        assert!(stored.schedule.is_none(), "a generated draft is never scheduled");
    }
    assert_eq!(s.generated_posts(ws.id, g.id).await.unwrap(), links);
    let provenance = s.post_provenance(ws.id, posts[1].id).await.unwrap().unwrap();
    assert_eq!(provenance.link, links[1]);
    assert_eq!(
        (provenance.kind, provenance.provider.as_deref(), provenance.offline),
        (GenerationKind::Plan, Some("offline"), true)
    );
    assert_eq!(s.post_suggestion(ws.id, posts[0].id).await.unwrap().unwrap().suggested_local, links[0].suggested_local);
    let used = s.ai_usage(ws.id, MONTH).await.unwrap();
    assert_eq!((used.generations, used.prompt_tokens, used.completion_tokens, used.images), (1, 120, 80, 2));

    // The workspace's export holds the generation, its drafts' links and the usage, readable.
    let dump = s.dump_workspace(ws.id).await.unwrap();
    let rows = |t: &str| dump.iter().find(|d| d.table == t).map(|d| d.rows.clone()).unwrap_or_default();
    let gens = rows("generations");
    assert_eq!(gens.len(), 1);
    assert_eq!((gens[0]["offline"].clone(), gens[0]["request"]["brief"].clone()), (json!(true), json!("brief 1")));
    assert_eq!(rows("generation_posts").len(), 2);
    assert_eq!(rows("ai_usage")[0]["images"], json!(2));
    let person = s.dump_person(u.id, &u.email).await.unwrap();
    assert!(person.iter().any(|d| d.table == "generations" && d.rows.len() == 1), "the requester's export has it");

    // Ending again (a retried job) writes nothing.
    let again = GenerationOutcome { generation: &end, posts: &[], links: &[], usage, month: MONTH };
    assert!(!s.finish_generation(&again).await.unwrap());
    assert_eq!(s.ai_usage(ws.id, MONTH).await.unwrap().images, 2);
    // An open state is not an end.
    let open = GenerationOutcome { generation: &g, posts: &[], links: &[], usage, month: MONTH };
    assert!(s.finish_generation(&open).await.is_err());
}

async fn a_failing_end_writes_nothing_and_a_failed_generation_gives_its_unit_back(s: Store) {
    let (u, ws) = owner(&s, "ana@example.com").await;
    let (v, theirs) = owner(&s, "bob@example.com").await;
    let b = brand(ws.id, "Bakery");
    let foreign = brand(theirs.id, "Not yours");
    s.insert_brand(&b).await.unwrap();
    s.insert_brand(&foreign).await.unwrap();
    let g = record(ws.id, Some(b.id), 1);
    assert_eq!(admit(&s, &g, 0).await, Admission::Admitted);

    // A draft that cannot be written (its brand is not this workspace's) undoes the whole end.
    let good = post(ws.id, b.id, u.id, "fine");
    let mut bad = post(ws.id, foreign.id, v.id, "not here");
    bad.workspace_id = ws.id;
    let posts = [good.clone(), bad];
    let links = [link(&g, &good, 0)];
    let end = done(&g, 20);
    let usage = UsageDelta { generations: 0, prompt_tokens: 5, completion_tokens: 5, images: 1 };
    assert!(
        s.finish_generation(&GenerationOutcome { generation: &end, posts: &posts, links: &links, usage, month: MONTH })
            .await
            .is_err()
    );
    assert_eq!(s.generation(ws.id, g.id).await.unwrap().unwrap().state, GenerationState::Queued);
    assert!(s.post(ws.id, good.id).await.unwrap().is_none());
    assert!(s.generated_posts(ws.id, g.id).await.unwrap().is_empty());
    assert_eq!(s.ai_usage(ws.id, MONTH).await.unwrap().images, 0);

    // A failure ends with its sentence and gives back the generation it was counted as.
    let failed = GenerationRecord {
        state: GenerationState::Failed,
        error: Some("The AI declined to write this.".into()),
        finished_at: Some(t(30)),
        updated_at: t(30),
        ..g.clone()
    };
    let refund = UsageDelta { generations: -1, prompt_tokens: 7, ..UsageDelta::default() };
    assert!(
        s.finish_generation(&GenerationOutcome {
            generation: &failed,
            posts: &[],
            links: &[],
            usage: refund,
            month: MONTH
        })
        .await
        .unwrap()
    );
    let used = s.ai_usage(ws.id, MONTH).await.unwrap();
    assert_eq!((used.generations, used.prompt_tokens), (0, 7));
    // A refund never takes the count below zero.
    let g2 = record(ws.id, None, 2);
    s.insert_generation(&g2, "2027-05", 0, &[]).await.unwrap();
    let f = GenerationRecord { state: GenerationState::Failed, finished_at: Some(t(3)), ..g2.clone() };
    let too_much = UsageDelta { generations: -5, ..UsageDelta::default() };
    assert!(
        s.finish_generation(&GenerationOutcome {
            generation: &f,
            posts: &[],
            links: &[],
            usage: too_much,
            month: "2027-05"
        })
        .await
        .unwrap()
    );
    assert_eq!(s.ai_usage(ws.id, "2027-05").await.unwrap().generations, 0);
}

async fn open_generations_are_updated_until_they_end_and_the_sweep_finds_stale_ones(s: Store) {
    let (_, ws) = owner(&s, "ana@example.com").await;
    let old = record(ws.id, None, 1);
    let fresh = record(ws.id, None, 100);
    s.insert_generation(&old, MONTH, 0, &[]).await.unwrap();
    s.insert_generation(&fresh, MONTH, 0, &[]).await.unwrap();
    let mut running = GenerationRecord {
        state: GenerationState::Running,
        progress: "Writing captions…".into(),
        work: json!({"drafts": [{"captions": ["x"]}]}),
        provider: Some("fake (gpt-4o-mini)".into()),
        updated_at: t(2),
        ..old.clone()
    };
    assert!(s.update_generation(&running).await.unwrap());
    assert_eq!(s.generation(ws.id, old.id).await.unwrap().unwrap(), running);
    let stale: Vec<_> = s.stale_generations(t(50)).await.unwrap().into_iter().map(|g| g.id).collect();
    assert_eq!(stale, vec![old.id], "only what was untouched since the cut-off");

    let end = done(&running, 60);
    s.finish_generation(&GenerationOutcome {
        generation: &end,
        posts: &[],
        links: &[],
        usage: UsageDelta::default(),
        month: MONTH,
    })
    .await
    .unwrap();
    running.progress = "late progress from a lost worker".into();
    assert!(!s.update_generation(&running).await.unwrap(), "an ended generation is never reopened");
    assert_eq!(s.generation(ws.id, old.id).await.unwrap().unwrap().state, GenerationState::Done);
    assert!(s.stale_generations(t(1_000)).await.unwrap().iter().all(|g| g.id != old.id));
}

async fn tenants_are_isolated_and_lists_page_by_brand(s: Store) {
    let (u, ws) = owner(&s, "ana@example.com").await;
    let (_, other) = owner(&s, "bob@example.com").await;
    let b1 = brand(ws.id, "One");
    let b2 = brand(ws.id, "Two");
    s.insert_brand(&b1).await.unwrap();
    s.insert_brand(&b2).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..5 {
        let g = record(ws.id, Some(if n % 2 == 0 { b1.id } else { b2.id }), n);
        s.insert_generation(&g, MONTH, 0, &[]).await.unwrap();
        ids.push(g);
    }
    assert!(s.generation(other.id, ids[0].id).await.unwrap().is_none());
    assert!(s.generations(other.id, None, PageRequest::first(50)).await.unwrap().items.is_empty());
    let first = s.generations(ws.id, Some(b1.id), PageRequest::first(2)).await.unwrap();
    assert_eq!(first.items.iter().map(|g| g.id).collect::<Vec<_>>(), vec![ids[4].id, ids[2].id], "newest first");
    let rest = s.generations(ws.id, Some(b1.id), PageRequest { limit: 2, after: first.next }).await.unwrap();
    assert_eq!(rest.items.iter().map(|g| g.id).collect::<Vec<_>>(), vec![ids[0].id]);
    assert!(rest.next.is_none());
    assert_eq!(s.generations(ws.id, None, PageRequest::first(50)).await.unwrap().items.len(), 5);

    // Drafts and their provenance are not visible from another workspace.
    let p = post(ws.id, b1.id, u.id, "mine");
    let end = done(&ids[0], 9);
    s.finish_generation(&GenerationOutcome {
        generation: &end,
        posts: std::slice::from_ref(&p),
        links: &[link(&ids[0], &p, 0)],
        usage: UsageDelta::default(),
        month: MONTH,
    })
    .await
    .unwrap();
    assert!(s.post_provenance(other.id, p.id).await.unwrap().is_none());
    assert!(s.generated_posts(other.id, ids[0].id).await.unwrap().is_empty());
    assert!(s.post_provenance(ws.id, p.id).await.unwrap().is_some());
    // An outcome naming another workspace is refused before anything is written.
    let mut stray = done(&ids[1], 9);
    stray.workspace_id = other.id;
    let refused = s
        .finish_generation(&GenerationOutcome {
            generation: &stray,
            posts: std::slice::from_ref(&p),
            links: &[],
            usage: UsageDelta::default(),
            month: MONTH,
        })
        .await;
    assert!(refused.is_err());
}

async fn deleting_a_post_brand_or_media_takes_what_belongs_to_it(s: Store) {
    let (u, ws) = owner(&s, "ana@example.com").await;
    let b = brand(ws.id, "Bakery");
    let gone = brand(ws.id, "Closing");
    s.insert_brand(&b).await.unwrap();
    s.insert_brand(&gone).await.unwrap();

    // A post's links go with the post.
    let g = record(ws.id, Some(b.id), 1);
    s.insert_generation(&g, MONTH, 0, &[]).await.unwrap();
    let p = post(ws.id, b.id, u.id, "draft");
    s.finish_generation(&GenerationOutcome {
        generation: &done(&g, 5),
        posts: std::slice::from_ref(&p),
        links: &[link(&g, &p, 0)],
        usage: UsageDelta::default(),
        month: MONTH,
    })
    .await
    .unwrap();
    s.delete_post(ws.id, p.id).await.unwrap();
    assert!(s.generated_posts(ws.id, g.id).await.unwrap().is_empty());
    assert!(s.generation(ws.id, g.id).await.unwrap().is_some(), "the record of the request stays");

    // A brand's generations go with the brand.
    let of_gone = record(ws.id, Some(gone.id), 2);
    s.insert_generation(&of_gone, MONTH, 0, &[]).await.unwrap();
    s.delete_brand(ws.id, gone.id).await.unwrap();
    assert!(s.generation(ws.id, of_gone.id).await.unwrap().is_none());

    // A description goes with its media item; the newest finished one is the suggestion.
    let media = MediaRecord {
        id: MediaId::new(),
        workspace_id: ws.id,
        brand_id: Some(b.id),
        kind: MediaType::Image,
        mime: "image/jpeg".into(),
        bytes: 10,
        width: Some(10),
        height: Some(10),
        duration_ms: None,
        digest: format!("sha256:{}", "a".repeat(64)),
        storage_key: format!("{}/{}", ws.id.as_uuid(), uuid::Uuid::now_v7()),
        file_name: "a.jpg".into(),
        alt_text: String::new(),
        tags: vec![],
        parent_id: None,
        fixes: None,
        created_by: Some(u.id),
        created_at: t(0),
    };
    s.insert_media(&media).await.unwrap();
    let mut older = record(ws.id, Some(b.id), 3);
    older.kind = GenerationKind::Describe;
    older.media_id = Some(media.id);
    let mut newer = GenerationRecord { id: GenerationId::new(), ..older.clone() };
    newer.created_at = t(4);
    let unfinished = GenerationRecord { id: GenerationId::new(), ..older.clone() };
    for g in [&older, &newer, &unfinished] {
        s.insert_generation(g, MONTH, 0, &[]).await.unwrap();
    }
    for (g, alt) in [(&older, "old words"), (&newer, "new words")] {
        let end = GenerationRecord { result: Some(json!({"alt_text": alt})), ..done(g, 9) };
        s.finish_generation(&GenerationOutcome {
            generation: &end,
            posts: &[],
            links: &[],
            usage: UsageDelta::default(),
            month: MONTH,
        })
        .await
        .unwrap();
    }
    let latest = s.latest_description(ws.id, media.id).await.unwrap().unwrap();
    assert_eq!(latest.result, Some(json!({"alt_text": "new words"})));
    s.delete_media(ws.id, media.id).await.unwrap();
    assert!(s.latest_description(ws.id, media.id).await.unwrap().is_none());
    assert!(s.generation(ws.id, unfinished.id).await.unwrap().is_none());
}
