//! Groups and their members.

use super::{
    Db, Exec, Row, Tx,
    effects::{apply, write_one},
    users,
};
use crate::{Effects, Group, GroupRepo, NewGroup, StoreError, User, normalise_login};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! columns {
    () => {
        "id, name, created_at, updated_at"
    };
}

pub(super) const INSERT: &str = concat!(
    "INSERT INTO groups (id, name, name_norm, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING ",
    columns!()
);
const RENAME: &str = concat!(
    "UPDATE groups SET name = $1, name_norm = $2, updated_at = $3 WHERE id = $4 RETURNING ",
    columns!()
);
/// Locks the row (PostgreSQL; SQLite's one writer already holds the lock).
const LOCK: &str = "UPDATE groups SET updated_at = updated_at WHERE id = $1";
const DELETE: &str = "DELETE FROM groups WHERE id = $1";
const ALL: &str = concat!("SELECT ", columns!(), " FROM groups ORDER BY name_norm");
const BY_ID: &str = concat!("SELECT ", columns!(), " FROM groups WHERE id = $1");
pub(super) const BY_NAME: &str = concat!("SELECT ", columns!(), " FROM groups WHERE name_norm = $1");
/// Inserts nothing when the group or the user is missing, or when the
/// membership exists (the WHERE also keeps SQLite from reading `ON` as a
/// join constraint).
pub(super) const ADD_MEMBER: &str = "INSERT INTO group_members (group_id, user_id, added_at)
     SELECT g.id, u.id, $3 FROM groups g, users u WHERE g.id = $1 AND u.id = $2
     ON CONFLICT (group_id, user_id) DO NOTHING";
pub(super) const REMOVE_MEMBER: &str = "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2";
/// Whether both ends of a membership exist (to tell "nothing to do" from `NotFound`).
const BOTH_EXIST: &str = "SELECT
     (SELECT COUNT(*) FROM groups WHERE id = $1) AS group_found,
     (SELECT COUNT(*) FROM users WHERE id = $2) AS user_found";
const MEMBERS: &str = concat!(
    "SELECT ",
    users::columns!(),
    " FROM users WHERE id IN (SELECT user_id FROM group_members WHERE group_id = $1) ORDER BY username_norm"
);
/// [`GroupRepo::user_groups`]: `group_members_user`, then each group by its
/// primary key.
pub const OF_USER: &str = "SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id
     WHERE m.user_id = $1 ORDER BY g.name_norm";

pub(super) fn group(row: &impl Row) -> Result<Group, StoreError> {
    Ok(Group {
        id: row.uuid("id")?,
        name: row.text("name")?,
        created_at: row.at("created_at")?,
        updated_at: row.at("updated_at")?,
    })
}

/// `NotFound` unless both the group and the user exist, on `db`.
async fn both_exist(db: &mut impl Exec, group_id: Uuid, user_id: Uuid) -> Result<(), StoreError> {
    let row = db.fetch_one(BOTH_EXIST, args![group_id, user_id]).await?;
    if row.int("group_found")? == 0 || row.int("user_found")? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[async_trait]
impl<D: Db> GroupRepo for D {
    async fn create_group(&self, g: &NewGroup, effects: &Effects<'_>) -> Result<Group, StoreError> {
        let mut tx = self.begin().await?;
        let row = tx.fetch_one(INSERT, args![g.id, &g.name, &normalise_login(&g.name), g.created_at]).await?;
        let created = group(&row)?;
        apply(&mut tx, effects, None, g.created_at).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn rename_group(
        &self,
        id: Uuid,
        name: &str,
        unchanged: Option<&crate::GroupCheck<'_>>,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<Option<Group>, StoreError> {
        let mut tx = self.begin().await?;
        if let Some(unchanged) = unchanged {
            users::found(tx.execute(LOCK, args![id]).await?)?;
            let current = group(&tx.fetch_one(BY_ID, args![id]).await?)?;
            let members = tx.fetch_all(MEMBERS, args![id]).await?;
            let members = members.iter().map(users::user).collect::<Result<Vec<_>, _>>()?;
            if !unchanged(&current, &members) {
                return Ok(None);
            }
        }
        let row = tx.fetch_one(RENAME, args![name, &normalise_login(name), at, id]).await?;
        let renamed = group(&row)?;
        apply(&mut tx, effects, None, at).await?;
        tx.commit().await?;
        Ok(Some(renamed))
    }

    async fn delete_group(
        &self,
        id: Uuid,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError> {
        write_one(self, DELETE, args![id], at, effects).await
    }

    async fn list_groups(&self) -> Result<Vec<Group>, StoreError> {
        self.reader().fetch_all(ALL, args![]).await?.iter().map(group).collect()
    }

    async fn find_group(&self, id: Uuid) -> Result<Option<Group>, StoreError> {
        self.reader().fetch_optional(BY_ID, args![id]).await?.as_ref().map(group).transpose()
    }

    async fn find_group_by_name(&self, name: &str) -> Result<Option<Group>, StoreError> {
        let name = normalise_login(name);
        self.reader().fetch_optional(BY_NAME, args![&name]).await?.as_ref().map(group).transpose()
    }

    async fn add_group_member(
        &self,
        group_id: Uuid,
        user_id: Uuid,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if tx.execute(ADD_MEMBER, args![group_id, user_id, at]).await? == 0 {
            both_exist(&mut tx, group_id, user_id).await?;
            return Ok(false);
        }
        apply(&mut tx, effects, None, at).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn remove_group_member(
        &self,
        group_id: Uuid,
        user_id: Uuid,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if tx.execute(REMOVE_MEMBER, args![group_id, user_id]).await? == 0 {
            both_exist(&mut tx, group_id, user_id).await?;
            return Ok(false);
        }
        apply(&mut tx, effects, None, at).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn group_members(&self, group_id: Uuid) -> Result<Vec<User>, StoreError> {
        self.reader().fetch_all(MEMBERS, args![group_id]).await?.iter().map(users::user).collect()
    }

    async fn user_groups(&self, user_id: Uuid) -> Result<Vec<String>, StoreError> {
        let rows = self.reader().fetch_all(OF_USER, args![user_id]).await?;
        rows.iter().map(|r| r.text("name")).collect()
    }
}
