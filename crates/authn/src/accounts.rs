//! Account administration shared by the first-admin page and the CLI:
//! create a user, set a password, disable a user. Each is audited.

use portcullis_core::Clock;
use portcullis_store::{AuditOutcome, NewUser, ROLE_ADMIN, Store, User};
use serde_json::json;
use std::sync::Arc;

use crate::audit::{RequestInfo, record};
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

    /// Checks and sets a new password for `login`.
    pub async fn set_password(
        &self,
        login: &str,
        password: Password,
        request: &RequestInfo,
    ) -> Result<User, AuthnError> {
        let user = self.find(login).await?;
        self.policy.check(&password, &[&user.username, &user.email])?;
        let hash = self.hasher.hash_blocking(password).await?;
        let now = self.clock.now();
        self.store.set_password_hash(user.id, &hash, now).await?;
        record(self.store, now, "password.changed", AuditOutcome::Success, Some(user.id), request, json!({}))
            .await;
        Ok(user)
    }

    /// [`Self::set_password`], also telling the account holder ("your
    /// password was changed"): the new hash and the mail commit together.
    pub async fn set_password_notifying(
        &self,
        login: &str,
        password: Password,
        mail: &crate::notify::MailContext,
        request: &RequestInfo,
    ) -> Result<User, AuthnError> {
        use crate::notify::{Notification, notification_mails};
        let user = self.find(login).await?;
        self.policy.check(&password, &[&user.username, &user.email])?;
        let hash = self.hasher.hash_blocking(password).await?;
        let now = self.clock.now();
        let mails = notification_mails(mail, &user, &Notification::PasswordChanged)?;
        self.store.set_password_hash_with_mails(user.id, &hash, now, &mails).await?;
        record(self.store, now, "password.changed", AuditOutcome::Success, Some(user.id), request, json!({}))
            .await;
        Ok(user)
    }

    /// Disables `login` and ends every session of it; returns the user and
    /// how many sessions ended.
    pub async fn disable(&self, login: &str, request: &RequestInfo) -> Result<(User, u64), AuthnError> {
        let user = self.find(login).await?;
        let now = self.clock.now();
        self.store.set_user_disabled(user.id, true, now).await?;
        let ended = self.store.delete_user_sessions(user.id).await?;
        let detail = json!({ "sessions_ended": ended });
        record(self.store, now, "user.disabled", AuditOutcome::Success, Some(user.id), request, detail).await;
        Ok((user, ended))
    }
}

impl Accounts<'_> {
    /// Marks `login` as having to use a second factor (or not); audited.
    pub async fn require_mfa(
        &self,
        login: &str,
        required: bool,
        request: &RequestInfo,
    ) -> Result<User, AuthnError> {
        let user = self.find(login).await?;
        let now = self.clock.now();
        self.store.set_mfa_required(user.id, required, now).await?;
        let detail = json!({ "required": required });
        record(self.store, now, "user.mfa_required", AuditOutcome::Success, Some(user.id), request, detail)
            .await;
        Ok(user)
    }

    /// For a user who lost every second factor: removes their passkeys,
    /// authenticator app and recovery codes, and ends all their sessions
    /// (with their session-bound tokens). Returns how many factors went.
    pub async fn reset_mfa(&self, login: &str, request: &RequestInfo) -> Result<(User, usize), AuthnError> {
        let user = self.find(login).await?;
        let now = self.clock.now();
        let mut removed = 0;
        for passkey in self.store.list_passkeys(user.id).await? {
            removed += usize::from(self.store.delete_passkey(user.id, passkey.id).await?);
        }
        removed += usize::from(self.store.delete_totp(user.id).await?);
        self.store.replace_recovery_codes(user.id, &[], now).await?;
        let ended = self.store.end_user_sessions(user.id, now).await?;
        let detail = json!({ "factors_removed": removed, "sessions_ended": ended });
        record(self.store, now, "user.mfa_reset", AuditOutcome::Success, Some(user.id), request, detail)
            .await;
        Ok((user, removed))
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
