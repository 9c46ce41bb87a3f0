//! Contract of the media repository, on SQLite and PostgreSQL.

use crate::fixtures::*;
use nanopost_domain::ids::{BrandId, MediaId, WorkspaceId};
use nanopost_domain::post::{MediaRef, PostState};
use nanopost_storage::{MediaFilter, MediaRecord, MediaType, PageRequest, StorageError, Store};

macro_rules! media_contract {
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

media_contract![
    items_round_trip_with_tags_and_list_in_pages,
    renditions_are_unique_per_fixes_and_go_with_their_original,
    tenants_are_isolated,
    uses_in_posts_and_brand_logos_are_found,
    brand_and_workspace_deletion_take_their_media_rows,
    digests_find_earlier_uploads_and_operator_batches_see_everything,
];

fn item(ws: WorkspaceId, brand: Option<BrandId>, by: Option<nanopost_domain::ids::UserId>, n: u8) -> MediaRecord {
    let id = MediaId::new();
    MediaRecord {
        id,
        workspace_id: ws,
        brand_id: brand,
        kind: MediaType::Image,
        mime: "image/jpeg".into(),
        bytes: 1000 + u64::from(n),
        width: Some(1080),
        height: Some(1350),
        duration_ms: None,
        digest: format!("sha256:{:064x}", n),
        storage_key: format!("{}/{}", ws.as_uuid(), id.as_uuid()),
        file_name: format!("photo {n}.jpg"),
        alt_text: String::new(),
        tags: vec![],
        parent_id: None,
        fixes: None,
        created_by: by,
        created_at: t(i64::from(n)),
    }
}

fn rendition(parent: &MediaRecord, fixes: &str) -> MediaRecord {
    let id = MediaId::new();
    MediaRecord {
        id,
        parent_id: Some(parent.id),
        fixes: Some(fixes.into()),
        storage_key: format!("{}/{}", parent.workspace_id.as_uuid(), id.as_uuid()),
        digest: format!("sha256:{}", "e".repeat(64)),
        tags: vec![],
        ..parent.clone()
    }
}

async fn items_round_trip_with_tags_and_list_in_pages(s: Store) {
    let (u, ws) = owner(&s, "ana@example.com").await;
    let b = brand(ws.id, "Bakery");
    s.insert_brand(&b).await.unwrap();
    let mut all = Vec::new();
    for n in 0..5u8 {
        let mut m = item(ws.id, if n % 2 == 0 { Some(b.id) } else { None }, Some(u.id), n);
        m.tags = if n < 3 { vec!["summer".into(), "bread".into(), "bread".into()] } else { vec![] };
        m.alt_text = format!("Loaf number {n}");
        s.insert_media(&m).await.unwrap();
        all.push(m);
    }
    let got = s.media(ws.id, all[0].id).await.unwrap().unwrap();
    assert_eq!(got.tags, vec!["bread".to_owned(), "summer".to_owned()], "sorted, without duplicates");
    assert_eq!(MediaRecord { tags: vec![], ..got }, MediaRecord { tags: vec![], ..all[0].clone() });

    let first = s.media_list(ws.id, &MediaFilter::default(), PageRequest::first(2)).await.unwrap();
    assert_eq!(first.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![all[4].id, all[3].id], "newest first");
    let second =
        s.media_list(ws.id, &MediaFilter::default(), PageRequest { limit: 2, after: first.next }).await.unwrap();
    assert_eq!(second.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![all[2].id, all[1].id]);
    assert_eq!(second.items[0].tags, vec!["bread".to_owned(), "summer".to_owned()], "tags come with the page");
    assert!(second.items.iter().all(|m| m.alt_text.starts_with("Loaf")));

    let by_brand = MediaFilter { brand_id: Some(b.id), ..Default::default() };
    assert_eq!(s.media_list(ws.id, &by_brand, PageRequest::default()).await.unwrap().items.len(), 3);
    let by_tag = MediaFilter { tag: Some("summer".into()), ..Default::default() };
    let tagged = s.media_list(ws.id, &by_tag, PageRequest::default()).await.unwrap().items;
    assert_eq!(tagged.iter().map(|m| m.id).collect::<Vec<_>>(), vec![all[2].id, all[1].id, all[0].id]);
    let none = MediaFilter { tag: Some("winter".into()), ..Default::default() };
    assert!(s.media_list(ws.id, &none, PageRequest::default()).await.unwrap().items.is_empty());

    let updated = s.update_media_meta(ws.id, all[3].id, "A rye loaf", &["rye".into(), "autumn".into()]).await.unwrap();
    assert_eq!((updated.alt_text.as_str(), updated.tags.clone()), ("A rye loaf", vec!["autumn".into(), "rye".into()]));
    let cleared = s.update_media_meta(ws.id, all[0].id, "", &[]).await.unwrap();
    assert!(cleared.tags.is_empty() && cleared.alt_text.is_empty());
    assert!(matches!(s.update_media_meta(ws.id, MediaId::new(), "x", &[]).await, Err(StorageError::NotFound)));
}

async fn renditions_are_unique_per_fixes_and_go_with_their_original(s: Store) {
    let (u, ws) = owner(&s, "ana@example.com").await;
    let mut original = item(ws.id, None, Some(u.id), 1);
    original.tags = vec!["x".into()];
    s.insert_media(&original).await.unwrap();
    let fixes = r#"[{"crop_to_ratio":1.91}]"#;
    let r = rendition(&original, fixes);
    s.insert_media(&r).await.unwrap();
    assert_eq!(s.media_rendition(ws.id, original.id, fixes).await.unwrap().unwrap().id, r.id);
    assert!(s.media_rendition(ws.id, original.id, "[]").await.unwrap().is_none());
    let again = rendition(&original, fixes);
    assert!(matches!(s.insert_media(&again).await, Err(StorageError::Conflict(_))));
    let other = rendition(&original, r#"[{"scale_to_width":1080}]"#);
    s.insert_media(&other).await.unwrap();
    assert_eq!(s.media_renditions(ws.id, original.id).await.unwrap().len(), 2);
    let originals = MediaFilter { originals_only: true, ..Default::default() };
    assert_eq!(s.media_list(ws.id, &originals, PageRequest::default()).await.unwrap().items.len(), 1);
    assert_eq!(s.media_list(ws.id, &MediaFilter::default(), PageRequest::default()).await.unwrap().items.len(), 3);

    // A rendition needs its parent in the same workspace; parent and fixes come together.
    let (_, other_ws) = owner(&s, "bob@example.com").await;
    let foreign = MediaRecord { workspace_id: other_ws.id, ..rendition(&original, "[]") };
    assert!(s.insert_media(&foreign).await.is_err());
    let half = MediaRecord { fixes: None, ..rendition(&original, "[]") };
    assert!(s.insert_media(&half).await.is_err());

    let mut keys = s.delete_media(ws.id, original.id).await.unwrap();
    keys.sort();
    let mut expected = vec![original.storage_key.clone(), r.storage_key.clone(), other.storage_key.clone()];
    expected.sort();
    assert_eq!(keys, expected, "the caller learns every object to delete");
    assert!(s.media(ws.id, r.id).await.unwrap().is_none());
    assert!(s.media_list(ws.id, &MediaFilter::default(), PageRequest::default()).await.unwrap().items.is_empty());
    assert!(matches!(s.delete_media(ws.id, original.id).await, Err(StorageError::NotFound)));
}

async fn tenants_are_isolated(s: Store) {
    let (u, a) = owner(&s, "a@example.com").await;
    let (_, b) = owner(&s, "b@example.com").await;
    let m = item(a.id, None, Some(u.id), 1);
    s.insert_media(&m).await.unwrap();
    assert!(s.media(b.id, m.id).await.unwrap().is_none());
    assert!(s.media_list(b.id, &MediaFilter::default(), PageRequest::default()).await.unwrap().items.is_empty());
    assert!(matches!(s.update_media_meta(b.id, m.id, "hijack", &[]).await, Err(StorageError::NotFound)));
    assert!(matches!(s.delete_media(b.id, m.id).await, Err(StorageError::NotFound)));
    assert!(s.media_keys_of_workspace(b.id).await.unwrap().is_empty());
    assert!(s.media_rendition(b.id, m.id, "[]").await.unwrap().is_none());
    assert!(s.media_by_digest(b.id, None, &m.digest).await.unwrap().is_none());
    // Another workspace's brand cannot be named.
    let their_brand = brand(b.id, "Theirs");
    s.insert_brand(&their_brand).await.unwrap();
    let sneaky = item(a.id, Some(their_brand.id), Some(u.id), 2);
    assert!(matches!(s.insert_media(&sneaky).await, Err(StorageError::NotFound)));
    assert_eq!(s.media(a.id, m.id).await.unwrap().unwrap().alt_text, "");
}

async fn uses_in_posts_and_brand_logos_are_found(s: Store) {
    let (u, ws) = owner(&s, "ana@example.com").await;
    let mut b = brand(ws.id, "Bakery");
    let m = item(ws.id, None, Some(u.id), 1);
    let unused = item(ws.id, None, Some(u.id), 2);
    s.insert_media(&m).await.unwrap();
    s.insert_media(&unused).await.unwrap();
    b.profile.logo = Some(m.id);
    s.insert_brand(&b).await.unwrap();

    let mut p = post(ws.id, b.id, u.id, "hello");
    p.content.variants[0].media = vec![MediaRef { id: m.id, digest: m.digest.clone() }];
    s.insert_post(&p).await.unwrap();
    // A caption that merely mentions the id is not a use.
    let mention = post(ws.id, b.id, u.id, &format!("see {}", unused.id.as_uuid()));
    s.insert_post(&mention).await.unwrap();

    let uses = s.media_uses(ws.id, &[m.id, unused.id]).await.unwrap();
    assert_eq!(uses.len(), 1);
    assert_eq!((uses[0].post_id, uses[0].state, uses[0].media_id), (p.id, PostState::Draft, m.id));
    let logos = s.brands_with_logo(ws.id, &[m.id, unused.id]).await.unwrap();
    assert_eq!(logos.iter().map(|b| b.id).collect::<Vec<_>>(), vec![b.id]);
    assert!(s.brands_with_logo(ws.id, &[unused.id]).await.unwrap().is_empty());
    let (_, other) = owner(&s, "bob@example.com").await;
    assert!(s.media_uses(other.id, &[m.id]).await.unwrap().is_empty());
}

async fn brand_and_workspace_deletion_take_their_media_rows(s: Store) {
    let (u, ws) = owner(&s, "ana@example.com").await;
    let b = brand(ws.id, "Bakery");
    s.insert_brand(&b).await.unwrap();
    let branded = item(ws.id, Some(b.id), Some(u.id), 1);
    let loose = item(ws.id, None, Some(u.id), 2);
    s.insert_media(&branded).await.unwrap();
    s.insert_media(&loose).await.unwrap();
    let made = rendition(&branded, "[]");
    s.insert_media(&made).await.unwrap();
    let mut keys = s.media_keys_of_workspace(ws.id).await.unwrap();
    keys.sort();
    assert_eq!(keys.len(), 3);
    assert!(s.media_key_exists(&branded.storage_key).await.unwrap());

    // The keys of what went with the brand come back, so the files can be deleted too.
    let mut gone = s.delete_brand(ws.id, b.id).await.unwrap();
    gone.sort();
    let mut expected = vec![branded.storage_key.clone(), made.storage_key.clone()];
    expected.sort();
    assert_eq!(gone, expected);
    assert!(s.media(ws.id, branded.id).await.unwrap().is_none());
    assert!(!s.media_key_exists(&branded.storage_key).await.unwrap());
    assert_eq!(s.media_keys_of_workspace(ws.id).await.unwrap(), vec![loose.storage_key.clone()]);
}

async fn digests_find_earlier_uploads_and_operator_batches_see_everything(s: Store) {
    let (u, ws) = owner(&s, "ana@example.com").await;
    let (_, other) = owner(&s, "bob@example.com").await;
    let b = brand(ws.id, "Bakery");
    s.insert_brand(&b).await.unwrap();
    let m = item(ws.id, Some(b.id), Some(u.id), 7);
    s.insert_media(&m).await.unwrap();
    assert_eq!(s.media_by_digest(ws.id, Some(b.id), &m.digest).await.unwrap().unwrap().id, m.id);
    assert!(s.media_by_digest(ws.id, None, &m.digest).await.unwrap().is_none(), "another brand (none)");
    let r = rendition(&m, "[]");
    s.insert_media(&r).await.unwrap();
    assert!(s.media_by_digest(ws.id, Some(b.id), &r.digest).await.unwrap().is_none(), "renditions are not uploads");

    // The sweep's batches: renditions only, made before the cut-off, in id order.
    assert_eq!(
        s.renditions_made_before(t(1_000), None, 10).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![r.id]
    );
    assert!(s.renditions_made_before(t(0), None, 10).await.unwrap().is_empty(), "made at t(7)");
    assert!(s.renditions_made_before(t(1_000), Some(r.id), 10).await.unwrap().is_empty());
    s.insert_media(&item(other.id, None, None, 8)).await.unwrap();
    let first = s.all_media(None, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let rest = s.all_media(Some(first[1].id), 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    let mut ids: Vec<_> = first.iter().chain(&rest).map(|m| m.id).collect();
    let sorted = {
        let mut v = ids.clone();
        v.sort();
        v
    };
    assert_eq!(ids, sorted, "id order");
    ids.dedup();
    assert_eq!(ids.len(), 3);
}
