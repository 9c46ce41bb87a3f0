//! Advancing one publication: the adapter's steps, each saved before the next network call,
//! and the end of it (published, failed, unconfirmed) told to the post and the workspace.

use super::{AdvancePayload, Publishing, advance_job, mark_failed};
use crate::error::{Result, ServiceError};
use crate::notify::Notice;
use crate::{AuditAction, AuditEvent};
use nanopost_domain::approval::ApprovedPublication;
use nanopost_domain::ids::{PostId, WorkspaceId};
use nanopost_domain::post::PostState;
use nanopost_domain::publication::{PublicationState, post_outcome};
use nanopost_jobs::{Job, JobError, JobResult};
use nanopost_platforms::publish::{MediaItem, Next, PublishProgress, Stage};
use nanopost_platforms::vault::VaultError;
use nanopost_platforms::{ErrorClass, rules};
use nanopost_storage::{Publication, StorageError};

/// Steps one job takes before handing over to a fresh job (keeps each job short).
const STEPS_PER_JOB: usize = 12;
/// How soon a publication waiting for a slot of its account looks again.
const SLOT_WAIT: jiff::SignedDuration = jiff::SignedDuration::from_secs(2);

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::retry(e.to_string())
}

/// One of the publishing slots of a connected account, held by one job.
struct Slot {
    account: nanopost_storage::ConnectedAccountId,
    network: nanopost_domain::network::Network,
    holder: uuid::Uuid,
    lease: jiff::SignedDuration,
}

/// How a step's failure ends.
enum Failure {
    /// Try the step again later (the runtime's backoff, or not before the instant).
    /// `refused`: the network answered with a refusal (the call created nothing).
    Again { error: JobError, refused: bool },
    /// Give the publication up with this class and sentence. `refused`: the network answered
    /// with a refusal, so the call created nothing (as opposed to an answer that never came).
    GiveUp { class: String, why: String, reconnect: bool, refused: bool },
}

impl Publishing {
    /// Advances the publication while holding one of its account's publishing slots; when all
    /// are taken (other workers publish to that account), tries again shortly in a fresh job
    /// (waiting for a slot is not a failed attempt).
    pub(super) async fn advance(&self, a: AdvancePayload, job: &Job) -> JobResult {
        let store = self.services.store();
        let Some(row) = store.publication(a.workspace_id, a.publication_id).await.map_err(retry)? else {
            return Ok(vec![]);
        };
        let (Some(account), false) = (row.account_id, row.state.is_final()) else {
            return self.advance_in_slot(a, job, None).await;
        };
        let now = self.services.now();
        if let Some((until, why)) = store.publishing_pause(account, now).await.map_err(retry)? {
            // The network told this account to wait (heard by whichever worker called last):
            // every publication to it waits too, without calling. Waiting is not an attempt.
            tracing::info!(publication = %row.id, account = %account, until = %until, reason = %why, "account paused by the network; waiting");
            let recovering = a.recovering || job.attempts > 1;
            return Ok(vec![super::advance_job_with(&row, until, now, recovering)]);
        }
        let slot =
            Slot { account, network: row.network, holder: job.id.as_uuid(), lease: self.slot_lease(row.network) };
        if !self.hold(&slot).await.map_err(retry)? {
            let later = now.checked_add(SLOT_WAIT).unwrap_or(now);
            let recovering = a.recovering || job.attempts > 1;
            return Ok(vec![super::advance_job_with(&row, later, now, recovering)]);
        }
        let result = self.advance_in_slot(a, job, Some(&slot)).await;
        if let Err(e) = store.release_publishing_slot(account, slot.holder).await {
            tracing::warn!(error = %e, account = %account, "could not free a publishing slot; it expires by itself");
        }
        result
    }

    /// A slot lives a little longer than two calls to the network: long enough for one step,
    /// short enough that a slot a dead worker held frees itself soon.
    fn slot_lease(&self, network: nanopost_domain::network::Network) -> jiff::SignedDuration {
        let settle = self.vault.networks().call_settle_time(network);
        jiff::SignedDuration::try_from(settle * 2).unwrap_or(jiff::SignedDuration::from_mins(2))
    }

    /// Takes (or renews) the slot; false if every slot of the account is taken.
    async fn hold(&self, slot: &Slot) -> Result<bool> {
        let now = self.services.now();
        let cap = self.services.config().publishing.max_concurrent.for_network(slot.network);
        let until = now.checked_add(slot.lease).unwrap_or(now);
        Ok(self.services.store().take_publishing_slot(slot.account, slot.holder, cap, until, now).await?)
    }

    async fn advance_in_slot(&self, a: AdvancePayload, job: &Job, slot: Option<&Slot>) -> JobResult {
        let store = self.services.store();
        let Some(mut row) = store.publication(a.workspace_id, a.publication_id).await.map_err(retry)? else {
            return Ok(vec![]);
        };
        if row.state.is_final() {
            return Ok(vec![]);
        }
        let Some(account) = row.account_id else {
            self.give_up(row, "the account was disconnected before the post went out", "no_account")
                .await
                .map_err(retry)?;
            return Ok(vec![]);
        };
        // The approval is checked again before every step (invariant I1).
        let publication = match self.services.authorized_publication(row.workspace_id, row.post_id).await {
            Ok(p) if p.approval_id() == row.approval_id => p,
            Ok(_) => {
                self.give_up(row, "the post was approved again since; publish it again", "approval_changed")
                    .await
                    .map_err(retry)?;
                return Ok(vec![]);
            }
            Err(ServiceError::Internal(e)) => return Err(JobError::retry(e)),
            Err(e) => {
                self.give_up(row, &format!("not published: {e}"), "not_approved").await.map_err(retry)?;
                return Ok(vec![]);
            }
        };
        let mut progress = PublishProgress::from_json(&row.progress)
            .map_err(|e| JobError::permanent(format!("stored progress is unreadable: {e}")))?;
        if job.attempts > 1 || a.recovering {
            // An earlier attempt ended without a clean hand-over (a failure, a crash, a lost
            // job): if it had recorded the creating call as in flight, the call may have gone.
            progress = progress.resumed();
        }
        if progress.maybe_sent
            && let Some(since) = progress.in_flight_since
        {
            // The earlier attempt's call may still be on its way (its worker lost the job but
            // not the connection): look for the post only once that call has certainly ended.
            let settle = self.vault.networks().call_settle_time(row.network);
            let settled = since.checked_add(settle).unwrap_or(since);
            if self.services.now() < settled {
                let why = format!("waiting until {settled} for an earlier call to {} to settle", row.network.label());
                return Err(JobError::retry_at(why, settled));
            }
        }
        let media = match self.media_for(&publication, &row).await {
            Ok(m) => m,
            Err(ServiceError::Internal(e)) => return Err(JobError::retry(e)),
            Err(e) => {
                self.give_up(row, &e.to_string(), "media").await.map_err(retry)?;
                return Ok(vec![]);
            }
        };
        if progress.stage == Stage::Start
            && let Some(why) = broken_rules(&publication, &row, &media)
        {
            self.give_up(row, &why, "content_rejected").await.map_err(retry)?;
            return Ok(vec![]);
        }
        for taken in 0.. {
            if taken >= STEPS_PER_JOB && progress.stage != Stage::PublishInFlight {
                // Hand over to a fresh job (never between "in flight" and the call itself).
                let now = self.services.now();
                return Ok(vec![advance_job(&row, now, now)]);
            }
            if let Some(slot) = slot
                && taken > 0
                && !self.hold(slot).await.map_err(retry)?
            {
                // Our slot expired and was taken (a very slow step): hand over, keep our place.
                let now = self.services.now();
                let recovering = a.recovering || job.attempts > 1 || progress.maybe_sent;
                return Ok(vec![super::advance_job_with(&row, now, now, recovering)]);
            }
            let now = self.services.now();
            let step = self.vault.advance(row.workspace_id, account, &publication, &media, &progress, now).await;
            let step = match step {
                Ok(step) => step,
                Err(e) => {
                    return match failure(&e, job) {
                        Failure::Again { error, refused } => {
                            if let VaultError::Platform(pe) = &e
                                && let ErrorClass::BackOffUntil(until) = pe.class
                            {
                                // A quota or rate limit of the account: the other workers'
                                // publications to it hold back until then as well.
                                let why = format!("{} said: {} ({})", pe.network.label(), pe.message, pe.code);
                                if let Err(e) = self.services.store().pause_publishing(account, until, &why).await {
                                    tracing::warn!(error = %e, account = %account, "could not record the network's pause");
                                }
                            }
                            let restart = matches!(&e, VaultError::Platform(pe) if pe.restart);
                            let next = if restart && progress.stage != Stage::PublishInFlight {
                                // The network dropped the container: start over from nothing.
                                Some(PublishProgress::start())
                            } else if refused && progress.stage == Stage::PublishInFlight {
                                Some(progress.clone().refused())
                            } else {
                                None
                            };
                            if let Some(next) = next.filter(|n| *n != progress) {
                                row.progress = next.to_json();
                                row.updated_at = now;
                                self.save(row).await?;
                            }
                            Err(error)
                        }
                        Failure::GiveUp { class, why, reconnect, refused } => {
                            if reconnect && let Some(id) = row.account_id {
                                let n =
                                    Notice::ReconnectNeeded { account: id, network: row.network, reason: why.clone() };
                                self.notify(row.workspace_id, n).await;
                            }
                            // A creating call that got no clear refusal may have reached the
                            // network: that is never "failed", a person checks.
                            if progress.stage == Stage::PublishInFlight && (!refused || progress.maybe_sent) {
                                self.unconfirmed(row, &why).await.map_err(retry)?;
                            } else {
                                self.give_up(row, &why, &class).await.map_err(retry)?;
                            }
                            Ok(vec![])
                        }
                    };
                }
            };
            row.progress = step.progress.to_json();
            row.updated_at = now;
            match step.next {
                Next::Continue => {
                    let Some(saved) = self.save(row).await? else { return Ok(vec![]) };
                    row = saved;
                    progress = step.progress;
                }
                Next::PollAfter(wait) => {
                    let Some(saved) = self.save(row).await? else { return Ok(vec![]) };
                    let at = now.checked_add(wait).unwrap_or(now);
                    return Ok(vec![advance_job(&saved, at, now)]);
                }
                Next::Done(published) => {
                    row.state = PublicationState::Published;
                    row.external_id = Some(published.external_id);
                    row.url = published.url;
                    row.error = None;
                    row.error_class = None;
                    row.finished_at = Some(now);
                    let Some(saved) = self.save(row).await? else { return Ok(vec![]) };
                    tracing::info!(publication = %saved.id, post = %saved.post_id, network = %saved.network, "published");
                    let event = AuditEvent::in_workspace(saved.workspace_id, AuditAction::PublicationPublished)
                        .target("publication", saved.id);
                    self.services.audit(event).await;
                    self.settle(saved.workspace_id, saved.post_id).await.map_err(retry)?;
                    return Ok(vec![]);
                }
                Next::Unconfirmed(why) => {
                    self.unconfirmed(row, &why).await.map_err(retry)?;
                    return Ok(vec![]);
                }
            }
        }
        unreachable!("the step loop only ends by returning")
    }

    /// The approved media of the publication's network, checked against the approved digests.
    async fn media_for(&self, publication: &ApprovedPublication, row: &Publication) -> Result<Vec<MediaItem>> {
        let Some(variant) = publication.content().variants.iter().find(|v| v.network == row.network) else {
            return Err(ServiceError::Conflict(format!("the approved post has no {} version", row.network.label())));
        };
        if variant.media.is_empty() {
            return Ok(vec![]);
        }
        // Exactly the approved bytes (digests re-checked), at unguessable expiring URLs.
        self.services.publication_items(row.workspace_id, &variant.media).await
    }

    /// Saves a step; `None` if another worker advanced the publication meanwhile (it owns it).
    async fn save(&self, row: Publication) -> std::result::Result<Option<Publication>, JobError> {
        match self.services.store().update_publication(&row).await {
            Ok(saved) => Ok(Some(saved)),
            Err(StorageError::Stale) => {
                tracing::warn!(publication = %row.id, "another worker advanced this publication; leaving it to them");
                Ok(None)
            }
            Err(e) => Err(retry(e)),
        }
    }

    /// Ends a publication as failed, tells the workspace, and settles the post if it was last.
    pub(super) async fn give_up(&self, mut row: Publication, why: &str, class: &str) -> Result<()> {
        let now = self.services.now();
        mark_failed(&mut row, class, why, now);
        let saved = match self.services.store().update_publication(&row).await {
            Ok(saved) => saved,
            Err(StorageError::Stale) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        tracing::warn!(publication = %saved.id, post = %saved.post_id, class, reason = why, "publication failed");
        self.announce_failure(&saved).await;
        self.settle(saved.workspace_id, saved.post_id).await?;
        Ok(())
    }

    async fn unconfirmed(&self, mut row: Publication, why: &str) -> Result<()> {
        let now = self.services.now();
        row.state = PublicationState::Unconfirmed;
        row.error_class = Some("unconfirmed".into());
        row.error = Some(why.to_owned());
        row.updated_at = now;
        row.finished_at = Some(now);
        let saved = match self.services.store().update_publication(&row).await {
            Ok(saved) => saved,
            Err(StorageError::Stale) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        tracing::warn!(publication = %saved.id, post = %saved.post_id, reason = why, "publication unconfirmed");
        self.announce_failure(&saved).await;
        self.settle(saved.workspace_id, saved.post_id).await?;
        Ok(())
    }

    /// Tells the workspace (audit log and notifications) that a publication did not go out.
    pub(super) async fn announce_failure(&self, row: &Publication) {
        let reason = row.error.clone().unwrap_or_default();
        let (action, notice) = match row.state {
            PublicationState::Unconfirmed => (
                AuditAction::PublicationUnconfirmed,
                Notice::PublishUnconfirmed { post: row.post_id, network: row.network, reason },
            ),
            _ => (
                AuditAction::PublicationFailed,
                Notice::PublishFailed { post: row.post_id, network: row.network, reason },
            ),
        };
        self.services.audit(AuditEvent::in_workspace(row.workspace_id, action).target("publication", row.id)).await;
        self.notify(row.workspace_id, notice).await;
    }

    async fn notify(&self, ws: WorkspaceId, notice: Notice) {
        if let Err(e) = self.services.notify(ws, notice).await {
            tracing::error!(error = %e, workspace = %ws, "could not notify the workspace");
        }
    }

    /// When every publication of the post is final, the post becomes published, failed or
    /// unconfirmed. True if it settled now. Safe to call from every finishing worker: the last
    /// one to commit sees every publication final.
    pub(super) async fn settle(&self, ws: WorkspaceId, post_id: PostId) -> Result<bool> {
        let store = self.services.store();
        for _ in 0..3 {
            let Some(mut post) = store.post(ws, post_id).await? else { return Ok(false) };
            if post.state != PostState::Publishing {
                return Ok(false);
            }
            let states = store.publications_of_post(ws, post_id).await?.into_iter().map(|p| p.state);
            let Some(outcome) = post_outcome(states) else { return Ok(false) };
            post.settle_publishing(outcome, self.services.now()).map_err(crate::posts::post_error)?;
            match store.save_post(&post).await {
                Ok(saved) => {
                    tracing::info!(post = %post_id, state = %saved.state, "publishing settled");
                    return Ok(true);
                }
                Err(StorageError::Stale) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(false)
    }
}

/// The network's rules, checked again right before publishing.
fn broken_rules(publication: &ApprovedPublication, row: &Publication, media: &[MediaItem]) -> Option<String> {
    let variant = publication.content().variants.iter().find(|v| v.network == row.network)?;
    let facts: Vec<_> = media.iter().map(|m| m.facts).collect();
    let issues = rules::check(row.network, &variant.caption, &facts);
    if issues.is_empty() {
        return None;
    }
    let list: Vec<String> = issues.iter().map(|i| format!("{}: {}", i.field, i.message)).collect();
    Some(format!("{} would refuse this post: {}", row.network.label(), list.join("; ")))
}

fn failure(e: &VaultError, job: &Job) -> Failure {
    let last_attempt = job.attempts >= job.max_attempts;
    let give_up = |class: &str, why: String, refused: bool| Failure::GiveUp {
        class: class.to_owned(),
        why,
        reconnect: false,
        refused,
    };
    match e {
        VaultError::Platform(pe) => {
            let why = format!("{} said: {} ({})", pe.network.label(), pe.message, pe.code);
            match pe.class {
                ErrorClass::ReconnectNeeded => Failure::GiveUp {
                    class: pe.class.as_str().into(),
                    why: format!("{why}; connect the account again"),
                    reconnect: true,
                    refused: true,
                },
                ErrorClass::ContentRejected => give_up(pe.class.as_str(), why, true),
                _ if last_attempt => {
                    let refused = matches!(pe.class, ErrorClass::BackOffUntil(_));
                    give_up(pe.class.as_str(), format!("{why}; gave up after {} attempts", job.attempts), refused)
                }
                ErrorClass::BackOffUntil(at) => Failure::Again { error: JobError::retry_at(why, at), refused: true },
                ErrorClass::RetryLater | ErrorClass::Unknown => {
                    Failure::Again { error: JobError::retry(why), refused: false }
                }
            }
        }
        VaultError::NotConfigured(n) => {
            give_up("not_configured", format!("{} is not set up on this installation", n.label()), true)
        }
        VaultError::Custody(c) => Failure::GiveUp {
            class: "reconnect_needed".into(),
            why: format!("the account's tokens cannot be read ({c}); connect it again"),
            reconnect: true,
            refused: true,
        },
        VaultError::Storage(StorageError::NotFound) => {
            give_up("no_account", "the account was disconnected before the post went out".into(), true)
        }
        other if last_attempt => give_up("unknown", format!("{other}; gave up after {} attempts", job.attempts), false),
        other => Failure::Again { error: JobError::retry(other.to_string()), refused: false },
    }
}
