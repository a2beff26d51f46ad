//! Second factors and recovery codes on the account page.

use portcullis_mailer::notify::{Notification, notification_mails};
use portcullis_store::{Effects, Enrollment, FactorRef};
use serde_json::{Value, json};

use super::{AccountSecurity, AccountSession, Allowed, Rotated};
use crate::audit::{RequestInfo, logged};
use crate::journey::{Method, after_enrollment};
use crate::passkeys::{With, register};
use crate::totp::Enrollment as TotpEnrollment;
use crate::{AuthnError, Factors, recovery_codes};

/// An authenticator app confirmed by its first code.
#[derive(Debug)]
pub struct TotpConfirmed {
    /// The session under its new id.
    pub rotated: Rotated,
    /// At the user's first second factor: the new recovery codes, to show once.
    pub recovery_codes: Option<Vec<String>>,
}

/// A new set of recovery codes.
#[derive(Debug)]
pub struct RecoveryCodes {
    /// The session under its new id.
    pub rotated: Rotated,
    /// The codes, to show once.
    pub codes: Vec<String>,
}

/// A passkey registered from the account page.
#[derive(Debug)]
pub struct PasskeyRegistered {
    /// The session's new cookie value.
    pub cookie: String,
    /// The user has no recovery codes yet: the first set is due.
    pub recovery_codes_due: bool,
}

impl AccountSecurity<'_> {
    /// Starts (or restarts) enrolling an authenticator app: a new secret,
    /// stored sealed and unconfirmed. `Taken` when an app is enabled already.
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id))]
    pub async fn begin_totp(
        &self,
        account: &AccountSession,
        path: &str,
        request: &RequestInfo,
    ) -> Result<TotpEnrollment, AuthnError> {
        self.check_change(account, Allowed::Enrollment, path, request).await?;
        let i = &self.interaction;
        i.totp.begin(account.user.id, &account.user.username, i.clock.now()).await
    }

    /// Confirms the app being enrolled with its first `code`: in one store
    /// transaction the app counts from now, the user's first recovery codes
    /// are stored (when they have none), the "app enabled" notice is queued,
    /// the audit events are written and the session gets a NEW id with the
    /// step among its methods (see [`crate::Interaction::enrolled`]).
    /// `InvalidCode` when the code is wrong (nothing changed).
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id))]
    pub async fn confirm_totp(
        &self,
        account: &AccountSession,
        code: &str,
        path: &str,
        request: &RequestInfo,
    ) -> Result<TotpConfirmed, AuthnError> {
        self.check_change(account, Allowed::Enrollment, path, request).await?;
        let (i, user) = (&self.interaction, &account.user);
        let now = i.clock.now();
        let Some(step) = i.totp.matching_step(user.id, code, true, now).await? else {
            return Err(AuthnError::InvalidCode);
        };
        let first = i.store.count_recovery_codes(user.id).await? == 0;
        let (codes, hashes) = recovery_codes::new_set();
        let recovery_codes = first.then_some(hashes.as_slice());
        let mails = notification_mails(self.mail, user, &Notification::TotpEnabled)?;
        let mut audit = vec![self.event(user, "totp.enabled", request, json!({}))];
        if first {
            let detail = json!({ "count": codes.len(), "first": true });
            audit.push(self.event(user, "recovery_codes.generated", request, detail));
        }
        let session = &account.session;
        let rotated = Rotated::renew(session, after_enrollment(&session.amr, Method::Totp));
        let effects = Effects { audit: &audit, mails: &mails, rotate: Some(rotated.of(session)) };
        let enrollment = Enrollment::Totp { step, recovery_codes };
        if !i.store.enroll_factor(user.id, enrollment, now, &effects).await? {
            return Err(AuthnError::InvalidCode);
        }
        logged(&audit, None);
        Ok(TotpConfirmed { rotated, recovery_codes: first.then_some(codes) })
    }

    /// Removes the app or a passkey: in one store transaction the factor,
    /// the recovery codes when no factor is left, every other session of the
    /// user and every grant but this session's, the notice, the audit event
    /// and this session's NEW id (see
    /// [`crate::accounts::Accounts::remove_factor`]). `UnknownPasskey` when
    /// the user has no such passkey.
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id, factor = ?factor))]
    pub async fn remove_factor(
        &self,
        account: &AccountSession,
        factor: FactorRef,
        path: &str,
        request: &RequestInfo,
    ) -> Result<Rotated, AuthnError> {
        self.check_change(account, Allowed::FullOnly, path, request).await?;
        let (user, session) = (&account.user, &account.session);
        let rotated = Rotated::renew(session, None);
        let removed =
            self.accounts().remove_factor(user, factor, rotated.of(session), self.mail, request).await?;
        match (removed, factor) {
            (Some(_), _) => Ok(rotated),
            (None, FactorRef::Passkey(_)) => Err(AuthnError::UnknownPasskey),
            // No app to remove: nothing changed; the session still gets its new id.
            (None, _) => {
                let (session, cookie) = self.interaction.sessions().rotate(session, None).await?;
                Ok(Rotated { session, cookie })
            }
        }
    }

    /// Replaces every recovery code by a new set: the codes and the notice
    /// in one store transaction, then this session's NEW id.
    /// `NoSecondFactor` when the user has no factor the codes would back up.
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id))]
    pub async fn regenerate_recovery_codes(
        &self,
        account: &AccountSession,
        path: &str,
        request: &RequestInfo,
    ) -> Result<RecoveryCodes, AuthnError> {
        self.check_change(account, Allowed::FullOnly, path, request).await?;
        let (i, user) = (&self.interaction, &account.user);
        if !Factors::of(i.store, user).await?.any() {
            return Err(AuthnError::NoSecondFactor);
        }
        let mails = notification_mails(self.mail, user, &Notification::RecoveryCodesRegenerated)?;
        self.store_codes(account, &mails, false, request).await
    }

    /// The first set of recovery codes after the first passkey: only when
    /// the user has a factor and no codes (`None` otherwise).
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id))]
    pub async fn initial_recovery_codes(
        &self,
        account: &AccountSession,
        path: &str,
        request: &RequestInfo,
    ) -> Result<Option<RecoveryCodes>, AuthnError> {
        self.check_change(account, Allowed::Enrollment, path, request).await?;
        let factors = Factors::of(self.interaction.store, &account.user).await?;
        if !factors.any() || factors.recovery_codes > 0 {
            return Ok(None);
        }
        self.store_codes(account, &[], true, request).await.map(Some)
    }

    /// A new set of codes with `mails`, the audit event and the session's
    /// NEW id, in one transaction.
    async fn store_codes(
        &self,
        account: &AccountSession,
        mails: &[portcullis_store::NewMail],
        first: bool,
        request: &RequestInfo,
    ) -> Result<RecoveryCodes, AuthnError> {
        let (i, user) = (&self.interaction, &account.user);
        let (codes, hashes) = recovery_codes::new_set();
        let detail = json!({ "count": codes.len(), "first": first });
        let audit = [self.event(user, "recovery_codes.generated", request, detail)];
        let rotated = Rotated::renew(&account.session, None);
        let effects = Effects { audit: &audit, mails, rotate: Some(rotated.of(&account.session)) };
        i.store.enroll_factor(user.id, Enrollment::RecoveryCodes(&hashes), i.clock.now(), &effects).await?;
        logged(&audit, None);
        Ok(RecoveryCodes { rotated, codes })
    }

    /// Starts registering a passkey: the options for the browser (the
    /// ceremony's state kept in the store, bound to the session).
    /// `PasskeysUnavailable` when passkeys do not work here.
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id))]
    pub async fn begin_passkey(&self, account: &AccountSession) -> Result<Value, AuthnError> {
        let i = &self.interaction;
        let rp = i.passkeys.ok_or(AuthnError::PasskeysUnavailable)?;
        self.may_change_now(account, Allowed::Enrollment)?;
        rp.begin_registration(i.store, i.hot, &account.session.id_hash, &account.user, i.clock.now()).await
    }

    /// Finishes the session's registration: in one store transaction the
    /// passkey (named `name`), the "passkey added" notice, the audit event
    /// and the session's NEW id, with the passkey step among its methods
    /// when it had used no second factor yet (see [`crate::Interaction::enrolled`]).
    /// `CeremonyExpired`, `Passkey` (a refused response) and `Taken` (a
    /// credential registered already) change nothing.
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id))]
    pub async fn register_passkey(
        &self,
        account: &AccountSession,
        name: &str,
        credential: &Value,
        request: &RequestInfo,
    ) -> Result<PasskeyRegistered, AuthnError> {
        let i = &self.interaction;
        let rp = i.passkeys.ok_or(AuthnError::PasskeysUnavailable)?;
        self.may_change_now(account, Allowed::Enrollment)?;
        let (user, session) = (&account.user, &account.session);
        let now = i.clock.now();
        let (new, method) = rp.verified_registration(i.hot, &session.id_hash, credential, now).await?;
        let rotated = Rotated::renew(session, after_enrollment(&session.amr, method));
        let with = With { notice: Some(self.mail), rotate: Some(rotated.of(session)) };
        register(i.store, user, name, new, now, request, with).await?;
        let recovery_codes_due = Factors::of(i.store, user).await?.recovery_codes == 0;
        Ok(PasskeyRegistered { cookie: rotated.cookie, recovery_codes_due })
    }
}
