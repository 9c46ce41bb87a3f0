//! The register of data-subject requests (access, rectification, deletion, portability,
//! objection, restriction) and the installation's operators, who keep it: on the command line
//! (whoever runs it holds the database) or on the operator page (signed in as an operator).

use super::RIGHTS_REQUEST_PERIOD;
use crate::Services;
use crate::audit::{AuditAction, AuditEvent};
use crate::error::{Result, ServiceError};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::account::Email;
use nanopost_domain::ids::UserId;
use nanopost_storage::{Operator, RequestStatus, RightKind, RightsRequest, User};
use uuid::Uuid;

/// An open request due within this is "due soon" on the operator page.
pub const DUE_SOON: SignedDuration = SignedDuration::from_hours(24 * 7);

/// Who keeps the register for a change: the command line, or an operator signed in on the web.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keeper {
    CommandLine,
    Operator(UserId),
}

/// How pressing an open request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    Overdue,
    DueSoon,
    Later,
}

/// The urgency of `r` at `now`; closed requests are never urgent.
pub fn urgency(r: &RightsRequest, now: Timestamp) -> Urgency {
    if !r.status.is_open() || r.due_at > now + DUE_SOON {
        Urgency::Later
    } else if r.due_at <= now {
        Urgency::Overdue
    } else {
        Urgency::DueSoon
    }
}

impl Services {
    // -----------------------------------------------------------------------------------------
    // Operators.

    /// Whether the person operates this installation.
    pub async fn is_operator(&self, user: &User) -> Result<bool> {
        Ok(self.store().is_operator(user.id).await?)
    }

    /// Operators only; for anybody else the operator pages do not exist (`NotFound`).
    pub async fn require_operator(&self, user: &User) -> Result<()> {
        if self.is_operator(user).await? { Ok(()) } else { Err(ServiceError::NotFound) }
    }

    /// Makes the account with this address an operator (command line). `false`: it already was.
    pub async fn grant_operator(&self, email: &str) -> Result<bool> {
        let user = self.operator_candidate(email).await?;
        let entry =
            self.audit_entry(AuditEvent::about(Some(user.id), AuditAction::OperatorGranted).target("user", user.id));
        Ok(self.store().grant_operator(user.id, self.now(), &entry).await?)
    }

    /// Takes the operator right from the account with this address, at once. `false`: it had none.
    pub async fn revoke_operator(&self, email: &str) -> Result<bool> {
        let user = self.operator_candidate(email).await?;
        let entry =
            self.audit_entry(AuditEvent::about(Some(user.id), AuditAction::OperatorRevoked).target("user", user.id));
        Ok(self.store().revoke_operator(user.id, &entry).await?)
    }

    pub async fn operators(&self) -> Result<Vec<Operator>> {
        Ok(self.store().operators().await?)
    }

    async fn operator_candidate(&self, email: &str) -> Result<User> {
        let email = Email::parse(email)?;
        let user = self.store().user_by_email(&email).await?;
        user.ok_or_else(|| ServiceError::Conflict(format!("there is no account with the address {}", email.as_str())))
    }

    /// Checks that `by` may keep the register; operators only on the web.
    async fn check_keeper(&self, by: Keeper) -> Result<Option<UserId>> {
        match by {
            Keeper::CommandLine => Ok(None),
            Keeper::Operator(id) => {
                if self.store().is_operator(id).await? {
                    Ok(Some(id))
                } else {
                    Err(ServiceError::NotFound)
                }
            }
        }
    }

    async fn audit_register(&self, by: Option<UserId>, action: AuditAction, r: &RightsRequest) {
        let event = AuditEvent { actor_id: by, ..AuditEvent::about(None, action) };
        self.audit(
            event.target("rights_request", format!("{} kind={} status={}", r.id, r.kind.as_str(), r.status.as_str())),
        )
        .await;
    }

    // -----------------------------------------------------------------------------------------
    // Rights requests.

    /// Records a request received (by e-mail, letter, …); due in 30 days.
    pub async fn record_rights_request(&self, by: Keeper, kind: RightKind, email: &str) -> Result<RightsRequest> {
        let keeper = self.check_keeper(by).await?;
        let email = Email::parse(email)?;
        let now = self.now();
        let user = self.store().user_by_email(&email).await?.map(|u| u.id);
        let r = RightsRequest {
            id: Uuid::now_v7(),
            kind,
            subject_email: email,
            user_id: user,
            received_at: now,
            due_at: now + RIGHTS_REQUEST_PERIOD,
            verified_at: None,
            verification: None,
            status: RequestStatus::Received,
            outcome: None,
            closed_at: None,
        };
        self.store().insert_rights_request(&r).await?;
        self.audit_register(keeper, AuditAction::RightsRequestRecorded, &r).await;
        Ok(r)
    }

    /// Notes how the requester's identity was checked.
    pub async fn verify_rights_request(&self, by: Keeper, id: Uuid, how: &str) -> Result<RightsRequest> {
        let keeper = self.check_keeper(by).await?;
        let how = nanopost_domain::account::bounded_text("verification", how, 3, 500)?;
        let mut r = self.store().rights_request(id).await?.ok_or(ServiceError::NotFound)?;
        if !r.status.is_open() {
            return Err(ServiceError::Conflict("the request is already closed".into()));
        }
        r.verified_at = Some(self.now());
        r.verification = Some(how);
        r.status = RequestStatus::Verified;
        self.store().update_rights_request(&r).await?;
        self.audit_register(keeper, AuditAction::RightsRequestVerified, &r).await;
        Ok(r)
    }

    /// Closes a request with its outcome. Completing needs a verified identity first.
    pub async fn close_rights_request(
        &self,
        by: Keeper,
        id: Uuid,
        completed: bool,
        outcome: &str,
    ) -> Result<RightsRequest> {
        let keeper = self.check_keeper(by).await?;
        let outcome = nanopost_domain::account::bounded_text("outcome", outcome, 3, 2000)?;
        let mut r = self.store().rights_request(id).await?.ok_or(ServiceError::NotFound)?;
        if !r.status.is_open() {
            return Err(ServiceError::Conflict("the request is already closed".into()));
        }
        if completed && r.verified_at.is_none() {
            return Err(ServiceError::Conflict("verify the requester's identity before completing the request".into()));
        }
        r.status = if completed { RequestStatus::Completed } else { RequestStatus::Refused };
        r.outcome = Some(outcome);
        r.closed_at = Some(self.now());
        self.store().update_rights_request(&r).await?;
        self.audit_register(keeper, AuditAction::RightsRequestClosed, &r).await;
        Ok(r)
    }

    /// Open requests due within `within` from now (overdue ones included), soonest first.
    pub async fn rights_requests_due(&self, within: SignedDuration) -> Result<Vec<RightsRequest>> {
        Ok(self.store().open_rights_requests(Some(self.now() + within)).await?)
    }

    /// Every open request, soonest due first, for the operator page. Operators only.
    pub async fn open_rights_requests(&self, user: &User) -> Result<Vec<RightsRequest>> {
        self.require_operator(user).await?;
        Ok(self.store().open_rights_requests(None).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(due_in_hours: i64, status: RequestStatus, now: Timestamp) -> RightsRequest {
        RightsRequest {
            id: Uuid::nil(),
            kind: RightKind::Access,
            subject_email: Email::parse("a@example.com").unwrap(),
            user_id: None,
            received_at: now,
            due_at: now + SignedDuration::from_hours(due_in_hours),
            verified_at: None,
            verification: None,
            status,
            outcome: None,
            closed_at: None,
        }
    }

    #[test]
    fn urgency_is_overdue_due_soon_or_later() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        assert_eq!(urgency(&request(-1, RequestStatus::Received, now), now), Urgency::Overdue);
        assert_eq!(urgency(&request(0, RequestStatus::Verified, now), now), Urgency::Overdue);
        assert_eq!(urgency(&request(24, RequestStatus::Received, now), now), Urgency::DueSoon);
        assert_eq!(urgency(&request(24 * 7, RequestStatus::Received, now), now), Urgency::DueSoon);
        assert_eq!(urgency(&request(24 * 8, RequestStatus::Received, now), now), Urgency::Later);
        assert_eq!(urgency(&request(-5, RequestStatus::Completed, now), now), Urgency::Later);
    }
}
