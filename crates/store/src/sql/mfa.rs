//! Second factors (passkeys, authenticator apps, recovery codes) and the
//! short-lived per-session state of ceremonies.

use super::{
    Db, Exec, Lock, Row, Tx, count,
    effects::{apply, write_one},
    grants::end_access,
};
use crate::{
    Effects, EndedAccess, Enrollment, FactorRef, MfaRepo, PasskeyRow, SessionStateRepo, StoreError, TotpRow,
};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! passkey_columns {
    () => {
        "id, user_id, credential_id, name, passkey, created_at, last_used_at"
    };
}

const PASSKEYS_OF: &str =
    concat!("SELECT ", passkey_columns!(), " FROM passkeys WHERE user_id = $1 ORDER BY created_at, id");
const PASSKEY_BY_CREDENTIAL: &str =
    concat!("SELECT ", passkey_columns!(), " FROM passkeys WHERE credential_id = $1");
const INSERT_PASSKEY: &str =
    concat!("INSERT INTO passkeys (", passkey_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)");
const PASSKEY_USED: &str = "UPDATE passkeys SET passkey = $1, last_used_at = $2 WHERE id = $3";
const DELETE_PASSKEY: &str = "DELETE FROM passkeys WHERE id = $1 AND user_id = $2";
const DELETE_ALL: [&str; 3] = [
    "DELETE FROM passkeys WHERE user_id = $1",
    "DELETE FROM totp_secrets WHERE user_id = $1",
    "DELETE FROM recovery_codes WHERE user_id = $1",
];
/// Recovery codes back up a passkey or an app: none left, none kept.
const DROP_ORPHAN_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = $1
       AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1)
       AND NOT EXISTS (SELECT 1 FROM totp_secrets WHERE user_id = $1 AND confirmed_at IS NOT NULL)";
const FIND_TOTP: &str =
    "SELECT user_id, secret_sealed, confirmed_at, last_step, created_at FROM totp_secrets WHERE user_id = $1";
const BEGIN_TOTP: &str =
    "INSERT INTO totp_secrets (user_id, secret_sealed, confirmed_at, last_step, created_at)
     VALUES ($1, $2, NULL, NULL, $3)
     ON CONFLICT (user_id) DO UPDATE
        SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at, last_step = NULL
        WHERE totp_secrets.confirmed_at IS NULL";
const CONFIRM_STEP: &str = "UPDATE totp_secrets SET last_step = $1, confirmed_at = $2
     WHERE user_id = $3 AND confirmed_at IS NULL AND (last_step IS NULL OR last_step < $1)";
const ACCEPT_STEP: &str = "UPDATE totp_secrets SET last_step = $1, confirmed_at = COALESCE(confirmed_at, $2)
     WHERE user_id = $3 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)";
const INSERT_CODE: &str =
    "INSERT INTO recovery_codes (user_id, code_hash, used_at, created_at) VALUES ($1, $2, NULL, $3)";
const USE_CODE: &str =
    "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL";
const CODES_LEFT: &str = "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";
const SET_REQUIRED: &str = "UPDATE users SET mfa_required = $1, updated_at = $2 WHERE id = $3";
const PUT_STATE: &str = "INSERT INTO session_states (session_id_hash, kind, payload, expires_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (session_id_hash, kind) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at";
const FIND_STATE: &str =
    "SELECT payload FROM session_states WHERE session_id_hash = $1 AND kind = $2 AND expires_at > $3";
const TAKE_STATE: &str =
    "DELETE FROM session_states WHERE session_id_hash = $1 AND kind = $2 RETURNING payload, expires_at";

fn passkey(row: &impl Row) -> Result<PasskeyRow, StoreError> {
    Ok(PasskeyRow {
        id: row.uuid("id")?,
        user_id: row.uuid("user_id")?,
        credential_id: row.text("credential_id")?,
        name: row.text("name")?,
        passkey: row.text("passkey")?,
        created_at: row.at("created_at")?,
        last_used_at: row.opt_at("last_used_at")?,
    })
}

fn totp(row: &impl Row) -> Result<TotpRow, StoreError> {
    Ok(TotpRow {
        user_id: row.uuid("user_id")?,
        secret_sealed: row.text("secret_sealed")?,
        confirmed_at: row.opt_at("confirmed_at")?,
        last_step: row.opt_int("last_step")?,
        created_at: row.at("created_at")?,
    })
}

/// Replaces every recovery code of `user_id` with `hashes`, on `db`.
async fn replace_codes(
    db: &mut impl Exec,
    user_id: Uuid,
    hashes: &[String],
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    db.execute(DELETE_ALL[2], args![user_id]).await?;
    for hash in hashes {
        db.execute(INSERT_CODE, args![user_id, hash, at]).await?;
    }
    Ok(())
}

#[async_trait]
impl<D: Db> MfaRepo for D {
    async fn list_passkeys(&self, user_id: Uuid) -> Result<Vec<PasskeyRow>, StoreError> {
        self.reader().fetch_all(PASSKEYS_OF, args![user_id]).await?.iter().map(passkey).collect()
    }

    async fn find_passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<PasskeyRow>, StoreError> {
        let row = self.reader().fetch_optional(PASSKEY_BY_CREDENTIAL, args![credential_id]).await?;
        row.as_ref().map(passkey).transpose()
    }

    async fn add_passkey(&self, p: &PasskeyRow) -> Result<(), StoreError> {
        let args =
            args![p.id, p.user_id, &p.credential_id, &p.name, &p.passkey, p.created_at, p.last_used_at];
        self.writer().execute(INSERT_PASSKEY, args).await.map(drop)
    }

    async fn record_passkey_use(
        &self,
        id: Uuid,
        passkey: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.writer().execute(PASSKEY_USED, args![passkey, at, id]).await.map(drop)
    }

    async fn remove_factor(
        &self,
        user_id: Uuid,
        factor: FactorRef,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<Option<EndedAccess>, StoreError> {
        let mut tx = self.begin().await?;
        // A concurrent sign-in or removal for the same user waits here, so
        // "no factor left" below is decided alone.
        self.lock(&mut tx, Lock::User(user_id)).await?;
        let removed = match factor {
            FactorRef::Passkey(id) => tx.execute(DELETE_PASSKEY, args![id, user_id]).await?,
            FactorRef::Totp => tx.execute(DELETE_ALL[1], args![user_id]).await?,
            FactorRef::All => {
                let mut removed = 0;
                for sql in DELETE_ALL {
                    removed += tx.execute(sql, args![user_id]).await?;
                }
                removed
            }
        };
        if removed == 0 && factor != FactorRef::All {
            return Ok(None);
        }
        tx.execute(DROP_ORPHAN_CODES, args![user_id]).await?;
        let ended = end_access(&mut tx, user_id, effects.kept_session(), now).await?;
        apply(&mut tx, effects, Some(ended), now).await?;
        tx.commit().await?;
        Ok(Some(ended))
    }

    async fn enroll_factor(
        &self,
        user_id: Uuid,
        enrollment: Enrollment<'_>,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let codes = match enrollment {
            Enrollment::Totp { step, recovery_codes } => {
                if tx.execute(CONFIRM_STEP, args![step, now, user_id]).await? == 0 {
                    return Ok(false);
                }
                recovery_codes
            }
            Enrollment::Passkey(p) => {
                let args =
                    args![p.id, user_id, &p.credential_id, &p.name, &p.passkey, p.created_at, p.last_used_at];
                tx.execute(INSERT_PASSKEY, args).await?;
                None
            }
            Enrollment::RecoveryCodes(hashes) => Some(hashes),
        };
        if let Some(hashes) = codes {
            replace_codes(&mut tx, user_id, hashes, now).await?;
        }
        apply(&mut tx, effects, None, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn find_totp(&self, user_id: Uuid) -> Result<Option<TotpRow>, StoreError> {
        self.reader().fetch_optional(FIND_TOTP, args![user_id]).await?.as_ref().map(totp).transpose()
    }

    async fn begin_totp(
        &self,
        user_id: Uuid,
        secret_sealed: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if self.writer().execute(BEGIN_TOTP, args![user_id, secret_sealed, at]).await? == 0 {
            return Err(StoreError::Conflict("an authenticator app is already enrolled".into()));
        }
        Ok(())
    }

    async fn accept_totp_step(
        &self,
        user_id: Uuid,
        step: i64,
        confirming: bool,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let sql = if confirming { CONFIRM_STEP } else { ACCEPT_STEP };
        Ok(self.writer().execute(sql, args![step, at, user_id]).await? > 0)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        hashes: &[String],
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        replace_codes(&mut tx, user_id, hashes, at).await?;
        tx.commit().await
    }

    async fn use_recovery_code(
        &self,
        user_id: Uuid,
        hash: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(self.writer().execute(USE_CODE, args![at, user_id, hash]).await? > 0)
    }

    async fn count_recovery_codes(&self, user_id: Uuid) -> Result<u64, StoreError> {
        Ok(count(self.reader().fetch_one(CODES_LEFT, args![user_id]).await?.int("n")?))
    }

    async fn set_mfa_required(
        &self,
        user_id: Uuid,
        required: bool,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError> {
        write_one(self, SET_REQUIRED, args![required, at, user_id], at, effects).await
    }
}

#[async_trait]
impl<D: Db> SessionStateRepo for D {
    async fn put_session_state(
        &self,
        session_id_hash: &str,
        kind: &str,
        payload: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.writer().execute(PUT_STATE, args![session_id_hash, kind, payload, expires_at]).await.map(drop)
    }

    async fn find_session_state(
        &self,
        session_id_hash: &str,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        let row = self.reader().fetch_optional(FIND_STATE, args![session_id_hash, kind, now]).await?;
        row.map(|r| r.text("payload")).transpose()
    }

    async fn take_session_state(
        &self,
        session_id_hash: &str,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        match self.writer().fetch_optional(TAKE_STATE, args![session_id_hash, kind]).await? {
            Some(row) if row.at("expires_at")? > now => Ok(Some(row.text("payload")?)),
            _ => Ok(None),
        }
    }

    async fn delete_expired_session_states(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.writer().execute("DELETE FROM session_states WHERE expires_at <= $1", args![now]).await
    }
}
