//! Recovery by mail: password reset, email verification (new accounts and
//! email changes) and magic-link sign-in, as plain Rust over the store.
//!
//! Every link carries a 256-bit random token; the store keeps only its
//! SHA-256 ([`hash_token`]), and a token works once, before it expires
//! ([`RecoveryRules`]). A token is consumed by one conditional update in the
//! transaction of its effect, together with the notification mails of that
//! effect ([`portcullis_mailer::notify`]).
//!
//! Requests for a link ([`Recovery::request_reset`],
//! [`Recovery::request_magic_link`]) look the same from outside whether or
//! not the address belongs to an account: the caller shows one page, and
//! the request path does the same work either way — it counts the request
//! and writes one queued row; the mail worker ([`LinkRequestSource`]) then
//! makes the token and the mail, or nothing. Requests are rate-limited per
//! account (per address typed, for addresses of no account) and per client IP.

mod email;
mod magic;
mod requests;
mod reset;

pub use magic::MagicLinkCheck;
pub use requests::LinkRequestSource;

use portcullis_core::Clock;
use portcullis_mailer::MailContext;
use portcullis_store::{AuditOutcome, EmailToken, EmailTokenPurpose, Store, User, normalise_login};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

use crate::audit::{RequestInfo, record};
use crate::throttle::{Admission, reserve};
use crate::{AuthnError, LockoutPolicy, PasswordHasher, PasswordPolicy};

/// Lifetimes and limits of mailed links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryRules {
    /// How long a password-reset or magic link works (15 minutes).
    pub link_ttl: Duration,
    /// How long an email-verification link works.
    pub verify_ttl: Duration,
    /// Link requests per address within `window` before requests are ignored.
    pub max_per_address: u32,
    /// Link requests per client IP within `window`.
    pub max_per_ip: u32,
    /// A counter quiet this long starts again.
    pub window: Duration,
}

impl RecoveryRules {
    /// The throttles of mail requests: per account (or per address typed,
    /// for addresses of no account) and per client IP. The request that
    /// reaches the limit blocks the next ones for `window`.
    fn policies(&self) -> (LockoutPolicy, LockoutPolicy) {
        let policy = |max| LockoutPolicy {
            max_failures: max,
            base_delay: self.window,
            max_delay: self.window,
            window: self.window,
        };
        (policy(self.max_per_address), policy(self.max_per_ip))
    }
}

/// Whether a mailed link may act on `user`: not when the policy requires a
/// second factor the account has none of (a new administrator, or one
/// after `users reset-mfa`) — there the link would make the mailbox the
/// whole account (reset, then enroll the finder's own factor), so recovery
/// is the operator's (`portcullis users set-password`).
pub(crate) async fn mailed_link_allowed(
    store: &dyn Store,
    mfa: &crate::MfaPolicy,
    user: &User,
) -> Result<bool, portcullis_store::StoreError> {
    Ok(!mfa.requires_mfa(user) || crate::Factors::of(store, user).await?.any())
}

/// The audit event of a link request.
fn audit_kind(purpose: EmailTokenPurpose) -> &'static str {
    match purpose {
        EmailTokenPurpose::MagicLink => "magic_link.requested",
        _ => "password_reset.requested",
    }
}

/// The mail-request counter of `user`, or of the address typed.
fn link_key(user: Option<&User>, address: &str) -> String {
    match user {
        Some(user) => format!("link:{}", user.id),
        None => format!("link:address:{}", normalise_login(address)),
    }
}

impl Default for RecoveryRules {
    fn default() -> Self {
        Self {
            link_ttl: Duration::minutes(15),
            verify_ttl: Duration::hours(24),
            max_per_address: 3,
            max_per_ip: 20,
            window: Duration::hours(1),
        }
    }
}

/// What the recovery flows need.
#[derive(Debug, Clone, Copy)]
pub struct Recovery<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The counters of re-entered passwords.
    pub throttle: &'a dyn portcullis_store::Throttle,
    /// The hasher (new passwords, re-entered passwords).
    pub hasher: &'a Arc<PasswordHasher>,
    /// The password policy.
    pub policy: &'a PasswordPolicy,
    /// The back-off of re-entered passwords.
    pub lockouts: &'a crate::Lockouts,
    /// Who must have a second factor (see [`mailed_link_allowed`]).
    pub mfa: &'a crate::MfaPolicy,
    /// The clock.
    pub clock: &'a dyn Clock,
    /// Product name and link base.
    pub mail: &'a MailContext,
    /// Lifetimes and limits.
    pub rules: &'a RecoveryRules,
}

/// What became of a link request. Callers show the same page for both;
/// whether the address has an account is not known here: the request path
/// does the same work either way, and the mail worker decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRequest {
    /// Queued: a link goes out if the address names an active account.
    Queued,
    /// Too many requests for the account or from the client (nothing queued).
    Limited,
}

/// What the mail worker did with one queued request (audit labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handled {
    /// A link was mailed to the account's address.
    Sent,
    /// No active account: nothing sent.
    NoAccount,
    /// Limited at request time.
    Limited,
    /// The account must enroll a second factor it does not have: a mailed
    /// link would make its mailbox the whole account, so only an operator
    /// recovers it. Nothing sent.
    NeedsOperator,
}

/// A fresh token: (the secret for the link, its SHA-256 for the store).
pub fn new_token() -> (String, String) {
    let raw = hex::encode(portcullis_core::random::bytes::<32>());
    let hash = hash_token(&raw);
    (raw, hash)
}

/// The stored form of a token: SHA-256, hex. Lookups by this hash compare
/// digests of secrets, never the secrets themselves.
pub fn hash_token(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.trim().as_bytes()))
}

impl Recovery<'_> {
    /// Counts a mail request on `account`'s counter and the client IP's;
    /// true when either is over its limit (then nothing is sent). Requests
    /// are never given back: each one counts.
    async fn over_limit(&self, account: String, request: &RequestInfo) -> Result<bool, AuthnError> {
        let (per_account, per_ip) = self.rules.policies();
        let mut counters = vec![(account, &per_account)];
        counters.extend(request.ip.as_deref().map(|ip| (format!("link:ip:{ip}"), &per_ip)));
        Ok(match reserve(self.store, &counters, self.clock.now()).await? {
            Admission::Admitted(attempt) => {
                attempt.failed();
                false
            }
            Admission::Refused { .. } => true,
        })
    }

    /// The active account `address` (email or username) names, if any.
    async fn active_user(&self, address: &str) -> Result<Option<User>, AuthnError> {
        let address = address.trim();
        if address.is_empty() || address.len() > 254 {
            return Ok(None);
        }
        Ok(self.store.find_user_by_login(address).await?.filter(|u| !u.disabled))
    }

    /// The active user a token acts on.
    async fn token_user(&self, user_id: uuid::Uuid) -> Result<User, AuthnError> {
        self.store.find_user(user_id).await?.filter(|u| !u.disabled).ok_or(AuthnError::InvalidLink)
    }

    /// The live token of `purpose` a link carries, with its (active) user:
    /// unused, unexpired, and issued under the account's current password
    /// and email.
    async fn live_token(
        &self,
        raw: &str,
        purpose: EmailTokenPurpose,
    ) -> Result<(EmailToken, User), AuthnError> {
        let token =
            self.store.find_email_token(&hash_token(raw), purpose).await?.ok_or(AuthnError::InvalidLink)?;
        let user = self.token_user(token.user_id).await?;
        if !token.is_live(self.clock.now(), &user) {
            return Err(AuthnError::InvalidLink);
        }
        Ok((token, user))
    }

    /// Audits a link request without naming the address typed.
    async fn audit_request(
        &self,
        purpose: EmailTokenPurpose,
        outcome: Handled,
        user: Option<&User>,
        request: &RequestInfo,
    ) {
        audit_row(self.store, self.clock.now(), purpose, outcome, user, request).await;
    }
}

/// The audit row of a link request (never the address typed).
async fn audit_row(
    store: &dyn Store,
    now: OffsetDateTime,
    purpose: EmailTokenPurpose,
    outcome: Handled,
    user: Option<&User>,
    request: &RequestInfo,
) {
    let (audit, label) = match outcome {
        Handled::Sent => (AuditOutcome::Success, "sent"),
        Handled::NoAccount => (AuditOutcome::Failure, "no_account"),
        Handled::Limited => (AuditOutcome::Failure, "limited"),
        Handled::NeedsOperator => (AuditOutcome::Failure, "needs_operator"),
    };
    let detail = json!({ "result": label });
    record(store, now, audit_kind(purpose), audit, user.map(|u| u.id), request, detail).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_stored_hashed() {
        let (raw, hash) = new_token();
        assert_eq!(raw.len(), 64);
        assert_eq!(hash.len(), 64);
        assert_ne!(raw, hash);
        assert_eq!(hash_token(&raw), hash);
        assert_ne!(new_token().0, raw);
    }
}
