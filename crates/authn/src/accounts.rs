//! Account administration shared by the first-admin page, the account page
//! and the CLI: create a user, change a password, remove a factor, disable a
//! user, reset second factors. Each writes its audit event (and notice) in
//! its own store transaction; each that takes something away ends
//! everything of the user's it should (sessions with their back-channel
//! logouts, refresh tokens) in that transaction too.

use portcullis_core::Clock;
use portcullis_store::{
    AuditOutcome, Effects, EndedAccess, FactorRef, NewUser, ROLE_ADMIN, Rotation, Store, User,
};
use serde_json::json;
use std::sync::Arc;

use crate::audit::{RequestInfo, event, logged, record};
use crate::{AuthnError, Password, PasswordHasher, PasswordPolicy};

/// What account administration needs.
#[derive(Debug, Clone, Copy)]
pub struct Accounts<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The hasher.
    pub hasher: &'a Arc<PasswordHasher>,
    /// The password policy.
    pub policy: &'a PasswordPolicy,
    /// The clock.
    pub clock: &'a dyn Clock,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Login name.
    pub username: String,
    /// Email address.
    pub email: String,
    /// The initial password.
    pub password: Password,
    /// Grant the `admin` role.
    pub admin: bool,
}

/// A username: 1–64 characters, no whitespace or control characters, no `@`
/// (so it can never be mistaken for an email at sign-in).
pub fn check_username(username: &str) -> Result<(), AuthnError> {
    let ok = (1..=64).contains(&username.chars().count())
        && !username.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@');
    if ok {
        Ok(())
    } else {
        Err(AuthnError::InvalidIdentity("the username must be 1–64 characters without spaces or @".into()))
    }
}

/// An email address: `local@domain`, at most 254 characters, no whitespace.
pub fn check_email(email: &str) -> Result<(), AuthnError> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if ok { Ok(()) } else { Err(AuthnError::InvalidIdentity("the email address is not valid".into())) }
}

impl Accounts<'_> {
    /// Validates, hashes and creates the user; `Taken` when the username or
    /// email is in use.
    #[tracing::instrument(skip_all, fields(username = %new.username))]
    pub async fn create(&self, new: NewAccount, request: &RequestInfo) -> Result<User, AuthnError> {
        let username = new.username.trim().to_owned();
        let email = new.email.trim().to_owned();
        check_username(&username)?;
        check_email(&email)?;
        self.policy.check(&new.password, &[&username, &email])?;
        let hash = self.hasher.hash_blocking(new.password).await?;
        let now = self.clock.now();
        let roles = if new.admin { vec![ROLE_ADMIN.to_owned()] } else { Vec::new() };
        let user = self
            .store
            .create_user(&NewUser {
                id: uuid::Uuid::new_v4(),
                username,
                email,
                email_verified: false,
                display_name: None,
                roles,
                password_hash: Some(hash),
                created_at: now,
            })
            .await?;
        let detail = json!({ "username": user.username, "roles": user.roles });
        record(self.store, now, "user.created", AuditOutcome::Success, Some(user.id), request, detail).await;
        Ok(user)
    }

    /// Finds a user by username or email.
    pub async fn find(&self, login: &str) -> Result<User, AuthnError> {
        self.store.find_user_by_login(login).await?.ok_or(AuthnError::UnknownUser)
    }

    /// A new password for `user` (the account page, or an operator): the new
    /// hash, every session of theirs ended and every grant revoked but those
    /// of the session `rotate` gives a new id (the session making the
    /// change, if any), the "password changed" notice and the audit event —
    /// in one store transaction.
    #[tracing::instrument(skip_all, fields(user_id = %user.id))]
    pub async fn change_password(
        &self,
        user: &User,
        password: Password,
        rotate: Option<Rotation<'_>>,
        mail: &crate::notify::MailContext,
        request: &RequestInfo,
    ) -> Result<EndedAccess, AuthnError> {
        use crate::notify::{Notification, notification_mails};
        self.policy.check(&password, &[&user.username, &user.email])?;
        let hash = self.hasher.hash_blocking(password).await?;
        let now = self.clock.now();
        let mails = notification_mails(mail, user, &Notification::PasswordChanged)?;
        let audit =
            [event(now, "password.changed", AuditOutcome::Success, Some(user.id), request, json!({}))];
        let effects = Effects { audit: &audit, mails: &mails, rotate };
        let ended = self.store.change_password(user.id, &hash, now, &effects).await?;
        logged(&audit, Some(ended));
        Ok(ended)
    }

    /// The account holder removes a second factor (the account page): the
    /// factor, the recovery codes when no factor is left, every other session
    /// of theirs and every grant but those of the session `rotate` gives a
    /// new id, the notice and the audit event — in one store transaction.
    /// `None` (nothing changed) when they have no such factor.
    #[tracing::instrument(skip_all, fields(user_id = %user.id, factor = ?factor))]
    pub async fn remove_factor(
        &self,
        user: &User,
        factor: FactorRef,
        rotate: Rotation<'_>,
        mail: &crate::notify::MailContext,
        request: &RequestInfo,
    ) -> Result<Option<EndedAccess>, AuthnError> {
        use crate::notify::{Notification, notification_mails};
        let (kind, notification, detail) = match factor {
            FactorRef::Passkey(id) => {
                let name =
                    self.store.list_passkeys(user.id).await?.into_iter().find(|p| p.id == id).map(|p| p.name);
                let Some(name) = name else { return Ok(None) };
                ("passkey.removed", Notification::PasskeyRemoved { name }, json!({ "passkey_id": id }))
            }
            FactorRef::Totp => ("totp.removed", Notification::TotpDisabled, json!({})),
            FactorRef::All => ("user.mfa_reset", Notification::TotpDisabled, json!({})),
        };
        let mails = notification_mails(mail, user, &notification)?;
        let now = self.clock.now();
        let audit = [event(now, kind, AuditOutcome::Success, Some(user.id), request, detail)];
        let effects = Effects { audit: &audit, mails: &mails, rotate: Some(rotate) };
        let removed = self.store.remove_factor(user.id, factor, now, &effects).await?;
        if removed.is_some() {
            logged(&audit, removed);
        }
        Ok(removed)
    }

    /// Disables `login` and ends everything of it (sessions with their
    /// back-channel logouts, refresh tokens) in one transaction; returns the
    /// user and what ended.
    #[tracing::instrument(skip_all, fields(login = %login))]
    pub async fn disable(
        &self,
        login: &str,
        request: &RequestInfo,
    ) -> Result<(User, EndedAccess), AuthnError> {
        let user = self.find(login).await?;
        let now = self.clock.now();
        let audit = [event(now, "user.disabled", AuditOutcome::Success, Some(user.id), request, json!({}))];
        let ended = self.store.disable_user(user.id, now, &Effects::audit(&audit)).await?;
        logged(&audit, Some(ended));
        Ok((user, ended))
    }
}

impl Accounts<'_> {
    /// Marks `login` as having to use a second factor (or not); audited.
    #[tracing::instrument(skip_all, fields(login = %login, required))]
    pub async fn require_mfa(
        &self,
        login: &str,
        required: bool,
        request: &RequestInfo,
    ) -> Result<User, AuthnError> {
        let user = self.find(login).await?;
        let now = self.clock.now();
        let detail = json!({ "required": required });
        let audit = [event(now, "user.mfa_required", AuditOutcome::Success, Some(user.id), request, detail)];
        self.store.set_mfa_required(user.id, required, now, &Effects::audit(&audit)).await?;
        logged(&audit, None);
        Ok(user)
    }

    /// For a user who lost every second factor: removes their passkeys,
    /// authenticator app and recovery codes, and ends everything of theirs
    /// (sessions with back-channel logouts, refresh tokens), in one
    /// transaction. Returns the user and what ended.
    #[tracing::instrument(skip_all, fields(login = %login))]
    pub async fn reset_mfa(
        &self,
        login: &str,
        request: &RequestInfo,
    ) -> Result<(User, EndedAccess), AuthnError> {
        let user = self.find(login).await?;
        let now = self.clock.now();
        let audit = [event(now, "user.mfa_reset", AuditOutcome::Success, Some(user.id), request, json!({}))];
        let effects = Effects::audit(&audit);
        let ended =
            self.store.remove_factor(user.id, FactorRef::All, now, &effects).await?.unwrap_or_default();
        logged(&audit, Some(ended));
        Ok((user, ended))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_emails() {
        assert!(check_username("alice").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("a b").is_err());
        assert!(check_username("a@b").is_err());
        assert!(check_username(&"x".repeat(65)).is_err());
        assert!(check_email("alice@example.com").is_ok());
        assert!(check_email("alice").is_err());
        assert!(check_email("@example.com").is_err());
        assert!(check_email("a@b@c").is_err());
    }
}
