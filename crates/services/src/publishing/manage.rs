//! The people's side of publishing: see where a post went, publish it now, retry what failed,
//! and resolve what Nanopost could not confirm. (The jobs' side is [`super::Publishing`].)

use super::{publish_job, reset_for_retry};
use crate::error::{Result, ServiceError};
use crate::{Actor, AuditAction, AuditEvent, Services};
use nanopost_domain::ids::{PostId, PublicationId, WorkspaceId};
use nanopost_domain::post::{Post, PostState, Schedule};
use nanopost_domain::publication::PublicationState;
use nanopost_domain::role::Permission;
use nanopost_storage::Publication;

impl Services {
    /// The publications of a post, for the people of its workspace.
    pub async fn publications(&self, actor: &Actor, post: PostId) -> Result<Vec<Publication>> {
        actor.require(Permission::Read)?;
        Ok(self.store().publications_of_post(actor.workspace_id, post).await?)
    }

    /// Publishes an approved (or scheduled) post now instead of at its time.
    pub async fn publish_now(&self, actor: &Actor, id: PostId, expected_version: i64) -> Result<Post> {
        actor.require(Permission::EditContent)?;
        let post = self.schedule_now(actor, id, expected_version).await?;
        self.audit(AuditEvent::by(actor, AuditAction::PostPublishRequested).target("post", id)).await;
        Ok(post)
    }

    /// Another attempt for a failed post: its failed publications go again, now; those already
    /// published never do (I2), and unconfirmed ones wait until a person resolves them.
    pub async fn retry_publishing(&self, actor: &Actor, id: PostId, expected_version: i64) -> Result<Post> {
        actor.require(Permission::EditContent)?;
        let ws = actor.workspace_id;
        let post = self.store().post(ws, id).await?.ok_or(ServiceError::NotFound)?;
        if post.version != expected_version {
            return Err(ServiceError::Conflict(
                "someone changed this post in the meantime; reload and try again".into(),
            ));
        }
        if !matches!(post.state, PostState::Failed | PostState::Unconfirmed) {
            return Err(ServiceError::Conflict(format!("a post that is {} cannot be retried", post.state)));
        }
        let approval = post.approval_id.ok_or_else(|| {
            ServiceError::Conflict("the post has no approval in force; submit it for review again".into())
        })?;
        let now = self.now();
        for mut p in self.store().publications_of_post(ws, id).await? {
            if p.state == PublicationState::Failed {
                reset_for_retry(&mut p, approval, now);
                self.store().update_publication(&p).await?;
            }
        }
        let post = self.retry_post_now(actor, post).await?;
        self.audit(AuditEvent::by(actor, AuditAction::PostPublishRequested).target("post", id)).await;
        Ok(post)
    }

    /// A person checked an unconfirmed publication on the network: it is there (with its
    /// address), or it is not and may go again with the next retry.
    pub async fn resolve_unconfirmed(
        &self,
        actor: &Actor,
        id: PublicationId,
        found_at: Option<&str>,
    ) -> Result<Publication> {
        actor.require(Permission::EditContent)?;
        let ws = actor.workspace_id;
        let mut p = self.store().publication(ws, id).await?.ok_or(ServiceError::NotFound)?;
        if p.state != PublicationState::Unconfirmed {
            return Err(ServiceError::Conflict(format!("this publication is {}, not unconfirmed", p.state)));
        }
        let now = self.now();
        match found_at {
            Some(url) => {
                let url = super::start::checked_permalink(url)?;
                p.state = PublicationState::Published;
                p.url = Some(url);
                p.error = None;
                p.error_class = None;
                p.updated_at = now;
                p.finished_at = Some(now);
            }
            None => {
                p.state = PublicationState::Failed;
                p.error = Some("a person checked: it is not on the network; it goes again with the next retry".into());
                p.error_class = Some("not_there".into());
                p.updated_at = now;
            }
        }
        let saved = self.store().update_publication(&p).await?;
        self.audit(AuditEvent::by(actor, AuditAction::PublicationResolved).target("publication", id)).await;
        self.settle_unconfirmed_post(ws, saved.post_id).await?;
        Ok(saved)
    }

    /// After a person resolved an unconfirmed publication, the post may be settled anew.
    async fn settle_unconfirmed_post(&self, ws: WorkspaceId, post_id: PostId) -> Result<()> {
        let store = self.store();
        let Some(mut post) = store.post(ws, post_id).await? else { return Ok(()) };
        if post.state != PostState::Unconfirmed {
            return Ok(());
        }
        let publications = store.publications_of_post(ws, post_id).await?;
        if publications.iter().all(|p| p.state == PublicationState::Published) {
            // Every target is out: the post is published (through publishing, as the table says).
            post.retry(self.now()).map_err(crate::posts::post_error)?;
            post.start_publishing(self.now()).map_err(crate::posts::post_error)?;
            post.settle_publishing(nanopost_domain::post::PostAction::MarkPublished, self.now())
                .map_err(crate::posts::post_error)?;
            store.save_post(&post).await?;
        } else if !publications.iter().any(|p| p.state == PublicationState::Unconfirmed) {
            post.retry(self.now()).map_err(crate::posts::post_error)?;
            post.start_publishing(self.now()).map_err(crate::posts::post_error)?;
            post.settle_publishing(nanopost_domain::post::PostAction::MarkFailed, self.now())
                .map_err(crate::posts::post_error)?;
            store.save_post(&post).await?;
        }
        Ok(())
    }

    /// Sets the post's time to now in its brand's time zone, so the publish job runs at once.
    pub(crate) async fn schedule_now(&self, actor: &Actor, id: PostId, expected_version: i64) -> Result<Post> {
        let post = self.store().post(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound)?;
        if post.version != expected_version {
            return Err(ServiceError::Conflict(
                "someone changed this post in the meantime; reload and try again".into(),
            ));
        }
        if !matches!(post.state, PostState::Approved | PostState::Scheduled) {
            return Err(ServiceError::Conflict(format!(
                "only an approved post can be published; this one is {}",
                post.state
            )));
        }
        let mut post = post;
        let schedule = self.now_in_brand_zone(&post).await?;
        post.set_schedule(Some(schedule), self.now()).map_err(crate::posts::post_error)?;
        self.save_post_with_jobs(&post).await
    }

    /// Moves a failed post back to scheduled, for now.
    pub(crate) async fn retry_post_now(&self, _actor: &Actor, mut post: Post) -> Result<Post> {
        let now = self.now();
        post.retry(now).map_err(crate::posts::post_error)?;
        let schedule = self.now_in_brand_zone(&post).await?;
        post.set_schedule(Some(schedule), now).map_err(crate::posts::post_error)?;
        self.save_post_with_jobs(&post).await
    }

    async fn now_in_brand_zone(&self, post: &Post) -> Result<Schedule> {
        let brand = self.store().brand(post.workspace_id, post.brand_id).await?.ok_or(ServiceError::NotFound)?;
        let tz = jiff::tz::TimeZone::get(&brand.profile.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        let local = self.now().to_zoned(tz).datetime();
        Ok(Schedule::new(local, &brand.profile.timezone)?)
    }

    /// Saves the post; if it is now scheduled, its publish job goes with it (in the same
    /// transaction where the queue allows).
    pub(crate) async fn save_post_with_jobs(&self, post: &Post) -> Result<Post> {
        let Some(job) = publish_job(post, self.now()) else {
            return Ok(self.store().save_post(post).await?);
        };
        if self.queue_is_transactional() {
            Ok(self.store().save_post_and_enqueue(post, &job).await?.0)
        } else {
            let saved = self.store().save_post(post).await?;
            self.enqueue(&[job]).await?;
            Ok(saved)
        }
    }
}
