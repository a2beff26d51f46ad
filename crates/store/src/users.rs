//! User accounts: the stable id (the future `sub`), unique case-insensitive
//! username and email, roles, and the password hash (a PHC string).

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Effects, EmailToken, StoreError};

/// The role that may administer Portcullis.
pub const ROLE_ADMIN: &str = "admin";

/// A user to create. Uniqueness of `username` and `email` is case-insensitive.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Stable identifier, chosen by the caller (random v4).
    pub id: Uuid,
    /// Login name, as the user typed it.
    pub username: String,
    /// Email address, as the user typed it.
    pub email: String,
    /// Whether the email address was proven.
    pub email_verified: bool,
    /// Name to show; the username when absent.
    pub display_name: Option<String>,
    /// Roles, e.g. `["admin"]`.
    pub roles: Vec<String>,
    /// argon2id PHC string, if the user has a password.
    pub password_hash: Option<String>,
    /// Creation instant (from the clock).
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// A stored user.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Stable identifier.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Whether the email address was proven.
    pub email_verified: bool,
    /// Name to show.
    pub display_name: Option<String>,
    /// A disabled user cannot sign in and has no sessions.
    pub disabled: bool,
    /// The user must sign in with a second factor (and enroll one first).
    pub mfa_required: bool,
    /// Roles.
    pub roles: Vec<String>,
    /// argon2id PHC string (a secret: never logged).
    pub password_hash: Option<String>,
    /// Random; replaced by every change of the password or the email
    /// address. Recovery links record it and die when it changes.
    pub security_stamp: String,
    /// Creation instant.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// A precondition on a user and their group names, checked inside a
/// write's transaction ([`UserRepo::edit_user`]).
pub type UserCheck<'a> = dyn for<'u> Fn(&'u User, &'u [String]) -> bool + Send + Sync + 'a;

/// What an administrator may edit of a user at once ([`UserRepo::edit_user`]).
#[derive(Debug, Clone, Copy)]
pub struct UserEdit<'a> {
    /// Name to show (none: no name).
    pub display_name: Option<&'a str>,
    /// Email address.
    pub email: &'a str,
    /// Roles, sorted and without duplicates.
    pub roles: &'a [String],
}

/// What ending a user's access did: sessions ended (each with its
/// session-bound grants revoked and back-channel logouts queued) and the
/// other grants revoked (offline refresh tokens included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndedAccess {
    /// Browser sessions ended.
    pub sessions: u64,
    /// Grants revoked besides those of the ended sessions.
    pub grants: u64,
}

impl User {
    /// True when the user holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The display name, or the username.
    pub fn shown_name(&self) -> &str {
        self.display_name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&self.username)
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("disabled", &self.disabled)
            .field("roles", &self.roles)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// The normalised form used for uniqueness and lookup.
pub fn normalise_login(s: &str) -> String {
    s.trim().to_lowercase()
}

/// A page of [`UserRepo::search_users`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Only users whose username, email or display name begins with this,
    /// case-insensitively (both sides in their [`normalise_login`] form).
    /// Every character counts as itself: `%`, `_` and `\` are no wildcards.
    /// `None` or blank: every user.
    pub prefix: Option<String>,
    /// The keyset cursor: only users whose username sorts after this one
    /// (the last row of the previous page; given as the username or its
    /// normalised form). Users created meanwhile land on the pages they
    /// sort into, and none is seen twice.
    pub after: Option<String>,
    /// At most this many users.
    pub limit: u32,
}

/// The dashboard's counts of users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserCounts {
    /// Every user.
    pub total: u64,
    /// Disabled users.
    pub disabled: u64,
    /// Users who are not disabled and have neither a passkey nor a confirmed
    /// authenticator app (recovery codes alone are no second factor).
    pub without_second_factor: u64,
}

/// User accounts.
#[async_trait]
pub trait UserRepo {
    /// Creates a user; `Conflict` when the username or email is taken
    /// (case-insensitively).
    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError>;

    /// The user with this id, if any.
    async fn find_user(&self, id: Uuid) -> Result<Option<User>, StoreError>;

    /// The user whose username or email equals `login`, case-insensitively.
    async fn find_user_by_login(&self, login: &str) -> Result<Option<User>, StoreError>;

    /// Every user, by username.
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;

    /// How many users exist.
    async fn count_users(&self) -> Result<u64, StoreError>;

    /// A page of users, by normalised username (bytes order, on both
    /// backends), matching `query`; one indexed query.
    async fn search_users(&self, query: &UserQuery) -> Result<Vec<User>, StoreError>;

    /// The dashboard's counts, in one query.
    async fn user_counts(&self) -> Result<UserCounts, StoreError>;

    /// Replaces the password hash and nothing else — the same password
    /// hashed anew (an upgrade of its parameters at sign-in), so the security
    /// stamp stays; a new password goes through [`Self::change_password`].
    /// `NotFound` for an unknown id.
    async fn set_password_hash(&self, id: Uuid, hash: &str, at: OffsetDateTime) -> Result<(), StoreError>;

    /// A password change, in ONE transaction: the new hash and security
    /// stamp, every session of the user ended but the one `effects` rotates
    /// (if any), every grant revoked but the session-bound ones of the kept
    /// session, and `effects`. `NotFound` for an unknown id.
    async fn change_password(
        &self,
        id: Uuid,
        hash: &str,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<EndedAccess, StoreError>;

    /// Disables a user and ends all their access (sessions with back-channel
    /// logouts, grants), with `effects`, in ONE transaction; `NotFound` for
    /// an unknown id.
    async fn disable_user(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<EndedAccess, StoreError>;

    /// Creates a user together with a single-use link `token`, if any (its
    /// `account_stamp` is set to the new account's security stamp, so the
    /// link dies with the first password or email change) and `effects`
    /// (the invitation mail, the audit event), in one transaction;
    /// `Conflict` (nothing written) when the username or email is taken.
    async fn invite_user(
        &self,
        user: &NewUser,
        token: Option<&EmailToken>,
        effects: &Effects<'_>,
    ) -> Result<User, StoreError>;

    /// Deletes a user in ONE transaction: ends all their access first
    /// (sessions with back-channel logouts queued — the queue outlives the
    /// user —, grants), then the row and everything that hangs on it
    /// (factors, consents, memberships, links), and writes `effects`. Audit
    /// events keep the user's id. `NotFound` (nothing written) for an
    /// unknown id.
    async fn delete_user(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<EndedAccess, StoreError>;

    /// Sets the display name and email address, with `effects`, in one
    /// transaction. A new address (compared case-insensitively) is
    /// unverified and gives the account a new security stamp (its mailed
    /// links die). `Conflict` when another account has the address,
    /// `NotFound` for an unknown id; nothing written then.
    async fn update_profile(
        &self,
        id: Uuid,
        display_name: Option<&str>,
        email: &str,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<User, StoreError>;

    /// Sets the display name, email address and roles of `id` in one
    /// transaction with `effects` — only if `unchanged` holds for the user
    /// and their group names as they are inside that transaction, with the
    /// row locked (an `If-Match` precondition: two administrators cannot
    /// overwrite each other). `Ok(None)`, nothing written, when it does not
    /// hold. A new address is unverified and gives the account a new
    /// security stamp, as [`Self::update_profile`] does. `Conflict` when
    /// another account has the address, `NotFound` for an unknown id.
    async fn edit_user(
        &self,
        id: Uuid,
        edit: &UserEdit<'_>,
        unchanged: &UserCheck<'_>,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<Option<User>, StoreError>;

    /// Replaces the user's roles, with `effects`, in one transaction;
    /// `NotFound` (nothing written) for an unknown id.
    async fn set_roles(
        &self,
        id: Uuid,
        roles: &[String],
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError>;

    /// Re-enables a disabled user, with `effects`, in one transaction;
    /// `NotFound` (nothing written) for an unknown id.
    async fn enable_user(
        &self,
        id: Uuid,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError>;
}
