//! Accounts: sign-up (18+ only), e-mail verification, login with rate limits, sessions,
//! password reset. Every secret handed out is random; only its hash is stored.

use crate::Services;
use crate::audit::{AuditAction as A, AuditEvent as E};
use crate::error::{Result, ServiceError};
use crate::secrets::{self, SecretToken};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::account::{Email, NewPassword, parse_display_name};
use nanopost_domain::error::ValidationErrors;
use nanopost_domain::ids::{UserId, WorkspaceId};
use nanopost_storage::{OutboxEmail, Session, SignUp, TokenPurpose, User, UserToken, Workspace};
use std::net::IpAddr;
use uuid::Uuid;

const VERIFY_TTL: SignedDuration = SignedDuration::from_hours(48);
const RESET_TTL: SignedDuration = SignedDuration::from_hours(1);

/// What a person types at sign-up.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SignUpInput {
    pub email: String,
    /// Never logged: `Debug` of the form types that carry it is derived, so handlers must not
    /// log the input; the domain's `NewPassword` redacts it from here on.
    pub password: String,
    pub display_name: String,
    pub workspace_name: String,
    /// The explicit confirmation of being 18 or older. Sign-up is refused without it.
    pub age_confirmed: bool,
}

impl Services {
    pub async fn sign_up(&self, input: SignUpInput) -> Result<User> {
        let mut errs = ValidationErrors::default();
        let email = Email::parse(&input.email).map_err(|e| errs.0.push(e)).ok();
        let password = NewPassword::parse(&input.password).map_err(|e| errs.0.push(e)).ok();
        let name = parse_display_name(&input.display_name).map_err(|e| errs.0.push(e)).ok();
        let ws_name = if input.workspace_name.trim().is_empty() {
            name.clone().map(|n| format!("{n}'s workspace"))
        } else {
            workspace_name(&input.workspace_name).map_err(|e| errs.0.push(e)).ok()
        };
        if !input.age_confirmed {
            errs.push("age_confirmed", "Nanopost is for people aged 18 or older; please confirm your age");
        }
        let (Some(email), Some(password), Some(name), Some(ws_name), true) =
            (email, password, name, ws_name, errs.is_empty())
        else {
            return Err(ServiceError::Invalid(errs));
        };
        if self.store().user_by_email(&email).await?.is_some() {
            return Err(email_taken());
        }
        let now = self.now();
        let user = User {
            id: UserId::new(),
            email: email.clone(),
            display_name: name,
            password_hash: self.hash_password(password).await?,
            email_verified_at: None,
            age_confirmed_at: now,
            created_at: now,
        };
        let token = SecretToken::generate();
        let s = SignUp {
            user: user.clone(),
            workspace: Workspace { id: WorkspaceId::new(), name: ws_name, created_at: now },
            verify_token: UserToken {
                hash: token.hash(),
                user_id: user.id,
                purpose: TokenPurpose::VerifyEmail,
                created_at: now,
                expires_at: now + VERIFY_TTL,
            },
            verify_email: self.verification_mail(&email, &token, now),
        };
        match self.store().sign_up(&s).await {
            Err(nanopost_storage::StorageError::Conflict(_)) => Err(email_taken()),
            other => other.map(|_| user).map_err(Into::into),
        }
    }

    /// Creates a verified account from the command line (the operator vouches for age).
    pub async fn create_user_admin(
        &self,
        email: &str,
        password: &str,
        display_name: &str,
        workspace: Option<&str>,
    ) -> Result<User> {
        let mut user = self
            .sign_up(SignUpInput {
                email: email.into(),
                password: password.into(),
                display_name: display_name.into(),
                workspace_name: workspace.unwrap_or_default().into(),
                age_confirmed: true,
            })
            .await?;
        let now = self.now();
        self.store().set_email_verified(user.id, now).await?;
        user.email_verified_at = Some(now);
        Ok(user)
    }

    pub async fn verify_email(&self, token: &str) -> Result<UserId> {
        let now = self.now();
        let user = self
            .store()
            .consume_user_token(TokenPurpose::VerifyEmail, &secrets::hash_token(token), now)
            .await?
            .ok_or_else(|| ServiceError::Conflict("this verification link is invalid, used or expired".into()))?;
        self.store().set_email_verified(user, now).await?;
        Ok(user)
    }

    pub async fn resend_verification(&self, user: &User) -> Result<()> {
        if user.email_verified_at.is_some() {
            return Ok(());
        }
        let now = self.now();
        let token = SecretToken::generate();
        let record = UserToken {
            hash: token.hash(),
            user_id: user.id,
            purpose: TokenPurpose::VerifyEmail,
            created_at: now,
            expires_at: now + VERIFY_TTL,
        };
        let mail = self.verification_mail(&user.email, &token, now);
        Ok(self.store().create_user_token(&record, Some(&mail)).await?)
    }

    /// Checks the password and opens a session. Failures count against the account and the
    /// client address; past the limit, attempts are refused before the password is checked.
    pub async fn login(&self, email: &str, password: &str, ip: IpAddr) -> Result<(User, SecretToken)> {
        let limits = self.config().login_limits;
        let now = self.now();
        let email = Email::parse(email).map_err(|_| bad_credentials())?;
        let account_key = format!("account:{email}");
        let ip_key = format!("ip:{ip}");
        let failures = &self.inner.login_failures;
        for (key, limit) in [(&account_key, limits.per_account), (&ip_key, limits.per_ip)] {
            failures
                .check(key, limit, limits.window, now)
                .map_err(|secs| ServiceError::RateLimited { retry_after_secs: secs })?;
        }
        let user = self.store().user_by_email(&email).await?;
        // Hash something even for unknown addresses, so timing does not reveal who has an account.
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let ok = self.verify_password(password.to_owned(), stored).await? && user.is_some();
        if !ok {
            self.audit(E::about(user.as_ref().map(|u| u.id), A::SignInFailed)).await;
        }
        let Some(user) = user.filter(|_| ok) else {
            failures.record_failure(&account_key, limits.window, now);
            failures.record_failure(&ip_key, limits.window, now);
            tracing::info!(%ip, "failed login");
            return Err(bad_credentials());
        };
        failures.clear(&account_key);
        let token = SecretToken::generate();
        let session = Session {
            hash: token.hash(),
            user_id: user.id,
            created_at: now,
            expires_at: now + self.config().session_ttl,
        };
        self.store().create_session(&session).await?;
        self.audit(E::account(user.id, A::SignIn)).await;
        tracing::info!(user = %user.id, "signed in");
        Ok((user, token))
    }

    /// The user behind a session cookie, if the session is live.
    pub async fn authenticate_session(&self, token: &str) -> Result<Option<User>> {
        let Some(session) = self.store().session(&secrets::hash_token(token), self.now()).await? else {
            return Ok(None);
        };
        Ok(self.store().user_by_id(session.user_id).await?)
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        self.audit_sign_out(token).await;
        Ok(self.store().delete_session(&secrets::hash_token(token)).await?)
    }

    /// The CSRF token of a session: a keyed tag of the session token, so nothing extra is stored.
    pub fn csrf_token(&self, session_token: &str) -> String {
        secrets::sign(&self.config().secret_key, "csrf", session_token.as_bytes())
    }

    pub fn verify_csrf(&self, session_token: &str, submitted: &str) -> bool {
        secrets::verify(&self.config().secret_key, "csrf", session_token.as_bytes(), submitted)
    }

    /// Sends a reset link if the address has an account. Answers the same either way, so the
    /// form cannot be used to discover who has an account.
    pub async fn request_password_reset(&self, email: &str) -> Result<()> {
        let Ok(email) = Email::parse(email) else { return Ok(()) };
        let Some(user) = self.store().user_by_email(&email).await? else { return Ok(()) };
        let now = self.now();
        let token = SecretToken::generate();
        let record = UserToken {
            hash: token.hash(),
            user_id: user.id,
            purpose: TokenPurpose::ResetPassword,
            created_at: now,
            expires_at: now + RESET_TTL,
        };
        let link = format!("{}/reset-password?token={}", self.public_url(), token.expose());
        let mail = outbox_mail(
            &email,
            "reset_password",
            "Reset your Nanopost password",
            format!(
                "Someone asked to reset the password of your Nanopost account.\n\nTo choose a new password, open:\n{link}\n\nThe link works once, for one hour. If it was not you, ignore this message."
            ),
            now,
        );
        Ok(self.store().create_user_token(&record, Some(&mail)).await?)
    }

    /// Sets a new password from a reset link and ends every session of the account.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<()> {
        let password = NewPassword::parse(new_password)?;
        let hash = self.hash_password(password).await?;
        let user = self
            .store()
            .consume_user_token(TokenPurpose::ResetPassword, &secrets::hash_token(token), self.now())
            .await?
            .ok_or_else(|| ServiceError::Conflict("this reset link is invalid, used or expired".into()))?;
        self.store().set_password_hash(user, &hash).await?;
        self.audit(E::account(user, A::PasswordReset)).await;
        tracing::info!(user = %user, "password reset");
        Ok(())
    }

    /// Periodic clean-up: expired sessions. Returns how many rows went.
    pub async fn housekeeping(&self) -> Result<u64> {
        Ok(self.store().delete_expired_sessions(self.now()).await?)
    }

    async fn hash_password(&self, password: NewPassword) -> Result<String> {
        let hashing = self.inner.hashing.clone();
        tokio::task::spawn_blocking(move || hashing.hash(password.expose()))
            .await
            .map_err(|e| ServiceError::Internal(format!("hashing task failed: {e}")))?
    }

    /// Checks `password` against `phc`, or against a dummy hash when there is no account.
    async fn verify_password(&self, password: String, phc: Option<String>) -> Result<bool> {
        let hashing = self.inner.hashing.clone();
        let dummy = self.inner.dummy_hash.clone();
        tokio::task::spawn_blocking(move || {
            let phc = phc.unwrap_or_else(|| {
                dummy.get_or_init(|| hashing.hash("nanopost-dummy-password").unwrap_or_default()).clone()
            });
            hashing.verify(&password, &phc)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("hashing task failed: {e}")))
    }

    fn verification_mail(&self, to: &Email, token: &SecretToken, now: Timestamp) -> OutboxEmail {
        let link = format!("{}/verify-email?token={}", self.public_url(), token.expose());
        outbox_mail(
            to,
            "verify_email",
            "Confirm your e-mail address for Nanopost",
            format!(
                "Welcome to Nanopost.\n\nTo confirm this address, open:\n{link}\n\nThe link works once, for 48 hours."
            ),
            now,
        )
    }

    pub(crate) fn public_url(&self) -> &str {
        self.config().public_url.trim_end_matches('/')
    }
}

pub(crate) fn outbox_mail(to: &Email, kind: &str, subject: &str, body: String, now: Timestamp) -> OutboxEmail {
    OutboxEmail {
        id: Uuid::now_v7(),
        to: to.clone(),
        kind: kind.into(),
        subject: subject.into(),
        body,
        created_at: now,
    }
}

pub(crate) fn workspace_name(raw: &str) -> Result<String, nanopost_domain::ValidationError> {
    nanopost_domain::account::bounded_text("workspace_name", raw, 1, 100)
}

fn bad_credentials() -> ServiceError {
    ServiceError::Unauthorized("wrong e-mail address or password")
}

fn email_taken() -> ServiceError {
    ServiceError::Invalid(
        nanopost_domain::ValidationError::new("email", "an account with this address already exists").into(),
    )
}
