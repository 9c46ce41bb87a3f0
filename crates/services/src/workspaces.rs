//! Workspaces, members, invitations and API tokens.

use crate::Services;
use crate::actor::Actor;
use crate::audit::{AuditAction as A, AuditEvent as E};
use crate::auth::{outbox_mail, workspace_name};
use crate::error::{Result, ServiceError};
use crate::secrets::{self, SecretToken};
use jiff::SignedDuration;
use nanopost_domain::account::{Email, bounded_text};
use nanopost_domain::ids::{ApiTokenId, InvitationId, UserId, WorkspaceId};
use nanopost_domain::role::{Permission, Role, Scope};
use nanopost_storage::{ApiToken, Invitation, Member, User, Workspace};

const INVITATION_TTL: SignedDuration = SignedDuration::from_hours(24 * 7);

impl Services {
    pub async fn create_workspace(&self, user: &User, name: &str) -> Result<Workspace> {
        let ws = Workspace { id: WorkspaceId::new(), name: workspace_name(name)?, created_at: self.now() };
        self.store().create_workspace(&ws, user.id).await?;
        Ok(ws)
    }

    pub async fn workspaces_of(&self, user: &User) -> Result<Vec<(Workspace, Role)>> {
        Ok(self.store().workspaces_of(user.id).await?)
    }

    pub async fn workspace(&self, actor: &Actor) -> Result<Workspace> {
        actor.require(Permission::Read)?;
        self.store().workspace(actor.workspace_id).await?.ok_or(ServiceError::NotFound)
    }

    pub async fn members(&self, actor: &Actor) -> Result<Vec<Member>> {
        actor.require(Permission::Read)?;
        Ok(self.store().members(actor.workspace_id).await?)
    }

    /// Invites an address with a role; the link goes out by e-mail and works for a week.
    pub async fn invite(&self, actor: &Actor, email: &str, role: Role) -> Result<Invitation> {
        actor.require(Permission::ManageMembers)?;
        may_grant(actor, role)?;
        let email = Email::parse(email)?;
        let ws = self.store().workspace(actor.workspace_id).await?.ok_or(ServiceError::NotFound)?;
        let now = self.now();
        let token = SecretToken::generate();
        let inv = Invitation {
            id: InvitationId::new(),
            workspace_id: actor.workspace_id,
            email: email.clone(),
            role,
            hash: token.hash(),
            invited_by: actor.user_id,
            created_at: now,
            expires_at: now + INVITATION_TTL,
        };
        let link = format!("{}/invitations/accept?token={}", self.public_url(), token.expose());
        let mail = outbox_mail(
            &email,
            "invitation",
            &format!("You are invited to {} on Nanopost", ws.name),
            format!(
                "You are invited to join the workspace \"{}\" on Nanopost as {role}.\n\nTo accept, sign in (or sign up) with this address and open:\n{link}\n\nThe invitation is valid for seven days.",
                ws.name
            ),
            now,
        );
        self.store().create_invitation(&inv, &mail).await?;
        self.audit(E::by(actor, A::MemberInvited).target("invitation", inv.id)).await;
        Ok(inv)
    }

    pub async fn invitations(&self, actor: &Actor) -> Result<Vec<Invitation>> {
        actor.require(Permission::ManageMembers)?;
        Ok(self.store().invitations(actor.workspace_id, self.now()).await?)
    }

    pub async fn revoke_invitation(&self, actor: &Actor, id: InvitationId) -> Result<()> {
        actor.require(Permission::ManageMembers)?;
        Ok(self.store().revoke_invitation(actor.workspace_id, id, self.now()).await?)
    }

    /// Joins the workspace an invitation names. Only the invited address can accept it.
    pub async fn accept_invitation(&self, user: &User, token: &str) -> Result<(WorkspaceId, Role)> {
        match self.store().accept_invitation(&secrets::hash_token(token), user, self.now()).await {
            Err(nanopost_storage::StorageError::NotFound) => Err(ServiceError::Conflict(
                "this invitation is invalid, expired, already used, or addressed to another e-mail address".into(),
            )),
            other => Ok(other?),
        }
    }

    /// Changes a member's role. Nobody grants or takes away more than they hold.
    pub async fn set_role(&self, actor: &Actor, user: UserId, role: Role) -> Result<()> {
        actor.require(Permission::ManageMembers)?;
        may_grant(actor, role)?;
        let current = self.store().role_of(actor.workspace_id, user).await?.ok_or(ServiceError::NotFound)?;
        may_grant(actor, current)?;
        self.store().set_role(actor.workspace_id, user, role).await?;
        self.audit(E::by(actor, A::RoleChanged).target("user", user)).await;
        Ok(())
    }

    /// Removes a member. Members may always leave; the last owner may not.
    pub async fn remove_member(&self, actor: &Actor, user: UserId) -> Result<()> {
        if user != actor.user_id {
            actor.require(Permission::ManageMembers)?;
            let current = self.store().role_of(actor.workspace_id, user).await?.ok_or(ServiceError::NotFound)?;
            may_grant(actor, current)?;
        }
        self.store().remove_member(actor.workspace_id, user).await?;
        self.audit(E::by(actor, A::MemberRemoved).target("user", user)).await;
        Ok(())
    }

    /// Creates an API token acting as `actor`, narrowed to `scopes`. The plaintext is returned
    /// once and never stored.
    pub async fn create_api_token(
        &self,
        actor: &Actor,
        name: &str,
        scopes: &[Scope],
        expires_in_days: Option<u32>,
    ) -> Result<(ApiToken, String)> {
        actor.require(Permission::Read)?;
        if actor.scopes.is_some() {
            return Err(ServiceError::Forbidden("API tokens cannot create other tokens; sign in to the web app"));
        }
        let name = bounded_text("name", name, 1, 100)?;
        if scopes.is_empty() {
            return Err(nanopost_domain::ValidationError::new("scopes", "choose at least one scope").into());
        }
        if let Some(days) = expires_in_days.filter(|d| !(1..=3650).contains(d)) {
            return Err(nanopost_domain::ValidationError::new(
                "expires_in_days",
                format!("{days} is not between 1 and 3650"),
            )
            .into());
        }
        let mut scopes = scopes.to_vec();
        scopes.sort_by_key(|s| s.as_str());
        scopes.dedup();
        let now = self.now();
        let secret = SecretToken::generate_api();
        let token = ApiToken {
            id: ApiTokenId::new(),
            workspace_id: actor.workspace_id,
            name,
            scopes,
            hash: secret.hash(),
            created_by: actor.user_id,
            created_at: now,
            expires_at: expires_in_days.map(|d| now + SignedDuration::from_hours(24 * i64::from(d))),
            last_used_at: None,
            revoked_at: None,
        };
        self.store().create_api_token(&token).await?;
        self.audit(E::by(actor, A::ApiTokenCreated).target("api_token", token.id)).await;
        Ok((token, secret.expose().to_owned()))
    }

    /// Admins see every token of the workspace; others see their own.
    pub async fn api_tokens(&self, actor: &Actor) -> Result<Vec<ApiToken>> {
        actor.require(Permission::Read)?;
        let all = self.store().api_tokens(actor.workspace_id).await?;
        Ok(if actor.can(Permission::ManageMembers) {
            all
        } else {
            all.into_iter().filter(|t| t.created_by == actor.user_id).collect()
        })
    }

    pub async fn revoke_api_token(&self, actor: &Actor, id: ApiTokenId) -> Result<()> {
        let token = self.api_tokens(actor).await?.into_iter().find(|t| t.id == id).ok_or(ServiceError::NotFound)?;
        if token.created_by != actor.user_id {
            actor.require(Permission::ManageMembers)?;
        }
        self.store().revoke_api_token(actor.workspace_id, id, self.now()).await?;
        self.audit(E::by(actor, A::ApiTokenRevoked).target("api_token", id)).await;
        Ok(())
    }
}

fn may_grant(actor: &Actor, role: Role) -> Result<()> {
    if actor.role.may_grant(role) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("you cannot grant or change a role above your own"))
    }
}
