//! Device authorizations (RFC 8628): a device asks, its user approves or
//! denies on `/device`, the device polls the token endpoint until then.
//!
//! A row is found by the SHA-256 of its device code (the device's secret)
//! or of its user code (what the user types). Approval creates the grant
//! (as an authorization code's does) in the same transaction; redemption
//! is single use, like a code's: of two redeemers, the second gets nothing
//! and the grant is revoked. Expired rows go with the other expired
//! protocol state ([`crate::GrantRepo::delete_expired_grants`]).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{Effects, GrantRow, Redemption, RefreshTokenRow, StoreError};

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// The user approved: the grant exists.
    Approved,
    /// The user denied.
    Denied,
}

impl DeviceStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(Self::Pending),
            "approved" => Ok(Self::Approved),
            "denied" => Ok(Self::Denied),
            other => Err(StoreError::Corrupt(format!("device status {other:?}"))),
        }
    }
}

/// One device authorization.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceAuthorizationRow {
    /// SHA-256 of the device code, hex.
    pub device_code_hash: String,
    /// SHA-256 of the normalised user code, hex (unique among the rows kept).
    pub user_code_hash: String,
    /// The client that asked (the device code is bound to it).
    pub client_id: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Pending, approved or denied.
    pub status: DeviceStatus,
    /// The grant, once approved.
    pub grant_id: Option<String>,
    /// The least seconds between two polls (grows by 5 at each `slow_down`).
    pub interval_secs: i64,
    /// The last poll, if any.
    pub last_polled_at: Option<OffsetDateTime>,
    /// Creation instant.
    pub created_at: OffsetDateTime,
    /// The device code and the user code are void from this instant.
    pub expires_at: OffsetDateTime,
    /// When the user approved or denied.
    pub decided_at: Option<OffsetDateTime>,
    /// When the device code was exchanged for tokens.
    pub redeemed_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for DeviceAuthorizationRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorizationRow")
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("status", &self.status)
            .field("grant_id", &self.grant_id)
            .field("interval_secs", &self.interval_secs)
            .field("expires_at", &self.expires_at)
            .field("redeemed_at", &self.redeemed_at)
            .finish_non_exhaustive()
    }
}

/// Device authorizations.
#[async_trait]
pub trait DeviceRepo {
    /// Stores a new device authorization; [`StoreError::Conflict`] when its
    /// user code (or device code) is already taken.
    async fn create_device_authorization(&self, row: &DeviceAuthorizationRow) -> Result<(), StoreError>;

    /// The device authorization with this user code, if any (expiry is the caller's rule).
    async fn find_device_by_user_code(
        &self,
        user_code_hash: &str,
    ) -> Result<Option<DeviceAuthorizationRow>, StoreError>;

    /// The device authorization with this device code, with its grant once approved.
    async fn find_device_code(
        &self,
        device_code_hash: &str,
    ) -> Result<Option<(DeviceAuthorizationRow, Option<GrantRow>)>, StoreError>;

    /// Records a poll: sets `last_polled_at` and `interval_secs` to `next`
    /// if they are still `seen` (compare and swap); false when another poll
    /// came in between (or the row is gone).
    async fn record_device_poll(
        &self,
        device_code_hash: &str,
        seen: (Option<OffsetDateTime>, i64),
        next: (OffsetDateTime, i64),
    ) -> Result<bool, StoreError>;

    /// Approves a pending, unexpired device authorization in ONE
    /// transaction: stores `grant`, marks the row approved with it, saves
    /// the user's `consent` scopes for the client (replacing them), and
    /// writes `effects`. False (nothing written) when it is not pending or
    /// has expired at `now`.
    async fn approve_device(
        &self,
        user_code_hash: &str,
        grant: &GrantRow,
        consent: &[String],
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<bool, StoreError>;

    /// Denies a pending, unexpired device authorization with `effects`, in
    /// one transaction. False (nothing written) when it is not pending or
    /// has expired at `now`.
    async fn deny_device(
        &self,
        user_code_hash: &str,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<bool, StoreError>;

    /// Atomically redeems an approved device code at `now`, storing
    /// `refresh` (the first token of the family) in the same transaction.
    /// A device code already redeemed is a replay: its grant is revoked in
    /// that same transaction and `Replayed` returned.
    async fn redeem_device_code(
        &self,
        device_code_hash: &str,
        refresh: Option<&RefreshTokenRow>,
        now: OffsetDateTime,
    ) -> Result<Redemption, StoreError>;
}
