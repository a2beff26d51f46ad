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
//! both paths count the request, render a mail and write an audit row.
//! Requests are rate-limited per address and per client IP.

mod email;
mod magic;
mod reset;

pub use magic::MagicLinkCheck;

use portcullis_core::Clock;
use portcullis_mailer::MailContext;
use portcullis_store::{AuditOutcome, Store, User, normalise_login};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

use crate::audit::{RequestInfo, record};
use crate::{AuthnError, PasswordHasher, PasswordPolicy};

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
    /// The hasher (new passwords, re-entered passwords).
    pub hasher: &'a Arc<PasswordHasher>,
    /// The password policy.
    pub policy: &'a PasswordPolicy,
    /// The clock.
    pub clock: &'a dyn Clock,
    /// Product name and link base.
    pub mail: &'a MailContext,
    /// Lifetimes and limits.
    pub rules: &'a RecoveryRules,
}

/// What became of a link request. Callers show the same page for all
/// three; the distinction is for audit and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRequest {
    /// A link was queued for the account's address.
    Sent,
    /// No active account has that address (nothing sent).
    NoAccount,
    /// Too many requests for the address or from the client (nothing sent).
    Limited,
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
    /// Counts a link request per address and per IP; true when either is
    /// over its limit.
    async fn over_limit(
        &self,
        address: &str,
        request: &RequestInfo,
        now: OffsetDateTime,
    ) -> Result<bool, AuthnError> {
        let forget = now - self.rules.window;
        let by_address = self
            .store
            .record_failure(&format!("recover:address:{}", normalise_login(address)), now, forget)
            .await?;
        let by_ip = match &request.ip {
            Some(ip) => self.store.record_failure(&format!("recover:ip:{ip}"), now, forget).await?,
            None => 0,
        };
        Ok(by_address > self.rules.max_per_address || by_ip > self.rules.max_per_ip)
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

    /// Audits a link request without naming the address typed.
    async fn audit_request(
        &self,
        kind: &str,
        outcome: LinkRequest,
        user: Option<&User>,
        request: &RequestInfo,
    ) {
        let (audit, label) = match outcome {
            LinkRequest::Sent => (AuditOutcome::Success, "sent"),
            LinkRequest::NoAccount => (AuditOutcome::Failure, "no_account"),
            LinkRequest::Limited => (AuditOutcome::Failure, "limited"),
        };
        let now = self.clock.now();
        record(self.store, now, kind, audit, user.map(|u| u.id), request, json!({ "result": label })).await;
    }
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
