//! "Connected apps" on the account page: the clients holding the user's
//! consent or tokens, and disconnecting one.

use portcullis_store::{AuditOutcome, ConnectedClient, Effects};
use serde_json::json;

use super::{AccountSecurity, AccountSession};
use crate::AuthnError;
use crate::audit::{RequestInfo, event, logged};

impl AccountSecurity<'_> {
    /// The clients the user is connected to (consent or live tokens).
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id))]
    pub async fn connected_apps(&self, account: &AccountSession) -> Result<Vec<ConnectedClient>, AuthnError> {
        let i = &self.interaction;
        Ok(i.store.connected_clients(account.user.id, i.clock.now()).await?)
    }

    /// Disconnects the user from `client_id`: in one transaction its
    /// consent is deleted, every grant (refresh tokens included) revoked, a
    /// back-channel logout queued for each session it had tokens in, and
    /// the audit event written. `UnknownClient` when nothing was connected.
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id, client_id = %client_id))]
    pub async fn disconnect_app(
        &self,
        account: &AccountSession,
        client_id: &str,
        request: &RequestInfo,
    ) -> Result<u64, AuthnError> {
        if account.enroll_only {
            return Err(AuthnError::EnrollFirst);
        }
        let i = &self.interaction;
        let (user, now) = (&account.user, i.clock.now());
        let detail = json!({ "client_id": client_id });
        let audit =
            [event(now, "client.disconnected", AuditOutcome::Success, Some(user.id), request, detail)];
        let revoked = i.store.disconnect_client(user.id, client_id, now, &Effects::audit(&audit)).await?;
        let Some(revoked) = revoked else { return Err(AuthnError::UnknownClient) };
        logged(&audit, None);
        Ok(revoked)
    }
}
