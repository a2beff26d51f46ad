//! Single-use links sent by mail: password reset, email verification and
//! magic-link sign-in. Only the SHA-256 of each token is stored.
//!
//! Consuming a token is one conditional `UPDATE … WHERE used_at IS NULL AND
//! expires_at > now` inside the transaction of its effect (new password,
//! verified address), and the notification mails of that effect are written
//! to the outbox in the same transaction: the link works once, and the
//! change and its mails happen together or not at all.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Effects, NewMail, StoreError, User};

/// What a mailed token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailTokenPurpose {
    /// Set a new password ("forgot password").
    Reset,
    /// Prove an address: the account's own, or the new one of an email change.
    VerifyEmail,
    /// Sign in without a password.
    MagicLink,
}

impl EmailTokenPurpose {
    /// The value stored in the `purpose` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::VerifyEmail => "verify_email",
            Self::MagicLink => "magic_link",
        }
    }

    /// Parses the stored value.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "reset" => Ok(Self::Reset),
            "verify_email" => Ok(Self::VerifyEmail),
            "magic_link" => Ok(Self::MagicLink),
            other => Err(StoreError::Corrupt(format!("email token purpose {other:?}"))),
        }
    }
}

/// A mailed single-use token.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailToken {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// What it is for.
    pub purpose: EmailTokenPurpose,
    /// Whose account it acts on.
    pub user_id: Uuid,
    /// For an email change: the address being verified.
    pub new_email: Option<String>,
    /// For a magic link: the hash of the browser session that asked for it.
    pub session_hash: Option<String>,
    /// Creation instant.
    pub created_at: OffsetDateTime,
    /// It works strictly before this instant.
    pub expires_at: OffsetDateTime,
    /// When it was used (or voided), if it was.
    pub used_at: Option<OffsetDateTime>,
    /// The account's security stamp when the token was issued: the token
    /// works only while the account's password and email are unchanged.
    /// `None`: not bound (a new account's own verification link).
    pub account_stamp: Option<String>,
}

impl EmailToken {
    /// Unused and unexpired at `now`, and issued under `user`'s current
    /// password and email (its security stamp).
    pub fn is_live(&self, now: OffsetDateTime, user: &User) -> bool {
        self.used_at.is_none()
            && now < self.expires_at
            && self.user_id == user.id
            && self.account_stamp.as_deref().is_none_or(|stamp| stamp == user.security_stamp)
    }
}

/// A "mail me a link" request (reset or magic link), written by the request
/// path whether or not the address names an account, turned into a token
/// and a mail (or nothing) by the mail worker.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkRequestRow {
    /// Random id.
    pub id: String,
    /// [`EmailTokenPurpose::Reset`] or [`EmailTokenPurpose::MagicLink`].
    pub purpose: EmailTokenPurpose,
    /// The account the address named, if any.
    pub user_id: Option<Uuid>,
    /// For a magic link: the hash of the browser session that asked.
    pub session_hash: Option<String>,
    /// For a magic link: the pending authorization request to resume.
    pub resume: Option<String>,
    /// Client IP of the request (for the audit row).
    pub ip: Option<String>,
    /// User agent of the request (for the audit row).
    pub user_agent: Option<String>,
    /// When it was asked.
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for LinkRequestRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkRequestRow")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for EmailToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailToken")
            .field("purpose", &self.purpose)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .finish_non_exhaustive()
    }
}

/// Mailed tokens and the changes they authorise.
#[async_trait]
pub trait EmailTokenRepo {
    /// Stores `token` and writes `mails` (the mail carrying its link) to the
    /// outbox, in one transaction.
    async fn create_email_token(&self, token: &EmailToken, mails: &[NewMail]) -> Result<(), StoreError>;

    /// The token with this hash and purpose, used or not (see [`EmailToken::is_live`]).
    async fn find_email_token(
        &self,
        token_hash: &str,
        purpose: EmailTokenPurpose,
    ) -> Result<Option<EmailToken>, StoreError>;

    /// Marks a live token of `purpose` used at `now`; returns it, or `None`
    /// when it is unknown, used, expired or issued under another security
    /// stamp of its account. Two concurrent calls never both succeed.
    async fn consume_email_token(
        &self,
        token_hash: &str,
        purpose: EmailTokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<EmailToken>, StoreError>;

    /// Completes a password reset in ONE transaction: consumes the live
    /// reset token, sets `password_hash` (and a new security stamp), ends every session of the user
    /// (revoking their session-bound grants and queuing back-channel
    /// logouts, as `GrantRepo::end_user_sessions`), revokes all their other
    /// grants (refresh tokens included), voids their other unused reset and
    /// magic-link tokens, and writes `effects`. Returns the user id, or `None`
    /// (nothing changed, nothing written) when the token is unknown, used or
    /// expired.
    async fn reset_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<Option<Uuid>, StoreError>;

    /// Completes an email verification in ONE transaction: consumes the live
    /// token, sets the address to its `new_email` (if any, with a new
    /// security stamp) and marks it verified, and writes `mails`. `None` when the token is not live;
    /// `Conflict` (nothing changed) when the new address now belongs to
    /// another account.
    async fn verify_email(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
        mails: &[NewMail],
    ) -> Result<Option<Uuid>, StoreError>;

    /// Queues a link request.
    async fn create_link_request(&self, request: &LinkRequestRow) -> Result<(), StoreError>;

    /// Claims up to `limit` link requests not leased at `now`, leasing them
    /// until `lease_until` (a crashed worker's claims come back then).
    async fn claim_link_requests(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<LinkRequestRow>, StoreError>;

    /// Completes a claimed link request in ONE transaction: deletes it and,
    /// when the account exists, stores `token` and queues `mails`.
    async fn complete_link_request(
        &self,
        id: &str,
        token: Option<&EmailToken>,
        mails: &[NewMail],
    ) -> Result<(), StoreError>;

    /// Deletes tokens that expired before `now`; returns how many.
    async fn delete_expired_email_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}
