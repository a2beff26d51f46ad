//! Browser sessions, kept server-side. The cookie carries a random id; the
//! store only ever sees its SHA-256 hash.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StoreError;

/// A session row. Anonymous (pre-login) sessions have no user; they exist to
/// bind the sign-in form's CSRF token.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the cookie value, hex.
    pub id_hash: String,
    /// The public session id (`sid` in tokens). Unlike the cookie value it
    /// is not a secret, and it survives re-authentication of the same user.
    pub sid: String,
    /// The synchronizer CSRF token of this session.
    pub csrf_token: String,
    /// The signed-in user, if any.
    pub user_id: Option<Uuid>,
    /// When the user authenticated.
    pub auth_time: Option<OffsetDateTime>,
    /// Authentication methods (RFC 8176), e.g. `["pwd"]`.
    pub amr: Vec<String>,
    /// Authentication context class, if any.
    pub acr: Option<String>,
    /// The upstream identity provider (`[[upstreams]]` id) the user signed
    /// in through; `None` for a local sign-in.
    pub upstream_id: Option<String>,
    /// Client IP at creation.
    pub ip: Option<String>,
    /// User agent at creation.
    pub user_agent: Option<String>,
    /// Creation instant (the absolute timeout counts from here).
    pub created_at: OffsetDateTime,
    /// Last use (the idle timeout counts from here).
    pub last_seen_at: OffsetDateTime,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("sid", &self.sid)
            .field("user_id", &self.user_id)
            .field("amr", &self.amr)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A page of [`SessionRepo::list_sessions`]: the live sessions of signed-in
/// users, newest first. Live is the contrary of what
/// [`SessionRepo::delete_expired_sessions`] deletes, with the same bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionQuery {
    /// Sessions last used at or before this are past their idle timeout.
    pub idle_before: OffsetDateTime,
    /// Sessions created at or before this are past their absolute timeout.
    pub created_before: OffsetDateTime,
    /// The keyset cursor: only sessions after this one in the order of the
    /// list (the last row of the previous page).
    pub after: Option<SessionCursor>,
    /// At most this many sessions.
    pub limit: u32,
}

/// A place in the list of sessions: newest first, by creation and then by
/// `sid` (descending), both of which a session keeps for life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCursor {
    /// The session's creation instant.
    pub created_at: OffsetDateTime,
    /// Its public id.
    pub sid: String,
}

impl From<&Session> for SessionCursor {
    fn from(s: &Session) -> Self {
        Self { created_at: s.created_at, sid: s.sid.clone() }
    }
}

/// Server-side sessions.
#[async_trait]
pub trait SessionRepo {
    /// Stores a new session; `Conflict` if the id hash exists.
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;

    /// The session with this id hash, if any (expiry is the caller's rule).
    async fn find_session(&self, id_hash: &str) -> Result<Option<Session>, StoreError>;

    /// The session with this public id, if any.
    async fn find_session_by_sid(&self, sid: &str) -> Result<Option<Session>, StoreError>;

    /// Replaces the session `old_id_hash` (if it still exists) by `new`, in
    /// one transaction: how a session id is rotated at sign-in.
    async fn replace_session(&self, old_id_hash: &str, new: &Session) -> Result<(), StoreError>;

    /// Records a use of the session.
    async fn touch_session(&self, id_hash: &str, at: OffsetDateTime) -> Result<(), StoreError>;

    /// Every session of a user, most recently used first.
    async fn list_user_sessions(&self, user_id: Uuid) -> Result<Vec<Session>, StoreError>;

    /// A page of the live sessions of signed-in users (anonymous ones left
    /// out), newest first (see [`SessionQuery`]).
    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError>;

    /// How many sessions [`Self::list_sessions`] would list in all, for
    /// these bounds (see [`SessionQuery`]).
    async fn count_live_sessions(
        &self,
        idle_before: OffsetDateTime,
        created_before: OffsetDateTime,
    ) -> Result<u64, StoreError>;

    /// Deletes one session; true if it existed.
    async fn delete_session(&self, id_hash: &str) -> Result<bool, StoreError>;

    /// Deletes every session of a user; returns how many.
    async fn delete_user_sessions(&self, user_id: Uuid) -> Result<u64, StoreError>;

    /// Deletes sessions last used at or before `idle_before` or created at or
    /// before `created_before` (expired ones); returns how many.
    async fn delete_expired_sessions(
        &self,
        idle_before: OffsetDateTime,
        created_before: OffsetDateTime,
    ) -> Result<u64, StoreError>;
}
