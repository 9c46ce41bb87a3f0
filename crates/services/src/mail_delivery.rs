//! Delivery of the outbox: the body of the `email.deliver` job.
//!
//! Mail is written to the outbox in the transaction of whatever causes it, so none is lost.
//! One `email.deliver` job (a unique key: never two at once) leases due mails, renders each
//! (text and HTML, the unsubscribe header for optional kinds), hands it to the
//! [`MailTransport`] and records the outcome, then schedules itself again for the next due
//! mail or the next poll. The lease on each outbox row means two senders never send the same
//! mail; only a sender that dies between the server's acceptance and its own record causes a
//! second delivery (with the same Message-ID), after the lease ran out.
//!
//! Outcomes: accepted → sent; a permanent refusal (5xx) → failed with the server's answer;
//! anything transient (4xx, connection refused, timeout) → retried with exponential backoff
//! until the attempts run out → failed. An optional kind the recipient turned off meanwhile →
//! skipped. Mail older than `max_age` when its turn comes → failed (a week-old sign-in link
//! helps nobody).

use crate::Services;
use crate::error::Result;
use crate::mail_templates::{self, FooterLinks, MailKind};
use jiff::{SignedDuration, Timestamp};
use nanopost_jobs::RetryPolicy;
use nanopost_mail::{MailTransport, OutgoingMail};
use nanopost_storage::{ClaimedMail, MailClaim, MailOutcome, NewJob, OutboxEmail};
use std::sync::Arc;
use std::time::Duration;

/// The job kind that delivers the outbox.
pub const DELIVER_JOB: &str = "email.deliver";
/// At most one delivery job exists at a time.
pub const DELIVER_JOB_KEY: &str = "email.deliver";

/// Who sends, and through what.
#[derive(Clone, Debug)]
pub struct Mailer {
    pub transport: Arc<dyn MailTransport>,
    /// `Name <address>` or `address`.
    pub from: String,
    pub reply_to: Option<String>,
}

impl Mailer {
    /// The domain Message-IDs are made in: the sender's.
    fn domain(&self) -> &str {
        self.from.rsplit_once('@').map_or("nanopost.invalid", |(_, d)| d.trim_end_matches('>').trim())
    }
}

/// E-mail delivery as configured: the sender and the retry rules.
#[derive(Clone, Debug)]
pub struct EmailDelivery {
    pub mailer: Mailer,
    pub policy: DeliveryPolicy,
}

/// How delivery retries and how much it takes on at once.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryPolicy {
    /// Mails leased per job run.
    pub batch: u32,
    /// How long a lease lasts: longer than a batch takes (each mail is bounded by the
    /// transport's timeout), or another sender could take a mail still being sent.
    pub lease: SignedDuration,
    /// Attempts before a transiently failing mail is given up.
    pub max_attempts: u32,
    /// The delay after the first transient failure, doubling up to the retry policy's max.
    pub retry: RetryPolicy,
    /// Mail not sent within this after it was written fails instead.
    pub max_age: SignedDuration,
    /// With nothing due, the job looks again after this.
    pub poll: SignedDuration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            batch: 10,
            lease: SignedDuration::from_mins(10),
            max_attempts: 8,
            retry: RetryPolicy {
                base: Duration::from_secs(60),
                factor: 2.0,
                max: Duration::from_secs(2 * 3600),
                jitter: 0.2,
            },
            max_age: SignedDuration::from_hours(72),
            poll: SignedDuration::from_secs(5),
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: u32,
    pub retried: u32,
    pub failed: u32,
    pub skipped: u32,
    /// Outcomes not recorded because the lease had run out (another sender has the mail).
    pub lost: u32,
    /// When mail is next due (a lower bound), if any is pending.
    pub next_due: Option<Timestamp>,
    /// The batch was full: more may be due right away.
    pub more: bool,
}

impl Services {
    /// One run of the delivery job: leases up to a batch of due mails and sends them.
    pub async fn deliver_due_mail(&self, mailer: &Mailer, policy: &DeliveryPolicy) -> Result<DeliveryReport> {
        let now = self.now();
        let claim = MailClaim { now, until: now + policy.lease, limit: policy.batch.max(1) };
        let claimed = self.store().claim_mail(&claim).await?;
        let mut report = DeliveryReport { more: claimed.len() as u32 >= claim.limit, ..Default::default() };
        for c in claimed {
            let outcome = self.attempt(mailer, policy, &c).await?;
            match &outcome {
                MailOutcome::Sent => report.sent += 1,
                MailOutcome::Retry { .. } => report.retried += 1,
                MailOutcome::Failed { .. } => report.failed += 1,
                MailOutcome::Skipped { .. } => report.skipped += 1,
            }
            log_outcome(&c, &outcome);
            if !self.store().record_mail_outcome(c.mail.id, c.claim, &outcome, self.now()).await? {
                report.lost += 1;
                tracing::warn!(mail = %c.mail.id, "the mail's lease ran out before its outcome was recorded");
            }
        }
        report.next_due = self.store().next_mail_due().await?;
        Ok(report)
    }

    /// The `email.deliver` job: one run with the configured sender, and the job that runs
    /// next. `None` when delivery is off (the chain stops; mail waits in the outbox).
    pub async fn run_mail_delivery(&self) -> Result<Option<NewJob>> {
        let Some(d) = self.config().email.as_ref() else { return Ok(None) };
        let report = self.deliver_due_mail(&d.mailer, &d.policy).await?;
        Ok(Some(self.next_delivery_job(&report, &d.policy)))
    }

    /// The job that runs delivery next: right away if the batch was full, else when mail is
    /// due, and no later than the poll interval (new mail does not wake the job).
    pub fn next_delivery_job(&self, report: &DeliveryReport, policy: &DeliveryPolicy) -> NewJob {
        let now = self.now();
        let poll = now + policy.poll;
        let due = if report.more { now } else { report.next_due.map_or(poll, |d| d.clamp(now, poll)) };
        delivery_job(now).due_at(due)
    }

    async fn attempt(&self, mailer: &Mailer, policy: &DeliveryPolicy, c: &ClaimedMail) -> Result<MailOutcome> {
        let now = self.now();
        if now.duration_since(c.mail.created_at) > policy.max_age {
            return Ok(MailOutcome::Failed {
                error: format!("not sent within {} hours of being written; too old to send", policy.max_age.as_hours()),
            });
        }
        let outgoing = match self.compose(mailer, &c.mail).await? {
            Ok(m) => m,
            Err(reason) => return Ok(MailOutcome::Skipped { reason }),
        };
        Ok(match mailer.transport.send(&outgoing).await {
            Ok(()) => MailOutcome::Sent,
            Err(e) if e.is_permanent() => MailOutcome::Failed { error: e.message },
            Err(e) if c.attempt >= policy.max_attempts => {
                MailOutcome::Failed { error: format!("gave up after {} attempts: {}", c.attempt, e.message) }
            }
            Err(e) => {
                let delay = policy.retry.backoff(c.attempt, nanopost_jobs::retry::random_unit());
                let delay = SignedDuration::try_from(delay).unwrap_or(SignedDuration::from_hours(1));
                MailOutcome::Retry { at: now + delay, error: e.message }
            }
        })
    }

    /// The message as sent; `Err(reason)` when it should not be sent at all.
    async fn compose(&self, mailer: &Mailer, mail: &OutboxEmail) -> Result<Result<OutgoingMail, String>> {
        let kind = MailKind::parse(&mail.kind);
        let mut footer = None;
        if let Some(kind) = kind.filter(|k| !k.is_essential()) {
            // Optional mail goes to accounts only, and only while they want it.
            let Some(user) = self.store().user_by_email(&mail.to).await? else {
                return Ok(Err("no account uses this address any more".into()));
            };
            if !self.wants_email(&user, kind).await? {
                return Ok(Err(format!("the recipient turned off \u{201c}{}\u{201d} e-mail", kind.label())));
            }
            footer = Some(FooterLinks {
                unsubscribe: self.unsubscribe_link_for(user.id, kind),
                settings: format!("{}/notifications/settings", self.public_url()),
            });
        }
        let r = mail_templates::render(kind, &mail.subject, &mail.body, footer.as_ref());
        Ok(Ok(OutgoingMail {
            from: mailer.from.clone(),
            reply_to: mailer.reply_to.clone(),
            to: mail.to.as_str().to_owned(),
            subject: r.subject,
            text: r.text,
            html: Some(r.html),
            list_unsubscribe: footer.map(|f| f.unsubscribe),
            message_id: Some(format!("<{}@{}>", mail.id, mailer.domain())),
        }))
    }
}

/// The delivery job, due at `now` (system lane, unique: never two at once).
pub fn delivery_job(now: Timestamp) -> NewJob {
    NewJob::new(DELIVER_JOB, serde_json::json!({}), now)
        .unique_key(DELIVER_JOB_KEY)
        .max_attempts(nanopost_storage::MAX_ATTEMPTS_LIMIT)
}

fn log_outcome(c: &ClaimedMail, outcome: &MailOutcome) {
    let (mail, kind, attempt) = (c.mail.id, c.mail.kind.as_str(), c.attempt);
    match outcome {
        MailOutcome::Sent => tracing::info!(%mail, kind, attempt, "mail sent"),
        MailOutcome::Retry { at, error } => {
            tracing::warn!(%mail, kind, attempt, retry_at = %at, error = %error, "mail not sent; will retry")
        }
        MailOutcome::Failed { error } => tracing::warn!(%mail, kind, attempt, error = %error, "mail failed for good"),
        MailOutcome::Skipped { reason } => tracing::info!(%mail, kind, reason = %reason, "mail skipped"),
    }
}
