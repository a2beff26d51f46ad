//! Second factors and recovery codes on the account page.

use portcullis_mailer::notify::{Notification, notification_mails};
use portcullis_store::{AuditOutcome, Enrollment, FactorRef};
use serde_json::{Value, json};

use super::{AccountSecurity, AccountSession, Allowed, Rotated};
use crate::audit::RequestInfo;
use crate::journey::Method;
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
    /// are stored (when they have none) and the "app enabled" notice is
    /// queued; then the step joins the session's methods under a NEW id
    /// (see [`crate::Interaction::enrolled`]). `InvalidCode` when the code
    /// is wrong (nothing changed).
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
        let enrollment = Enrollment::Totp { step, recovery_codes };
        if !i.store.enroll_factor(user.id, enrollment, now, &mails).await? {
            return Err(AuthnError::InvalidCode);
        }
        self.audit(user, "totp.enabled", AuditOutcome::Success, request, json!({})).await;
        if first {
            let detail = json!({ "count": codes.len(), "first": true });
            self.audit(user, "recovery_codes.generated", AuditOutcome::Success, request, detail).await;
        }
        let (session, cookie) = i.enrolled(&account.session, Method::Totp).await?;
        Ok(TotpConfirmed { rotated: Rotated { session, cookie }, recovery_codes: first.then_some(codes) })
    }

    /// Removes the app or a passkey: in one store transaction the factor,
    /// the recovery codes when no factor is left, every other session of the
    /// user and every grant but this session's, and the notice (see
    /// [`crate::accounts::Accounts::remove_factor`]); then this session's
    /// NEW id. `UnknownPasskey` when the user has no such passkey.
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
        let removed =
            self.accounts().remove_factor(user, factor, &session.id_hash, self.mail, request).await?;
        if removed.is_none() && matches!(factor, FactorRef::Passkey(_)) {
            return Err(AuthnError::UnknownPasskey);
        }
        self.rotate(session).await
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

    /// A new set of codes (with `mails`, in one transaction), audited, then
    /// the session's NEW id.
    async fn store_codes(
        &self,
        account: &AccountSession,
        mails: &[portcullis_store::NewMail],
        first: bool,
        request: &RequestInfo,
    ) -> Result<RecoveryCodes, AuthnError> {
        let (i, user) = (&self.interaction, &account.user);
        let (codes, hashes) = recovery_codes::new_set();
        i.store.enroll_factor(user.id, Enrollment::RecoveryCodes(&hashes), i.clock.now(), mails).await?;
        let detail = json!({ "count": codes.len(), "first": first });
        self.audit(user, "recovery_codes.generated", AuditOutcome::Success, request, detail).await;
        Ok(RecoveryCodes { rotated: self.rotate(&account.session).await?, codes })
    }

    /// Starts registering a passkey: the options for the browser (the
    /// ceremony's state kept in the store, bound to the session).
    /// `PasskeysUnavailable` when passkeys do not work here.
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id))]
    pub async fn begin_passkey(&self, account: &AccountSession) -> Result<Value, AuthnError> {
        let i = &self.interaction;
        let rp = i.passkeys.ok_or(AuthnError::PasskeysUnavailable)?;
        self.may_change_now(account, Allowed::Enrollment)?;
        rp.begin_registration(i.store, &account.session.id_hash, &account.user, i.clock.now()).await
    }

    /// Finishes the session's registration: the passkey (named `name`) and
    /// the "passkey added" notice in one store transaction, audited; then
    /// the session's NEW id, with the passkey step among its methods when
    /// it had used no second factor yet (see [`crate::Interaction::enrolled`]).
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
        let (_, method) = rp
            .finish_registration_with(
                i.store,
                &session.id_hash,
                user,
                name,
                credential,
                now,
                Some(self.mail),
                request,
            )
            .await?;
        let recovery_codes_due = Factors::of(i.store, user).await?.recovery_codes == 0;
        let (_, cookie) = i.enrolled(session, method).await?;
        Ok(PasskeyRegistered { cookie, recovery_codes_due })
    }
}
