//! Second factors and per-session ceremony state: passkeys (WebAuthn
//! credentials, serialised by the `authn` crate), TOTP secrets (sealed by
//! the caller), recovery codes (SHA-256 hashes only) and short-lived state
//! bound to one browser session (a WebAuthn challenge, a pending second
//! factor). Every "use once" operation is a single conditional write, so two
//! concurrent uses cannot both succeed.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Effects, EndedAccess, StoreError};

/// A registered passkey.
#[derive(Clone, PartialEq, Eq)]
pub struct PasskeyRow {
    /// Our id for it (the account page's handle).
    pub id: Uuid,
    /// The owner.
    pub user_id: Uuid,
    /// The WebAuthn credential id, base64url (unique across users).
    pub credential_id: String,
    /// The name the user gave it.
    pub name: String,
    /// The credential (public key, counter, flags) as the `authn` crate
    /// serialises it. Public data, but not shown to anyone.
    pub passkey: String,
    /// Registration instant.
    pub created_at: OffsetDateTime,
    /// Last successful sign-in with it.
    pub last_used_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for PasskeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyRow")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A user's TOTP secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpRow {
    /// The owner.
    pub user_id: Uuid,
    /// The secret, sealed under the key-encryption key (never plaintext).
    pub secret_sealed: String,
    /// When the first valid code confirmed it; unconfirmed secrets do not count.
    pub confirmed_at: Option<OffsetDateTime>,
    /// The last time step accepted (a code is accepted at most once).
    pub last_step: Option<i64>,
    /// When enrollment began.
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for TotpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRow")
            .field("user_id", &self.user_id)
            .field("confirmed_at", &self.confirmed_at)
            .finish_non_exhaustive()
    }
}

/// A second factor to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorRef {
    /// The user's passkey with this id.
    Passkey(Uuid),
    /// The authenticator app (a TOTP secret, confirmed or not).
    Totp,
    /// Every passkey, the app and the recovery codes (a user who lost them all).
    All,
}

/// A second factor the account holder adds, or their new recovery codes
/// (see [`MfaRepo::enroll_factor`]).
#[derive(Debug, Clone, Copy)]
pub enum Enrollment<'a> {
    /// The pending authenticator app, confirmed by the time step of its
    /// first code (the conditions of [`MfaRepo::accept_totp_step`] with
    /// `confirming`), and, when given, the user's first recovery codes
    /// (hashes, replacing any).
    Totp {
        /// The accepted time step.
        step: i64,
        /// Recovery code hashes to store with it.
        recovery_codes: Option<&'a [String]>,
    },
    /// A new passkey (`Conflict` when its credential id is registered).
    Passkey(&'a PasskeyRow),
    /// New recovery code hashes, replacing every code of the user.
    RecoveryCodes(&'a [String]),
}

/// Passkeys, TOTP, recovery codes, the MFA flag and session-bound state.
#[async_trait]
pub trait MfaRepo {
    /// The user's passkeys, oldest first.
    async fn list_passkeys(&self, user_id: Uuid) -> Result<Vec<PasskeyRow>, StoreError>;

    /// The passkey with this credential id, whoever owns it.
    async fn find_passkey_by_credential(&self, credential_id: &str)
    -> Result<Option<PasskeyRow>, StoreError>;

    /// Stores a new passkey; `Conflict` if the credential id is registered.
    async fn add_passkey(&self, passkey: &PasskeyRow) -> Result<(), StoreError>;

    /// Records a sign-in with a passkey (its updated credential and the time).
    async fn record_passkey_use(&self, id: Uuid, passkey: &str, at: OffsetDateTime)
    -> Result<(), StoreError>;

    /// Removes `factor` of the user and, in the same transaction, the
    /// recovery codes when no passkey or app is left, ends every session of
    /// the user but the one `effects` rotates and revokes every grant but
    /// the session-bound ones of the kept session (as
    /// [`UserRepo::change_password`](crate::UserRepo::change_password)), and
    /// writes `effects`. `None` (nothing changed) when the user has no such factor.
    async fn remove_factor(
        &self,
        user_id: Uuid,
        factor: FactorRef,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<Option<EndedAccess>, StoreError>;

    /// Applies `enrollment` for the user with `effects` (its notice, audit
    /// and session rotation), in ONE transaction. `false` — nothing changed,
    /// nothing written — when a TOTP step is refused.
    async fn enroll_factor(
        &self,
        user_id: Uuid,
        enrollment: Enrollment<'_>,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<bool, StoreError>;

    /// The user's TOTP secret, confirmed or not.
    async fn find_totp(&self, user_id: Uuid) -> Result<Option<TotpRow>, StoreError>;

    /// Starts (or restarts) an enrollment with a new, unconfirmed secret;
    /// `Conflict` when a confirmed secret exists (remove it first).
    async fn begin_totp(
        &self,
        user_id: Uuid,
        secret_sealed: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Accepts time step `step` for the user's secret: true only if the
    /// secret exists (confirmed, or unconfirmed when `confirming`) and no
    /// step at or after `step` was accepted before. Confirms an unconfirmed
    /// secret at `at` when `confirming`.
    async fn accept_totp_step(
        &self,
        user_id: Uuid,
        step: i64,
        confirming: bool,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Replaces every recovery code of the user by these hashes, in one transaction.
    async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        hashes: &[String],
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Uses the unused recovery code with this hash: true once, then false.
    async fn use_recovery_code(
        &self,
        user_id: Uuid,
        hash: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// How many unused recovery codes the user has.
    async fn count_recovery_codes(&self, user_id: Uuid) -> Result<u64, StoreError>;

    /// Sets the per-user "MFA required" flag with `effects`, in one
    /// transaction; `NotFound` (nothing written) for an unknown user.
    async fn set_mfa_required(
        &self,
        user_id: Uuid,
        required: bool,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError>;
}

/// The short-lived state of a browser session's ceremonies (a passkey
/// challenge, a sign-in waiting for its second factor): kept in the
/// database, or in Redis when it is configured (see [`crate::HotState`]).
#[async_trait]
pub trait SessionStateRepo {
    /// Stores (replacing) state `kind` of the session `session_id_hash`
    /// until `expires_at`. It dies with the session (and so with a rotation
    /// of its id).
    async fn put_session_state(
        &self,
        session_id_hash: &str,
        kind: &str,
        payload: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Reads state `kind` of the session, if present and not expired at `now`.
    async fn find_session_state(
        &self,
        session_id_hash: &str,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError>;

    /// Removes and returns state `kind` of the session (single use), if
    /// present and not expired at `now`.
    async fn take_session_state(
        &self,
        session_id_hash: &str,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError>;

    /// Deletes state expired at or before `now`; returns how many rows.
    async fn delete_expired_session_states(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}
