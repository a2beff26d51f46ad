//! Users.

use super::{
    Db, Exec, Row, Tx, count,
    effects::{apply, write_one},
    email_tokens::insert_token,
    grants::end_access,
    groups, prefix_bounds,
};
use crate::EmailToken;
use crate::{
    Effects, EndedAccess, NewUser, StoreError, User, UserCounts, UserEdit, UserQuery, UserRepo,
    normalise_login,
};
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
                        display_name_norm, roles, password_hash, security_stamp, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING ",
    columns!()
);
pub(super) const BY_ID: &str = concat!("SELECT ", columns!(), " FROM users WHERE id = $1");
const BY_LOGIN: &str =
    concat!("SELECT ", columns!(), " FROM users WHERE username_norm = $1 OR email_norm = $1 LIMIT 1");
const ALL: &str = concat!("SELECT ", columns!(), " FROM users ORDER BY username_norm");
const SET_HASH: &str = "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3";
const CHANGE_PASSWORD: &str =
    "UPDATE users SET password_hash = $1, security_stamp = $2, updated_at = $3 WHERE id = $4";
const UPDATE_PROFILE: &str = concat!(
    "UPDATE users SET display_name = $1, display_name_norm = $2, email = $3, email_norm = $4,
         email_verified = CASE WHEN email_norm = $4 THEN email_verified ELSE FALSE END,
         security_stamp = CASE WHEN email_norm = $4 THEN security_stamp ELSE $5 END,
         updated_at = $6
     WHERE id = $7 RETURNING ",
    columns!()
);
/// Locks the row (PostgreSQL; SQLite's one writer already holds the lock)
/// so that what is read next in the transaction stays true until commit.
pub(super) const LOCK: &str = "UPDATE users SET updated_at = updated_at WHERE id = $1";
const EDIT: &str = concat!(
    "UPDATE users SET display_name = $1, display_name_norm = $2, email = $3, email_norm = $4,
         email_verified = CASE WHEN email_norm = $4 THEN email_verified ELSE FALSE END,
         security_stamp = CASE WHEN email_norm = $4 THEN security_stamp ELSE $5 END,
         roles = $6, updated_at = $7
     WHERE id = $8 RETURNING ",
    columns!()
);
pub(super) const SET_ROLES: &str = "UPDATE users SET roles = $1, updated_at = $2 WHERE id = $3";
const SET_DISABLED: &str = "UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3";

/// `$1 <= column < $2` on one of the three normalised columns, each with its
/// index: the prefix's range (see [`prefix_bounds`]). `$after`, the
/// cursor's condition on a next page, goes in each arm rather than beside
/// the OR: SQLite then unions the three index ranges (`MULTI-INDEX OR`)
/// instead of walking the username index from the cursor through every row
/// after it to find a page of rare matches. PostgreSQL factors the common
/// condition out again and plans as it would have.
#[rustfmt::skip]
macro_rules! prefix_of_any {
    ($after:literal) => {
        concat!(
            "((username_norm >= $1 AND username_norm < $2", $after, ")",
            " OR (email_norm >= $1 AND email_norm < $2", $after, ")",
            " OR (display_name_norm >= $1 AND display_name_norm < $2", $after, "))"
        )
    };
}

/// [`UserRepo::search_users`], first page without a prefix: `$1` limit.
pub const SEARCH: &str = concat!("SELECT ", columns!(), " FROM users ORDER BY username_norm LIMIT $1");
/// The next page without a prefix: `$1` after, `$2` limit.
pub const SEARCH_AFTER: &str =
    concat!("SELECT ", columns!(), " FROM users WHERE username_norm > $1 ORDER BY username_norm LIMIT $2");
/// The first page with a prefix: `$1`, `$2` its bounds, `$3` limit.
pub const SEARCH_PREFIX: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM users WHERE ",
    prefix_of_any!(""),
    " ORDER BY username_norm LIMIT $3"
);
/// The next page with a prefix: `$1`, `$2` its bounds, `$3` after, `$4` limit.
pub const SEARCH_PREFIX_AFTER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM users WHERE ",
    prefix_of_any!(" AND username_norm > $3"),
    " ORDER BY username_norm LIMIT $4"
);
const COUNTS: &str = "SELECT COUNT(*) AS total,
       COUNT(CASE WHEN disabled THEN 1 END) AS disabled,
       COUNT(CASE WHEN NOT disabled
                   AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = users.id)
                   AND NOT EXISTS (SELECT 1 FROM totp_secrets t
                                   WHERE t.user_id = users.id AND t.confirmed_at IS NOT NULL)
                  THEN 1 END) AS without_second_factor
     FROM users";
const UNNORMALISED: &str =
    "SELECT id, display_name FROM users WHERE display_name IS NOT NULL AND display_name_norm IS NULL";
const SET_DISPLAY_NAME_NORM: &str = "UPDATE users SET display_name_norm = $1
     WHERE id = $2 AND display_name = $3 AND display_name_norm IS NULL";

/// A user's column names in a row: as selected by [`columns!`], or aliased
/// `u_…` by [`aliased_columns!`] beside another table's columns.
pub(crate) struct UserColumns([&'static str; 12]);

const PLAIN: UserColumns = UserColumns([
    "id",
    "username",
    "email",
    "email_verified",
    "display_name",
    "disabled",
    "mfa_required",
    "roles",
    "password_hash",
    "security_stamp",
    "created_at",
    "updated_at",
]);

/// The names [`aliased_columns!`] selects.
pub(crate) const ALIASED: UserColumns = UserColumns([
    "u_id",
    "u_username",
    "u_email",
    "u_email_verified",
    "u_display_name",
    "u_disabled",
    "u_mfa_required",
    "u_roles",
    "u_password_hash",
    "u_security_stamp",
    "u_created_at",
    "u_updated_at",
]);

/// [`columns!`] of the table aliased `u`, as `u_…`.
macro_rules! aliased_columns {
    () => {
        "u.id AS u_id, u.username AS u_username, u.email AS u_email, \
         u.email_verified AS u_email_verified, u.display_name AS u_display_name, \
         u.disabled AS u_disabled, u.mfa_required AS u_mfa_required, u.roles AS u_roles, \
         u.password_hash AS u_password_hash, u.security_stamp AS u_security_stamp, \
         u.created_at AS u_created_at, u.updated_at AS u_updated_at"
    };
}
pub(crate) use aliased_columns;

pub(crate) fn user(row: &impl Row) -> Result<User, StoreError> {
    user_in(row, &PLAIN)
}

/// The user of `row`, under the column names `c`.
pub(crate) fn user_in(row: &impl Row, c: &UserColumns) -> Result<User, StoreError> {
    let [
        id,
        username,
        email,
        email_verified,
        display_name,
        disabled,
        mfa_required,
        roles,
        password_hash,
        security_stamp,
        created_at,
        updated_at,
    ] = c.0;
    Ok(User {
        id: row.uuid(id)?,
        username: row.text(username)?,
        email: row.text(email)?,
        email_verified: row.flag(email_verified)?,
        display_name: row.opt_text(display_name)?,
        disabled: row.flag(disabled)?,
        mfa_required: row.flag(mfa_required)?,
        roles: row.list(roles)?,
        password_hash: row.opt_text(password_hash)?,
        security_stamp: row.text(security_stamp)?,
        created_at: row.at(created_at)?,
        updated_at: row.at(updated_at)?,
    })
}

/// Inserts `u` (on a transaction or the writer); the stored user.
pub(super) async fn insert(db: &mut impl Exec, u: &NewUser) -> Result<User, StoreError> {
    let (username, email, stamp) = (normalise_login(&u.username), normalise_login(&u.email), hex_id());
    let display_name = u.display_name.as_deref().map(normalise_login);
    let args = args![
        u.id,
        &u.username,
        &username,
        &u.email,
        &email,
        u.email_verified,
        &u.display_name,
        &display_name,
        &u.roles,
        &u.password_hash,
        &stamp,
        u.created_at
    ];
    user(&db.fetch_one(INSERT, args).await?)
}

/// `Ok` when a statement changed a row, [`StoreError::NotFound`] when none.
pub(crate) fn found(affected: u64) -> Result<(), StoreError> {
    if affected == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

#[async_trait]
impl<D: Db> UserRepo for D {
    async fn create_user(&self, u: &NewUser) -> Result<User, StoreError> {
        insert(&mut self.writer(), u).await
    }

    async fn invite_user(
        &self,
        u: &NewUser,
        token: Option<&EmailToken>,
        effects: &Effects<'_>,
    ) -> Result<User, StoreError> {
        let mut tx = self.begin().await?;
        let user = insert(&mut tx, u).await?;
        if let Some(token) = token {
            let token = EmailToken {
                user_id: user.id,
                account_stamp: Some(user.security_stamp.clone()),
                ..token.clone()
            };
            insert_token(&mut tx, &token).await?;
        }
        apply(&mut tx, effects, None, u.created_at).await?;
        tx.commit().await?;
        Ok(user)
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

    async fn search_users(&self, query: &UserQuery) -> Result<Vec<User>, StoreError> {
        let limit = i64::from(query.limit);
        let after = query.after.as_deref().map(normalise_login);
        let prefix = query.prefix.as_deref().map(normalise_login).filter(|p| !p.is_empty());
        let rows = match (prefix, &after) {
            (None, None) => self.reader().fetch_all(SEARCH, args![limit]).await?,
            (None, Some(after)) => self.reader().fetch_all(SEARCH_AFTER, args![after, limit]).await?,
            (Some(prefix), after) => {
                // Only U+10FFFF: no user can have a name beyond it.
                let Some((lo, hi)) = prefix_bounds(&prefix) else { return Ok(Vec::new()) };
                match after {
                    None => self.reader().fetch_all(SEARCH_PREFIX, args![&lo, &hi, limit]).await?,
                    Some(after) => {
                        self.reader().fetch_all(SEARCH_PREFIX_AFTER, args![&lo, &hi, after, limit]).await?
                    }
                }
            }
        };
        rows.iter().map(user).collect()
    }

    async fn user_counts(&self) -> Result<UserCounts, StoreError> {
        let row = self.reader().fetch_one(COUNTS, args![]).await?;
        Ok(UserCounts {
            total: count(row.int("total")?),
            disabled: count(row.int("disabled")?),
            without_second_factor: count(row.int("without_second_factor")?),
        })
    }

    async fn set_password_hash(&self, id: Uuid, hash: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        found(self.writer().execute(SET_HASH, args![hash, at, id]).await?)
    }

    async fn change_password(
        &self,
        id: Uuid,
        hash: &str,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<EndedAccess, StoreError> {
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
        let mut tx = self.begin().await?;
        found(tx.execute(SET_DISABLED, args![true, now, id]).await?)?;
        let ended = end_access(&mut tx, id, effects.kept_session(), now).await?;
        apply(&mut tx, effects, Some(ended), now).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn delete_user(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<EndedAccess, StoreError> {
        let mut tx = self.begin().await?;
        let ended = end_access(&mut tx, id, None, now).await?;
        found(tx.execute("DELETE FROM users WHERE id = $1", args![id]).await?)?;
        apply(&mut tx, effects, Some(ended), now).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn update_profile(
        &self,
        id: Uuid,
        display_name: Option<&str>,
        email: &str,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<User, StoreError> {
        let mut tx = self.begin().await?;
        let (name_norm, email_norm, stamp) =
            (display_name.map(normalise_login), normalise_login(email), hex_id());
        let args = args![display_name, &name_norm, email, &email_norm, &stamp, at, id];
        let Some(row) = tx.fetch_optional(UPDATE_PROFILE, args).await? else {
            return Err(StoreError::NotFound);
        };
        let updated = user(&row)?;
        apply(&mut tx, effects, None, at).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn edit_user(
        &self,
        id: Uuid,
        edit: &UserEdit<'_>,
        unchanged: &crate::UserCheck<'_>,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<Option<User>, StoreError> {
        let mut tx = self.begin().await?;
        found(tx.execute(LOCK, args![id]).await?)?;
        let current = user(&tx.fetch_one(BY_ID, args![id]).await?)?;
        let groups = tx.fetch_all(groups::OF_USER, args![id]).await?;
        let groups = groups.iter().map(|r| r.text("name")).collect::<Result<Vec<_>, _>>()?;
        if !unchanged(&current, &groups) {
            return Ok(None);
        }
        let (name_norm, email_norm, stamp) =
            (edit.display_name.map(normalise_login), normalise_login(edit.email), hex_id());
        let args = args![edit.display_name, &name_norm, edit.email, &email_norm, &stamp, edit.roles, at, id];
        let updated = user(&tx.fetch_one(EDIT, args).await?)?;
        apply(&mut tx, effects, None, at).await?;
        tx.commit().await?;
        Ok(Some(updated))
    }

    async fn set_roles(
        &self,
        id: Uuid,
        roles: &[String],
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError> {
        write_one(self, SET_ROLES, args![roles, at, id], at, effects).await
    }

    async fn enable_user(
        &self,
        id: Uuid,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError> {
        write_one(self, SET_DISABLED, args![false, at, id], at, effects).await
    }
}

/// Normalises the display names a migration could not (SQL folds ASCII
/// only: see migration 0013), as [`UserRepo::create_user`] does; returns
/// how many. Each backend runs it after migrating. A name changed meanwhile
/// is left for its own write.
pub async fn normalise_display_names<D: Db>(db: &D) -> Result<u64, StoreError> {
    let rows = db.reader().fetch_all(UNNORMALISED, args![]).await?;
    let mut done = 0;
    for row in &rows {
        let (id, name) = (row.uuid("id")?, row.text("display_name")?);
        let norm = normalise_login(&name);
        done += db.writer().execute(SET_DISPLAY_NAME_NORM, args![&norm, id, &name]).await?;
    }
    Ok(done)
}
