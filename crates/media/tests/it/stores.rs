//! One conformance suite, run against every store: memory, disk, and S3 against a real
//! S3-compatible server (moto's server mode, started by `scripts/test`; the URL comes from
//! `NANOPOST_TEST_S3_URL`, default `http://127.0.0.1:5000`). The S3 test fails, never skips,
//! when the server is not there.

use nanopost_media::store::{
    DiskStore, KeyPrefix, MediaStore, MemoryStore, ObjectKey, S3Config, S3Secret, S3Store, list_all,
};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use uuid::Uuid;

pub fn s3_url() -> String {
    std::env::var("NANOPOST_TEST_S3_URL").unwrap_or_else(|_| "http://127.0.0.1:5000".into())
}

/// A store on a fresh bucket of the test server.
pub async fn s3_store() -> S3Store {
    let config = S3Config {
        endpoint: s3_url(),
        region: "us-east-1".into(),
        bucket: format!("np-test-{}", Uuid::new_v4().simple()),
        access_key_id: "testing".into(),
        secret_access_key: S3Secret::new("testing-secret"),
        path_style: true,
        max_object_bytes: 64 * 1024 * 1024,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(60),
    };
    let store = S3Store::new(&config).unwrap();
    store.create_bucket().await.unwrap_or_else(|e| {
        panic!(
            "the S3 tests need an S3-compatible server at {} ({e}); run scripts/test, or start one with \
             `moto_server -H 127.0.0.1 -p 5000` and set NANOPOST_TEST_S3_URL",
            s3_url()
        )
    });
    store.check().await.unwrap();
    store
}

/// What every store must do.
async fn conformance(store: &dyn MediaStore) {
    let ws = Uuid::now_v7();
    let other_ws = Uuid::now_v7();
    let a = ObjectKey::media(ws, Uuid::now_v7());
    let b = ObjectKey::media(ws, Uuid::now_v7());
    let c = ObjectKey::media(other_ws, Uuid::now_v7());

    assert_eq!(store.get(&a).await.unwrap(), None, "missing objects are None");
    assert!(!store.exists(&a).await.unwrap());
    store.delete(&a).await.unwrap();

    // Binary content, every byte value, round-trips exactly; a second put replaces.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(1024 * 1024 + 7).collect();
    store.put(&a, &bytes).await.unwrap();
    assert_eq!(store.get(&a).await.unwrap().as_deref(), Some(&bytes[..]));
    assert!(store.exists(&a).await.unwrap());
    store.put(&a, b"replaced").await.unwrap();
    assert_eq!(store.get(&a).await.unwrap().as_deref(), Some(&b"replaced"[..]));
    store.put(&b, b"").await.unwrap();
    assert_eq!(store.get(&b).await.unwrap().as_deref(), Some(&b""[..]), "empty objects are objects");
    store.put(&c, b"other workspace").await.unwrap();

    // Listing: by workspace, in key order, paged.
    let mut mine = vec![a.clone(), b.clone()];
    mine.sort();
    assert_eq!(store.list(KeyPrefix::Workspace(ws), None, 10).await.unwrap(), mine);
    assert_eq!(store.list(KeyPrefix::Workspace(ws), None, 1).await.unwrap(), mine[..1]);
    assert_eq!(store.list(KeyPrefix::Workspace(ws), Some(&mine[0]), 10).await.unwrap(), mine[1..]);
    assert_eq!(store.list(KeyPrefix::Workspace(other_ws), None, 10).await.unwrap(), vec![c.clone()]);
    let all = list_all(store, KeyPrefix::All).await.unwrap();
    for k in [&a, &b, &c] {
        assert!(all.contains(k), "{k} listed");
    }
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);

    // Deleting is idempotent and only touches its object.
    store.delete(&a).await.unwrap();
    store.delete(&a).await.unwrap();
    assert_eq!(store.get(&a).await.unwrap(), None);
    assert!(!store.exists(&a).await.unwrap());
    assert!(store.exists(&b).await.unwrap() && store.exists(&c).await.unwrap());
    assert_eq!(store.list(KeyPrefix::Workspace(ws), None, 10).await.unwrap(), vec![b.clone()]);

    // Many pages.
    let many_ws = Uuid::now_v7();
    let mut keys: Vec<ObjectKey> = (0..1203).map(|_| ObjectKey::media(many_ws, Uuid::new_v4())).collect();
    for k in &keys {
        store.put(k, k.as_str().as_bytes()).await.unwrap();
    }
    keys.sort();
    assert_eq!(list_all(store, KeyPrefix::Workspace(many_ws)).await.unwrap(), keys);

    // Concurrent writers to one key: the object is one of the writes, whole.
    let key = ObjectKey::media(ws, Uuid::now_v7());
    let one = vec![1u8; 300_000];
    let two = vec![2u8; 300_000];
    let (r1, r2) = tokio::join!(store.put(&key, &one), store.put(&key, &two));
    r1.unwrap();
    r2.unwrap();
    let got = store.get(&key).await.unwrap().unwrap();
    assert!(got == one || got == two, "a torn write");
}

#[tokio::test]
async fn memory_store_conforms() {
    conformance(&MemoryStore::new()).await;
}

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!("nanopost-media-test-{}", Uuid::new_v4().simple()));
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn disk_store_conforms() {
    let dir = TempDir::new();
    let store = DiskStore::new(dir.0.join("media"));
    store.check().unwrap();
    conformance(&store).await;
}

#[tokio::test]
async fn disk_store_files_are_private_and_strays_are_ignored() {
    let dir = TempDir::new();
    let root = dir.0.join("media");
    let store = DiskStore::new(&root);
    let ws = Uuid::now_v7();
    let key = ObjectKey::media(ws, Uuid::now_v7());
    store.put(&key, b"picture").await.unwrap();
    let file = root.join(ws.to_string()).join(key.media_id().to_string());
    assert_eq!(std::fs::read(&file).unwrap(), b"picture");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(file.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(file.parent().unwrap()).unwrap().count(), 1);
    // A half-written temporary file (a crash mid-write) and foreign files are not objects.
    std::fs::write(file.parent().unwrap().join(".abc.123.tmp"), b"half").unwrap();
    std::fs::write(root.join("README"), b"not ours").unwrap();
    assert_eq!(store.list(KeyPrefix::All, None, 10).await.unwrap(), vec![key.clone()]);
    store.delete(&key).await.unwrap();
    assert!(!file.exists());
}

#[tokio::test]
async fn s3_store_conforms() {
    let store = s3_store().await;
    conformance(&store).await;
}

#[tokio::test]
async fn s3_errors_name_the_operation_not_the_signature() {
    let store = s3_store().await;
    // Another bucket name that does not exist: every call is refused with a sentence.
    let missing = S3Store::new(&S3Config {
        endpoint: s3_url(),
        region: "us-east-1".into(),
        bucket: format!("np-missing-{}", Uuid::new_v4().simple()),
        access_key_id: "testing".into(),
        secret_access_key: S3Secret::new("testing-secret"),
        path_style: true,
        max_object_bytes: 1024,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(30),
    })
    .unwrap();
    let key = ObjectKey::media(Uuid::now_v7(), Uuid::now_v7());
    let e = missing.put(&key, b"x").await.unwrap_err().to_string();
    assert!(e.contains("refused to store") && e.contains("NoSuchBucket"), "{e}");
    assert!(!e.contains("Signature") && !e.contains("testing-secret"), "{e}");
    assert!(missing.check().await.is_err());
    // Objects larger than the configured bound are not read into memory.
    let small = S3Store::new(&S3Config {
        endpoint: s3_url(),
        region: "us-east-1".into(),
        bucket: store.bucket().to_owned(),
        access_key_id: "testing".into(),
        secret_access_key: S3Secret::new("testing-secret"),
        path_style: true,
        max_object_bytes: 10,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(30),
    })
    .unwrap();
    store.put(&key, &[7u8; 100]).await.unwrap();
    assert!(small.get(&key).await.is_err());
}
