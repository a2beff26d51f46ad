//! Device authorizations (RFC 8628). A poll is recorded by compare and
//! swap (of two polls at once, one finds the row changed); approval stores
//! the grant, the row's new state, the consent and the audit event in one
//! transaction; redemption is the code's single-use redemption
//! ([`super::grants::redeem_once`]).

use super::grants::{SAVE_CONSENT, grant, insert_grant, redeem_once};
use super::{Db, Exec, Row, Tx, effects::apply};
use crate::{
    DeviceAuthorizationRow, DeviceRepo, DeviceStatus, Effects, GrantRow, Redemption, RefreshTokenRow,
    StoreError,
};
use async_trait::async_trait;
use time::OffsetDateTime;

macro_rules! device_columns {
    () => {
        "d.device_code_hash, d.user_code_hash, d.client_id, d.scopes, d.status, d.grant_id, \
         d.interval_secs, d.last_polled_at, d.created_at, d.expires_at, d.decided_at, d.redeemed_at"
    };
}

const INSERT: &str = "INSERT INTO device_authorizations (device_code_hash, user_code_hash, client_id, scopes,
        status, grant_id, interval_secs, last_polled_at, created_at, expires_at, decided_at, redeemed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
const BY_USER_CODE: &str =
    concat!("SELECT ", device_columns!(), " FROM device_authorizations d WHERE d.user_code_hash = $1");
const BY_DEVICE_CODE: &str = concat!(
    "SELECT ",
    device_columns!(),
    ", ",
    grant_columns!(),
    " FROM device_authorizations d LEFT JOIN grants g ON g.id = d.grant_id WHERE d.device_code_hash = $1"
);
const RECORD_POLL: &str = "UPDATE device_authorizations SET last_polled_at = $1, interval_secs = $2
     WHERE device_code_hash = $3 AND interval_secs = $4 AND last_polled_at IS NOT DISTINCT FROM $5";
const APPROVE: &str = "UPDATE device_authorizations SET status = 'approved', grant_id = $1, decided_at = $2
     WHERE user_code_hash = $3 AND status = 'pending' AND expires_at > $2";
const DENY: &str = "UPDATE device_authorizations SET status = 'denied', decided_at = $1
     WHERE user_code_hash = $2 AND status = 'pending' AND expires_at > $1";
const MARK_REDEEMED: &str = "UPDATE device_authorizations SET redeemed_at = $1
     WHERE device_code_hash = $2 AND status = 'approved' AND redeemed_at IS NULL";
const GRANT_OF: &str =
    "SELECT grant_id FROM device_authorizations WHERE device_code_hash = $1 AND grant_id IS NOT NULL";

fn device(row: &impl Row) -> Result<DeviceAuthorizationRow, StoreError> {
    Ok(DeviceAuthorizationRow {
        device_code_hash: row.text("device_code_hash")?,
        user_code_hash: row.text("user_code_hash")?,
        client_id: row.text("client_id")?,
        scopes: row.list("scopes")?,
        status: DeviceStatus::parse(&row.text("status")?)?,
        grant_id: row.opt_text("grant_id")?,
        interval_secs: row.int("interval_secs")?,
        last_polled_at: row.opt_at("last_polled_at")?,
        created_at: row.at("created_at")?,
        expires_at: row.at("expires_at")?,
        decided_at: row.opt_at("decided_at")?,
        redeemed_at: row.opt_at("redeemed_at")?,
    })
}

#[async_trait]
impl<D: Db> DeviceRepo for D {
    async fn create_device_authorization(&self, d: &DeviceAuthorizationRow) -> Result<(), StoreError> {
        let args = args![
            &d.device_code_hash,
            &d.user_code_hash,
            &d.client_id,
            &d.scopes,
            d.status.as_str(),
            &d.grant_id,
            d.interval_secs,
            d.last_polled_at,
            d.created_at,
            d.expires_at,
            d.decided_at,
            d.redeemed_at
        ];
        self.writer().execute(INSERT, args).await.map(drop)
    }

    async fn find_device_by_user_code(
        &self,
        user_code_hash: &str,
    ) -> Result<Option<DeviceAuthorizationRow>, StoreError> {
        self.reader()
            .fetch_optional(BY_USER_CODE, args![user_code_hash])
            .await?
            .as_ref()
            .map(device)
            .transpose()
    }

    async fn find_device_code(
        &self,
        device_code_hash: &str,
    ) -> Result<Option<(DeviceAuthorizationRow, Option<GrantRow>)>, StoreError> {
        let row = self.reader().fetch_optional(BY_DEVICE_CODE, args![device_code_hash]).await?;
        let Some(row) = row else { return Ok(None) };
        let granted = row.opt_text("g_id")?.map(|_| grant(&row)).transpose()?;
        Ok(Some((device(&row)?, granted)))
    }

    async fn record_device_poll(
        &self,
        device_code_hash: &str,
        (seen_at, seen_interval): (Option<OffsetDateTime>, i64),
        (at, interval): (OffsetDateTime, i64),
    ) -> Result<bool, StoreError> {
        let args = args![at, interval, device_code_hash, seen_interval, seen_at];
        Ok(self.writer().execute(RECORD_POLL, args).await? == 1)
    }

    async fn approve_device(
        &self,
        user_code_hash: &str,
        g: &GrantRow,
        consent: &[String],
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        insert_grant(&mut tx, g).await?;
        if tx.execute(APPROVE, args![&g.id, now, user_code_hash]).await? != 1 {
            return Ok(false);
        }
        tx.execute(SAVE_CONSENT, args![g.user_id, &g.client_id, consent, now]).await?;
        apply(&mut tx, effects, None, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn deny_device(
        &self,
        user_code_hash: &str,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if tx.execute(DENY, args![now, user_code_hash]).await? != 1 {
            return Ok(false);
        }
        apply(&mut tx, effects, None, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn redeem_device_code(
        &self,
        device_code_hash: &str,
        refresh: Option<&RefreshTokenRow>,
        now: OffsetDateTime,
    ) -> Result<Redemption, StoreError> {
        redeem_once(self, MARK_REDEEMED, GRANT_OF, device_code_hash, refresh, now).await
    }
}
