//! The media library's use cases over a real SQLite file and a real disk store: uploads are
//! cleaned and stored with their row, renditions are made once, publications get exactly the
//! approved bytes, signed URLs expire, and deletion (of an item or a whole workspace) removes
//! the files too.

use crate::Env;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::clock::ManualClock;
use nanopost_domain::network::Network;
use nanopost_domain::post::{MediaRef, PostContent, Target, Variant};
use nanopost_domain::role::Role;
use nanopost_media::store::{DiskStore, ObjectKey};
use nanopost_media::{MediaError, MediaFix};
use nanopost_services::media::{MediaSettings, MediaUpdate, MediaUpload, UploadError};
use nanopost_services::privacy::tar;
use nanopost_services::{Argon2Params, ServiceConfig, ServiceError, Services};
use nanopost_storage::{MediaFilter, PageRequest, Store};
use sha2::{Digest, Sha256};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const GPS_MARKER: &str = "GPS-52.5200N-13.4050E-home";

struct MediaEnv {
    env: Env,
    dir: PathBuf,
}

impl Drop for MediaEnv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl std::ops::Deref for MediaEnv {
    type Target = Env;
    fn deref(&self) -> &Env {
        &self.env
    }
}

/// Services whose media live in a fresh directory (a real [`DiskStore`]).
async fn media_env() -> MediaEnv {
    let path = std::env::temp_dir().join(format!("nanopost-services-media-{}.db", uuid::Uuid::new_v4().simple()));
    let dir = std::env::temp_dir().join(format!("nanopost-services-media-{}", uuid::Uuid::new_v4().simple()));
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_800_000_000).unwrap()));
    let config = ServiceConfig {
        public_url: "https://social.example.com".into(),
        argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 },
        media: MediaSettings { store: Arc::new(DiskStore::new(dir.join("media"))), ..MediaSettings::default() },
        ..ServiceConfig::default()
    };
    let services = Services::new(store, clock.clone(), config).unwrap();
    MediaEnv { env: Env { services, clock, path }, dir }
}

impl MediaEnv {
    fn media_dir(&self) -> PathBuf {
        self.dir.join("media")
    }

    /// Every file under the media directory (recursively).
    fn files(&self) -> Vec<PathBuf> {
        fn walk(p: &Path, out: &mut Vec<PathBuf>) {
            let Ok(rd) = std::fs::read_dir(p) else { return };
            for e in rd.flatten() {
                if e.path().is_dir() {
                    walk(&e.path(), out);
                } else {
                    out.push(e.path());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.media_dir(), &mut out);
        out
    }

    fn object(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.media_dir().join(key)).ok()
    }

    async fn raw_count(&self, sql: &str) -> i64 {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", self.path.display())).await.unwrap();
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut c).await.unwrap();
        c.close().await.unwrap();
        n
    }
}

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    encode(DynamicImage::ImageRgb8(img), ImageFormat::Jpeg)
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(w, h, |x, _| Rgba([200, (x % 256) as u8, 30, 255]));
    encode(DynamicImage::ImageRgba8(img), ImageFormat::Png)
}

/// `jpeg` with an EXIF segment carrying a GPS IFD whose text names [`GPS_MARKER`].
fn jpeg_with_gps(w: u32, h: u32) -> Vec<u8> {
    let clean = jpeg(w, h);
    let text = format!("ASCII\0\0\0{GPS_MARKER}");
    // TIFF: header, IFD0 with the GPS pointer, GPS IFD with one processing-method entry.
    let mut t = b"MM\0\x2A\0\0\0\x08".to_vec();
    t.extend_from_slice(&[0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    t.extend_from_slice(&[0, 1, 0, 0x1B, 0, 7]);
    t.extend_from_slice(&(text.len() as u32).to_be_bytes());
    t.extend_from_slice(&44u32.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(text.as_bytes());
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&t);
    let mut seg = vec![0xFF, 0xE1];
    seg.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    seg.extend_from_slice(&payload);
    let mut out = clean[..2].to_vec();
    out.extend_from_slice(&seg);
    out.extend_from_slice(&clean[2..]);
    out
}

fn has(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn upload(bytes: Vec<u8>, name: &str) -> MediaUpload {
    MediaUpload { brand_id: None, file_name: name.into(), bytes, alt_text: String::new(), tags: vec![] }
}

fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn content_with(network: Network, media: Vec<MediaRef>) -> PostContent {
    PostContent {
        variants: vec![Variant { network, caption: "Fresh bread".into(), media, options: BTreeMap::new() }],
        targets: vec![Target { network, account: None }],
    }
}

fn brand_input() -> nanopost_domain::brand::BrandInput {
    nanopost_domain::brand::BrandInput {
        name: "Bakery".into(),
        timezone: "Europe/Berlin".into(),
        colors: vec!["#1060c0".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn an_upload_is_stored_without_its_gps_data_under_the_digest_of_the_stored_bytes() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let dirty = jpeg_with_gps(64, 48);
    assert!(has(&dirty, GPS_MARKER));
    let mut up = upload(dirty.clone(), "../../IMG_0001.JPG");
    up.alt_text = "  A loaf on a board  ".into();
    up.tags = vec!["#Bread".into(), "summer".into(), "bread".into()];
    let done = e.services.upload_media(&owner, up).await.unwrap();
    assert!(!done.existing);
    let m = done.media;
    assert_eq!((m.mime.as_str(), m.width, m.height), ("image/jpeg", Some(64), Some(48)));
    assert_eq!((m.file_name.as_str(), m.alt_text.as_str()), ("IMG_0001.JPG", "A loaf on a board"));
    assert_eq!(m.tags, vec!["bread".to_owned(), "summer".to_owned()]);
    assert_eq!(m.storage_key, format!("{}/{}", owner.workspace_id, m.id));

    // The file on disk: no GPS, and exactly the bytes the digest names.
    let stored = e.object(&m.storage_key).expect("the object is on disk");
    assert!(!has(&stored, GPS_MARKER) && !has(&stored, "Exif"));
    assert_eq!(m.digest, sha(&stored));
    assert_eq!(m.bytes, stored.len() as u64);
    assert_eq!(e.files().len(), 1);
    assert_eq!(e.raw_count("SELECT COUNT(*) FROM media").await, 1);

    // The same bytes again: the earlier item, no second file.
    let again = e.services.upload_media(&owner, upload(dirty, "copy.jpg")).await.unwrap();
    assert!(again.existing);
    assert_eq!(again.media.id, m.id);
    assert_eq!(e.files().len(), 1);
}

#[tokio::test]
async fn bad_files_are_refused_and_leave_nothing_behind() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let refuse = |bytes: Vec<u8>| {
        let s = &e.services;
        let owner = owner.clone();
        async move { s.upload_media(&owner, upload(bytes, "x.jpg")).await.unwrap_err() }
    };
    assert!(matches!(
        refuse(b"<html>not a picture</html>".to_vec()).await,
        UploadError::File(MediaError::Unsupported(_))
    ));
    let mut bomb = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bomb.extend_from_slice(&[0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 2, 0, 0, 0]);
    bomb.extend_from_slice(&[0x8C, 0x2B, 0xDA, 0x13]);
    let e_bomb = refuse(bomb).await;
    assert!(
        matches!(
            e_bomb,
            UploadError::File(MediaError::TooManyPixels { .. }) | UploadError::File(MediaError::Malformed { .. })
        ),
        "{e_bomb}"
    );
    let j = jpeg(64, 64);
    assert!(matches!(refuse(j[..j.len() / 2].to_vec()).await, UploadError::File(MediaError::Malformed { .. })));
    // A JPEG (by its first bytes) over the 20 MiB image limit, though under the video one.
    let mut big = vec![0u8; 21 * 1024 * 1024];
    big[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
    assert!(matches!(refuse(big).await, UploadError::File(MediaError::TooLarge { kind: "image", .. })));
    let huge = vec![0u8; 201 * 1024 * 1024];
    assert!(matches!(refuse(huge).await, UploadError::File(MediaError::TooLarge { .. })));
    let mut bad_tags = upload(jpeg(8, 8), "x.jpg");
    bad_tags.tags = vec!["<script>".into()];
    assert!(matches!(
        e.services.upload_media(&owner, bad_tags).await,
        Err(UploadError::Service(ServiceError::Invalid(_)))
    ));
    assert!(e.files().is_empty());
    assert_eq!(e.raw_count("SELECT COUNT(*) FROM media").await, 0);
}

#[tokio::test]
async fn a_row_that_cannot_be_written_takes_its_object_back() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    // Make every insert into `media` fail, after the object is stored.
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", e.path.display())).await.unwrap();
    sqlx::query("CREATE TRIGGER refuse_media BEFORE INSERT ON media BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let err = e.services.upload_media(&owner, upload(jpeg(16, 16), "a.jpg")).await.unwrap_err();
    assert!(matches!(err, UploadError::Service(ServiceError::Internal(_))), "{err}");
    assert!(e.files().is_empty(), "no object without its row: {:?}", e.files());
    assert_eq!(e.raw_count("SELECT COUNT(*) FROM media").await, 0);
}

#[tokio::test]
async fn roles_and_workspaces_bound_the_library() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let (_, viewer) = e.member(&owner, "viewer@example.com", Role::Viewer).await;
    let (_, other) = e.owner("other@example.com").await;
    assert!(matches!(
        e.services.upload_media(&viewer, upload(jpeg(8, 8), "a.jpg")).await,
        Err(UploadError::Service(ServiceError::Forbidden(_)))
    ));
    let m = e.services.upload_media(&owner, upload(jpeg(8, 8), "a.jpg")).await.unwrap().media;
    assert_eq!(e.services.media_item(&viewer, m.id).await.unwrap().id, m.id);
    assert!(matches!(e.services.delete_media(&viewer, m.id).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(e.services.media_item(&other, m.id).await, Err(ServiceError::NotFound)));
    assert!(matches!(e.services.delete_media(&other, m.id).await, Err(ServiceError::NotFound)));
    assert!(matches!(
        e.services.update_media(&other, m.id, MediaUpdate { alt_text: Some("x".into()), tags: None }).await,
        Err(ServiceError::NotFound)
    ));
    assert!(
        e.services.media_list(&other, &MediaFilter::default(), PageRequest::default()).await.unwrap().items.is_empty()
    );
    // A brand of another workspace cannot be named.
    let their_brand = e.services.create_brand(&other, &brand_input()).await.unwrap();
    let mut up = upload(jpeg(9, 9), "b.jpg");
    up.brand_id = Some(their_brand.id);
    assert!(matches!(e.services.upload_media(&owner, up).await, Err(UploadError::Service(ServiceError::NotFound))));
}

#[tokio::test]
async fn tags_and_alt_text_are_edited_and_filter_the_list() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let a = e.services.upload_media(&owner, upload(jpeg(8, 8), "a.jpg")).await.unwrap().media;
    let b = e.services.upload_media(&owner, upload(jpeg(9, 9), "b.jpg")).await.unwrap().media;
    e.services.tag_media(&owner, a.id, "#Summer").await.unwrap();
    let a2 = e.services.tag_media(&owner, a.id, "bread").await.unwrap();
    assert_eq!(a2.tags, vec!["bread".to_owned(), "summer".to_owned()]);
    let a3 = e.services.untag_media(&owner, a.id, "SUMMER").await.unwrap();
    assert_eq!(a3.tags, vec!["bread".to_owned()]);
    let b2 =
        e.services.update_media(&owner, b.id, MediaUpdate { alt_text: Some("Rye".into()), tags: None }).await.unwrap();
    assert_eq!(b2.alt_text, "Rye");
    let tagged = MediaFilter { tag: Some("bread".into()), originals_only: true, ..Default::default() };
    let list = e.services.media_list(&owner, &tagged, PageRequest::default()).await.unwrap();
    assert_eq!(list.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a.id]);
    let long = MediaUpdate { alt_text: Some("x".repeat(1001)), tags: None };
    assert!(matches!(e.services.update_media(&owner, a.id, long).await, Err(ServiceError::Invalid(_))));
}

#[tokio::test]
async fn renditions_are_made_once_and_publications_get_exactly_the_approved_bytes() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let brand = e.services.create_brand(&owner, &brand_input()).await.unwrap();
    let ws = owner.workspace_id;
    let mut up = upload(png(1000, 400), "wide banner.png");
    up.brand_id = Some(brand.id);
    up.alt_text = "Our shop front".into();
    let m = e.services.upload_media(&owner, up).await.unwrap().media;

    // LinkedIn takes it as it is.
    let (same, none) = e.services.rendition_for(ws, m.id, Network::Linkedin).await.unwrap();
    assert_eq!((same.id, same.digest.as_str(), none.len()), (m.id, m.digest.as_str(), 0));
    // Instagram: too wide and not JPEG.
    let (r, fixes) = e.services.rendition_for(ws, m.id, Network::Instagram).await.unwrap();
    assert_eq!(fixes, vec![MediaFix::CropToRatio(1.91), MediaFix::ReencodeJpeg]);
    assert_ne!(r.id, m.id);
    let stored = e.services.media_item(&owner, r.id).await.unwrap();
    assert_eq!((stored.mime.as_str(), stored.width, stored.height), ("image/jpeg", Some(764), Some(400)));
    assert_eq!(
        (stored.parent_id, stored.brand_id, stored.alt_text.as_str()),
        (Some(m.id), Some(brand.id), "Our shop front")
    );
    assert_eq!(stored.file_name, "wide banner (Instagram).jpg");
    // Cached: the same rendition, no new file.
    let files = e.files().len();
    let (again, _) = e.services.rendition_for(ws, m.id, Network::Instagram).await.unwrap();
    assert_eq!(again, r);
    assert_eq!(e.files().len(), files);
    // The library lists uploads, not renditions.
    let originals = MediaFilter { originals_only: true, ..Default::default() };
    assert_eq!(e.services.media_list(&owner, &originals, PageRequest::default()).await.unwrap().items.len(), 1);

    // What a publication sends: the approved bytes, a signed URL under the public URL.
    let items = e.services.publication_items(ws, std::slice::from_ref(&r)).await.unwrap();
    assert_eq!(items.len(), 1);
    let bytes = items[0].bytes.as_ref().unwrap();
    assert_eq!(sha(bytes), r.digest);
    assert_eq!((items[0].facts.width, items[0].facts.height), (764, 400));
    assert!(items[0].url.starts_with("https://social.example.com/media/"), "{}", items[0].url);

    // A digest that is not the stored one, a file changed behind Nanopost's back, a deleted
    // item: refused.
    let wrong = MediaRef { id: r.id, digest: m.digest.clone() };
    assert!(matches!(e.services.publication_items(ws, &[wrong]).await, Err(ServiceError::Conflict(_))));
    std::fs::write(e.media_dir().join(&stored.storage_key), b"swapped").unwrap();
    let err = e.services.publication_items(ws, std::slice::from_ref(&r)).await.unwrap_err();
    assert!(matches!(&err, ServiceError::Conflict(m) if m.contains("no longer matches")), "{err}");
    let gone = MediaRef { id: nanopost_domain::ids::MediaId::new(), digest: r.digest.clone() };
    assert!(matches!(e.services.publication_items(ws, &[gone]).await, Err(ServiceError::Conflict(_))));
    let (_, other) = e.owner("other@example.com").await;
    assert!(matches!(e.services.publication_items(other.workspace_id, &[same]).await, Err(ServiceError::Conflict(_))));
}

#[tokio::test]
async fn what_cannot_be_fixed_says_why() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let video = {
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
        mvhd[16..20].copy_from_slice(&1000u32.to_be_bytes());
        let bx = |k: &[u8; 4], p: &[u8]| {
            let mut v = ((p.len() + 8) as u32).to_be_bytes().to_vec();
            v.extend_from_slice(k);
            v.extend_from_slice(p);
            v
        };
        [bx(b"ftyp", b"isom\0\0\0\0isom"), bx(b"moov", &bx(b"mvhd", &mvhd))].concat()
    };
    let m = e.services.upload_media(&owner, upload(video, "clip.mp4")).await.unwrap().media;
    assert_eq!((m.mime.as_str(), m.duration_ms), ("video/mp4", Some(1000)));
    let err = e.services.rendition_for(owner.workspace_id, m.id, Network::Instagram).await.unwrap_err();
    assert!(matches!(&err, ServiceError::Invalid(v) if v.to_string().contains("3 seconds")), "{err}");
}

#[tokio::test]
async fn signed_urls_serve_the_file_until_they_expire_and_tell_nothing_otherwise() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let m = e.services.upload_media(&owner, upload(png(10, 10), "a.png")).await.unwrap().media;
    let url = e.services.media_url(owner.workspace_id, m.id);
    let token = url.rsplit('/').next().unwrap().to_owned();
    let served = e.services.media_by_token(&token).await.unwrap();
    assert_eq!(served.mime, "image/png");
    assert_eq!(sha(&served.bytes), m.digest);
    assert!(served.max_age >= 3600 && served.max_age <= 3600 + 300, "{}", served.max_age);

    // Tampered tokens: one changed character, another item's id, garbage, empty, huge.
    let mut chars: Vec<char> = token.chars().collect();
    chars[40] = if chars[40] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    for bad in [tampered, "nope".into(), String::new(), "A".repeat(10_000), format!("{token}x")] {
        assert!(matches!(e.services.media_by_token(&bad).await, Err(ServiceError::NotFound)), "{bad:.20}");
    }
    // A CSRF token or another signature of the installation is not a media token.
    let csrf = e.services.csrf_token("session");
    assert!(matches!(e.services.media_by_token(&csrf).await, Err(ServiceError::NotFound)));
    // Expired.
    e.clock.advance(SignedDuration::from_secs(3600 + 301));
    assert!(matches!(e.services.media_by_token(&token).await, Err(ServiceError::NotFound)));
    // Deleted items are gone at once.
    let fresh = e.services.media_url(owner.workspace_id, m.id);
    e.services.delete_media(&owner, m.id).await.unwrap();
    let t = fresh.rsplit('/').next().unwrap();
    assert!(matches!(e.services.media_by_token(t).await, Err(ServiceError::NotFound)));
}

#[tokio::test]
async fn media_used_by_a_live_post_or_as_a_logo_cannot_be_deleted() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let brand = e.services.create_brand(&owner, &brand_input()).await.unwrap();
    let m = e.services.upload_media(&owner, upload(png(1000, 400), "a.png")).await.unwrap().media;
    let (r, _) = e.services.rendition_for(owner.workspace_id, m.id, Network::Instagram).await.unwrap();
    // The post uses the rendition: the original cannot go either.
    let post =
        e.services.create_post(&owner, brand.id, content_with(Network::Instagram, vec![r.clone()])).await.unwrap();
    let err = e.services.delete_media(&owner, m.id).await.unwrap_err();
    assert!(matches!(&err, ServiceError::Conflict(msg) if msg.contains(&post.id.to_string())), "{err}");
    assert!(matches!(e.services.delete_media(&owner, r.id).await, Err(ServiceError::Conflict(_))));
    // Archived posts do not hold media.
    let archived = e.services.archive_post(&owner, post.id, post.version).await.unwrap();
    assert_eq!(archived.state, nanopost_domain::post::PostState::Archived);
    assert_eq!(e.files().len(), 2);
    e.services.delete_media(&owner, m.id).await.unwrap();
    assert!(e.files().is_empty(), "the original and its rendition are gone from disk");
    assert_eq!(e.raw_count("SELECT COUNT(*) FROM media").await, 0);
    assert!(matches!(e.services.media_item(&owner, r.id).await, Err(ServiceError::NotFound)));

    // A brand's logo.
    let logo = e.services.upload_media(&owner, upload(png(20, 20), "logo.png")).await.unwrap().media;
    let mut input = brand_input();
    input.logo = Some(logo.id);
    e.services.update_brand(&owner, brand.id, &input).await.unwrap();
    let err = e.services.delete_media(&owner, logo.id).await.unwrap_err();
    assert!(matches!(&err, ServiceError::Conflict(msg) if msg.contains("logo")), "{err}");
}

#[tokio::test]
async fn a_workspace_purge_deletes_its_media_files_and_rows() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let (_, keeper) = e.owner("keeper@example.com").await;
    let ws = e.services.workspace(&owner).await.unwrap();
    let m = e.services.upload_media(&owner, upload(png(1000, 400), "a.png")).await.unwrap().media;
    e.services.rendition_for(ws.id, m.id, Network::Instagram).await.unwrap();
    let kept = e.services.upload_media(&keeper, upload(jpeg(30, 30), "k.jpg")).await.unwrap().media;
    // A stray object of the workspace (an upload interrupted before its row) goes too.
    let stray = ObjectKey::media(ws.id.as_uuid(), uuid::Uuid::now_v7());
    e.services.media_store().put(&stray, b"half an upload").await.unwrap();
    assert_eq!(e.files().len(), 4);

    e.services.delete_workspace(&owner, &ws.name).await.unwrap();
    e.clock.advance(SignedDuration::from_hours(24 * 30));
    let report = e.services.purge_due_deletions().await.unwrap();
    assert_eq!(report.workspaces.len(), 1);
    // The database (read raw) and the media directory hold nothing of the workspace.
    let ws_hex = ws.id.as_uuid().simple().to_string();
    assert_eq!(
        e.raw_count(&format!("SELECT COUNT(*) FROM media WHERE hex(workspace_id) = upper('{ws_hex}')")).await,
        0
    );
    assert_eq!(e.raw_count("SELECT COUNT(*) FROM media_tags").await, 0);
    let files = e.files();
    assert_eq!(files, vec![e.media_dir().join(&kept.storage_key)], "only the other workspace's file is left");
    assert!(!e.media_dir().join(ws.id.to_string()).exists());
}

#[tokio::test]
async fn the_workspace_export_holds_the_media_files_with_their_digests() {
    let e = media_env().await;
    let (user, owner) = e.owner("owner@example.com").await;
    let m = e.services.upload_media(&owner, upload(jpeg_with_gps(40, 30), "a.jpg")).await.unwrap().media;
    let info = e.services.export_workspace(&owner).await.unwrap();
    let files = tar::read(&e.services.download_export(&user, info.id).await.unwrap().archive).unwrap();
    let path = format!("media/{}.jpg", m.id);
    let (_, bytes) = files.iter().find(|(p, _)| *p == path).expect("the media file is in the archive");
    assert_eq!(sha(bytes), m.digest);
    assert!(!has(bytes, GPS_MARKER));
    let manifest: serde_json::Value = serde_json::from_slice(&files[0].1).unwrap();
    let listed = manifest["files"].as_array().unwrap().iter().find(|f| f["path"] == path.as_str()).unwrap();
    assert_eq!(format!("sha256:{}", listed["sha256"].as_str().unwrap()), m.digest);
    let rows = files.iter().find(|(p, _)| p == "data/media.json").expect("the rows too");
    assert!(String::from_utf8_lossy(&rows.1).contains(&m.digest));
}

#[tokio::test]
async fn the_sweep_removes_old_objects_no_row_names() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let ws = owner.workspace_id.as_uuid();
    let m = e.services.upload_media(&owner, upload(jpeg(8, 8), "a.jpg")).await.unwrap().media;
    // An orphan made "now" by the test clock's standard (a v7 id from 2 hours ago).
    let old_id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, 1_800_000_000 - 7200, 0));
    let old = ObjectKey::media(ws, old_id);
    let young =
        ObjectKey::media(ws, uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, 1_800_000_000 - 60, 0)));
    e.services.media_store().put(&old, b"orphan").await.unwrap();
    e.services.media_store().put(&young, b"upload in progress").await.unwrap();
    assert_eq!(e.services.sweep_media_objects().await.unwrap(), 1);
    assert!(!e.services.media_store().exists(&old).await.unwrap());
    assert!(e.services.media_store().exists(&young).await.unwrap(), "young objects are left alone");
    assert!(e.object(&m.storage_key).is_some(), "objects with a row stay");
}

#[tokio::test]
async fn renditions_no_post_uses_are_swept_after_a_day_and_uploads_stay() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let ws = owner.workspace_id;
    let brand = e.services.create_brand(&owner, &brand_input()).await.unwrap();
    let m = e.services.upload_media(&owner, upload(png(1000, 400), "a.png")).await.unwrap().media;
    let (unused, _) = e.services.rendition_for(ws, m.id, Network::Instagram).await.unwrap();
    let (used, _) = e.services.rendition_for(ws, m.id, Network::Tiktok).await.unwrap();
    assert_ne!(unused.id, used.id);
    let post =
        e.services.create_post(&owner, brand.id, content_with(Network::Tiktok, vec![used.clone()])).await.unwrap();

    // Within the day: nothing goes (a reviewer may be looking at it).
    e.clock.advance(SignedDuration::from_hours(23));
    assert_eq!(e.services.sweep_media().await.unwrap(), 0);
    e.clock.advance(SignedDuration::from_hours(2));
    assert_eq!(e.services.sweep_media().await.unwrap(), 1);
    assert!(matches!(e.services.media_item(&owner, unused.id).await, Err(ServiceError::NotFound)));
    assert!(e.services.media_item(&owner, used.id).await.is_ok(), "a post uses it");
    assert!(e.services.media_item(&owner, m.id).await.is_ok(), "uploads stay");
    assert_eq!(e.files().len(), 2);

    // Deleting the post takes its rendition at once: nothing is left for the sweep.
    e.services.delete_post(&owner, post.id).await.unwrap();
    assert!(matches!(e.services.media_item(&owner, used.id).await, Err(ServiceError::NotFound)));
    assert_eq!(e.services.sweep_media().await.unwrap(), 0);
    assert_eq!(e.files(), vec![e.media_dir().join(&m.storage_key)]);
}

#[tokio::test]
async fn deleting_a_post_removes_the_renditions_made_for_it_and_keeps_the_library_upload() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let brand = e.services.create_brand(&owner, &brand_input()).await.unwrap();
    let m = e.services.upload_media(&owner, upload(png(1000, 400), "a.png")).await.unwrap().media;
    let (r, _) = e.services.rendition_for(owner.workspace_id, m.id, Network::Instagram).await.unwrap();
    assert_ne!(r.id, m.id);
    let post =
        e.services.create_post(&owner, brand.id, content_with(Network::Instagram, vec![r.clone()])).await.unwrap();
    assert_eq!(e.files().len(), 2);

    e.services.delete_post(&owner, post.id).await.unwrap();
    assert!(matches!(e.services.media_item(&owner, r.id).await, Err(ServiceError::NotFound)));
    assert_eq!(e.files(), vec![e.media_dir().join(&m.storage_key)], "only the upload is left on disk");
    assert_eq!(e.services.media_item(&owner, m.id).await.unwrap().id, m.id, "the upload stays in the library");

    // A post that used the upload itself leaves it in the library too.
    let direct = MediaRef { id: m.id, digest: m.digest.clone() };
    let post = e.services.create_post(&owner, brand.id, content_with(Network::Linkedin, vec![direct])).await.unwrap();
    e.services.delete_post(&owner, post.id).await.unwrap();
    assert_eq!(e.files(), vec![e.media_dir().join(&m.storage_key)]);
}

#[tokio::test]
async fn deleting_a_brand_deletes_its_media_rows_and_files_at_once() {
    let e = media_env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let gone = e.services.create_brand(&owner, &brand_input()).await.unwrap();
    let kept = e.services.create_brand(&owner, &brand_input()).await.unwrap();
    let mut up = upload(png(1000, 400), "brand.png");
    up.brand_id = Some(gone.id);
    let m = e.services.upload_media(&owner, up).await.unwrap().media;
    e.services.rendition_for(owner.workspace_id, m.id, Network::Instagram).await.unwrap();
    let mut other = upload(jpeg(40, 40), "other.jpg");
    other.brand_id = Some(kept.id);
    let other = e.services.upload_media(&owner, other).await.unwrap().media;
    let shared = e.services.upload_media(&owner, upload(jpeg(30, 30), "workspace.jpg")).await.unwrap().media;
    assert_eq!(e.files().len(), 4);

    e.services.delete_brand(&owner, gone.id).await.unwrap();
    // No sweep has run: the rows (read raw) and the files are gone already.
    let gone_hex = gone.id.as_uuid().simple().to_string();
    assert_eq!(e.raw_count(&format!("SELECT COUNT(*) FROM media WHERE hex(brand_id) = upper('{gone_hex}')")).await, 0);
    let mut files = e.files();
    files.sort();
    let mut expected = vec![e.media_dir().join(&other.storage_key), e.media_dir().join(&shared.storage_key)];
    expected.sort();
    assert_eq!(files, expected, "the other brand's and the workspace's files stay");
}
