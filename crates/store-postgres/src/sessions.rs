use async_trait::async_trait;
use portcullis_store::{Session, SessionRepo, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::users::to_second;
use crate::{PgStore, backend_err};

const COLUMNS: &str =
    "id_hash, sid, csrf_token, user_id, auth_time, amr, acr, ip, user_agent, created_at, last_seen_at";

async fn insert(conn: &mut PgConnection, s: &Session) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, sid, csrf_token, user_id, auth_time, amr, acr, ip, user_agent,
                               created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&s.id_hash)
    .bind(&s.sid)
    .bind(&s.csrf_token)
    .bind(s.user_id)
    .bind(s.auth_time.map(to_second))
    .bind(&s.amr)
    .bind(&s.acr)
    .bind(&s.ip)
    .bind(&s.user_agent)
    .bind(to_second(s.created_at))
    .bind(to_second(s.last_seen_at))
    .execute(&mut *conn)
    .await
    .map_err(backend_err)?;
    Ok(())
}

fn session(row: &PgRow) -> Session {
    Session {
        id_hash: row.get("id_hash"),
        sid: row.get("sid"),
        csrf_token: row.get("csrf_token"),
        user_id: row.get("user_id"),
        auth_time: row.get("auth_time"),
        amr: row.get("amr"),
        acr: row.get("acr"),
        ip: row.get("ip"),
        user_agent: row.get("user_agent"),
        created_at: row.get("created_at"),
        last_seen_at: row.get("last_seen_at"),
    }
}

#[async_trait]
impl SessionRepo for PgStore {
    async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        let mut conn = self.pool().acquire().await.map_err(backend_err)?;
        insert(&mut conn, s).await
    }

    async fn find_session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id_hash = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_hash)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(row.as_ref().map(session))
    }

    async fn find_session_by_sid(&self, sid: &str) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE sid = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(sid)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(row.as_ref().map(session))
    }

    async fn replace_session(&self, old_id_hash: &str, new: &Session) -> Result<(), StoreError> {
        let _state = self.token_state.on_drop();
        let mut tx = self.pool().begin().await.map_err(backend_err)?;
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(old_id_hash)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        insert(&mut tx, new).await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn touch_session(&self, id_hash: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(to_second(at))
            .bind(id_hash)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        let _state = self.token_state.on_drop();
        let done = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.pool())
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
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at <= $1 OR created_at <= $2")
            .bind(idle_before)
            .bind(created_before)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected())
    }

    async fn list_user_sessions(&self, user_id: Uuid) -> Result<Vec<Session>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY last_seen_at DESC, created_at DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_all(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(rows.iter().map(session).collect())
    }

    async fn delete_user_sessions(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let _state = self.token_state.on_drop();
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(done.rows_affected())
    }
}
