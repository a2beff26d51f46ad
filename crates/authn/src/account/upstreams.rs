//! Identities at upstream providers linked to the account, from the
//! account page (linking starts with [`crate::Interaction::begin_upstream`]).

use portcullis_store::Effects;
use serde_json::json;

use super::{AccountSecurity, AccountSession, Allowed, Rotated};
use crate::AuthnError;
use crate::audit::{RequestInfo, logged};
use crate::notify::{Notification, notification_mails};

impl AccountSecurity<'_> {
    /// Unlinks the identity `(issuer, subject)` from the account, with its
    /// audit event, the notice to the account holder and this session's
    /// NEW id, in one transaction. `LastSignInMethod` when it is the
    /// account's only way to sign in (no password, no passkey, no other
    /// linked identity); `UnknownUpstreamIdentity` when the account does
    /// not hold it.
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id))]
    pub async fn unlink_upstream(
        &self,
        account: &AccountSession,
        issuer: &str,
        subject: &str,
        path: &str,
        request: &RequestInfo,
    ) -> Result<Rotated, AuthnError> {
        self.check_change(account, Allowed::FullOnly, path, request).await?;
        let (i, user, session) = (&self.interaction, &account.user, &account.session);
        let linked = i.store.user_upstream_identities(user.id).await?;
        let Some(identity) = linked.iter().find(|l| l.issuer == issuer && l.subject == subject) else {
            return Err(AuthnError::UnknownUpstreamIdentity);
        };
        let passkeys = i.store.list_passkeys(user.id).await?;
        if user.password_hash.is_none() && passkeys.is_empty() && linked.len() == 1 {
            return Err(AuthnError::LastSignInMethod);
        }
        let provider = i.upstreams.display_name(&identity.upstream_id);
        let detail = json!({ "upstream": identity.upstream_id, "issuer": issuer });
        let audit = [self.event(user, "upstream.unlinked", request, detail)];
        let mails = notification_mails(self.mail, user, &Notification::UpstreamUnlinked { provider })?;
        let rotated = Rotated::renew(session, None);
        let effects = Effects { audit: &audit, mails: &mails, rotate: Some(rotated.of(session)) };
        if !i.store.unlink_upstream_identity(user.id, issuer, subject, i.clock.now(), &effects).await? {
            return Err(AuthnError::UnknownUpstreamIdentity);
        }
        logged(&audit, None);
        Ok(rotated)
    }
}
