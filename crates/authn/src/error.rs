use portcullis_store::StoreError;

use crate::PolicyError;

/// What an authentication operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthnError {
    /// The password breaks the policy.
    #[error("{0}")]
    Policy(#[from] PolicyError),
    /// The username or email is malformed.
    #[error("{0}")]
    InvalidIdentity(String),
    /// The username or email belongs to another account.
    #[error("that username or email is already in use")]
    Taken,
    /// No such user.
    #[error("no such user")]
    UnknownUser,
    /// The argon2 parameters are unusable.
    #[error("invalid argon2 parameters: {0}")]
    Parameters(String),
    /// Hashing failed or its worker was lost.
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// Sealing or opening a secret failed.
    #[error("cryptography failed: {0}")]
    Crypto(String),
    /// A WebAuthn ceremony failed (bad response, stale challenge, …).
    #[error("passkey ceremony failed: {0}")]
    Passkey(String),
    /// A passkey ceremony's kept state is gone (expired, or never started).
    #[error("the passkey request expired")]
    CeremonyExpired,
    /// A mailed link is unknown, already used or expired.
    #[error("this link is unknown, already used or expired")]
    InvalidLink,
    /// A re-entered password is wrong.
    #[error("the password is wrong")]
    WrongPassword,
    /// Too many failed attempts: nothing was checked.
    #[error("too many failed attempts")]
    Locked {
        /// When attempts are allowed again.
        until: time::OffsetDateTime,
    },
    /// Too many requests of this kind (mails) for now.
    #[error("too many requests")]
    TooManyRequests,
    /// The session may only enroll a second factor: set one up first.
    #[error("set up a second factor first")]
    EnrollFirst,
    /// The change needs a recent, strong authentication: sign in again.
    #[error("confirm it is you: sign in again")]
    ReauthenticationRequired,
    /// The change needs the current password (the session is not recent
    /// and strong enough to skip it).
    #[error("the current password is required")]
    CurrentPasswordRequired,
    /// A new password and its confirmation differ.
    #[error("the two passwords differ")]
    PasswordsDiffer,
    /// A one-time code is wrong, used or out of time.
    #[error("the code is not valid")]
    InvalidCode,
    /// Recovery codes back up a second factor: the user has none.
    #[error("recovery codes need a second factor")]
    NoSecondFactor,
    /// The user has no such passkey.
    #[error("unknown passkey")]
    UnknownPasskey,
    /// The user has no such other session.
    #[error("unknown session")]
    UnknownSession,
    /// An administrator may not do this to their own account (disable it,
    /// remove its second factors): another administrator must.
    #[error("not on your own account")]
    NotOnYourself,
    /// No such group.
    #[error("unknown group")]
    UnknownGroup,
    /// The user is not connected to that client.
    #[error("unknown client")]
    UnknownClient,
    /// The resource changed since the version the change was based on
    /// (an `If-Match` that no longer matches): nothing was written.
    #[error("the resource changed since it was read")]
    Stale,
    /// A typed confirmation did not match what it confirms.
    #[error("the confirmation does not match")]
    ConfirmationMismatch,
    /// The account holds no such upstream identity.
    #[error("unknown linked account")]
    UnknownUpstreamIdentity,
    /// The change would leave the account no way to sign in.
    #[error("this is the account's only way to sign in")]
    LastSignInMethod,
    /// Passkeys do not work here (the issuer's host is not a domain name).
    #[error("passkeys are not available")]
    PasskeysUnavailable,
    /// A mail could not be rendered.
    #[error(transparent)]
    Mail(#[from] portcullis_mailer::MailError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AuthnError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => Self::Taken,
            other => Self::Store(other),
        }
    }
}
