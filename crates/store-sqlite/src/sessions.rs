use async_trait::async_trait;
use portcullis_store::{Session, SessionRepo, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{SqliteStore, backend_err};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("sessions.{what}"))
}

fn instant(secs: i64, what: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| corrupt(what))
}

const COLUMNS: &str =
    "id_hash, sid, csrf_token, user_id, auth_time, amr, acr, ip, user_agent, created_at, last_seen_at";

async fn insert(conn: &mut SqliteConnection, s: &Session) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, sid, csrf_token, user_id, auth_time, amr, acr, ip, user_agent,
                               created_at, last_seen_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&s.id_hash)
    .bind(&s.sid)
    .bind(&s.csrf_token)
    .bind(s.user_id.map(|u| u.to_string()))
    .bind(s.auth_time.map(OffsetDateTime::unix_timestamp))
    .bind(serde_json::Value::from(s.amr.clone()).to_string())
    .bind(&s.acr)
    .bind(&s.ip)
    .bind(&s.user_agent)
    .bind(s.created_at.unix_timestamp())
    .bind(s.last_seen_at.unix_timestamp())
    .execute(&mut *conn)
    .await
    .map_err(backend_err)?;
    Ok(())
}

fn session(row: &SqliteRow) -> Result<Session, StoreError> {
    let user_id: Option<String> = row.get("user_id");
    let auth_time: Option<i64> = row.get("auth_time");
    let amr: String = row.get("amr");
    Ok(Session {
        id_hash: row.get("id_hash"),
        sid: row.get("sid"),
        csrf_token: row.get("csrf_token"),
        user_id: user_id.map(|u| u.parse()).transpose().map_err(|_| corrupt("user_id"))?,
        auth_time: auth_time.map(|t| instant(t, "auth_time")).transpose()?,
        amr: serde_json::from_str(&amr).map_err(|_| corrupt("amr"))?,
        acr: row.get("acr"),
        ip: row.get("ip"),
        user_agent: row.get("user_agent"),
        created_at: instant(row.get("created_at"), "created_at")?,
        last_seen_at: instant(row.get("last_seen_at"), "last_seen_at")?,
    })
}

#[async_trait]
impl SessionRepo for SqliteStore {
    async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        let mut conn = self.write_pool().acquire().await.map_err(backend_err)?;
        insert(&mut conn, s).await
    }

    async fn find_session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id_hash = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_hash)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(session).transpose()
    }

    async fn find_session_by_sid(&self, sid: &str) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE sid = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(sid)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(session).transpose()
    }

    async fn replace_session(&self, old_id_hash: &str, new: &Session) -> Result<(), StoreError> {
        let _state = self.token_state.on_drop();
        let mut tx = self.write_pool().begin_with("BEGIN IMMEDIATE").await.map_err(backend_err)?;
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(old_id_hash)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        insert(&mut tx, new).await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn touch_session(&self, id_hash: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?")
            .bind(at.unix_timestamp())
            .bind(id_hash)
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        let _state = self.token_state.on_drop();
        let done = sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_expired_sessions(
        &self,
        idle_before: OffsetDateTime,
        created_before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let _state = self.token_state.on_drop();
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at <= ? OR created_at <= ?")
            .bind(idle_before.unix_timestamp())
            .bind(created_before.unix_timestamp())
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected())
    }

    async fn list_user_sessions(&self, user_id: Uuid) -> Result<Vec<Session>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sessions WHERE user_id = ? ORDER BY last_seen_at DESC, created_at DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id.to_string())
            .fetch_all(self.pool())
            .await
            .map_err(backend_err)?;
        rows.iter().map(session).collect()
    }

    async fn delete_user_sessions(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let _state = self.token_state.on_drop();
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user_id.to_string())
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected())
    }
}
