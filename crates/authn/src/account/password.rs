//! A new password from the account page.

use super::{AccountSecurity, AccountSession, Rotated};
use crate::audit::RequestInfo;
use crate::journey::{Change, may_change};
use crate::{AuthnError, Password, SignIn, SignInOutcome, confirm_password};

impl AccountSecurity<'_> {
    /// A new password (policy-checked) for the account holder. It needs the
    /// `current` password unless the session authenticated within minutes
    /// with a second factor or a passkey; a re-entered password is checked
    /// on the same throttled counters as a sign-in. Then, in one store
    /// transaction, the new hash, every other session of the user ended,
    /// every grant but this session's revoked and the "password changed"
    /// notice, the audit event and this session's NEW id (see
    /// [`crate::accounts::Accounts::change_password`]).
    ///
    /// Refusals change nothing: `EnrollFirst`, `CurrentPasswordRequired`
    /// (audited as `account.reauth_required` with `path`), `WrongPassword`,
    /// `Locked`, `PasswordsDiffer` (`new` and `confirm`), `Policy`.
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id))]
    pub async fn change_password(
        &self,
        account: &AccountSession,
        current: Password,
        new: Password,
        confirm: Password,
        path: &str,
        request: &RequestInfo,
    ) -> Result<Rotated, AuthnError> {
        if account.enroll_only {
            return Err(AuthnError::EnrollFirst);
        }
        let (i, user, session) = (&self.interaction, &account.user, &account.session);
        if !may_change(session, Change::Password { current_password_given: false }, i.clock.now()) {
            if current.expose().is_empty() {
                self.reauth_required(user, path, request).await;
                return Err(AuthnError::CurrentPasswordRequired);
            }
            let check = SignIn {
                store: i.store,
                throttle: i.hot,
                hasher: i.hasher,
                lockouts: i.lockouts,
                clock: i.clock,
            };
            match confirm_password(check, user, current, request).await? {
                SignInOutcome::Success(_) => {}
                SignInOutcome::Failed => return Err(AuthnError::WrongPassword),
                SignInOutcome::Refused { until } => return Err(AuthnError::Locked { until }),
            }
        }
        if new.expose() != confirm.expose() {
            return Err(AuthnError::PasswordsDiffer);
        }
        let rotated = Rotated::renew(session, None);
        self.accounts().change_password(user, new, Some(rotated.of(session)), self.mail, request).await?;
        Ok(rotated)
    }
}
