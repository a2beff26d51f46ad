//! Magic-link sign-in: a link bound to the browser session that asked for it.

use portcullis_store::{AuditOutcome, EmailTokenPurpose, User};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::reset::LinkKind;
use super::{LinkRequest, Recovery, hash_token};
use crate::AuthnError;
use crate::audit::{RequestInfo, record};

/// Where a magic link was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MagicLinkCheck {
    /// In the browser session that asked for it: sign in directly.
    SameBrowser,
    /// Elsewhere: ask "sign in on this device?" first.
    OtherBrowser,
}

impl Recovery<'_> {
    /// Queues a sign-in link for the account `address` names, bound to the
    /// requesting browser session (`session_hash`, the stored hash of its
    /// cookie). `resume` (a pending authorization request id, letters,
    /// digits, `-` and `_` only) is carried in the link so sign-in resumes
    /// it. Same outward behaviour as [`Self::request_reset`].
    #[tracing::instrument(skip_all)]
    pub async fn request_magic_link(
        &self,
        address: &str,
        session_hash: &str,
        resume: Option<&str>,
        request: &RequestInfo,
    ) -> Result<LinkRequest, AuthnError> {
        let resume = resume.filter(|r| {
            !r.is_empty()
                && r.len() <= 64
                && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        self.request_link(LinkKind::Magic { resume }, address, Some(session_hash), request).await
    }

    /// Whether a live magic link was opened in the browser that asked for it
    /// (`session_hash` of the current session, compared in constant time).
    #[tracing::instrument(skip_all)]
    pub async fn check_magic_link(
        &self,
        raw: &str,
        session_hash: Option<&str>,
    ) -> Result<MagicLinkCheck, AuthnError> {
        let (token, user) = self.live_token(raw, EmailTokenPurpose::MagicLink).await?;
        if !super::mailed_link_allowed(self.store, self.mfa, &user).await? {
            return Err(AuthnError::InvalidLink);
        }
        let same = match (token.session_hash.as_deref(), session_hash) {
            (Some(bound), Some(current)) => bool::from(bound.as_bytes().ct_eq(current.as_bytes())),
            _ => false,
        };
        Ok(if same { MagicLinkCheck::SameBrowser } else { MagicLinkCheck::OtherBrowser })
    }

    /// Uses a magic link (once): returns the user, whose mailbox it proved —
    /// a first factor for [`crate::Interaction::email_link`], never more.
    #[tracing::instrument(skip_all)]
    pub async fn use_magic_link(&self, raw: &str, request: &RequestInfo) -> Result<User, AuthnError> {
        let now = self.clock.now();
        let (_, owner) = self.live_token(raw, EmailTokenPurpose::MagicLink).await?;
        if !super::mailed_link_allowed(self.store, self.mfa, &owner).await? {
            return Err(AuthnError::InvalidLink);
        }
        let token = self
            .store
            .consume_email_token(&hash_token(raw), EmailTokenPurpose::MagicLink, now)
            .await?
            .ok_or(AuthnError::InvalidLink)?;
        let user = self.token_user(token.user_id).await?;
        let detail = json!({ "method": "magic_link" });
        record(self.store, now, "signin.first_factor", AuditOutcome::Success, Some(user.id), request, detail)
            .await;
        Ok(user)
    }
}
