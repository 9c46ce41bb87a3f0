//! Workspace roles and the one matrix that says what each may do.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A member's role in a workspace, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Editor,
    Reviewer,
    Viewer,
}

/// Everything a route or job may ask permission for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See the workspace, its brands, posts and members.
    Read,
    /// Create and edit brands and posts, submit posts for review.
    EditContent,
    /// Approve or reject a post (invariant I1: a human with this permission).
    Review,
    /// Invite members, change roles, remove members, manage API tokens.
    ManageMembers,
    /// Rename or delete the workspace; transfer or grant ownership.
    ManageWorkspace,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Owner, Role::Admin, Role::Editor, Role::Reviewer, Role::Viewer];

    /// The role matrix. Reviewers review but do not write; editors write but do not approve,
    /// so no single non-admin role can both draft and publish.
    pub fn can(self, p: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match p {
            Read => true,
            EditContent => matches!(self, Owner | Admin | Editor),
            Review => matches!(self, Owner | Admin | Reviewer),
            ManageMembers => matches!(self, Owner | Admin),
            ManageWorkspace => matches!(self, Owner),
        }
    }

    /// Whether a member with this role may grant `other` to someone: nobody grants more than
    /// they hold, and only owners make owners.
    pub fn may_grant(self, other: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => other != Role::Owner,
            _ => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Reviewer => "reviewer",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = crate::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| crate::ValidationError::new("role", "must be one of owner, admin, editor, reviewer, viewer"))
    }
}

/// What an API token may do. A token acts as its creator, narrowed to its scopes: it can never
/// do more than the creator's role allows at the time of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read brands, posts, members.
    Read,
    /// Create and edit brands and posts.
    Write,
    /// Approve and reject posts.
    Review,
    /// Manage members and invitations.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Write, Scope::Review, Scope::Admin];

    pub fn allows(self, p: Permission) -> bool {
        match self {
            Scope::Read => p == Permission::Read,
            Scope::Write => p == Permission::EditContent,
            Scope::Review => p == Permission::Review,
            Scope::Admin => p == Permission::ManageMembers,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Review => "review",
            Scope::Admin => "admin",
        }
    }
}

impl FromStr for Scope {
    type Err = crate::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            crate::ValidationError::new("scopes", "each scope must be one of read, write, review, admin")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editors_cannot_review_and_reviewers_cannot_edit() {
        assert!(Role::Editor.can(Permission::EditContent));
        assert!(!Role::Editor.can(Permission::Review));
        assert!(Role::Reviewer.can(Permission::Review));
        assert!(!Role::Reviewer.can(Permission::EditContent));
        assert!(!Role::Viewer.can(Permission::EditContent));
        assert!(!Role::Viewer.can(Permission::Review));
    }

    #[test]
    fn only_owners_grant_ownership() {
        assert!(Role::Owner.may_grant(Role::Owner));
        assert!(!Role::Admin.may_grant(Role::Owner));
        assert!(Role::Admin.may_grant(Role::Admin));
        assert!(!Role::Editor.may_grant(Role::Viewer));
    }

    #[test]
    fn roles_round_trip_through_text() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("superuser".parse::<Role>().is_err());
    }
}
