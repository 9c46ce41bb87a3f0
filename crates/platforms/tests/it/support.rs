//! A store with one workspace, brand and owner; a vault; approved publications.

use jiff::Timestamp;
use nanopost_domain::account::Email;
use nanopost_domain::approval::{ApprovedPublication, Channel, approve, authorize_publication};
use nanopost_domain::brand::{Brand, BrandInput};
use nanopost_domain::clock::ManualClock;
use nanopost_domain::ids::{BrandId, MediaId, UserId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{MediaRef, Post, PostContent, Target, Variant};
use nanopost_domain::role::Role;
use nanopost_platforms::custody::KeyRing;
use nanopost_platforms::publish::{MediaItem, Next, PublishProgress, Published};
use nanopost_platforms::rules::{MediaFacts, MediaFormat};
use nanopost_platforms::vault::{Networks, Vault, VaultError};
use nanopost_storage::{ConnectedAccountId, SignUp, Store, TokenHash, TokenPurpose, User, UserToken, Workspace};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub fn t0() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

pub struct Harness {
    pub store: Store,
    pub vault: Vault,
    pub ws: WorkspaceId,
    pub brand: BrandId,
    pub user: UserId,
    pub clock: Arc<ManualClock>,
    path: PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

fn user(addr: &str) -> User {
    User {
        id: UserId::new(),
        email: Email::parse(addr).unwrap(),
        display_name: addr.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        email_verified_at: None,
        age_confirmed_at: t0(),
        created_at: t0(),
    }
}

/// Signs someone up (their own workspace); returns the user and the workspace.
pub async fn sign_up(store: &Store, addr: &str) -> (UserId, WorkspaceId) {
    let u = user(addr);
    let ws = Workspace { id: WorkspaceId::new(), name: format!("{addr}'s"), created_at: t0() };
    let mut h = [0u8; 32];
    h[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let su = SignUp {
        workspace: ws.clone(),
        verify_token: UserToken {
            hash: TokenHash(h),
            user_id: u.id,
            purpose: TokenPurpose::VerifyEmail,
            created_at: t0(),
            expires_at: t0(),
        },
        verify_email: nanopost_storage::OutboxEmail {
            id: uuid::Uuid::now_v7(),
            to: u.email.clone(),
            kind: "verify_email".into(),
            subject: "s".into(),
            body: "b".into(),
            created_at: t0(),
        },
        user: u.clone(),
    };
    store.sign_up(&su).await.unwrap();
    (u.id, ws.id)
}

pub async fn brand(store: &Store, ws: WorkspaceId) -> BrandId {
    let profile = BrandInput {
        name: "Bakery".into(),
        timezone: "Europe/Berlin".into(),
        language: "de".into(),
        posts_per_week: 3,
        ..Default::default()
    }
    .validate()
    .unwrap();
    let b = Brand { id: BrandId::new(), workspace_id: ws, profile, created_at: t0(), updated_at: t0() };
    store.insert_brand(&b).await.unwrap();
    b.id
}

impl Harness {
    pub async fn new(networks: Networks, clock: Arc<ManualClock>) -> Self {
        let path = std::env::temp_dir().join(format!("nanopost-platforms-{}.db", uuid::Uuid::new_v4().simple()));
        let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        store.migrate().await.unwrap();
        let (user, ws) = sign_up(&store, &format!("{}@example.com", uuid::Uuid::new_v4().simple())).await;
        let brand = brand(&store, ws).await;
        let secret = [42u8; 32];
        let vault = Vault::new(
            store.clone(),
            KeyRing::from_installation_secret(&secret),
            nanopost_platforms::custody::derive_key(&secret, "oauth-pkce/v1"),
            networks,
        );
        Self { store, vault, ws, brand, user, clock, path }
    }

    pub fn now(&self) -> Timestamp {
        use nanopost_domain::clock::Clock;
        self.clock.now()
    }
}

/// The query parameters of a redirect `Location` (the `#_` Meta appends goes to the fragment).
pub fn callback_params(location: &str) -> BTreeMap<String, String> {
    let url = reqwest::Url::parse(location).unwrap();
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// A JPEG-ish media item (the fakes do not fetch unless told to).
pub fn image(n: u8) -> (MediaRef, MediaItem) {
    let bytes = vec![0xFF, 0xD8, 0xFF, n, 1, 2, 3];
    let hex: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let id = MediaId::new();
    let r = MediaRef { id, digest: format!("sha256:{hex}") };
    let item = MediaItem {
        id,
        digest: r.digest.clone(),
        facts: MediaFacts {
            format: MediaFormat::Jpeg,
            bytes: bytes.len() as u64,
            width: 1080,
            height: 1080,
            duration_ms: None,
        },
        url: format!("http://127.0.0.1:9/media/{id}.jpg"),
        bytes: Some(Arc::new(bytes)),
    };
    (r, item)
}

pub fn video() -> (MediaRef, MediaItem) {
    let (r, mut item) = image(200);
    item.facts =
        MediaFacts { format: MediaFormat::Mp4, bytes: 7, width: 1080, height: 1920, duration_ms: Some(10_000) };
    item.url = format!("http://127.0.0.1:9/media/{}.mp4", item.id);
    (r, item)
}

/// A post approved by a reviewer: the only way to get an `ApprovedPublication`.
pub fn approved(
    ws: WorkspaceId,
    brand: BrandId,
    network: Network,
    caption: &str,
    media: Vec<MediaRef>,
    options: &[(&str, &str)],
) -> ApprovedPublication {
    let content = PostContent {
        variants: vec![Variant {
            network,
            caption: caption.into(),
            media,
            options: options.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        }],
        targets: vec![Target { network, account: None }],
    };
    let mut post = Post::new(ws, brand, UserId::new(), content, t0()).unwrap();
    post.submit(t0()).unwrap();
    let seen = post.content.digest();
    let approval = approve(&mut post, UserId::new(), Role::Reviewer, Channel::Web, &seen, t0()).unwrap();
    authorize_publication(&post, &approval).unwrap()
}

/// Advances until done (at most 30 steps), storing nothing but following the protocol.
pub async fn publish(
    h: &Harness,
    account: ConnectedAccountId,
    p: &ApprovedPublication,
    media: &[MediaItem],
) -> Result<(Published, PublishProgress), VaultError> {
    let mut progress = PublishProgress::start();
    for _ in 0..30 {
        let step = h.vault.advance(h.ws, account, p, media, &progress, h.now()).await?;
        // Stored progress round-trips through JSON, as the job will store it.
        progress = PublishProgress::from_json(&step.progress.to_json()).unwrap();
        match step.next {
            Next::Continue | Next::PollAfter(_) => continue,
            Next::Done(published) => return Ok((published, progress)),
            Next::Unconfirmed(why) => panic!("unconfirmed: {why}"),
        }
    }
    panic!("publishing did not finish in 30 steps")
}

impl Harness {
    /// The SQLite URL of this harness's database (for raw reads).
    pub fn db_url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    /// Whether any column of any row of `connected_accounts` holds `needle` (read raw, as hex,
    /// so blobs and text are both covered).
    pub async fn raw_accounts_contain(&self, needle: &[u8]) -> bool {
        use sqlx::Connection as _;
        let mut c = sqlx::SqliteConnection::connect(&self.db_url()).await.unwrap();
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('connected_accounts')")
            .fetch_all(&mut c)
            .await
            .unwrap();
        assert!(columns.len() > 5, "the table is read: {columns:?}");
        let hex: String = needle.iter().map(|b| format!("{b:02X}")).collect();
        for col in columns {
            let values: Vec<Option<String>> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT hex(\"{col}\") FROM connected_accounts")))
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
            // Hex digits pair up: only matches at even offsets are byte matches.
            if values.iter().flatten().any(|v| v.match_indices(&hex).any(|(i, _)| i % 2 == 0)) {
                return true;
            }
        }
        false
    }

    /// The plain tokens of an account as stored (opened with the vault's keys).
    pub async fn stored_tokens(&self, id: ConnectedAccountId) -> nanopost_platforms::custody::PlainTokens {
        let a = self.store.connected_account(self.ws, id).await.unwrap().unwrap();
        let row = nanopost_platforms::custody::RowContext { workspace_id: a.workspace_id, account_id: a.id };
        self.vault.keys().open(row, &a.tokens).unwrap()
    }
}

/// The request lines the fake received, query strings cut off.
pub fn lines_of(requests: &[nanopost_fakes::RecordedRequest]) -> Vec<String> {
    requests.iter().map(|r| r.line().split('?').next().unwrap().to_owned()).collect()
}
