//! Who is acting, in which workspace, with which permissions. Every use case on workspace data
//! takes an [`Actor`] and asks it before doing anything.

use crate::Services;
use crate::error::{Result, ServiceError};
use crate::secrets;
use nanopost_domain::approval::Channel;
use nanopost_domain::ids::{UserId, WorkspaceId};
use nanopost_domain::role::{Permission, Role, Scope};
use nanopost_storage::User;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub role: Role,
    /// `Some` for API tokens: the role is narrowed to these scopes.
    pub scopes: Option<Vec<Scope>>,
    pub channel: Channel,
}

impl Actor {
    pub fn can(&self, p: Permission) -> bool {
        self.role.can(p) && self.scopes.as_ref().is_none_or(|s| s.iter().any(|s| s.allows(p)))
    }

    pub fn require(&self, p: Permission) -> Result<()> {
        if self.can(p) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(match p {
                Permission::Read => "you cannot see this workspace",
                Permission::EditContent => "your role or token does not allow editing content",
                Permission::Review => "your role or token does not allow approving or rejecting posts",
                Permission::ManageMembers => "only owners and admins manage members and tokens",
                Permission::ManageWorkspace => "only owners manage the workspace",
            }))
        }
    }
}

impl Services {
    /// The signed-in user acting in a workspace. Not a member: `NotFound`, so nobody learns
    /// that a workspace exists.
    pub async fn actor(&self, user: &User, ws: WorkspaceId) -> Result<Actor> {
        let role = self.store().role_of(ws, user.id).await?.ok_or(ServiceError::NotFound)?;
        Ok(Actor { user_id: user.id, workspace_id: ws, role, scopes: None, channel: Channel::Web })
    }

    /// The holder of an API token. The role is read now, so demoting the creator narrows
    /// their tokens at once, and removing them from the workspace disables them.
    pub async fn actor_from_api_token(&self, bearer: &str) -> Result<Actor> {
        let unauthorized = || ServiceError::Unauthorized("the API token is missing, unknown, revoked or expired");
        let token =
            self.store().api_token_by_hash(&secrets::hash_token(bearer), self.now()).await?.ok_or_else(unauthorized)?;
        let role = self.store().role_of(token.workspace_id, token.created_by).await?.ok_or_else(unauthorized)?;
        Ok(Actor {
            user_id: token.created_by,
            workspace_id: token.workspace_id,
            role,
            scopes: Some(token.scopes),
            channel: Channel::Api,
        })
    }
}
