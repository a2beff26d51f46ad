//! Password reset by mail, and the shared "mail me a link" request.

use portcullis_mailer::notify::{Notification, notification_mails};
use portcullis_store::{AuditOutcome, Effects, EmailTokenPurpose, LinkRequestRow, User};
use serde_json::json;

use super::{Handled, LinkRequest, Recovery, hash_token, link_key};
use crate::audit::{RequestInfo, event, logged};
use crate::{AuthnError, Password};

/// Which link a request mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LinkKind<'a> {
    Reset,
    Magic { resume: Option<&'a str> },
}

impl Recovery<'_> {
    /// "Forgot password": queues a reset link for the account `address`
    /// (email or username) names. The caller shows the same page whatever
    /// this returns.
    #[tracing::instrument(skip_all)]
    pub async fn request_reset(
        &self,
        address: &str,
        request: &RequestInfo,
    ) -> Result<LinkRequest, AuthnError> {
        self.request_link(LinkKind::Reset, address, None, request).await
    }

    /// Both link requests: look the account up, count the request, queue
    /// one row — the same work whether or not the address names an account
    /// (the row's user is empty then). The mail worker does the rest.
    pub(super) async fn request_link(
        &self,
        kind: LinkKind<'_>,
        address: &str,
        session_hash: Option<&str>,
        request: &RequestInfo,
    ) -> Result<LinkRequest, AuthnError> {
        let user = self.active_user(address).await?;
        let purpose = match kind {
            LinkKind::Reset => EmailTokenPurpose::Reset,
            LinkKind::Magic { .. } => EmailTokenPurpose::MagicLink,
        };
        if self.over_limit(link_key(user.as_ref(), address), request).await? {
            self.audit_request(purpose, Handled::Limited, user.as_ref(), request).await;
            return Ok(LinkRequest::Limited);
        }
        let row = LinkRequestRow {
            id: portcullis_core::random::hex_id(),
            purpose,
            user_id: user.map(|u| u.id),
            session_hash: session_hash.map(str::to_owned),
            resume: match kind {
                LinkKind::Magic { resume } => resume.map(str::to_owned),
                LinkKind::Reset => None,
            },
            ip: request.ip.clone(),
            user_agent: request.user_agent.clone(),
            created_at: self.clock.now(),
        };
        self.store.create_link_request(&row).await?;
        Ok(LinkRequest::Queued)
    }

    /// The account a reset link would act on, if the link is live.
    #[tracing::instrument(skip_all)]
    pub async fn reset_link_user(&self, raw: &str) -> Result<User, AuthnError> {
        let (_, user) = self.live_token(raw, EmailTokenPurpose::Reset).await?;
        if !super::mailed_link_allowed(self.store, self.mfa, &user).await? {
            return Err(AuthnError::InvalidLink);
        }
        Ok(user)
    }

    /// Completes a reset: checks the new password against the policy,
    /// hashes it, then in one store transaction consumes the link, sets the
    /// password, ends every session of the user, revokes their grants
    /// (refresh tokens), queues the "password changed" notice and writes the
    /// `password.reset` audit event. The link
    /// proved only the mailbox: the caller hands the user to
    /// [`crate::Interaction::email_link`], a first factor, never more.
    #[tracing::instrument(skip_all)]
    pub async fn complete_reset(
        &self,
        raw: &str,
        password: Password,
        request: &RequestInfo,
    ) -> Result<User, AuthnError> {
        let user = self.reset_link_user(raw).await?;
        self.policy.check(&password, &[&user.username, &user.email])?;
        let password_hash = self.hasher.hash_blocking(password).await?;
        let mails = notification_mails(self.mail, &user, &Notification::PasswordChanged)?;
        let now = self.clock.now();
        let audit = [event(now, "password.reset", AuditOutcome::Success, Some(user.id), request, json!({}))];
        let effects = Effects { audit: &audit, mails: &mails, rotate: None };
        let done = self.store.reset_password(&hash_token(raw), &password_hash, now, &effects).await?;
        if done != Some(user.id) {
            // Used or expired between the check and the update: nothing changed.
            return Err(AuthnError::InvalidLink);
        }
        logged(&audit, None);
        Ok(user)
    }
}
