//! The user's other sessions, from the account page.

use portcullis_store::Effects;
use serde_json::json;

use super::{AccountSecurity, AccountSession};
use crate::AuthnError;
use crate::audit::{RequestInfo, logged};

impl AccountSecurity<'_> {
    /// Signs out the user's other session `sid` (with its back-channel
    /// logouts) and audits it, in one transaction. `UnknownSession` when
    /// `sid` names no other session of the user.
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id))]
    pub async fn end_other_session(
        &self,
        account: &AccountSession,
        sid: &str,
        request: &RequestInfo,
    ) -> Result<(), AuthnError> {
        let (i, user) = (&self.interaction, &account.user);
        let target = i.store.find_session_by_sid(sid).await?;
        let Some(target) =
            target.filter(|t| t.user_id == Some(user.id) && t.id_hash != account.session.id_hash)
        else {
            return Err(AuthnError::UnknownSession);
        };
        let audit = [self.event(user, "session.ended", request, json!({ "sid": target.sid }))];
        // `None`: it ended meanwhile (nothing written, nothing to audit).
        if i.store.end_session(&target.id_hash, i.clock.now(), &Effects::audit(&audit)).await?.is_some() {
            logged(&audit, None);
        }
        Ok(())
    }
}
