//! Values shared by several resources: the enums of the domain as the API spells them, and
//! keyset pagination.

use crate::problem::Problem;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use nanopost_domain::approval::Channel;
use nanopost_domain::network::Network;
use nanopost_domain::post::PostState;
use nanopost_domain::role::{Permission, Role, Scope};
use nanopost_storage::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Mirrors a domain enum in the API, so that the wire format is declared here (with its
/// schema) and a change in the domain is a compile error here rather than a silent change.
macro_rules! mirror_enum {
    ($(#[$doc:meta])* $dto:ident as $schema:ident <=> $domain:ident { $($variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[schema(as = $schema)]
        pub enum $dto { $($variant),* }

        impl From<$domain> for $dto {
            fn from(v: $domain) -> Self {
                match v { $($domain::$variant => $dto::$variant),* }
            }
        }

        impl From<$dto> for $domain {
            fn from(v: $dto) -> Self {
                match v { $($dto::$variant => $domain::$variant),* }
            }
        }
    };
}

mirror_enum!(
    /// A member's role in the workspace.
    ApiRole as Role <=> Role { Owner, Admin, Editor, Reviewer, Viewer }
);
mirror_enum!(
    /// What an API token may do: `read`, `write` (brands and posts), `review` (approve and
    /// reject), `admin` (members, invitations). A token never does more than its creator's role.
    ApiScope as Scope <=> Scope { Read, Write, Review, Admin }
);
mirror_enum!(
    /// Where a post is in its life.
    ApiPostState as PostState <=> PostState {
        Draft, PendingReview, Approved, Scheduled, Publishing, Published, Failed, Unconfirmed, Rejected, Archived
    }
);
mirror_enum!(
    ApiNetwork as Network <=> Network { Instagram, Linkedin, Tiktok }
);
mirror_enum!(
    /// How an approver acted: in the web app, through the API, or in Telegram.
    ApiChannel as Channel <=> Channel { Web, Api, Telegram }
);
mirror_enum!(
    /// What the caller may do in the workspace (its role narrowed by the token's scopes).
    ApiPermission as Permission <=> Permission { Read, EditContent, Review, ManageMembers, ManageWorkspace }
);

pub const ALL_PERMISSIONS: [Permission; 5] = [
    Permission::Read,
    Permission::EditContent,
    Permission::Review,
    Permission::ManageMembers,
    Permission::ManageWorkspace,
];

/// `?limit=&after=` of a list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub after: Option<Uuid>,
}

impl PageQuery {
    pub fn page(&self) -> Result<PageRequest, Problem> {
        page_request(self.limit, self.after)
    }
}

/// A checked page request: a limit out of range is an error rather than silently clamped.
pub fn page_request(limit: Option<u32>, after: Option<Uuid>) -> Result<PageRequest, Problem> {
    let limit = limit.unwrap_or(50);
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(Problem::bad_parameter("limit", format!("must be between 1 and {}", PageRequest::MAX_LIMIT)));
    }
    Ok(PageRequest { limit, after })
}

/// `Link: <…?after=next>; rel="next"` for a page that has a next one; the other query
/// parameters of the request are kept.
pub fn link_headers(uri: &Uri, next: Option<Uuid>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let Some(next) = next else { return headers };
    let mut params: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    params.retain(|(k, _)| k != "after");
    params.push(("after".to_owned(), next.to_string()));
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    if let Ok(v) = HeaderValue::from_str(&format!("<{}?{query}>; rel=\"next\"", uri.path())) {
        headers.insert(header::LINK, v);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_keeps_filters_and_replaces_the_cursor() {
        let uri: Uri = "/api/v1/posts?state=draft&after=00000000-0000-0000-0000-000000000001&limit=2".parse().unwrap();
        let next = Uuid::nil();
        let h = link_headers(&uri, Some(next));
        assert_eq!(h[header::LINK], format!("</api/v1/posts?state=draft&limit=2&after={next}>; rel=\"next\"").as_str());
        assert!(link_headers(&uri, None).is_empty());
    }

    #[test]
    fn limits_are_bounded() {
        assert!(PageQuery { limit: Some(0), after: None }.page().is_err());
        assert!(PageQuery { limit: Some(101), after: None }.page().is_err());
        assert_eq!(PageQuery::default().page().unwrap().limit, 50);
    }
}
