//! `[secrets]` token keys and `admin rotate-keys`.
//!
//! The re-encryption itself (rows sealed under the old key open under the new one, the old key
//! can then go) is proven on both databases in crates/platforms/tests/it/rotation.rs; the command
//! runs that same `Vault::rotate_keys`. Here: the configuration is checked and redacted, and the
//! command, run as the real binary, re-encrypts accounts seeded into its SQLite database, reports
//! the count, and fails with one sentence when a stored token's key is no longer configured.

use crate::harness::{TempDir, assert_one_line_failure, nanopost, run};

const KEY_A: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
const KEY_B: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn config_with(dir: &TempDir, secrets: &str) -> std::path::PathBuf {
    let file = dir.path().join("nanopost.toml");
    std::fs::write(&file, format!("log = \"warn\"\n{secrets}")).unwrap();
    file
}

#[test]
fn token_keys_are_checked_and_never_printed() {
    let dir = TempDir::new("keys-check");
    let key_file = dir.path().join("k2.key");
    std::fs::write(&key_file, format!("{KEY_A}\n")).unwrap();
    let file = config_with(
        &dir,
        &format!(
            "[secrets]\nsealing_key_id = \"k2\"\ntoken_keys = [{{ id = \"k2\", key_file = {:?} }}, {{ id = \"k3\", key = \"{KEY_B}\" }}]\n",
            key_file.display().to_string()
        ),
    );
    let out = run(nanopost(dir.path()).args(["config", "check", "--config"]).arg(&file), None);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(!out.stdout.contains(KEY_A) && !out.stdout.contains(KEY_B), "{}", out.stdout);
    assert!(out.stdout.contains("sealing_key_id = \"k2\""), "{}", out.stdout);
    assert!(out.stdout.contains("key = \"***\""), "{}", out.stdout);
    assert!(out.stdout.contains("k2.key"), "{}", out.stdout);

    for (secrets, needles) in [
        (
            "[secrets]\nsealing_key_id = \"k9\"\n".to_string(),
            vec!["secrets.sealing_key_id", "\"k9\" is not the id of any entry"],
        ),
        (
            "[secrets]\ntoken_keys = [{ id = \"k2\", key_file = \"/nonexistent/k2.key\" }]\n".to_string(),
            vec!["secrets.token_keys[0].key_file", "cannot read"],
        ),
        (
            "[secrets]\ntoken_keys = [{ id = \"k2\", key = \"c2hvcnQ=\" }]\n".to_string(),
            vec!["secrets.token_keys[0].key", "32 random bytes"],
        ),
        (
            format!(
                "[secrets]\ntoken_keys = [{{ id = \"k2\", key = \"{KEY_A}\" }}, {{ id = \"k2\", key = \"{KEY_B}\" }}]\n"
            ),
            vec!["secrets.token_keys[1].id", "configured twice"],
        ),
        ("[secrets]\ntoken_keys = [{ id = \"k2\" }]\n".to_string(), vec!["exactly one of key_file and key"]),
    ] {
        let file = config_with(&dir, &secrets);
        let out = run(nanopost(dir.path()).args(["config", "check", "--config"]).arg(&file), None);
        assert_eq!(out.code(), Some(2), "{secrets}: {out:?}");
        assert_one_line_failure(&out, &needles);
        assert!(!out.stderr.contains(KEY_A) && !out.stderr.contains(KEY_B), "{}", out.stderr);
    }
}

#[test]
fn rotate_keys_re_encrypts_under_the_sealing_key_and_reports_the_count() {
    let dir = TempDir::new("rotate");
    let file = config_with(
        &dir,
        &format!("[secrets]\nsealing_key_id = \"2027-01\"\ntoken_keys = [{{ id = \"2027-01\", key = \"{KEY_A}\" }}]\n"),
    );
    let out = run(nanopost(dir.path()).args(["admin", "rotate-keys", "--batch", "2", "--config"]).arg(&file), None);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stdout.contains("Re-encrypted 0 connected account(s); every stored token is now sealed with key 2027-01"),
        "{}",
        out.stdout
    );
    // Without added keys the installation key seals; it is named by a fingerprint.
    let out = run(nanopost(dir.path()).args(["admin", "rotate-keys", "--log", "warn"]), None);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("sealed with key local-"), "{}", out.stdout);

    let bad = run(nanopost(dir.path()).args(["admin", "rotate-keys", "--batch", "0", "--log", "warn"]), None);
    assert!(!bad.status.success(), "{bad:?}");
}

/// Connected accounts sealed under the installation key, written straight into the database the
/// binary created (connecting needs a network round trip this test has no use for).
mod seed {
    use jiff::Timestamp;
    use nanopost_domain::account::Email;
    use nanopost_domain::brand::{Brand, BrandInput};
    use nanopost_domain::ids::{BrandId, UserId, WorkspaceId};
    use nanopost_domain::network::Network;
    use nanopost_platforms::Secret;
    use nanopost_platforms::custody::{KeyRing, PlainTokens, RowContext};
    use nanopost_storage::{
        AccountKind, AccountStatus, ConnectedAccount, ConnectedAccountId, OutboxEmail, SignUp, Store, TokenHash,
        TokenPurpose, User, UserToken, Workspace,
    };
    use std::collections::BTreeMap;

    pub fn tokens(n: usize) -> PlainTokens {
        PlainTokens { access: Secret::new(format!("access-{n}")), refresh: Some(Secret::new(format!("refresh-{n}"))) }
    }

    /// A workspace, a brand and `count` TikTok accounts; returns (workspace, account ids).
    pub async fn accounts(store: &Store, ring: &KeyRing, count: usize) -> (WorkspaceId, Vec<ConnectedAccountId>) {
        let now = Timestamp::now();
        let user = User {
            id: UserId::new(),
            email: Email::parse("seed@example.com").unwrap(),
            display_name: "Seed".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            email_verified_at: None,
            age_confirmed_at: now,
            created_at: now,
        };
        let ws = Workspace { id: WorkspaceId::new(), name: "Seed".into(), created_at: now };
        let mut hash = [0u8; 32];
        hash[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        let sign_up = SignUp {
            workspace: ws.clone(),
            verify_token: UserToken {
                hash: TokenHash(hash),
                user_id: user.id,
                purpose: TokenPurpose::VerifyEmail,
                created_at: now,
                expires_at: now,
            },
            verify_email: OutboxEmail {
                id: uuid::Uuid::now_v7(),
                to: user.email.clone(),
                kind: "verify_email".into(),
                subject: "s".into(),
                body: "b".into(),
                created_at: now,
            },
            user,
        };
        store.sign_up(&sign_up).await.unwrap();
        let profile = BrandInput {
            name: "Bakery".into(),
            timezone: "Europe/Berlin".into(),
            language: "de".into(),
            posts_per_week: 3,
            ..Default::default()
        }
        .validate()
        .unwrap();
        let brand = Brand { id: BrandId::new(), workspace_id: ws.id, profile, created_at: now, updated_at: now };
        store.insert_brand(&brand).await.unwrap();
        let mut ids = Vec::new();
        for n in 0..count {
            let id = ConnectedAccountId::new();
            let account = ConnectedAccount {
                id,
                workspace_id: ws.id,
                brand_id: brand.id,
                network: Network::Tiktok,
                kind: AccountKind::Tiktok,
                grant_id: uuid::Uuid::now_v7(),
                external_id: format!("external-{n}"),
                display_name: format!("Account {n}"),
                handle: None,
                details: BTreeMap::new(),
                scopes: vec![],
                tokens: ring.seal(RowContext { workspace_id: ws.id, account_id: id }, &tokens(n)),
                token_version: 1,
                token_issued_at: now,
                access_expires_at: None,
                refresh_expires_at: None,
                refresh_due_at: None,
                status: AccountStatus::Active,
                status_reason: None,
                created_at: now,
                updated_at: now,
            };
            store.save_connected_account(&account).await.unwrap();
            ids.push(id);
        }
        (ws.id, ids)
    }
}

#[test]
fn rotate_keys_moves_stored_tokens_to_the_sealing_key_and_fails_in_one_sentence_without_the_old_key() {
    use nanopost_platforms::custody::{KeyRing, RowContext, parse_key};
    let dir = TempDir::new("rotate-seeded");
    // A first run creates the data directory, the secret key and the database.
    let out = run(nanopost(dir.path()).args(["admin", "rotate-keys", "--log", "warn"]), None);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let secret: [u8; 32] = std::fs::read(dir.data_dir().join("secret.key")).unwrap().try_into().unwrap();
    let installation = KeyRing::from_installation_secret(&secret);
    let url = format!("sqlite://{}", dir.data_dir().join("nanopost.db").display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (ws, ids) = rt.block_on(async {
        let store = nanopost_storage::Store::connect(&url).await.unwrap();
        let seeded = seed::accounts(&store, &installation, 5).await;
        store.close().await;
        seeded
    });

    let file = config_with(
        &dir,
        &format!("[secrets]\nsealing_key_id = \"k2\"\ntoken_keys = [{{ id = \"k2\", key = \"{KEY_A}\" }}]\n"),
    );
    let out = run(nanopost(dir.path()).args(["admin", "rotate-keys", "--batch", "2", "--config"]).arg(&file), None);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("Re-encrypted 5 connected account(s)"), "{}", out.stdout);
    let again = run(nanopost(dir.path()).args(["admin", "rotate-keys", "--config"]).arg(&file), None);
    assert!(again.stdout.contains("Re-encrypted 0 connected account(s)"), "{}", again.stdout);

    // Every token now opens with k2 alone.
    let k2_only = KeyRing::from_installation_secret(&[0; 32])
        .with_key("k2", parse_key(KEY_A).unwrap())
        .unwrap()
        .sealing_with("k2")
        .unwrap();
    rt.block_on(async {
        let store = nanopost_storage::Store::connect(&url).await.unwrap();
        for (n, id) in ids.iter().enumerate() {
            let stored = store.connected_account(ws, *id).await.unwrap().unwrap();
            assert_eq!(stored.tokens.key_id, "k2");
            let opened = k2_only.open(RowContext { workspace_id: ws, account_id: *id }, &stored.tokens).unwrap();
            assert_eq!(opened, seed::tokens(n));
        }
        store.close().await;
    });

    // Rotating back to the installation key without k2 configured cannot open them: one sentence.
    let out = run(nanopost(dir.path()).args(["admin", "rotate-keys", "--log", "warn"]), None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.lines().filter(|l| !l.trim().is_empty()).count() == 1, "{}", out.stderr);
    assert!(out.stderr.contains("key rotation stopped after re-encrypting 0 connected account(s)"), "{}", out.stderr);
    assert!(out.stderr.contains("\"k2\", which is not configured"), "{}", out.stderr);
}
