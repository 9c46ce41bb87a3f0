//! Media in a post: attaching a library item to one network's version of the post puts in the
//! rendition that network takes (cropped, padded, scaled or re-encoded as its rules require),
//! so the reviewer approves exactly the bytes that will be published (invariant I1), and the
//! fixes are shown beside it. The network rules of the whole post are listed for the editor and
//! the reviewer before review, and checked again before publishing.

use crate::error::{Result, ServiceError};
use crate::{Actor, Services};
use nanopost_domain::ValidationError;
use nanopost_domain::ids::{MediaId, PostId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostContent};
use nanopost_domain::role::Permission;
use nanopost_platforms::rules::{self, MediaFix, RuleIssue};

/// One media item of a variant as the editor shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachedMedia {
    pub id: MediaId,
    /// The original it was made from, when it is a rendition.
    pub original: Option<MediaId>,
    pub file_name: String,
    /// What was done to the original for this network, as sentences ("cropped to …").
    pub fixes: Vec<String>,
}

impl Services {
    /// Adds the library item `media` to the `network` version of the post (at the end), as the
    /// rendition that network takes. Returns the post and the fixes that were applied.
    pub async fn add_post_media(
        &self,
        actor: &Actor,
        id: PostId,
        expected_version: i64,
        network: Network,
        media: MediaId,
    ) -> Result<(Post, Vec<MediaFix>)> {
        actor.require(Permission::EditContent)?;
        let post = self.store().post(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound)?;
        let mut content = post.content.clone();
        let variant = variant_mut(&mut content, network)?;
        if variant.media.len() >= network.max_media() {
            return Err(invalid(network, format!("{} takes at most {} items", network.label(), network.max_media())));
        }
        let (item, fixes) = self.rendition_for(actor.workspace_id, media, network).await?;
        variant.media.push(item);
        let post = self.edit_post(actor, id, expected_version, content).await?;
        Ok((post, fixes))
    }

    /// Takes the item at `position` (from 0) out of the `network` version of the post.
    pub async fn remove_post_media(
        &self,
        actor: &Actor,
        id: PostId,
        expected_version: i64,
        network: Network,
        position: usize,
    ) -> Result<Post> {
        actor.require(Permission::EditContent)?;
        let post = self.store().post(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound)?;
        let mut content = post.content.clone();
        let variant = variant_mut(&mut content, network)?;
        if position >= variant.media.len() {
            return Err(invalid(network, "there is no such item; reload the page"));
        }
        variant.media.remove(position);
        self.edit_post(actor, id, expected_version, content).await
    }

    /// The media of each network's version, with what was fixed for it.
    pub async fn post_media(&self, actor: &Actor, post: &Post) -> Result<Vec<(Network, Vec<AttachedMedia>)>> {
        actor.require(Permission::Read)?;
        let mut out = Vec::new();
        for v in &post.content.variants {
            let mut items = Vec::new();
            for r in &v.media {
                let Some(m) = self.store().media(actor.workspace_id, r.id).await? else {
                    items.push(AttachedMedia {
                        id: r.id,
                        original: None,
                        file_name: "a deleted item".into(),
                        fixes: vec![],
                    });
                    continue;
                };
                items.push(AttachedMedia {
                    id: m.id,
                    original: m.parent_id,
                    file_name: m.file_name.clone(),
                    fixes: m.fixes.as_deref().map(describe_fixes).unwrap_or_default(),
                });
            }
            out.push((v.network, items));
        }
        Ok(out)
    }

    /// The networks' rules broken by the post as it is (caption, hashtags, mentions, media
    /// count, formats, sizes, ratios), per network. Shown before review; checked again before
    /// publishing, where any left stops the publication with these reasons.
    pub async fn post_rule_issues(&self, actor: &Actor, post: &Post) -> Result<Vec<(Network, RuleIssue)>> {
        actor.require(Permission::Read)?;
        let mut out = Vec::new();
        for v in &post.content.variants {
            let mut facts = Vec::new();
            for r in &v.media {
                if let Some(m) = self.store().media(actor.workspace_id, r.id).await? {
                    facts.push(crate::media::facts_of(&m));
                }
            }
            out.extend(rules::check(v.network, &v.caption, &facts).into_iter().map(|i| (v.network, i)));
        }
        Ok(out)
    }
}

fn variant_mut(content: &mut PostContent, network: Network) -> Result<&mut nanopost_domain::post::Variant> {
    content.variants.iter_mut().find(|v| v.network == network).ok_or_else(|| {
        invalid(
            network,
            format!("the post has no {} version; add a caption for {} first", network.label(), network.label()),
        )
    })
}

fn invalid(network: Network, message: impl Into<String>) -> ServiceError {
    ValidationError::new(format!("variants.{}.media", network.as_str()), message).into()
}

/// The fixes a rendition records (canonical JSON written by the media library), as sentences.
fn describe_fixes(json: &str) -> Vec<String> {
    nanopost_media::fixes::from_json(json)
        .map(|fixes| fixes.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}
