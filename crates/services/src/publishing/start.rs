//! Starting a due post: the approval is checked again, each target is matched to a connected
//! account of the brand, and one publication per target is recorded with its job.

use super::{PublishPostPayload, Publishing, advance_job, mark_failed, recovery_job};
use crate::error::{Result, ServiceError};
use nanopost_domain::ids::PublicationId;
use nanopost_domain::post::{PostState, Target};
use nanopost_domain::publication::{PublicationState, still_on_time};
use nanopost_domain::targets::{AccountFacts, resolve_target};
use nanopost_jobs::{Job, JobError, JobResult};
use nanopost_platforms::publish::PublishProgress;
use nanopost_storage::{AccountStatus, ConnectedAccount, Publication, StorageError};

/// Which connected account a target goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetMatch<'a> {
    Account(&'a ConnectedAccount),
    /// No usable account: the sentence says why (the publication fails with it).
    Unusable(String),
}

/// What the target rule ([`nanopost_domain::targets`]) reads of a connected account.
pub fn account_facts(a: &ConnectedAccount) -> AccountFacts<'_> {
    AccountFacts {
        network: a.network,
        external_id: &a.external_id,
        display_name: &a.display_name,
        reconnect_needed: a.status == AccountStatus::ReconnectNeeded,
    }
}

/// Matches a post's target to the brand's connected accounts by the one rule
/// ([`resolve_target`]): the named account, or the brand's only account on that network.
pub fn match_target<'a>(target: &Target, accounts: &'a [ConnectedAccount]) -> TargetMatch<'a> {
    match resolve_target(target, accounts, account_facts) {
        Ok(a) => TargetMatch::Account(a),
        Err(why) => TargetMatch::Unusable(why.to_string()),
    }
}

/// A permalink a person typed for a publication they found on the network.
pub(crate) fn checked_permalink(url: &str) -> Result<String> {
    let url = url.trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2_000
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(url.to_owned())
    } else {
        Err(nanopost_domain::ValidationError::new("url", "must be the post's https:// address on the network").into())
    }
}

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::retry(e.to_string())
}

impl Publishing {
    pub(super) async fn start(&self, p: PublishPostPayload, job: &Job) -> JobResult {
        let store = self.services.store();
        let Some(mut post) = store.post(p.workspace_id, p.post_id).await.map_err(retry)? else {
            return Ok(vec![]); // Deleted since: nothing to publish.
        };
        if post.state == PostState::Publishing {
            // A crash after the post was started: make sure each pending publication has its job.
            let pending = store.publications_of_post(post.workspace_id, post.id).await.map_err(retry)?;
            let now = self.services.now();
            return Ok(pending.iter().filter(|x| !x.state.is_final()).map(|x| recovery_job(x, now)).collect());
        }
        if post.state != PostState::Scheduled || post.schedule.as_ref().map(|s| s.instant()) != Some(p.due_at) {
            return Ok(vec![]); // Rescheduled, unscheduled, edited or published since: not this job's business.
        }
        let now = self.services.now();
        let publication = match self.services.authorized_publication(post.workspace_id, post.id).await {
            Ok(a) => a,
            Err(ServiceError::Internal(e)) => return Err(JobError::retry(e)),
            Err(e) => return Err(JobError::permanent(format!("not published: {e}"))),
        };
        // The brand's own tolerance, else the installation's.
        let brand = store.brand(post.workspace_id, post.brand_id).await.map_err(retry)?;
        let tolerance = brand
            .and_then(|b| b.profile.cadence.late_tolerance_minutes)
            .map(|m| jiff::SignedDuration::from_mins(i64::from(m)))
            .unwrap_or(self.services.config().publishing.late_tolerance);
        let late = !still_on_time(p.due_at, now, tolerance);
        let accounts = store.connected_accounts(post.workspace_id, Some(post.brand_id)).await.map_err(retry)?;
        let existing = store.publications_of_post(post.workspace_id, post.id).await.map_err(retry)?;
        let mut fresh = Vec::new();
        for target in &publication.content().targets {
            let key = target.account.clone().unwrap_or_default();
            if existing.iter().any(|x| x.network == target.network && x.target == key) {
                continue; // Recorded by an earlier attempt (published ones never go again).
            }
            let mut row = Publication {
                id: PublicationId::new(),
                workspace_id: post.workspace_id,
                post_id: post.id,
                approval_id: publication.approval_id(),
                network: target.network,
                target: key,
                account_id: None,
                account_name: String::new(),
                state: PublicationState::Pending,
                progress: PublishProgress::start().to_json(),
                external_id: None,
                url: None,
                error_class: None,
                error: None,
                version: 1,
                created_at: now,
                updated_at: now,
                finished_at: None,
            };
            match match_target(target, &accounts) {
                TargetMatch::Account(a) => {
                    row.account_id = Some(a.id);
                    row.account_name = a.display_name.clone();
                }
                TargetMatch::Unusable(why) => mark_failed(&mut row, "no_account", why, now),
            }
            if late && !row.state.is_final() {
                let missed = now.duration_since(p.due_at);
                mark_failed(
                    &mut row,
                    "missed",
                    format!(
                        "not published: it was due {} ago, while Nanopost was not running; publish it again if it is still wanted",
                        human_duration(missed)
                    ),
                    now,
                );
            }
            fresh.push(row);
        }
        let mut jobs: Vec<_> =
            existing.iter().chain(&fresh).filter(|x| !x.state.is_final()).map(|x| advance_job(x, now, now)).collect();
        post.start_publishing(now).map_err(|e| JobError::permanent(e.to_string()))?;
        let in_tx = if self.services.queue_is_transactional() { std::mem::take(&mut jobs) } else { vec![] };
        match store.begin_publishing(&post, &fresh, &in_tx).await {
            Ok(_) => {}
            // Someone changed the post in between (unscheduled, edited): their change wins.
            Err(StorageError::Stale) => return Ok(vec![]),
            Err(e) => return Err(retry(e)),
        }
        tracing::info!(post = %post.id, targets = fresh.len(), late, attempt = job.attempts, "publishing started");
        for row in fresh.iter().filter(|r| r.state == PublicationState::Failed) {
            self.announce_failure(row).await;
        }
        self.settle(post.workspace_id, post.id).await.map_err(retry)?;
        // With Redis the jobs follow the commit; the runtime enqueues them with the completion.
        Ok(jobs)
    }
}

fn human_duration(d: jiff::SignedDuration) -> String {
    let mins = d.as_secs() / 60;
    match mins {
        m if m < 120 => format!("{m} minutes"),
        m if m < 48 * 60 => format!("{} hours", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}
