use async_trait::async_trait;
use portcullis_store::{EndedAccess, NewMail, NewUser, StoreError, User, UserRepo, normalise_login};
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::grants::end_access;
use crate::outbox::insert_mails;
use crate::{PgStore, backend_err};

const COLUMNS: &str = "id, username, email, email_verified, display_name, disabled, mfa_required, roles, \
                       password_hash, security_stamp, created_at, updated_at";

/// Instants are kept to the second, as in the SQLite backend.
pub(crate) fn to_second(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(0).unwrap_or(at)
}

fn user(row: &PgRow) -> User {
    User {
        id: row.get("id"),
        username: row.get("username"),
        email: row.get("email"),
        email_verified: row.get("email_verified"),
        display_name: row.get("display_name"),
        disabled: row.get("disabled"),
        mfa_required: row.get("mfa_required"),
        roles: row.get("roles"),
        password_hash: row.get("password_hash"),
        security_stamp: row.get("security_stamp"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

#[async_trait]
impl UserRepo for PgStore {
    async fn create_user(&self, u: &NewUser) -> Result<User, StoreError> {
        let at = to_second(u.created_at);
        let sql = format!(
            "INSERT INTO users (id, username, username_norm, email, email_norm, email_verified, display_name,
                                roles, password_hash, security_stamp, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(u.id)
            .bind(&u.username)
            .bind(normalise_login(&u.username))
            .bind(&u.email)
            .bind(normalise_login(&u.email))
            .bind(u.email_verified)
            .bind(&u.display_name)
            .bind(&u.roles)
            .bind(&u.password_hash)
            .bind(portcullis_core::random::hex_id())
            .bind(at)
            .fetch_one(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(user(&row))
    }

    async fn find_user(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(row.as_ref().map(user))
    }

    async fn find_user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE username_norm = $1 OR email_norm = $1 LIMIT 1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(normalise_login(login))
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(row.as_ref().map(user))
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username_norm");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await.map_err(backend_err)?;
        Ok(rows.iter().map(user).collect())
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(n.try_into().unwrap_or(0))
    }

    async fn set_password_hash(&self, id: Uuid, hash: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        let _state = self.token_state.on_drop();
        let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(to_second(at))
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn change_password(
        &self,
        id: Uuid,
        hash: &str,
        keep_session: Option<&str>,
        now: OffsetDateTime,
        mails: &[NewMail],
    ) -> Result<EndedAccess, StoreError> {
        let _state = self.token_state.on_drop();
        let mut tx = self.pool().begin().await.map_err(backend_err)?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, security_stamp = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(hash)
        .bind(portcullis_core::random::hex_id())
        .bind(to_second(now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ended = end_access(&mut tx, id, keep_session, now).await?;
        insert_mails(&mut tx, mails, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(ended)
    }

    async fn disable_user(&self, id: Uuid, now: OffsetDateTime) -> Result<EndedAccess, StoreError> {
        let _state = self.token_state.on_drop();
        let mut tx = self.pool().begin().await.map_err(backend_err)?;
        let done = sqlx::query("UPDATE users SET disabled = TRUE, updated_at = $1 WHERE id = $2")
            .bind(to_second(now))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ended = end_access(&mut tx, id, None, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(ended)
    }

    async fn enable_user(&self, id: Uuid, at: OffsetDateTime) -> Result<(), StoreError> {
        let _state = self.token_state.on_drop();
        let done = sqlx::query("UPDATE users SET disabled = FALSE, updated_at = $1 WHERE id = $2")
            .bind(to_second(at))
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(backend_err)?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
