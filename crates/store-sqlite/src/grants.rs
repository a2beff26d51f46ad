//! Grants and what hangs off them, on SQLite: lists as JSON arrays, instants
//! as unix seconds. Every transaction that writes starts with
//! `BEGIN IMMEDIATE`, taking the database's single write lock up front: two
//! redemptions of one code serialise instead of both reading "unused" (and
//! none fails with a lock upgrade error half way).

use async_trait::async_trait;
use portcullis_store::{
    AccessTokenState, AuthRequestRow, BackchannelLogout, CodeRow, EndedAccess, GrantRepo, GrantRow,
    Redemption, RefreshTokenRow, SessionTimes, StoreError,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{SqliteStore, backend_err};

/// Grant columns, aliased `g_…` so they can sit beside a code's or token's.
const GRANT_COLUMNS: &str = "g.id AS g_id, g.client_id AS g_client_id, g.user_id AS g_user_id, g.sid AS g_sid, \
                             g.session_bound AS g_session_bound, g.scopes AS g_scopes, g.auth_time AS g_auth_time, \
                             g.amr AS g_amr, g.acr AS g_acr, g.created_at AS g_created_at, \
                             g.expires_at AS g_expires_at, g.revoked_at AS g_revoked_at";

const CODE_COLUMNS: &str = "c.code_hash, c.grant_id, c.client_id, c.redirect_uri, c.code_challenge, c.nonce, \
                            c.created_at, c.expires_at, c.consumed_at";

const REFRESH_COLUMNS: &str =
    "r.token_hash, r.grant_id, r.client_id, r.scopes, r.created_at, r.expires_at, r.rotated_at";

const BACKCHANNEL_COLUMNS: &str = "id, client_id, uri, user_id, sid, attempts, created_at, next_attempt_at";

fn corrupt(column: &str) -> StoreError {
    StoreError::Corrupt(format!("grants: {column}"))
}

fn instant(row: &SqliteRow, column: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(row.get(column)).map_err(|_| corrupt(column))
}

fn optional_instant(row: &SqliteRow, column: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    let secs: Option<i64> = row.get(column);
    secs.map(|s| OffsetDateTime::from_unix_timestamp(s).map_err(|_| corrupt(column))).transpose()
}

fn list(row: &SqliteRow, column: &str) -> Result<Vec<String>, StoreError> {
    let raw: String = row.get(column);
    serde_json::from_str(&raw).map_err(|_| corrupt(column))
}

fn uuid(row: &SqliteRow, column: &str) -> Result<Uuid, StoreError> {
    let raw: String = row.get(column);
    raw.parse().map_err(|_| corrupt(column))
}

fn json(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

fn auth_request(row: &SqliteRow) -> Result<AuthRequestRow, StoreError> {
    Ok(AuthRequestRow {
        id: row.get("id"),
        client_id: row.get("client_id"),
        request: row.get("request"),
        created_at: instant(row, "created_at")?,
        expires_at: instant(row, "expires_at")?,
    })
}

/// A grant from its `g_…` columns.
fn grant(row: &SqliteRow) -> Result<GrantRow, StoreError> {
    Ok(GrantRow {
        id: row.get("g_id"),
        client_id: row.get("g_client_id"),
        user_id: uuid(row, "g_user_id")?,
        sid: row.get("g_sid"),
        session_bound: row.get("g_session_bound"),
        scopes: list(row, "g_scopes")?,
        auth_time: instant(row, "g_auth_time")?,
        amr: list(row, "g_amr")?,
        acr: row.get("g_acr"),
        created_at: instant(row, "g_created_at")?,
        expires_at: instant(row, "g_expires_at")?,
        revoked_at: optional_instant(row, "g_revoked_at")?,
    })
}

fn code(row: &SqliteRow) -> Result<CodeRow, StoreError> {
    Ok(CodeRow {
        code_hash: row.get("code_hash"),
        grant_id: row.get("grant_id"),
        client_id: row.get("client_id"),
        redirect_uri: row.get("redirect_uri"),
        code_challenge: row.get("code_challenge"),
        nonce: row.get("nonce"),
        created_at: instant(row, "created_at")?,
        expires_at: instant(row, "expires_at")?,
        consumed_at: optional_instant(row, "consumed_at")?,
    })
}

fn refresh_token(row: &SqliteRow) -> Result<RefreshTokenRow, StoreError> {
    Ok(RefreshTokenRow {
        token_hash: row.get("token_hash"),
        grant_id: row.get("grant_id"),
        client_id: row.get("client_id"),
        scopes: list(row, "scopes")?,
        created_at: instant(row, "created_at")?,
        expires_at: instant(row, "expires_at")?,
        rotated_at: optional_instant(row, "rotated_at")?,
    })
}

fn backchannel(row: &SqliteRow) -> Result<BackchannelLogout, StoreError> {
    let attempts: i64 = row.get("attempts");
    Ok(BackchannelLogout {
        id: row.get("id"),
        client_id: row.get("client_id"),
        uri: row.get("uri"),
        user_id: uuid(row, "user_id")?,
        sid: row.get("sid"),
        attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
        created_at: instant(row, "created_at")?,
        next_attempt_at: instant(row, "next_attempt_at")?,
    })
}

async fn insert_refresh(conn: &mut SqliteConnection, r: &RefreshTokenRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at, rotated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.token_hash)
    .bind(&r.grant_id)
    .bind(&r.client_id)
    .bind(json(&r.scopes))
    .bind(r.created_at.unix_timestamp())
    .bind(r.expires_at.unix_timestamp())
    .bind(r.rotated_at.map(OffsetDateTime::unix_timestamp))
    .execute(&mut *conn)
    .await
    .map_err(backend_err)?;
    Ok(())
}

/// Revokes the grant `grant_id` at `now` unless it already is.
async fn revoke(conn: &mut SqliteConnection, grant_id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
    sqlx::query("UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(now.unix_timestamp())
        .bind(grant_id)
        .execute(&mut *conn)
        .await
        .map_err(backend_err)?;
    Ok(())
}

/// What follows the deletion of the session `sid` of `user_id`: revokes its
/// session-bound grants and queues one back-channel logout per client with a
/// grant in it and a `backchannel_logout_uri`. Returns the queued count.
pub(crate) async fn after_session_end(
    conn: &mut SqliteConnection,
    sid: &str,
    user_id: Option<&str>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let Some(user_id) = user_id else { return Ok(0) };
    let now = now.unix_timestamp();
    sqlx::query("UPDATE grants SET revoked_at = ? WHERE sid = ? AND session_bound AND revoked_at IS NULL")
        .bind(now)
        .bind(sid)
        .execute(&mut *conn)
        .await
        .map_err(backend_err)?;
    let clients = sqlx::query(
        "SELECT DISTINCT c.client_id, c.backchannel_logout_uri FROM grants g
         JOIN clients c ON c.client_id = g.client_id
         WHERE g.sid = ? AND c.backchannel_logout_uri IS NOT NULL
         ORDER BY c.client_id",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await
    .map_err(backend_err)?;
    for client in &clients {
        let client_id: String = client.get("client_id");
        let uri: String = client.get("backchannel_logout_uri");
        sqlx::query(
            "INSERT INTO backchannel_logouts (id, client_id, uri, user_id, sid, attempts, created_at, next_attempt_at)
             VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
        )
        .bind(portcullis_core::random::hex_id())
        .bind(client_id)
        .bind(uri)
        .bind(user_id)
        .bind(sid)
        .bind(now)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(backend_err)?;
    }
    Ok(clients.len() as u64)
}

/// Ends every session of `user_id` but `keep` (an id hash) — each with its
/// session-bound grants and back-channel logouts — and revokes every other
/// grant of the user but the session-bound ones of the kept session, on
/// `conn` (inside the caller's transaction).
pub(crate) async fn end_access(
    conn: &mut SqliteConnection,
    user_id: &str,
    keep: Option<&str>,
    now: OffsetDateTime,
) -> Result<EndedAccess, StoreError> {
    let sids: Vec<String> =
        sqlx::query_scalar("DELETE FROM sessions WHERE user_id = ?1 AND id_hash IS NOT ?2 RETURNING sid")
            .bind(user_id)
            .bind(keep)
            .fetch_all(&mut *conn)
            .await
            .map_err(backend_err)?;
    for sid in &sids {
        after_session_end(conn, sid, Some(user_id), now).await?;
    }
    let kept_sid: Option<String> = match keep {
        Some(id_hash) => sqlx::query_scalar("SELECT sid FROM sessions WHERE id_hash = ?1")
            .bind(id_hash)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend_err)?,
        None => None,
    };
    let revoked = sqlx::query(
        "UPDATE grants SET revoked_at = ?1
         WHERE user_id = ?2 AND revoked_at IS NULL AND NOT (session_bound AND sid IS ?3 AND ?3 IS NOT NULL)",
    )
    .bind(now.unix_timestamp())
    .bind(user_id)
    .bind(kept_sid)
    .execute(&mut *conn)
    .await
    .map_err(backend_err)?;
    Ok(EndedAccess { sessions: sids.len() as u64, grants: revoked.rows_affected() })
}

impl SqliteStore {
    /// A transaction holding the write lock from its first statement.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.write_pool().begin_with("BEGIN IMMEDIATE").await.map_err(backend_err)
    }
}

#[async_trait]
impl GrantRepo for SqliteStore {
    async fn create_auth_request(&self, r: &AuthRequestRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_requests (id, client_id, request, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&r.id)
        .bind(&r.client_id)
        .bind(&r.request)
        .bind(r.created_at.unix_timestamp())
        .bind(r.expires_at.unix_timestamp())
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn find_auth_request(&self, id: &str) -> Result<Option<AuthRequestRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, client_id, request, created_at, expires_at FROM auth_requests WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(backend_err)?;
        row.as_ref().map(auth_request).transpose()
    }

    async fn delete_auth_request(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM auth_requests WHERE id = ?")
            .bind(id)
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn find_consent(&self, user_id: Uuid, client_id: &str) -> Result<Option<Vec<String>>, StoreError> {
        let row = sqlx::query("SELECT scopes FROM consents WHERE user_id = ? AND client_id = ?")
            .bind(user_id.to_string())
            .bind(client_id)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(|r| list(r, "scopes")).transpose()
    }

    async fn save_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scopes: &[String],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consents (user_id, client_id, scopes, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at",
        )
        .bind(user_id.to_string())
        .bind(client_id)
        .bind(json(scopes))
        .bind(now.unix_timestamp())
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn create_grant_with_code(&self, g: &GrantRow, c: &CodeRow) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO grants (id, client_id, user_id, sid, session_bound, scopes, auth_time, amr, acr,
                                 created_at, expires_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&g.id)
        .bind(&g.client_id)
        .bind(g.user_id.to_string())
        .bind(&g.sid)
        .bind(g.session_bound)
        .bind(json(&g.scopes))
        .bind(g.auth_time.unix_timestamp())
        .bind(json(&g.amr))
        .bind(&g.acr)
        .bind(g.created_at.unix_timestamp())
        .bind(g.expires_at.unix_timestamp())
        .bind(g.revoked_at.map(OffsetDateTime::unix_timestamp))
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
        sqlx::query(
            "INSERT INTO auth_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge, nonce,
                                     created_at, expires_at, consumed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.code_hash)
        .bind(&c.grant_id)
        .bind(&c.client_id)
        .bind(&c.redirect_uri)
        .bind(&c.code_challenge)
        .bind(&c.nonce)
        .bind(c.created_at.unix_timestamp())
        .bind(c.expires_at.unix_timestamp())
        .bind(c.consumed_at.map(OffsetDateTime::unix_timestamp))
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
        tx.commit().await.map_err(backend_err)
    }

    async fn find_grant(&self, id: &str) -> Result<Option<GrantRow>, StoreError> {
        let sql = format!("SELECT {GRANT_COLUMNS} FROM grants g WHERE g.id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(grant).transpose()
    }

    async fn find_code(&self, code_hash: &str) -> Result<Option<(CodeRow, GrantRow)>, StoreError> {
        let sql = format!(
            "SELECT {CODE_COLUMNS}, {GRANT_COLUMNS} FROM auth_codes c JOIN grants g ON g.id = c.grant_id
             WHERE c.code_hash = ?"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(code_hash)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(|r| Ok((code(r)?, grant(r)?))).transpose()
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        refresh: Option<&RefreshTokenRow>,
        now: OffsetDateTime,
    ) -> Result<Redemption, StoreError> {
        self.redeem_once(
            "UPDATE auth_codes SET consumed_at = ? WHERE code_hash = ? AND consumed_at IS NULL",
            "SELECT grant_id FROM auth_codes WHERE code_hash = ?",
            code_hash,
            refresh,
            now,
        )
        .await
    }

    async fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(RefreshTokenRow, GrantRow)>, StoreError> {
        let sql = format!(
            "SELECT {REFRESH_COLUMNS}, {GRANT_COLUMNS} FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id
             WHERE r.token_hash = ?"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(|r| Ok((refresh_token(r)?, grant(r)?))).transpose()
    }

    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next: &RefreshTokenRow,
        now: OffsetDateTime,
    ) -> Result<Redemption, StoreError> {
        self.redeem_once(
            "UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL",
            "SELECT grant_id FROM refresh_tokens WHERE token_hash = ?",
            token_hash,
            Some(next),
            now,
        )
        .await
    }

    async fn revoke_grant(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let _state = self.token_state.on_drop();
        let done = sqlx::query(
            "UPDATE grants SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL AND expires_at > ?1",
        )
        .bind(now.unix_timestamp())
        .bind(id)
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_user_grants(&self, user_id: Uuid, now: OffsetDateTime) -> Result<u64, StoreError> {
        let _state = self.token_state.on_drop();
        let done = sqlx::query(
            "UPDATE grants SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL AND expires_at > ?1",
        )
        .bind(now.unix_timestamp())
        .bind(user_id.to_string())
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(done.rows_affected())
    }

    async fn record_jti(
        &self,
        key: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let _state = self.token_state.on_drop();
        // One statement: a fresh key is inserted, an expired one replaced, a
        // live one left alone (0 rows), atomically.
        let done = sqlx::query(
            "INSERT INTO jtis (key, expires_at) VALUES (?1, ?3)
             ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE jtis.expires_at <= ?2",
        )
        .bind(key)
        .bind(now.unix_timestamp())
        .bind(expires_at.unix_timestamp())
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn jti_recorded(&self, key: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM jtis WHERE key = ? AND expires_at > ?)")
            .bind(key)
            .bind(now.unix_timestamp())
            .fetch_one(self.pool())
            .await
            .map_err(backend_err)
    }

    async fn end_session(&self, id_hash: &str, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        let _state = self.token_state.on_drop();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("DELETE FROM sessions WHERE id_hash = ? RETURNING sid, user_id")
            .bind(id_hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend_err)?;
        let Some(row) = row else { return Ok(None) };
        let sid: String = row.get("sid");
        let user_id: Option<String> = row.get("user_id");
        let queued = after_session_end(&mut tx, &sid, user_id.as_deref(), now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(Some(queued))
    }

    async fn end_user_sessions(&self, user_id: Uuid, now: OffsetDateTime) -> Result<u64, StoreError> {
        let _state = self.token_state.on_drop();
        let user_id = user_id.to_string();
        let mut tx = self.begin_write().await?;
        let sids: Vec<String> = sqlx::query_scalar("DELETE FROM sessions WHERE user_id = ? RETURNING sid")
            .bind(&user_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend_err)?;
        for sid in &sids {
            after_session_end(&mut tx, sid, Some(&user_id), now).await?;
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(sids.len() as u64)
    }

    async fn claim_due_backchannel_logout(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Option<BackchannelLogout>, StoreError> {
        // One statement: SQLite runs one writer at a time, so two claimers
        // never lease the same row.
        let sql = format!(
            "UPDATE backchannel_logouts SET lease_until = ?1, attempts = attempts + 1
             WHERE id = (SELECT id FROM backchannel_logouts
                         WHERE next_attempt_at <= ?2 AND (lease_until IS NULL OR lease_until <= ?2)
                         ORDER BY next_attempt_at, created_at, id LIMIT 1)
             RETURNING {BACKCHANNEL_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(lease_until.unix_timestamp())
            .bind(now.unix_timestamp())
            .fetch_optional(self.write_pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(backchannel).transpose()
    }

    async fn complete_backchannel_logout(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM backchannel_logouts WHERE id = ?")
            .bind(id)
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(())
    }

    async fn retry_backchannel_logout(
        &self,
        id: &str,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE backchannel_logouts SET lease_until = NULL, next_attempt_at = ?, last_error = ? WHERE id = ?",
        )
        .bind(next_attempt_at.unix_timestamp())
        .bind(error)
        .bind(id)
        .execute(self.write_pool())
        .await
        .map_err(backend_err)?;
        Ok(())
    }

    async fn delete_expired_grants(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let _state = self.token_state.on_drop();
        // Codes and tokens of expired grants are deleted explicitly (rather
        // than by the cascade) so that the count includes them.
        const DELETES: [&str; 5] = [
            "DELETE FROM auth_requests WHERE expires_at <= ?1",
            "DELETE FROM auth_codes WHERE expires_at <= ?1
               OR grant_id IN (SELECT id FROM grants WHERE expires_at <= ?1)",
            "DELETE FROM refresh_tokens WHERE expires_at <= ?1
               OR grant_id IN (SELECT id FROM grants WHERE expires_at <= ?1)",
            "DELETE FROM grants WHERE expires_at <= ?1",
            "DELETE FROM jtis WHERE expires_at <= ?1",
        ];
        let mut tx = self.begin_write().await?;
        let mut deleted = 0;
        for sql in DELETES {
            let done =
                sqlx::query(sql).bind(now.unix_timestamp()).execute(&mut *tx).await.map_err(backend_err)?;
            deleted += done.rows_affected();
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(deleted)
    }
}

impl SqliteStore {
    /// Marks a one-time secret (code, refresh token) used with `mark` (a
    /// conditional UPDATE binding now and the key) and stores `next` in the
    /// same transaction; a secret already used revokes its grant (found with
    /// `grant_of`) in that transaction instead.
    async fn redeem_once(
        &self,
        mark: &'static str,
        grant_of: &'static str,
        key: &str,
        next: Option<&RefreshTokenRow>,
        now: OffsetDateTime,
    ) -> Result<Redemption, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(mark)
            .bind(now.unix_timestamp())
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        if done.rows_affected() == 1 {
            if let Some(next) = next {
                insert_refresh(&mut tx, next).await?;
            }
            tx.commit().await.map_err(backend_err)?;
            return Ok(Redemption::Redeemed);
        }
        let grant_id: Option<String> =
            sqlx::query_scalar(grant_of).bind(key).fetch_optional(&mut *tx).await.map_err(backend_err)?;
        let Some(grant_id) = grant_id else { return Ok(Redemption::Unknown) };
        let _state = self.token_state.on_drop();
        revoke(&mut tx, &grant_id, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(Redemption::Replayed)
    }
}

/// `Store::access_token_state` in one statement: the revocation list, the
/// grant and its session's times (absent rows come back as NULLs).
pub(crate) async fn access_token_state(
    store: &SqliteStore,
    jti_key: &str,
    grant_id: Option<&str>,
    now: OffsetDateTime,
) -> Result<AccessTokenState, StoreError> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM jtis WHERE key = ?1 AND expires_at > ?2) AS revoked, {GRANT_COLUMNS},
                s.sid AS s_sid, s.user_id AS s_user_id, s.created_at AS s_created_at,
                s.last_seen_at AS s_last_seen_at
         FROM (SELECT 1) AS one
         LEFT JOIN grants g ON g.id = ?3
         LEFT JOIN sessions s ON s.sid = g.sid"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(jti_key)
        .bind(now.unix_timestamp())
        .bind(grant_id)
        .fetch_one(store.pool())
        .await
        .map_err(backend_err)?;
    let revoked: bool = row.get("revoked");
    let found: Option<String> = row.get("g_id");
    let grant = found.map(|_| grant(&row)).transpose()?;
    let sid: Option<String> = row.get("s_sid");
    let session = match sid {
        None => None,
        Some(_) => {
            let user_id: Option<String> = row.get("s_user_id");
            Some(SessionTimes {
                user_id: user_id.map(|u| u.parse()).transpose().map_err(|_| corrupt("s_user_id"))?,
                created_at: instant(&row, "s_created_at")?,
                last_seen_at: instant(&row, "s_last_seen_at")?,
            })
        }
    };
    Ok(AccessTokenState { revoked, grant, session })
}
