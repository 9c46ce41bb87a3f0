//! Notices to the people of a workspace: what happened to their posts and accounts.
//!
//! [`Services::notify`] is the one entry point (the publishing pipeline, the token refresh and
//! the generation of drafts call it). It picks the members a notice concerns (publishing and
//! drafts: those who write or review content; reconnect: owners and admins), writes an in-app
//! notification for each, and an e-mail to each whose preferences allow it, all in one
//! transaction. Delivery of the mail is the `email.deliver` job's (see `mail_delivery`).
//!
//! Also here: each person's e-mail preferences, their in-app inbox, and the signed one-click
//! unsubscribe links (RFC 8058) that optional mail carries.

use crate::Services;
use crate::actor::Actor;
use crate::auth::outbox_mail;
use crate::error::{Result, ServiceError};
use crate::mail_templates::MailKind;
use crate::secrets;
use nanopost_domain::ids::{BrandId, PostId, UserId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_domain::role::{Permission, Role};
use nanopost_storage::{ConnectedAccountId, Notification, NotificationPreference, Page, PageRequest, User};
use uuid::Uuid;

/// Longest reason (from a network's error) a notice repeats.
const MAX_REASON_CHARS: usize = 500;
/// Longest excerpt of a caption a notice shows.
const EXCERPT_CHARS: usize = 80;

/// Something the members of a workspace should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A target of an approved post could not be published; the reason is the network's.
    PublishFailed { post: PostId, network: Network, reason: String },
    /// Nanopost cannot tell whether the post went out; a human must check the network.
    PublishUnconfirmed { post: PostId, network: Network, reason: String },
    /// The account's tokens no longer work; someone must connect it again.
    ReconnectNeeded { account: ConnectedAccountId, network: Network, reason: String },
    /// New drafts of the brand wait for review (one digest per batch of drafts).
    DraftsReady { brand: BrandId, count: u32 },
}

impl Notice {
    pub fn kind(&self) -> MailKind {
        match self {
            Notice::PublishFailed { .. } => MailKind::PublishFailed,
            Notice::PublishUnconfirmed { .. } => MailKind::PublishUnconfirmed,
            Notice::ReconnectNeeded { .. } => MailKind::ReconnectNeeded,
            Notice::DraftsReady { .. } => MailKind::DraftsReady,
        }
    }

    /// Whether a member with `role` should hear about this notice.
    pub fn concerns(&self, role: Role) -> bool {
        match self {
            Notice::PublishFailed { .. } | Notice::PublishUnconfirmed { .. } | Notice::DraftsReady { .. } => {
                role.can(Permission::EditContent) || role.can(Permission::Review)
            }
            Notice::ReconnectNeeded { .. } => role.can(Permission::ManageMembers),
        }
    }
}

/// A notice in words: what the in-app list and the mail say.
struct Wording {
    subject: String,
    body: String,
    /// A path in the app (`/w/…/posts/…`).
    link: String,
}

/// One line of the notification settings page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailPreference {
    pub kind: MailKind,
    pub email: bool,
}

impl Services {
    /// Tells the members concerned by `notice`: an in-app notification each, and a mail each
    /// unless they turned that kind off; both or neither are written. A notice about
    /// something that no longer exists (a post deleted meanwhile) is dropped.
    pub async fn notify(&self, ws: WorkspaceId, notice: Notice) -> Result<()> {
        let Some(wording) = self.wording(ws, &notice).await? else {
            tracing::debug!(workspace = %ws, kind = %notice.kind(), "notice about something gone; dropped");
            return Ok(());
        };
        let kind = notice.kind();
        let now = self.now();
        let opted_out = self.store().email_opt_outs(ws, kind.as_str()).await?;
        let url = format!("{}{}", self.public_url(), wording.link);
        let mail_body = format!("{}\n\n{url}", wording.body);
        let mut notes = vec![];
        let mut mails = vec![];
        for m in self.store().members(ws).await?.into_iter().filter(|m| notice.concerns(m.role)) {
            notes.push(Notification {
                id: Uuid::now_v7(),
                workspace_id: ws,
                user_id: m.user_id,
                kind: kind.as_str().into(),
                subject: wording.subject.clone(),
                body: wording.body.clone(),
                link: Some(wording.link.clone()),
                created_at: now,
                read_at: None,
            });
            if !opted_out.contains(&m.user_id) {
                mails.push(outbox_mail(&m.email, kind.as_str(), &wording.subject, mail_body.clone(), now));
            }
        }
        if notes.is_empty() {
            return Ok(());
        }
        self.store().insert_notifications(&notes, &mails).await?;
        tracing::info!(workspace = %ws, kind = %kind, people = notes.len(), mails = mails.len(), "notified");
        Ok(())
    }

    async fn wording(&self, ws: WorkspaceId, notice: &Notice) -> Result<Option<Wording>> {
        let store = self.store();
        let brand_name = |id| async move {
            Ok::<_, ServiceError>(store.brand(ws, id).await?.map(|b| b.profile.name).unwrap_or_default())
        };
        Ok(Some(match notice {
            Notice::PublishFailed { post, network, reason } | Notice::PublishUnconfirmed { post, network, reason } => {
                let Some(p) = store.post(ws, *post).await? else { return Ok(None) };
                let brand = brand_name(p.brand_id).await?;
                let caption = p
                    .content
                    .variants
                    .iter()
                    .find(|v| v.network == *network)
                    .or(p.content.variants.first())
                    .map(|v| excerpt(&v.caption, EXCERPT_CHARS))
                    .unwrap_or_default();
                let reason = excerpt(reason, MAX_REASON_CHARS);
                let network = network.label();
                let link = format!("/w/{ws}/posts/{post}");
                if matches!(notice, Notice::PublishFailed { .. }) {
                    Wording {
                        subject: format!("Not published to {network}: a post of {brand}"),
                        body: format!(
                            "A post of {brand} could not be published to {network}.\n\nReason: {reason}\n\n\
                             The post: \u{201c}{caption}\u{201d}\n\nOpen it to retry or change it:"
                        ),
                        link,
                    }
                } else {
                    Wording {
                        subject: format!("Check {network}: did the post of {brand} go out?"),
                        body: format!(
                            "Nanopost cannot tell whether a post of {brand} reached {network}: {reason}\n\n\
                             The post: \u{201c}{caption}\u{201d}\n\nPlease look at the account on {network}, then \
                             mark the post as published or publish it again:"
                        ),
                        link,
                    }
                }
            }
            Notice::ReconnectNeeded { account, network, reason } => {
                let Some(a) = store.connected_account(ws, *account).await? else { return Ok(None) };
                let brand = brand_name(a.brand_id).await?;
                let network = network.label();
                Wording {
                    subject: format!("Reconnect {network} for {brand}"),
                    body: format!(
                        "Nanopost can no longer post to the {network} account \u{201c}{}\u{201d} of {brand}: {}\n\n\
                         Scheduled posts to it wait until someone connects it again under the brand's connected \
                         accounts:",
                        a.display_name,
                        excerpt(reason, MAX_REASON_CHARS)
                    ),
                    link: format!("/w/{ws}/brands/{}/accounts", a.brand_id),
                }
            }
            Notice::DraftsReady { brand, count } => {
                let Some(b) = store.brand(ws, *brand).await? else { return Ok(None) };
                let name = b.profile.name;
                let (subject, body) = if *count == 1 {
                    (
                        format!("1 new draft for {name} is ready for review"),
                        format!("A new draft for {name} waits for review."),
                    )
                } else {
                    (
                        format!("{count} new drafts for {name} are ready for review"),
                        format!("{count} new drafts for {name} wait for review."),
                    )
                };
                Wording {
                    subject,
                    body: format!("{body}\n\nApprove, edit or reject them in the review queue:"),
                    link: format!("/w/{ws}/posts?brand={brand}"),
                }
            }
        }))
    }

    // -----------------------------------------------------------------------------------------
    // The in-app inbox.

    /// The actor's notifications in their workspace, newest first.
    pub async fn notifications(
        &self,
        actor: &Actor,
        unread_only: bool,
        page: PageRequest,
    ) -> Result<Page<Notification>> {
        actor.require(Permission::Read)?;
        Ok(self.store().notifications(actor.workspace_id, actor.user_id, unread_only, page).await?)
    }

    pub async fn unread_notifications(&self, actor: &Actor) -> Result<u64> {
        actor.require(Permission::Read)?;
        Ok(self.store().unread_notification_count(actor.workspace_id, actor.user_id).await?)
    }

    /// The header's count: the person's own unread notices in a workspace they belong to (the
    /// caller has checked the membership).
    pub async fn unread_notification_count(&self, user: UserId, ws: WorkspaceId) -> Result<u64> {
        Ok(self.store().unread_notification_count(ws, user).await?)
    }

    /// NotFound unless the notification is the actor's own.
    pub async fn mark_notification_read(&self, actor: &Actor, id: Uuid) -> Result<()> {
        actor.require(Permission::Read)?;
        Ok(self.store().mark_notification_read(actor.workspace_id, actor.user_id, id, self.now()).await?)
    }

    pub async fn mark_all_notifications_read(&self, actor: &Actor) -> Result<u64> {
        actor.require(Permission::Read)?;
        Ok(self.store().mark_all_notifications_read(actor.workspace_id, actor.user_id, self.now()).await?)
    }

    // -----------------------------------------------------------------------------------------
    // E-mail preferences.

    /// Every kind the person can turn off, with their current choice.
    pub async fn email_preferences(&self, user: &User) -> Result<Vec<EmailPreference>> {
        let chosen = self.store().notification_preferences(user.id).await?;
        let mut out = Vec::with_capacity(MailKind::OPTIONAL.len());
        for kind in MailKind::OPTIONAL {
            let email = if kind == MailKind::Marketing {
                // Marketing is a consent with its own record (privacy centre), not a preference.
                self.marketing_consent(user).await?
            } else {
                chosen.iter().find(|p| p.kind == kind.as_str()).map_or(kind.email_by_default(), |p| p.email_enabled)
            };
            out.push(EmailPreference { kind, email });
        }
        Ok(out)
    }

    /// Turns a kind of mail on or off for the person. Essential kinds cannot be turned off.
    pub async fn set_email_preference(&self, user: &User, kind: MailKind, email: bool) -> Result<()> {
        if kind.is_essential() {
            return Err(nanopost_domain::ValidationError::new(
                "kind",
                "mail about your account (sign-in, password, deletion) cannot be turned off",
            )
            .into());
        }
        if kind == MailKind::Marketing {
            return self.set_marketing_consent(user, email).await;
        }
        let pref = NotificationPreference {
            user_id: user.id,
            kind: kind.as_str().into(),
            email_enabled: email,
            updated_at: self.now(),
        };
        self.store().set_notification_preference(&pref).await?;
        let event = crate::audit::AuditEvent::account(user.id, crate::audit::AuditAction::EmailPreferencesChanged);
        self.audit(event.target("email_preference", format!("{} email={email}", kind.as_str()))).await;
        Ok(())
    }

    /// Whether the person wants mail of `kind` now (checked again just before sending, so an
    /// unsubscribe takes effect even for mail already queued).
    pub async fn wants_email(&self, user: &User, kind: MailKind) -> Result<bool> {
        if kind.is_essential() {
            return Ok(true);
        }
        if kind == MailKind::Marketing {
            return self.marketing_consent(user).await;
        }
        Ok(self.store().email_preference(user.id, kind.as_str()).await?.unwrap_or(kind.email_by_default()))
    }

    // -----------------------------------------------------------------------------------------
    // One-click unsubscribe (RFC 8058): a signed link, no sign-in.

    /// The link optional mail of `kind` carries. Marketing keeps the privacy centre's link.
    pub fn unsubscribe_link_for(&self, user: UserId, kind: MailKind) -> String {
        if kind == MailKind::Marketing {
            return self.unsubscribe_link(user);
        }
        let sig = secrets::sign(&self.config().secret_key, "unsubscribe", &kind_tag(user, kind));
        format!("{}/unsubscribe?u={user}&k={kind}&sig={sig}", self.public_url())
    }

    /// Checks a link's signature without changing anything (the confirmation page).
    pub fn check_unsubscribe_link(&self, user: &str, kind: Option<&str>, sig: &str) -> Result<(UserId, MailKind)> {
        let invalid = || ServiceError::Conflict("this unsubscribe link is not valid".into());
        let user: UserId = user.trim().parse().map_err(|_| invalid())?;
        let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
            None => MailKind::Marketing,
            Some(k) => MailKind::parse(k).filter(|k| !k.is_essential()).ok_or_else(invalid)?,
        };
        let key = &self.config().secret_key;
        let valid = if kind == MailKind::Marketing {
            secrets::verify(key, "unsubscribe", user.as_uuid().as_bytes(), sig.trim())
        } else {
            secrets::verify(key, "unsubscribe", &kind_tag(user, kind), sig.trim())
        };
        if valid { Ok((user, kind)) } else { Err(invalid()) }
    }

    /// Stops mail of the link's kind at once, for whoever holds a correctly signed link.
    pub async fn unsubscribe_with_link(&self, user: &str, kind: Option<&str>, sig: &str) -> Result<MailKind> {
        let (user_id, kind) = self.check_unsubscribe_link(user, kind, sig)?;
        if kind == MailKind::Marketing {
            // The privacy centre records the withdrawal of consent.
            self.unsubscribe(user, sig).await?;
            return Ok(kind);
        }
        let Some(user) = self.store().user_by_id(user_id).await? else {
            // Erased meanwhile: nobody left to write to. Same answer, nothing to record.
            return Ok(kind);
        };
        self.set_email_preference(&user, kind, false).await?;
        tracing::info!(user = %user.id, kind = %kind, "unsubscribed through a mail's link");
        Ok(kind)
    }
}

/// What an unsubscribe link of an optional kind signs: the user and the kind.
fn kind_tag(user: UserId, kind: MailKind) -> Vec<u8> {
    let mut data = user.as_uuid().as_bytes().to_vec();
    data.push(b':');
    data.extend_from_slice(kind.as_str().as_bytes());
    data
}

/// The first `max` characters of one line of `s`, with an ellipsis when cut.
fn excerpt(s: &str, max: usize) -> String {
    let flat = crate::mail_templates::one_line(s);
    if flat.chars().count() <= max {
        return flat;
    }
    let mut out: String = flat.chars().take(max).collect();
    out.push('\u{2026}');
    out
}
