//! Users.

use super::{Db, Exec, Row, Tx, count, effects::apply, grants::end_access};
use crate::{Effects, EndedAccess, NewUser, StoreError, User, UserRepo, normalise_login};
use async_trait::async_trait;
use portcullis_core::random::hex_id;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! columns {
    () => {
        "id, username, email, email_verified, display_name, disabled, mfa_required, roles, \
         password_hash, security_stamp, created_at, updated_at"
    };
}
pub(crate) use columns;

const INSERT: &str = concat!(
    "INSERT INTO users (id, username, username_norm, email, email_norm, email_verified, display_name,
                        roles, password_hash, security_stamp, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING ",
    columns!()
);
const BY_ID: &str = concat!("SELECT ", columns!(), " FROM users WHERE id = $1");
const BY_LOGIN: &str =
    concat!("SELECT ", columns!(), " FROM users WHERE username_norm = $1 OR email_norm = $1 LIMIT 1");
const ALL: &str = concat!("SELECT ", columns!(), " FROM users ORDER BY username_norm");
const SET_HASH: &str = "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3";
const CHANGE_PASSWORD: &str =
    "UPDATE users SET password_hash = $1, security_stamp = $2, updated_at = $3 WHERE id = $4";
const SET_DISABLED: &str = "UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3";

pub(crate) fn user(row: &impl Row) -> Result<User, StoreError> {
    Ok(User {
        id: row.uuid("id")?,
        username: row.text("username")?,
        email: row.text("email")?,
        email_verified: row.flag("email_verified")?,
        display_name: row.opt_text("display_name")?,
        disabled: row.flag("disabled")?,
        mfa_required: row.flag("mfa_required")?,
        roles: row.list("roles")?,
        password_hash: row.opt_text("password_hash")?,
        security_stamp: row.text("security_stamp")?,
        created_at: row.at("created_at")?,
        updated_at: row.at("updated_at")?,
    })
}

/// `Ok` when a statement changed a row, [`StoreError::NotFound`] when none.
pub(crate) fn found(affected: u64) -> Result<(), StoreError> {
    if affected == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

#[async_trait]
impl<D: Db> UserRepo for D {
    async fn create_user(&self, u: &NewUser) -> Result<User, StoreError> {
        let (username, email, stamp) = (normalise_login(&u.username), normalise_login(&u.email), hex_id());
        let args = args![
            u.id,
            &u.username,
            &username,
            &u.email,
            &email,
            u.email_verified,
            &u.display_name,
            &u.roles,
            &u.password_hash,
            &stamp,
            u.created_at
        ];
        user(&self.writer().fetch_one(INSERT, args).await?)
    }

    async fn find_user(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        self.reader().fetch_optional(BY_ID, args![id]).await?.as_ref().map(user).transpose()
    }

    async fn find_user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let login = normalise_login(login);
        self.reader().fetch_optional(BY_LOGIN, args![&login]).await?.as_ref().map(user).transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.reader().fetch_all(ALL, args![]).await?.iter().map(user).collect()
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        Ok(count(self.reader().fetch_one("SELECT COUNT(*) AS n FROM users", args![]).await?.int("n")?))
    }

    async fn set_password_hash(&self, id: Uuid, hash: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        let _state = self.token_state().on_drop();
        found(self.writer().execute(SET_HASH, args![hash, at, id]).await?)
    }

    async fn change_password(
        &self,
        id: Uuid,
        hash: &str,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<EndedAccess, StoreError> {
        let _state = self.token_state().on_drop();
        let mut tx = self.begin().await?;
        found(tx.execute(CHANGE_PASSWORD, args![hash, &hex_id(), now, id]).await?)?;
        let ended = end_access(&mut tx, id, effects.kept_session(), now).await?;
        apply(&mut tx, effects, Some(ended), now).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn disable_user(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<EndedAccess, StoreError> {
        let _state = self.token_state().on_drop();
        let mut tx = self.begin().await?;
        found(tx.execute(SET_DISABLED, args![true, now, id]).await?)?;
        let ended = end_access(&mut tx, id, effects.kept_session(), now).await?;
        apply(&mut tx, effects, Some(ended), now).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn enable_user(&self, id: Uuid, at: OffsetDateTime) -> Result<(), StoreError> {
        let _state = self.token_state().on_drop();
        found(self.writer().execute(SET_DISABLED, args![false, at, id]).await?)
    }
}
