//! A whole web app over a fresh SQLite file, with a clock the test moves and cheap Argon2
//! parameters, plus helpers to set up people in every role.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use http_body_util::BodyExt;
use jiff::Timestamp;
use nanopost_domain::clock::ManualClock;
use nanopost_domain::ids::WorkspaceId;
use nanopost_domain::role::{Role, Scope};
use nanopost_services::{Actor, Argon2Params, ServiceConfig, Services, SignUpInput};
use nanopost_storage::{Store, User};
use nanopost_web::{WebConfig, router};
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub router: Router,
    pub services: Services,
    pub clock: Arc<ManualClock>,
    pub public_url: String,
    db_path: PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.db_path.display()));
        }
    }
}

/// A workspace with one member per role.
pub struct Team {
    pub workspace: WorkspaceId,
    pub members: Vec<(Role, User)>,
}

impl Team {
    pub fn user(&self, role: Role) -> &User {
        &self.members.iter().find(|(r, _)| *r == role).expect("every role is in the team").1
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_public_url("http://127.0.0.1:8080").await
    }

    pub async fn with_public_url(public_url: &str) -> Self {
        Self::build(public_url, 64 * 1024).await
    }

    pub async fn build(public_url: &str, max_body_bytes: usize) -> Self {
        Self::build_with(public_url, max_body_bytes, |s| s).await
    }

    /// [`TestApp::build`] with the services adjusted before the router is made (e.g. a
    /// Telegram bot attached).
    pub async fn build_with(
        public_url: &str,
        max_body_bytes: usize,
        adjust: impl FnOnce(Services) -> Services,
    ) -> Self {
        Self::build_configured(public_url, max_body_bytes, |_| {}, adjust).await
    }

    /// [`TestApp::new`] with the service configuration adjusted first (e.g. a generation quota).
    pub async fn with_config(configure: impl FnOnce(&mut ServiceConfig)) -> Self {
        Self::build_configured("http://127.0.0.1:8080", 64 * 1024, configure, |s| s).await
    }

    async fn build_configured(
        public_url: &str,
        max_body_bytes: usize,
        configure: impl FnOnce(&mut ServiceConfig),
        adjust: impl FnOnce(Services) -> Services,
    ) -> Self {
        let db_path = std::env::temp_dir().join(format!("nanopost-web-test-{}.db", uuid::Uuid::new_v4().simple()));
        let store = Store::connect(&format!("sqlite://{}", db_path.display())).await.expect("open sqlite");
        store.migrate().await.expect("migrate");
        let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_800_000_000).unwrap()));
        let mut config = ServiceConfig {
            public_url: public_url.into(),
            argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 },
            ..ServiceConfig::default()
        };
        configure(&mut config);
        let services = adjust(Services::new(store, clock.clone(), config).expect("services"));
        let router = router(services.clone(), WebConfig { public_url: public_url.into(), max_body_bytes });
        TestApp { router, services, clock, public_url: public_url.into(), db_path }
    }

    /// Sends one request through the whole stack.
    pub async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(req).await.expect("the router never fails")
    }

    /// A verified user with their own workspace.
    pub async fn user(&self, email: &str) -> (User, WorkspaceId) {
        let user = self
            .services
            .sign_up(SignUpInput {
                email: email.into(),
                password: PASSWORD.into(),
                display_name: email.split('@').next().unwrap_or("someone").into(),
                workspace_name: format!("{email}'s workspace"),
                age_confirmed: true,
            })
            .await
            .expect("sign up");
        self.services.store().set_email_verified(user.id, self.clock_now()).await.expect("verify");
        let ws = self.services.workspaces_of(&user).await.expect("workspaces")[0].0.id;
        (user, ws)
    }

    /// A workspace whose owner invited one member of every other role.
    pub async fn team(&self, name: &str) -> Team {
        let (owner, ws) = self.user(&format!("owner@{name}.test")).await;
        let owner_actor = self.services.actor(&owner, ws).await.unwrap();
        let mut members = vec![(Role::Owner, owner)];
        for role in [Role::Admin, Role::Editor, Role::Reviewer, Role::Viewer] {
            let (user, _) = self.user(&format!("{role}@{name}.test")).await;
            self.services.invite(&owner_actor, user.email.as_str(), role).await.expect("invite");
            let token = self.last_link_token(user.email.as_str()).await;
            self.services.accept_invitation(&user, &token).await.expect("accept");
            members.push((role, user));
        }
        Team { workspace: ws, members }
    }

    pub async fn actor(&self, user: &User, ws: WorkspaceId) -> Actor {
        self.services.actor(user, ws).await.expect("member")
    }

    /// A full-scope (or narrower) API token for `user` in `ws`.
    pub async fn api_token(&self, user: &User, ws: WorkspaceId, scopes: &[Scope]) -> String {
        let actor = self.actor(user, ws).await;
        self.services.create_api_token(&actor, "test", scopes, None).await.expect("token").1
    }

    /// Signs in and returns the session cookie value.
    pub async fn session(&self, user: &User) -> String {
        let (_, token) =
            self.services.login(user.email.as_str(), PASSWORD, [127, 0, 0, 1].into()).await.expect("login");
        token.expose().to_owned()
    }

    /// The `token=` value of the newest link mailed to `to`.
    pub async fn last_link_token(&self, to: &str) -> String {
        let mail = self.services.store().outbox(1000).await.unwrap();
        let mail = mail.iter().find(|m| m.to.as_str() == to).unwrap_or_else(|| panic!("no mail to {to}"));
        let start = mail.body.find("token=").expect("a link with a token") + "token=".len();
        mail.body[start..].split_whitespace().next().unwrap().to_owned()
    }

    pub fn clock_now(&self) -> Timestamp {
        use nanopost_domain::clock::Clock;
        self.clock.now()
    }
}

/// The body as text.
pub async fn body_text(res: Response<Body>) -> String {
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The connected-account use cases of `app` over `networks` (a vault with a fixed installation
/// secret: tests only).
pub fn accounts(app: &TestApp, networks: nanopost_platforms::vault::Networks) -> nanopost_services::Accounts {
    use nanopost_platforms::custody::{KeyRing, derive_key};
    let secret = [7u8; 32];
    let vault = nanopost_platforms::vault::Vault::new(
        app.services.store().clone(),
        KeyRing::from_installation_secret(&secret),
        derive_key(&secret, "oauth-pkce/v1"),
        networks,
    );
    nanopost_services::Accounts::new(app.services.clone(), Arc::new(vault))
}

/// The LinkedIn adapter pointed at the fake, its callback under `public_url`.
pub fn linkedin_on(fake: &nanopost_fakes::FakeLinkedIn, public_url: &str) -> nanopost_platforms::linkedin::Linkedin {
    use nanopost_fakes::demo;
    use nanopost_platforms::config::{AppCredentials, LinkedinConfig};
    let credentials = AppCredentials {
        client_id: demo::LINKEDIN_CLIENT_ID.into(),
        client_secret: nanopost_platforms::Secret::new(demo::LINKEDIN_CLIENT_SECRET),
    };
    let mut config = LinkedinConfig::new(credentials, &format!("{public_url}/oauth/linkedin/callback"));
    config.oauth_url = fake.base_url();
    config.api_url = fake.base_url();
    nanopost_platforms::linkedin::Linkedin::new(config)
}

/// The TikTok adapter pointed at the fake, its callback under `public_url`.
pub fn tiktok_on(fake: &nanopost_fakes::FakeTikTok, public_url: &str) -> nanopost_platforms::tiktok::Tiktok {
    use nanopost_fakes::demo;
    use nanopost_platforms::config::{AppCredentials, TiktokConfig};
    let credentials = AppCredentials {
        client_id: demo::TIKTOK_CLIENT_KEY.into(),
        client_secret: nanopost_platforms::Secret::new(demo::TIKTOK_CLIENT_SECRET),
    };
    let mut config = TiktokConfig::new(credentials, &format!("{public_url}/oauth/tiktok/callback"));
    config.authorize_url = fake.base_url();
    config.api_url = fake.base_url();
    nanopost_platforms::tiktok::Tiktok::new(config)
}
