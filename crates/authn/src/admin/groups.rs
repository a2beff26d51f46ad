//! Groups in the console: create, rename, delete, members in and out —
//! each one transaction with its audit event (the store writes it only
//! when something changed).

use portcullis_store::{Effects, Group, NewGroup, StoreError, User};
use serde_json::json;
use uuid::Uuid;

use portcullis_core::Clock;
use portcullis_store::{AuditOutcome, NewAuditEvent, Store};

use super::{AdminConsole, By};
use crate::AuthnError;
use crate::audit::{RequestInfo, event, logged};

/// Group operations over the store, for the console and the CLI.
#[derive(Clone, Copy)]
pub struct Groups<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The clock.
    pub clock: &'a dyn Clock,
}

impl std::fmt::Debug for Groups<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Groups").finish_non_exhaustive()
    }
}

/// A group and its members.
#[derive(Debug, Clone)]
pub struct GroupDetail {
    /// The group.
    pub group: Group,
    /// Its members, by username.
    pub members: Vec<User>,
}

/// The version of a group as an administrator sees it (name, members): the
/// admin API's `ETag`.
pub fn group_version(group: &Group, members: &[User]) -> String {
    let members: Vec<Uuid> = members.iter().map(|u| u.id).collect();
    super::version_of(&json!([group.id, group.name, members]))
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

impl Groups<'_> {
    /// Every group, by name.
    #[tracing::instrument(skip_all)]
    pub async fn list(&self) -> Result<Vec<Group>, AuthnError> {
        Ok(self.store.list_groups().await?)
    }

    /// Every group, by name, with its members.
    #[tracing::instrument(skip_all)]
    pub async fn list_with_members(&self) -> Result<Vec<GroupDetail>, AuthnError> {
        let mut out = Vec::new();
        for group in self.store.list_groups().await? {
            out.push(GroupDetail { members: self.store.group_members(group.id).await?, group });
        }
        Ok(out)
    }

    /// A group and its members; `UnknownGroup` for an unknown id.
    #[tracing::instrument(skip_all, fields(group_id = %id))]
    pub async fn detail(&self, id: Uuid) -> Result<GroupDetail, AuthnError> {
        self.detail_of(self.store.find_group(id).await?).await
    }

    /// The group named `name` (case-insensitively) and its members;
    /// `UnknownGroup` when there is none.
    pub async fn named(&self, name: &str) -> Result<GroupDetail, AuthnError> {
        self.detail_of(self.store.find_group_by_name(name.trim()).await?).await
    }

    async fn detail_of(&self, group: Option<Group>) -> Result<GroupDetail, AuthnError> {
        let group = group.ok_or(AuthnError::UnknownGroup)?;
        Ok(GroupDetail { members: self.store.group_members(group.id).await?, group })
    }

    /// Creates the group `name`; `Taken` when the name is in use
    /// (case-insensitively).
    #[tracing::instrument(skip_all)]
    pub async fn create_group(
        &self,
        by: By<'_>,
        name: &str,
        request: &RequestInfo,
    ) -> Result<Group, AuthnError> {
        by.may_change()?;
        let name = group_name(name)?;
        let id = Uuid::new_v4();
        let audit = [self.event(by, "group.created", None, request, json!({ "group_id": id, "name": name }))];
        let new = NewGroup { id, name, created_at: self.clock.now() };
        let group = group_err(self.store.create_group(&new, &Effects::audit(&audit)).await)?;
        logged(&audit, None);
        Ok(group)
    }

    /// Renames group `id` — when `version` is given, only if the group is
    /// still at that [`group_version`] (checked inside the write's
    /// transaction; `Stale`, nothing written, otherwise).
    #[tracing::instrument(skip_all, fields(group_id = %id))]
    pub async fn rename_group(
        &self,
        by: By<'_>,
        id: Uuid,
        name: &str,
        version: Option<&str>,
        request: &RequestInfo,
    ) -> Result<Group, AuthnError> {
        by.may_change()?;
        let name = group_name(name)?;
        let audit = [self.event(by, "group.renamed", None, request, json!({ "group_id": id, "name": name }))];
        let now = self.clock.now();
        let unchanged =
            |group: &Group, members: &[User]| version.is_none_or(|v| group_version(group, members) == v);
        let check: Option<&portcullis_store::GroupCheck<'_>> = version.map(|_| &unchanged as _);
        let renamed = self.store.rename_group(id, &name, check, now, &Effects::audit(&audit)).await;
        let group = group_err(renamed)?.ok_or(AuthnError::Stale)?;
        logged(&audit, None);
        Ok(group)
    }

    /// Renames group `id` if it is still at `version` (`Stale` otherwise,
    /// nothing written); answers the group as renamed, with its members.
    pub async fn rename_group_detail(
        &self,
        by: By<'_>,
        id: Uuid,
        name: &str,
        version: &str,
        request: &RequestInfo,
    ) -> Result<GroupDetail, AuthnError> {
        let group = self.rename_group(by, id, name, Some(version), request).await?;
        Ok(GroupDetail { members: self.store.group_members(group.id).await?, group })
    }

    /// Deletes group `id` and its memberships.
    #[tracing::instrument(skip_all, fields(group_id = %id))]
    pub async fn delete_group(&self, by: By<'_>, id: Uuid, request: &RequestInfo) -> Result<(), AuthnError> {
        by.may_change()?;
        let audit = [self.event(by, "group.deleted", None, request, json!({ "group_id": id }))];
        let now = self.clock.now();
        group_err(self.store.delete_group(id, now, &Effects::audit(&audit)).await)?;
        logged(&audit, None);
        Ok(())
    }

    /// Adds the user `login` (username or email) to group `id`; true if
    /// they were not a member. `UnknownUser`, `UnknownGroup`.
    #[tracing::instrument(skip_all, fields(group_id = %id))]
    pub async fn add_member(
        &self,
        by: By<'_>,
        id: Uuid,
        login: &str,
        request: &RequestInfo,
    ) -> Result<bool, AuthnError> {
        by.may_change()?;
        let user = self.store.find_user_by_login(login.trim()).await?.ok_or(AuthnError::UnknownUser)?;
        self.add_user(by, id, user.id, request).await
    }

    /// Adds user `user_id` to group `id`; true if they were not a member.
    /// `UnknownUser` or `UnknownGroup` when either is missing.
    #[tracing::instrument(skip_all, fields(group_id = %id, user_id = %user_id))]
    pub async fn add_user(
        &self,
        by: By<'_>,
        id: Uuid,
        user_id: Uuid,
        request: &RequestInfo,
    ) -> Result<bool, AuthnError> {
        by.may_change()?;
        let audit = [self.event(by, "group.member_added", Some(user_id), request, json!({ "group_id": id }))];
        let now = self.clock.now();
        let added = self.store.add_group_member(id, user_id, now, &Effects::audit(&audit)).await;
        let added = match added {
            Err(StoreError::NotFound) if self.store.find_group(id).await?.is_some() => {
                return Err(AuthnError::UnknownUser);
            }
            other => group_err(other)?,
        };
        if added {
            logged(&audit, None);
        }
        Ok(added)
    }

    /// Takes user `user_id` out of group `id`; true if they were a member.
    #[tracing::instrument(skip_all, fields(group_id = %id, user_id = %user_id))]
    pub async fn remove_member(
        &self,
        by: By<'_>,
        id: Uuid,
        user_id: Uuid,
        request: &RequestInfo,
    ) -> Result<bool, AuthnError> {
        by.may_change()?;
        let audit =
            [self.event(by, "group.member_removed", Some(user_id), request, json!({ "group_id": id }))];
        let now = self.clock.now();
        let store = self.store;
        let removed = group_err(store.remove_group_member(id, user_id, now, &Effects::audit(&audit)).await)?;
        if removed {
            logged(&audit, None);
        }
        Ok(removed)
    }
}

impl Groups<'_> {
    /// Takes the user `login` (username or email) out of group `id`; true
    /// if they were a member. `UnknownUser`, `UnknownGroup`.
    pub async fn remove_member_login(
        &self,
        by: By<'_>,
        id: Uuid,
        login: &str,
        request: &RequestInfo,
    ) -> Result<bool, AuthnError> {
        let user = self.store.find_user_by_login(login.trim()).await?.ok_or(AuthnError::UnknownUser)?;
        self.remove_member(by, id, user.id, request).await
    }
}

impl Groups<'_> {
    /// The event `kind` (about `target`, a user, when there is one), by `by`.
    fn event(
        &self,
        by: By<'_>,
        kind: &str,
        target: Option<Uuid>,
        request: &RequestInfo,
        mut detail: serde_json::Value,
    ) -> NewAuditEvent {
        if let Some(map) = detail.as_object_mut() {
            map.insert("actor".into(), by.actor());
        }
        event(self.clock.now(), kind, AuditOutcome::Success, target, request, detail)
    }
}

impl<'a> AdminConsole<'a> {
    /// The group operations.
    pub fn groups(&self) -> Groups<'a> {
        Groups { store: self.interaction.store, clock: self.interaction.clock }
    }
}
