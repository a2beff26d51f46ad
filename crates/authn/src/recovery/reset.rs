//! Password reset by mail, and the shared "mail me a link" request.

use portcullis_mailer::notify::{Notification, notification_mails};
use portcullis_mailer::templates;
use portcullis_store::{AuditOutcome, EmailToken, EmailTokenPurpose, User};
use serde_json::json;

use super::{LinkRequest, Recovery, hash_token, new_token};
use crate::audit::{RequestInfo, record};
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
    pub async fn request_reset(
        &self,
        address: &str,
        request: &RequestInfo,
    ) -> Result<LinkRequest, AuthnError> {
        self.request_link(LinkKind::Reset, address, None, request).await
    }

    /// Both link requests: count, look up, render — for unknown addresses
    /// too, so both paths do the same work — then store the token and its
    /// mail in one transaction (known, not limited) and audit.
    pub(super) async fn request_link(
        &self,
        kind: LinkKind<'_>,
        address: &str,
        session_hash: Option<&str>,
        request: &RequestInfo,
    ) -> Result<LinkRequest, AuthnError> {
        let now = self.clock.now();
        let limited = self.over_limit(address, request, now).await?;
        let user = self.active_user(address).await?;
        let (raw, hash) = new_token();
        let (path, purpose, audit) = match kind {
            LinkKind::Reset => ("/recover/reset", EmailTokenPurpose::Reset, "password_reset.requested"),
            LinkKind::Magic { .. } => ("/login/magic", EmailTokenPurpose::MagicLink, "magic_link.requested"),
        };
        let link = match kind {
            LinkKind::Magic { resume: Some(id) } => {
                self.mail.url(&format!("{path}?token={raw}&request={id}"))
            }
            _ => self.mail.url(&format!("{path}?token={raw}")),
        };
        let typed = address.trim();
        let (to, name) = user.as_ref().map_or((typed, typed), |u| (u.email.as_str(), u.shown_name()));
        let ttl = self.rules.link_ttl;
        let mail = match kind {
            LinkKind::Reset => templates::password_reset(self.mail, to, name, &link, ttl)?,
            LinkKind::Magic { .. } => templates::magic_link(self.mail, to, name, &link, ttl)?,
        };
        let outcome = match (&user, limited) {
            (_, true) => LinkRequest::Limited,
            (None, false) => LinkRequest::NoAccount,
            (Some(u), false) => {
                let token = EmailToken {
                    token_hash: hash,
                    purpose,
                    user_id: u.id,
                    new_email: None,
                    session_hash: session_hash.map(str::to_owned),
                    created_at: now,
                    expires_at: now + ttl,
                    used_at: None,
                };
                self.store.create_email_token(&token, &[mail]).await?;
                LinkRequest::Sent
            }
        };
        self.audit_request(audit, outcome, user.as_ref(), request).await;
        Ok(outcome)
    }

    /// The account a reset link would act on, if the link is live.
    pub async fn reset_link_user(&self, raw: &str) -> Result<User, AuthnError> {
        let token = self
            .store
            .find_email_token(&hash_token(raw), EmailTokenPurpose::Reset)
            .await?
            .filter(|t| t.is_live(self.clock.now()))
            .ok_or(AuthnError::InvalidLink)?;
        self.token_user(token.user_id).await
    }

    /// Completes a reset: checks the new password against the policy,
    /// hashes it, then in one store transaction consumes the link, sets the
    /// password, ends every session of the user, revokes their grants
    /// (refresh tokens) and queues the "password changed" notice. The
    /// caller then signs the browser in afresh.
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
        let done = self.store.reset_password(&hash_token(raw), &password_hash, now, &mails).await?;
        if done != Some(user.id) {
            // Used or expired between the check and the update: nothing changed.
            return Err(AuthnError::InvalidLink);
        }
        record(self.store, now, "password.reset", AuditOutcome::Success, Some(user.id), request, json!({}))
            .await;
        Ok(user)
    }
}
