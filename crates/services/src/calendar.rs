//! The calendar and the brand's queue: each day's posts counted by the database with the first
//! few of them (so a month of ten thousand posts stays fast), the details and publications of
//! the ones a page shows, and scheduling a post into the brand's next free queue slot.

use crate::Services;
use crate::actor::Actor;
use crate::error::{Result, ServiceError};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::ids::{BrandId, PostId};
use nanopost_domain::post::{Post, PostState, Schedule};
use nanopost_domain::role::Permission;
use nanopost_domain::slots::{SEARCH_WEEKS, next_free_slot};
use nanopost_storage::{CalendarDetail, DayPosts, DayWindow, Publication};

/// Most scheduled posts of one brand the next-slot search reads (a year of a very busy brand
/// is far below).
const SLOT_SEARCH_MAX_ENTRIES: u32 = 100_000;

impl Services {
    /// Per day of `days`: its number of posts (of `brands`, if given), how many need a
    /// person's attention, and its first `per_day` posts.
    pub async fn calendar_days(
        &self,
        actor: &Actor,
        brands: Option<&[BrandId]>,
        days: &[DayWindow],
        per_day: u32,
    ) -> Result<Vec<DayPosts>> {
        actor.require(Permission::Read)?;
        Ok(self.store().calendar_days(actor.workspace_id, brands, days, per_day).await?)
    }

    /// Excerpt, networks and version of the posts a calendar page shows.
    pub async fn calendar_details(&self, actor: &Actor, ids: &[PostId]) -> Result<Vec<CalendarDetail>> {
        actor.require(Permission::Read)?;
        Ok(self.store().calendar_details(actor.workspace_id, ids).await?)
    }

    /// The publications of the posts a calendar page shows, in one read.
    pub async fn calendar_publications(&self, actor: &Actor, ids: &[PostId]) -> Result<Vec<Publication>> {
        actor.require(Permission::Read)?;
        Ok(self.store().publications_of_posts(actor.workspace_id, ids).await?)
    }

    /// The brand's next queue slot after now that no post of the brand holds (`excluding`
    /// one post, the one being placed). `None` when the brand has no slots or the coming
    /// year is full. Rejected and archived posts hold no slot.
    pub async fn next_queue_slot(
        &self,
        actor: &Actor,
        brand: BrandId,
        excluding: Option<PostId>,
    ) -> Result<Option<Schedule>> {
        actor.require(Permission::Read)?;
        let brand = self.store().brand(actor.workspace_id, brand).await?.ok_or(ServiceError::NotFound)?;
        if brand.profile.cadence.slots.is_empty() {
            return Ok(None);
        }
        let now = self.now();
        let horizon = now + SignedDuration::from_hours(24 * 7 * (SEARCH_WEEKS + 1));
        let entries = self
            .store()
            .calendar_entries(actor.workspace_id, Some(brand.id), now, horizon, SLOT_SEARCH_MAX_ENTRIES)
            .await?;
        let taken: Vec<Timestamp> = entries
            .iter()
            .filter(|e| e.state != PostState::Rejected)
            .filter(|e| Some(e.post_id) != excluding)
            .map(|e| e.at)
            .collect();
        Ok(next_free_slot(&brand.profile.cadence.slots, &brand.profile.timezone, now, &taken))
    }

    /// Schedules the post into its brand's next free queue slot (as [`Services::schedule_post`]
    /// would at that time: an approval stands, time is not content).
    pub async fn schedule_in_next_slot(&self, actor: &Actor, id: PostId, expected_version: i64) -> Result<Post> {
        actor.require(Permission::EditContent)?;
        let post = self.store().post(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound)?;
        let Some(slot) = self.next_queue_slot(actor, post.brand_id, Some(id)).await? else {
            return Err(nanopost_domain::ValidationError::new(
                "slot",
                "the brand has no free queue slot; add weekly slots such as mon 09:00 in the brand's settings",
            )
            .into());
        };
        self.schedule_post(actor, id, expected_version, Some(slot.local)).await
    }
}
