//! Posts and their review. The rules live in the domain (`post`, `approval`); this module loads,
//! checks permission, applies the rule and saves with the version it read, so a concurrent
//! change is refused instead of overwritten.

use crate::Services;
use crate::actor::Actor;
use crate::audit::{AuditAction as A, AuditEvent as E};
use crate::error::{Result, ServiceError};
use jiff::civil;
use nanopost_domain::approval::{self, Approval, ApprovalError, ApprovedPublication, ContentDigest};
use nanopost_domain::error::ValidationErrors;
use nanopost_domain::ids::{BrandId, PostId, WorkspaceId};
use nanopost_domain::post::{Post, PostContent, PostError, Schedule};
use nanopost_domain::role::Permission;
use nanopost_domain::targets::{self, Unresolved};
use nanopost_storage::{Page, PageRequest, PostFilter};

/// A post with what a reviewer needs beside it.
#[derive(Debug, Clone)]
pub struct PostView {
    pub post: Post,
    /// Every approval ever given, oldest first (an edit voids the current one but keeps history).
    pub approvals: Vec<Approval>,
    /// The digest of the content as it is now; a reviewer sends it back with their decision.
    pub digest: ContentDigest,
}

impl Services {
    pub async fn create_post(&self, actor: &Actor, brand: BrandId, content: PostContent) -> Result<Post> {
        actor.require(Permission::EditContent)?;
        // The brand must be this workspace's; the permission checked above is the one that counts.
        self.store().brand(actor.workspace_id, brand).await?.ok_or(ServiceError::NotFound)?;
        let post = Post::new(actor.workspace_id, brand, actor.user_id, content, self.now())?;
        self.store().insert_post(&post).await?;
        Ok(post)
    }

    pub async fn post(&self, actor: &Actor, id: PostId) -> Result<PostView> {
        actor.require(Permission::Read)?;
        let post = self.load_post(actor.workspace_id, id).await?;
        let approvals = self.store().approvals_of(actor.workspace_id, id).await?;
        let digest = post.content.digest();
        Ok(PostView { post, approvals, digest })
    }

    pub async fn posts(&self, actor: &Actor, filter: &PostFilter, page: PageRequest) -> Result<Page<Post>> {
        actor.require(Permission::Read)?;
        Ok(self.store().posts(actor.workspace_id, filter, page).await?)
    }

    /// Replaces the content. Any change voids the approval (invariant I1).
    pub async fn edit_post(
        &self,
        actor: &Actor,
        id: PostId,
        expected_version: i64,
        content: PostContent,
    ) -> Result<Post> {
        actor.require(Permission::EditContent)?;
        let now = self.now();
        let mut changed = false;
        let post = self
            .change_post(actor, id, Some(expected_version), |p| {
                let before = p.content.digest();
                p.edit(content, now)?;
                changed = p.content.digest() != before;
                Ok(())
            })
            .await?;
        // New content waiting for review goes to the Telegram reviewers again; the messages of
        // the version they had lose their buttons (see `run_telegram_send_review`).
        if changed {
            self.telegram_review_requested(&post).await;
        }
        Ok(post)
    }

    pub async fn submit_post(&self, actor: &Actor, id: PostId, expected_version: i64) -> Result<Post> {
        actor.require(Permission::EditContent)?;
        let now = self.now();
        let post = self.change_post(actor, id, Some(expected_version), |p| p.submit(now)).await?;
        self.telegram_review_requested(&post).await;
        Ok(post)
    }

    /// Approves the content the reviewer saw. If it changed since, nothing is approved.
    pub async fn approve_post(&self, actor: &Actor, id: PostId, seen: &ContentDigest) -> Result<Post> {
        actor.require(Permission::Review)?;
        let mut post = self.load_post(actor.workspace_id, id).await?;
        let record = approval::approve(&mut post, actor.user_id, actor.role, actor.channel, seen, self.now())
            .map_err(approval_error)?;
        // The approval covers where the post goes: each target must name one account.
        let blockers: Vec<Unresolved> =
            self.unresolved_targets(&post).await?.into_iter().filter(Unresolved::blocks_approval).collect();
        if !blockers.is_empty() {
            let mut errors = ValidationErrors::default();
            for b in &blockers {
                errors.push("targets", b.what_to_do());
            }
            return Err(ServiceError::Invalid(errors));
        }
        // A post approved with a time set is scheduled at once: its publish job goes with it.
        let saved = match crate::publishing::publish_job(&post, self.now()) {
            Some(job) if self.queue_is_transactional() => {
                self.store().save_approved_post_and_enqueue(&post, &record, &[job]).await?
            }
            Some(job) => {
                let saved = self.store().save_approved_post(&post, &record).await?;
                self.enqueue(&[job]).await?;
                saved
            }
            None => self.store().save_approved_post(&post, &record).await?,
        };
        self.audit(E::by(actor, A::PostApproved).target("post", id)).await;
        tracing::info!(post = %id, approver = %actor.user_id, channel = actor.channel.as_str(), digest = %record.digest, "post approved");
        Ok(saved)
    }

    pub async fn reject_post(&self, actor: &Actor, id: PostId, seen: &ContentDigest, reason: &str) -> Result<Post> {
        actor.require(Permission::Review)?;
        let mut post = self.load_post(actor.workspace_id, id).await?;
        approval::reject(&mut post, actor.role, seen, reason, self.now()).map_err(approval_error)?;
        let saved = self.store().save_post(&post).await?;
        self.audit(E::by(actor, A::PostRejected).target("post", id)).await;
        Ok(saved)
    }

    /// Sets (or clears) the publication time, read in the brand's time zone. Time is not
    /// content, so an approval stands.
    pub async fn schedule_post(
        &self,
        actor: &Actor,
        id: PostId,
        expected_version: i64,
        at: Option<civil::DateTime>,
    ) -> Result<Post> {
        actor.require(Permission::EditContent)?;
        let post = self.load_post(actor.workspace_id, id).await?;
        let brand = self.store().brand(actor.workspace_id, post.brand_id).await?.ok_or(ServiceError::NotFound)?;
        let schedule = at.map(|local| Schedule::new(local, &brand.profile.timezone)).transpose()?;
        let now = self.now();
        if let Some(s) = &schedule
            && s.instant() <= now
        {
            return Err(nanopost_domain::ValidationError::new("at", "must be in the future").into());
        }
        self.change_post(actor, id, Some(expected_version), |p| p.set_schedule(schedule, now)).await
    }

    pub async fn archive_post(&self, actor: &Actor, id: PostId, expected_version: i64) -> Result<Post> {
        actor.require(Permission::EditContent)?;
        let now = self.now();
        self.change_post(actor, id, Some(expected_version), |p| p.archive(now)).await
    }

    pub async fn delete_post(&self, actor: &Actor, id: PostId) -> Result<()> {
        actor.require(Permission::EditContent)?;
        let post = self.load_post(actor.workspace_id, id).await?;
        if post.state.is_locked() && post.state != nanopost_domain::post::PostState::Archived {
            return Err(ServiceError::Conflict(format!(
                "a post that is {} cannot be deleted; archive it instead",
                post.state
            )));
        }
        self.store().delete_post(actor.workspace_id, id).await?;
        let media: Vec<_> = post.content.variants.iter().flat_map(|v| v.media.iter().map(|m| m.id)).collect();
        self.release_post_media(actor.workspace_id, &media).await;
        self.audit(E::by(actor, A::PostDeleted).target("post", id)).await;
        Ok(())
    }

    /// The only way to obtain what a network adapter accepts: the post as stored, checked
    /// against its approval record (invariant I1).
    pub async fn authorized_publication(&self, ws: WorkspaceId, id: PostId) -> Result<ApprovedPublication> {
        let post = self.load_post(ws, id).await?;
        let approval_id =
            post.approval_id.ok_or_else(|| ServiceError::Conflict("the post has no approval in force".into()))?;
        let record = self.store().approval(ws, approval_id).await?.ok_or(ServiceError::NotFound)?;
        approval::authorize_publication(&post, &record).map_err(|e| ServiceError::Conflict(e.to_string()))
    }

    /// Why some targets of the post have no account to go to (empty when each has one), by
    /// the rule in [`nanopost_domain::targets`]. Shown before anyone approves; the ones that
    /// [`Unresolved::blocks_approval`] are refused by [`Services::approve_post`].
    pub async fn target_problems(&self, actor: &Actor, post: &Post) -> Result<Vec<Unresolved>> {
        actor.require(Permission::Read)?;
        if post.workspace_id != actor.workspace_id {
            return Err(ServiceError::NotFound);
        }
        self.unresolved_targets(post).await
    }

    async fn unresolved_targets(&self, post: &Post) -> Result<Vec<Unresolved>> {
        let accounts = self.store().connected_accounts(post.workspace_id, Some(post.brand_id)).await?;
        Ok(targets::unresolved_targets(&post.content, &accounts, crate::publishing::account_facts))
    }

    async fn load_post(&self, ws: WorkspaceId, id: PostId) -> Result<Post> {
        self.store().post(ws, id).await?.ok_or(ServiceError::NotFound)
    }

    /// Load, check the version the caller saw, apply a domain change, save.
    async fn change_post(
        &self,
        actor: &Actor,
        id: PostId,
        expected_version: Option<i64>,
        change: impl FnOnce(&mut Post) -> Result<(), PostError>,
    ) -> Result<Post> {
        let mut post = self.load_post(actor.workspace_id, id).await?;
        if let Some(v) = expected_version
            && v != post.version
        {
            return Err(ServiceError::Conflict(
                "someone changed this post in the meantime; reload and try again".into(),
            ));
        }
        change(&mut post).map_err(post_error)?;
        self.save_post_with_jobs(&post).await
    }
}

pub(crate) fn post_error(e: PostError) -> ServiceError {
    match e {
        PostError::Invalid(v) => ServiceError::Invalid(v),
        PostError::Transition(t) => ServiceError::Conflict(t.to_string()),
    }
}

fn approval_error(e: ApprovalError) -> ServiceError {
    match e {
        ApprovalError::NotAllowed(_) => ServiceError::Forbidden("your role may not approve or reject posts"),
        ApprovalError::ContentChanged => ServiceError::Conflict(e.to_string()),
        ApprovalError::Post(p) => post_error(p),
    }
}
