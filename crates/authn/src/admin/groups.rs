//! Groups in the console: create, rename, delete, members in and out —
//! each one transaction with its audit event (the store writes it only
//! when something changed).

use portcullis_store::{Effects, Group, NewGroup, StoreError, User};
use serde_json::json;
use uuid::Uuid;

use super::{Admin, AdminConsole};
use crate::AuthnError;
use crate::audit::{RequestInfo, logged};

/// A group and its members.
#[derive(Debug, Clone)]
pub struct GroupDetail {
    /// The group.
    pub group: Group,
    /// Its members, by username.
    pub members: Vec<User>,
}

/// A group name: 1–64 characters after trimming, no control characters.
fn group_name(name: &str) -> Result<String, AuthnError> {
    let name = name.trim();
    if (1..=64).contains(&name.chars().count()) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(AuthnError::InvalidIdentity("a group name is 1–64 characters".into()))
    }
}

/// A store answer for a group write: `Conflict` is a taken name,
/// `NotFound` an unknown group (or user).
fn group_err<T>(result: Result<T, StoreError>) -> Result<T, AuthnError> {
    match result {
        Err(StoreError::Conflict(_)) => Err(AuthnError::Taken),
        Err(StoreError::NotFound) => Err(AuthnError::UnknownGroup),
        other => Ok(other?),
    }
}

impl AdminConsole<'_> {
    /// Every group, by name.
    #[tracing::instrument(skip_all)]
    pub async fn groups(&self, _admin: &Admin) -> Result<Vec<Group>, AuthnError> {
        Ok(self.interaction.store.list_groups().await?)
    }

    /// A group and its members; `UnknownGroup` for an unknown id.
    #[tracing::instrument(skip_all, fields(group_id = %id))]
    pub async fn group(&self, _admin: &Admin, id: Uuid) -> Result<GroupDetail, AuthnError> {
        let store = self.interaction.store;
        let group = store.find_group(id).await?.ok_or(AuthnError::UnknownGroup)?;
        Ok(GroupDetail { members: store.group_members(group.id).await?, group })
    }

    /// Creates the group `name`; `Taken` when the name is in use
    /// (case-insensitively).
    #[tracing::instrument(skip_all)]
    pub async fn create_group(
        &self,
        admin: &Admin,
        name: &str,
        request: &RequestInfo,
    ) -> Result<Group, AuthnError> {
        Self::may_change(admin)?;
        let name = group_name(name)?;
        let id = Uuid::new_v4();
        let audit =
            [self.event(admin, "group.created", None, request, json!({ "group_id": id, "name": name }))];
        let new = NewGroup { id, name, created_at: self.interaction.clock.now() };
        let group = group_err(self.interaction.store.create_group(&new, &Effects::audit(&audit)).await)?;
        logged(&audit, None);
        Ok(group)
    }

    /// Renames group `id`.
    #[tracing::instrument(skip_all, fields(group_id = %id))]
    pub async fn rename_group(
        &self,
        admin: &Admin,
        id: Uuid,
        name: &str,
        request: &RequestInfo,
    ) -> Result<Group, AuthnError> {
        Self::may_change(admin)?;
        let name = group_name(name)?;
        let audit =
            [self.event(admin, "group.renamed", None, request, json!({ "group_id": id, "name": name }))];
        let now = self.interaction.clock.now();
        let group =
            group_err(self.interaction.store.rename_group(id, &name, now, &Effects::audit(&audit)).await)?;
        logged(&audit, None);
        Ok(group)
    }

    /// Deletes group `id` and its memberships.
    #[tracing::instrument(skip_all, fields(group_id = %id))]
    pub async fn delete_group(
        &self,
        admin: &Admin,
        id: Uuid,
        request: &RequestInfo,
    ) -> Result<(), AuthnError> {
        Self::may_change(admin)?;
        let audit = [self.event(admin, "group.deleted", None, request, json!({ "group_id": id }))];
        let now = self.interaction.clock.now();
        group_err(self.interaction.store.delete_group(id, now, &Effects::audit(&audit)).await)?;
        logged(&audit, None);
        Ok(())
    }

    /// Adds the user `login` (username or email) to group `id`; true if
    /// they were not a member. `UnknownUser`, `UnknownGroup`.
    #[tracing::instrument(skip_all, fields(group_id = %id))]
    pub async fn add_member(
        &self,
        admin: &Admin,
        id: Uuid,
        login: &str,
        request: &RequestInfo,
    ) -> Result<bool, AuthnError> {
        Self::may_change(admin)?;
        let i = &self.interaction;
        let user = i.store.find_user_by_login(login.trim()).await?.ok_or(AuthnError::UnknownUser)?;
        let audit =
            [self.event(admin, "group.member_added", Some(user.id), request, json!({ "group_id": id }))];
        let now = i.clock.now();
        let added = group_err(i.store.add_group_member(id, user.id, now, &Effects::audit(&audit)).await)?;
        if added {
            logged(&audit, None);
        }
        Ok(added)
    }

    /// Takes user `user_id` out of group `id`; true if they were a member.
    #[tracing::instrument(skip_all, fields(group_id = %id, user_id = %user_id))]
    pub async fn remove_member(
        &self,
        admin: &Admin,
        id: Uuid,
        user_id: Uuid,
        request: &RequestInfo,
    ) -> Result<bool, AuthnError> {
        Self::may_change(admin)?;
        let audit =
            [self.event(admin, "group.member_removed", Some(user_id), request, json!({ "group_id": id }))];
        let now = self.interaction.clock.now();
        let store = self.interaction.store;
        let removed = group_err(store.remove_group_member(id, user_id, now, &Effects::audit(&audit)).await)?;
        if removed {
            logged(&audit, None);
        }
        Ok(removed)
    }
}
