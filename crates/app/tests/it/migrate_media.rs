//! `nanopost admin migrate-media`, run as the real binary against a real S3-compatible server
//! (moto, started by `scripts/test`; `NANOPOST_TEST_S3_URL`, default `http://127.0.0.1:5000`):
//! it copies, checks each copy's digest by reading it back, resumes where it stopped, refuses to
//! copy a file that changed on disk, and says in one sentence when S3 is not configured.

use crate::harness::{TempDir, assert_one_line_failure, nanopost, run};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use jiff::Timestamp;
use nanopost_domain::clock::ManualClock;
use nanopost_media::store::{DiskStore, MediaStore, ObjectKey, S3Config, S3Secret, S3Store};
use nanopost_services::media::{MediaSettings, MediaUpload};
use nanopost_services::{Argon2Params, ServiceConfig, Services, SignUpInput};
use nanopost_storage::{MediaRecord, Store};
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn s3_url() -> String {
    std::env::var("NANOPOST_TEST_S3_URL").unwrap_or_else(|_| "http://127.0.0.1:5000".into())
}

fn s3(bucket: &str) -> S3Store {
    S3Store::new(&S3Config {
        endpoint: s3_url(),
        region: "us-east-1".into(),
        bucket: bucket.into(),
        access_key_id: "testing".into(),
        secret_access_key: S3Secret::new("testing-secret"),
        path_style: true,
        max_object_bytes: 64 * 1024 * 1024,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(60),
    })
    .unwrap()
}

fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([seed, (x % 251) as u8, (y % 241) as u8]));
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img).write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Three uploads in the embedded database and the disk store of `data_dir`, made through the
/// use case (metadata removed, digests taken) exactly as the app makes them.
async fn seed(data_dir: &Path) -> Vec<MediaRecord> {
    std::fs::create_dir_all(data_dir).unwrap();
    let store = Store::connect(&format!("sqlite://{}", data_dir.join("nanopost.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    let config = ServiceConfig {
        argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 },
        media: MediaSettings { store: Arc::new(DiskStore::new(data_dir.join("media"))), ..MediaSettings::default() },
        ..ServiceConfig::default()
    };
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let services = Services::new(store.clone(), clock, config).unwrap();
    let user = services
        .sign_up(SignUpInput {
            email: "ana@example.com".into(),
            password: "correct horse battery staple".into(),
            display_name: "Ana".into(),
            workspace_name: "Bakery".into(),
            age_confirmed: true,
        })
        .await
        .unwrap();
    let ws = services.workspaces_of(&user).await.unwrap()[0].0.id;
    let actor = services.actor(&user, ws).await.unwrap();
    let mut out = Vec::new();
    for n in 0..3u8 {
        let up = MediaUpload {
            brand_id: None,
            file_name: format!("photo-{n}.png"),
            bytes: png(40 + u32::from(n), 30, n),
            alt_text: String::new(),
            tags: vec![],
        };
        out.push(services.upload_media(&actor, up).await.unwrap().media);
    }
    store.close().await;
    out
}

fn config_file(dir: &TempDir, bucket: Option<&str>) -> std::path::PathBuf {
    let data = dir.path().join("data");
    let mut text = format!("log = \"warn\"\ndata_dir = {:?}\n", data.display().to_string());
    if let Some(b) = bucket {
        text.push_str(&format!(
            "[media.s3]\nendpoint = {:?}\nregion = \"us-east-1\"\nbucket = \"{b}\"\naccess_key_id = \"testing\"\nsecret_access_key = \"testing-secret\"\n",
            s3_url()
        ));
    }
    let file = dir.path().join("nanopost.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn migrate(dir: &TempDir, file: &Path) -> crate::harness::Output {
    run(nanopost(dir.path()).args(["admin", "migrate-media", "--batch", "2", "--config"]).arg(file), None)
}

#[tokio::test]
async fn migrate_media_copies_checks_digests_and_resumes() {
    let dir = TempDir::new("migrate-media");
    let media = seed(&dir.path().join("data")).await;
    let bucket = format!("np-migrate-{}", uuid::Uuid::new_v4().simple());
    let bucket_store = s3(&bucket);
    bucket_store.create_bucket().await.unwrap_or_else(|e| {
        panic!("migrate-media needs an S3-compatible server at {} ({e}); run scripts/test", s3_url())
    });
    let file = config_file(&dir, Some(&bucket));
    let disk = DiskStore::new(dir.path().join("data").join("media"));
    let key = |m: &MediaRecord| ObjectKey::parse(&m.storage_key).unwrap();

    let out = migrate(&dir, &file);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("3 file(s) copied") && out.stdout.contains("0 already there"), "{}", out.stdout);
    assert!(out.stdout.contains("Set media.store = \"s3\""), "{}", out.stdout);
    assert!(!out.stdout.contains("testing-secret") && !out.stderr.contains("testing-secret"));
    for m in &media {
        let copy = bucket_store.get(&key(m)).await.unwrap().expect("copied");
        assert_eq!(nanopost_media::digest(&copy), m.digest);
        assert_eq!(Some(copy), disk.get(&key(m)).await.unwrap());
    }

    // Again: nothing to do.
    let out = migrate(&dir, &file);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("0 file(s) copied") && out.stdout.contains("3 already there"), "{}", out.stdout);

    // Interrupted half-way (one object never arrived, another arrived wrong): resumed.
    bucket_store.delete(&key(&media[1])).await.unwrap();
    bucket_store.put(&key(&media[2]), b"a torn upload").await.unwrap();
    let out = migrate(&dir, &file);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("2 file(s) copied") && out.stdout.contains("1 already there"), "{}", out.stdout);
    assert_eq!(nanopost_media::digest(&bucket_store.get(&key(&media[2])).await.unwrap().unwrap()), media[2].digest);

    // A file changed on disk behind Nanopost's back is not copied, and the run fails.
    bucket_store.delete(&key(&media[0])).await.unwrap();
    std::fs::write(dir.path().join("data").join("media").join(&media[0].storage_key), b"not the approved bytes")
        .unwrap();
    let out = migrate(&dir, &file);
    assert_one_line_failure(&out, &["1 file(s) did not match their digest", "migration is incomplete"]);
    assert!(out.stdout.contains(&format!("digest mismatch\t{}", media[0].storage_key)), "{}", out.stdout);
    assert!(bucket_store.get(&key(&media[0])).await.unwrap().is_none());
}

#[tokio::test]
async fn migrate_media_needs_a_usable_bucket() {
    let dir = TempDir::new("migrate-media-unconfigured");
    seed(&dir.path().join("data")).await;
    let out = migrate(&dir, &config_file(&dir, None));
    assert_one_line_failure(&out, &["no S3 bucket is configured", "media.s3.endpoint"]);
    let missing = format!("np-missing-{}", uuid::Uuid::new_v4().simple());
    let out = migrate(&dir, &config_file(&dir, Some(&missing)));
    assert_one_line_failure(&out, &["cannot be used", &missing]);
    assert!(!out.stderr.contains("testing-secret") && !out.stderr.contains("Signature"), "{}", out.stderr);
}
