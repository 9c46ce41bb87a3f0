//! Test data, built through the domain's own constructors.

use jiff::Timestamp;
use nanopost_domain::account::Email;
use nanopost_domain::brand::{Brand, BrandInput};
use nanopost_domain::ids::{ApiTokenId, BrandId, InvitationId, UserId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostContent, Target, Variant};
use nanopost_domain::role::{Role, Scope};
use nanopost_storage::{
    ApiToken, Invitation, OutboxEmail, SignUp, Store, TokenHash, TokenPurpose, User, UserToken, Workspace,
};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A fixed instant plus `secs` seconds. Whole seconds, so values survive the microsecond
/// storage exactly.
pub fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

pub fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

pub fn hash() -> TokenHash {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    TokenHash(out)
}

pub fn user(addr: &str) -> User {
    User {
        id: UserId::new(),
        email: email(addr),
        display_name: format!("Name of {addr}"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        email_verified_at: None,
        age_confirmed_at: t(0),
        created_at: t(0),
    }
}

pub fn workspace(name: &str, at: Timestamp) -> Workspace {
    Workspace { id: WorkspaceId::new(), name: name.into(), created_at: at }
}

pub fn mail(to: &str, kind: &str, at: Timestamp) -> OutboxEmail {
    OutboxEmail {
        id: Uuid::now_v7(),
        to: email(to),
        kind: kind.into(),
        subject: format!("{kind} for {to}"),
        body: "Hello,\nclick the link.".into(),
        created_at: at,
    }
}

pub fn sign_up(addr: &str) -> SignUp {
    let user = user(addr);
    SignUp {
        workspace: workspace(&format!("{addr}'s workspace"), t(0)),
        verify_token: UserToken {
            hash: hash(),
            user_id: user.id,
            purpose: TokenPurpose::VerifyEmail,
            created_at: t(0),
            expires_at: t(86_400),
        },
        verify_email: mail(addr, "verify_email", t(0)),
        user,
    }
}

/// Signs someone up and returns them with their first workspace.
pub async fn owner(s: &Store, addr: &str) -> (User, Workspace) {
    let su = sign_up(addr);
    s.sign_up(&su).await.unwrap();
    (su.user, su.workspace)
}

pub fn invitation(ws: WorkspaceId, to: &str, role: Role, by: UserId, expires_at: Timestamp) -> Invitation {
    Invitation {
        id: InvitationId::new(),
        workspace_id: ws,
        email: email(to),
        role,
        hash: hash(),
        invited_by: by,
        created_at: t(0),
        expires_at,
    }
}

/// Creates `addr` as a user and makes them a member with `role`, the only way there is: an
/// accepted invitation.
pub async fn member(s: &Store, ws: WorkspaceId, by: UserId, addr: &str, role: Role) -> User {
    let u = user(addr);
    s.create_user(&u).await.unwrap();
    let inv = invitation(ws, addr, role, by, t(86_400));
    s.create_invitation(&inv, &mail(addr, "invitation", t(0))).await.unwrap();
    assert_eq!(s.accept_invitation(&inv.hash, &u, t(1)).await.unwrap(), (ws, role));
    u
}

pub fn api_token(ws: WorkspaceId, by: UserId, scopes: &[Scope], expires_at: Option<Timestamp>) -> ApiToken {
    ApiToken {
        id: ApiTokenId::new(),
        workspace_id: ws,
        name: format!("token {}", scopes.len()),
        scopes: scopes.to_vec(),
        hash: hash(),
        created_by: by,
        created_at: t(0),
        expires_at,
        last_used_at: None,
        revoked_at: None,
    }
}

pub fn brand(ws: WorkspaceId, name: &str) -> Brand {
    let profile = BrandInput {
        name: name.into(),
        description: "Bread, daily.\nSince 1990.".into(),
        timezone: "Europe/Berlin".into(),
        language: "de".into(),
        hashtags: vec!["bread".into(), "sourdough".into()],
        colors: vec!["#aabbcc".into()],
        slots: vec!["mon 09:00".into(), "thu 17:30".into()],
        competitors: vec!["instagram:rival".into()],
        topics: vec!["baking".into()],
        posts_per_week: 3,
        ..Default::default()
    }
    .validate()
    .unwrap();
    Brand { id: BrandId::new(), workspace_id: ws, profile, created_at: t(0), updated_at: t(0) }
}

pub fn content(caption: &str) -> PostContent {
    let mut options = BTreeMap::new();
    options.insert("first_comment".to_owned(), "more in bio".to_owned());
    PostContent {
        variants: vec![
            Variant { network: Network::Instagram, caption: caption.into(), media: vec![], options },
            Variant {
                network: Network::Linkedin,
                caption: format!("{caption} (long form)"),
                media: vec![],
                options: BTreeMap::new(),
            },
        ],
        targets: vec![
            Target { network: Network::Instagram, account: None },
            Target { network: Network::Linkedin, account: Some("acme".into()) },
        ],
    }
}

pub fn post(ws: WorkspaceId, brand: BrandId, author: UserId, caption: &str) -> Post {
    Post::new(ws, brand, author, content(caption), t(0)).unwrap()
}
