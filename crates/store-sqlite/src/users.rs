use async_trait::async_trait;
use portcullis_store::{EndedAccess, NewMail, NewUser, StoreError, User, UserRepo, normalise_login};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::grants::end_access;
use crate::outbox::insert_mails;
use crate::{SqliteStore, backend_err};

const COLUMNS: &str = "id, username, email, email_verified, display_name, disabled, mfa_required, roles, \
                       password_hash, security_stamp, created_at, updated_at";

fn instant(row: &SqliteRow, column: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(row.get(column))
        .map_err(|_| StoreError::Corrupt(format!("users.{column}")))
}

fn user(row: &SqliteRow) -> Result<User, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("users.{what}"));
    let id: String = row.get("id");
    let roles: String = row.get("roles");
    Ok(User {
        id: id.parse().map_err(|_| corrupt("id"))?,
        username: row.get("username"),
        email: row.get("email"),
        email_verified: row.get("email_verified"),
        display_name: row.get("display_name"),
        disabled: row.get("disabled"),
        mfa_required: row.get("mfa_required"),
        roles: serde_json::from_str(&roles).map_err(|_| corrupt("roles"))?,
        password_hash: row.get("password_hash"),
        security_stamp: row.get("security_stamp"),
        created_at: instant(row, "created_at")?,
        updated_at: instant(row, "updated_at")?,
    })
}

#[async_trait]
impl UserRepo for SqliteStore {
    async fn create_user(&self, u: &NewUser) -> Result<User, StoreError> {
        let roles = serde_json::Value::from(u.roles.clone()).to_string();
        let sql = format!(
            "INSERT INTO users (id, username, username_norm, email, email_norm, email_verified, display_name,
                                roles, password_hash, security_stamp, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(u.id.to_string())
            .bind(&u.username)
            .bind(normalise_login(&u.username))
            .bind(&u.email)
            .bind(normalise_login(&u.email))
            .bind(u.email_verified)
            .bind(&u.display_name)
            .bind(roles)
            .bind(&u.password_hash)
            .bind(portcullis_core::random::hex_id())
            .bind(u.created_at.unix_timestamp())
            .bind(u.created_at.unix_timestamp())
            .fetch_one(self.write_pool())
            .await
            .map_err(backend_err)?;
        user(&row)
    }

    async fn find_user(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(user).transpose()
    }

    async fn find_user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE username_norm = ?1 OR email_norm = ?1 LIMIT 1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(normalise_login(login))
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(user).transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username_norm");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await.map_err(backend_err)?;
        rows.iter().map(user).collect()
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
        let done = sqlx::query("UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3")
            .bind(hash)
            .bind(at.unix_timestamp())
            .bind(id.to_string())
            .execute(self.write_pool())
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
        let mut tx = self.begin_write().await?;
        let user_id = id.to_string();
        let done = sqlx::query(
            "UPDATE users SET password_hash = ?1, security_stamp = ?2, updated_at = ?3 WHERE id = ?4",
        )
        .bind(hash)
        .bind(portcullis_core::random::hex_id())
        .bind(now.unix_timestamp())
        .bind(&user_id)
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ended = end_access(&mut tx, &user_id, keep_session, now).await?;
        insert_mails(&mut tx, mails, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(ended)
    }

    async fn disable_user(&self, id: Uuid, now: OffsetDateTime) -> Result<EndedAccess, StoreError> {
        let _state = self.token_state.on_drop();
        let mut tx = self.begin_write().await?;
        let user_id = id.to_string();
        let done = sqlx::query("UPDATE users SET disabled = 1, updated_at = ?1 WHERE id = ?2")
            .bind(now.unix_timestamp())
            .bind(&user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ended = end_access(&mut tx, &user_id, None, now).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(ended)
    }

    async fn enable_user(&self, id: Uuid, at: OffsetDateTime) -> Result<(), StoreError> {
        let _state = self.token_state.on_drop();
        let done = sqlx::query("UPDATE users SET disabled = 0, updated_at = ?1 WHERE id = ?2")
            .bind(at.unix_timestamp())
            .bind(id.to_string())
            .execute(self.write_pool())
            .await
            .map_err(backend_err)?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
