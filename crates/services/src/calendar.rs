//! The calendar and the brand's queue: each day's posts counted by the database with the first
//! few of them (so a month of ten thousand posts stays fast), the details and publications of
//! the ones a page shows, and scheduling a post into the brand's next free queue slot.

use crate::Services;
use crate::actor::Actor;
use crate::error::{Result, ServiceError};
use crate::posts::post_error;
use crate::publishing::publish_job;
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::brand::Brand;
use nanopost_domain::ids::{BrandId, PostId};
use nanopost_domain::post::{Post, PostState, Schedule};
use nanopost_domain::role::Permission;
use nanopost_domain::slots::{SEARCH_WEEKS, next_free_slot};
use nanopost_storage::{CalendarDetail, CalendarEntry, DayPosts, DayWindow, Publication};

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
        let entries = self
            .store()
            .calendar_entries(actor.workspace_id, Some(brand.id), now, slot_horizon(now), SLOT_SEARCH_MAX_ENTRIES)
            .await?;
        Ok(free_slot(&brand, now, &entries, excluding))
    }

    /// Schedules the post into its brand's next free queue slot (as [`Services::schedule_post`]
    /// would at that time: an approval stands, time is not content). The slot is chosen and
    /// taken in one write that holds the brand, so two people placing posts at the same moment
    /// get two different slots.
    pub async fn schedule_in_next_slot(&self, actor: &Actor, id: PostId, expected_version: i64) -> Result<Post> {
        actor.require(Permission::EditContent)?;
        let ws = actor.workspace_id;
        let post = self.store().post(ws, id).await?.ok_or(ServiceError::NotFound)?;
        if post.version != expected_version {
            return Err(ServiceError::Conflict(
                "someone changed this post in the meantime; reload and try again".into(),
            ));
        }
        let brand = self.store().brand(ws, post.brand_id).await?.ok_or(ServiceError::NotFound)?;
        let now = self.now();
        // Whatever the slot, the post must accept a time (not locked): refused here with the
        // rule's reason, so `place` below cannot fail for it.
        post.clone().set_schedule(None, now).map_err(post_error)?;
        let in_tx = self.queue_is_transactional();
        let place = |entries: &[CalendarEntry]| {
            let slot = free_slot(&brand, now, entries, Some(id))?;
            let mut placed = post.clone();
            placed.set_schedule(Some(slot), now).ok()?;
            let job = if in_tx { publish_job(&placed, now) } else { None };
            Some((placed, job))
        };
        let saved = self
            .store()
            .place_post_in_slot(ws, brand.id, now, slot_horizon(now), SLOT_SEARCH_MAX_ENTRIES, &place)
            .await?
            .ok_or_else(|| {
                nanopost_domain::ValidationError::new(
                    "slot",
                    "the brand has no free queue slot; add weekly slots such as mon 09:00 in the brand's settings",
                )
            })?;
        if !in_tx && let Some(job) = publish_job(&saved, now) {
            self.enqueue(&[job]).await?;
        }
        Ok(saved)
    }
}

/// How far the slot search reads the brand's posts.
fn slot_horizon(now: Timestamp) -> Timestamp {
    now + SignedDuration::from_hours(24 * 7 * (SEARCH_WEEKS + 1))
}

/// The brand's first queue slot after `now` that no post among `entries` holds (`excluding`
/// the post being placed). Rejected posts hold no slot (archived ones are not in `entries`).
fn free_slot(brand: &Brand, now: Timestamp, entries: &[CalendarEntry], excluding: Option<PostId>) -> Option<Schedule> {
    let taken: Vec<Timestamp> = entries
        .iter()
        .filter(|e| e.state != PostState::Rejected)
        .filter(|e| Some(e.post_id) != excluding)
        .map(|e| e.at)
        .collect();
    next_free_slot(&brand.profile.cadence.slots, &brand.profile.timezone, now, &taken)
}
