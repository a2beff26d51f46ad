//! Groups of users: named sets an administrator manages, released to
//! clients as the `groups` claim. Names are unique case-insensitively
//! (compared in their [`crate::normalise_login`] form) and keep the case
//! they were given.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Effects, StoreError, User};

/// A group to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroup {
    /// Stable identifier, chosen by the caller (random v4).
    pub id: Uuid,
    /// The name, as the administrator typed it.
    pub name: String,
    /// Creation instant (from the clock).
    pub created_at: OffsetDateTime,
}

/// A stored group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Stable identifier.
    pub id: Uuid,
    /// The name, as given.
    pub name: String,
    /// Creation instant.
    pub created_at: OffsetDateTime,
    /// Last rename (the creation instant until then).
    pub updated_at: OffsetDateTime,
}

/// Groups and their members. Every write takes the [`Effects`] that go with
/// it (the administrator's audit event) and writes them in its transaction
/// when it changes something: a refused write (`Conflict`, `NotFound`) and a
/// membership that was already as asked write none of them.
/// A precondition on a group and its members, checked inside a write's
/// transaction ([`GroupRepo::rename_group`]).
pub type GroupCheck<'a> = dyn for<'g> Fn(&'g Group, &'g [User]) -> bool + Send + Sync + 'a;

#[async_trait]
pub trait GroupRepo {
    /// Creates a group; `Conflict` when the name is taken (case-insensitively).
    async fn create_group(&self, group: &NewGroup, effects: &Effects<'_>) -> Result<Group, StoreError>;

    /// Renames a group — when `unchanged` is given, only if it holds for
    /// the group and its members (as [`Self::group_members`] lists them)
    /// inside the transaction, with the row locked (an `If-Match`
    /// precondition); `Ok(None)`, nothing written, when it does not.
    /// `Conflict` when another group has the name (case-insensitively),
    /// `NotFound` for an unknown id.
    async fn rename_group(
        &self,
        id: Uuid,
        name: &str,
        unchanged: Option<&GroupCheck<'_>>,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<Option<Group>, StoreError>;

    /// Deletes a group and its memberships; `NotFound` for an unknown id.
    async fn delete_group(
        &self,
        id: Uuid,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError>;

    /// Every group, by name case-insensitively (the lowercased names in byte
    /// order, on both backends).
    async fn list_groups(&self) -> Result<Vec<Group>, StoreError>;

    /// The group with this id, if any.
    async fn find_group(&self, id: Uuid) -> Result<Option<Group>, StoreError>;

    /// The group with this name (case-insensitively), if any.
    async fn find_group_by_name(&self, name: &str) -> Result<Option<Group>, StoreError>;

    /// Makes a user a member of a group; true if they were not one already
    /// (then `effects` are written). `NotFound` for an unknown group or user.
    async fn add_group_member(
        &self,
        group_id: Uuid,
        user_id: Uuid,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<bool, StoreError>;

    /// Takes a user out of a group; true if they were a member (then
    /// `effects` are written). `NotFound` for an unknown group or user.
    async fn remove_group_member(
        &self,
        group_id: Uuid,
        user_id: Uuid,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<bool, StoreError>;

    /// The members of a group, by username; empty for an unknown group.
    async fn group_members(&self, group_id: Uuid) -> Result<Vec<User>, StoreError>;

    /// The names of a user's groups, sorted as [`Self::list_groups`] sorts
    /// them: what the `groups` claim releases. One indexed query.
    async fn user_groups(&self, user_id: Uuid) -> Result<Vec<String>, StoreError>;
}
