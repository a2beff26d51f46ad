//! Repository traits and row models for Portcullis.
//!
//! [`Store`] is the whole storage surface the rest of the product sees, as
//! one object-safe trait built from per-aggregate repositories ([`AuditRepo`],
//! [`ClientRepo`], [`UserRepo`], [`SessionRepo`], [`GrantRepo`], [`LogoutRepo`],
//! [`MfaRepo`], [`EmailTokenRepo`], [`GroupRepo`], [`DeviceRepo`],
//! [`UpstreamRepo`], …).
//! [`sql`] implements every repository
//! once, with each statement written once for both databases; a backend
//! (`portcullis-store-sqlite`, `portcullis-store-postgres`) implements
//! [`sql::Db`]: its connections, transactions, encodings and the statements
//! its dialect writes its own way. Nothing above this crate knows which one
//! it talks to. Errors are [`StoreError`].

mod audit;
mod clients;
mod devices;
mod effects;
mod email_tokens;
mod error;
mod generation;
mod grants;
mod groups;
mod keys;
mod mfa;
mod migrations;
mod outbox;
mod rate_limits;
mod sessions;
mod setup;
pub mod sql;
mod upstreams;
mod users;

pub use audit::{AuditEvent, AuditFilter, AuditOutcome, AuditRepo, NewAuditEvent};
pub use clients::{ClientRecord, ClientRepo};
pub use devices::{DeviceAuthorizationRow, DeviceRepo, DeviceStatus};
pub use effects::{Effects, Rotation};
pub use email_tokens::{EmailToken, EmailTokenPurpose, EmailTokenRepo, LinkRequestRow};
pub use error::{StoreError, Unavailable, is_unavailable};
pub use generation::{AdvanceOnDrop, ChangeHook, Generation};
pub use grants::{
    AuthRequestRepo, AuthRequestRow, BackchannelLogout, CodeRow, ConnectedClient, ConsentRepo, GrantRepo,
    GrantRow, LogoutRepo, Redemption, RefreshState, RefreshTokenRow, Rotate, RotateOutcome,
};
pub use groups::{Group, GroupCheck, GroupRepo, NewGroup};
pub use keys::{SigningKeyRepo, SigningKeyRow, SigningKeyState};
pub use mfa::{Enrollment, FactorRef, MfaRepo, PasskeyRow, SessionStateRepo, TotpRow};
pub use migrations::{AppliedMigration, EmbeddedMigration, MigrationStatus};
pub use outbox::{MailStatus, NewMail, OutboxMail, OutboxRepo, OutboxStats};
pub use rate_limits::{
    LockoutPolicy, MemoryThrottle, RateLimit, RateLimitRepo, Reservation, Throttle, release, reserve,
};
pub use sessions::{Session, SessionCursor, SessionQuery, SessionRepo};
pub use setup::SetupTokenRepo;
pub use upstreams::{UpstreamGrants, UpstreamIdentity, UpstreamRepo, UpstreamSignIn};
pub use users::{
    EndedAccess, NewUser, ROLE_ADMIN, User, UserCheck, UserCounts, UserEdit, UserQuery, UserRepo,
    normalise_login,
};

use async_trait::async_trait;
use std::fmt;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded SQLite, the single-machine default.
    Sqlite,
    /// PostgreSQL, shared by several instances.
    Postgres,
}

impl Backend {
    /// The lowercase name used in logs, metrics and test names.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The storage surface: every repository, plus schema management and health.
#[async_trait]
pub trait Store:
    AuditRepo
    + ClientRepo
    + AuthRequestRepo
    + ConsentRepo
    + GrantRepo
    + LogoutRepo
    + SigningKeyRepo
    + UserRepo
    + SessionRepo
    + RateLimitRepo
    + SetupTokenRepo
    + OutboxRepo
    + MfaRepo
    + SessionStateRepo
    + HotState
    + EmailTokenRepo
    + GroupRepo
    + UpstreamRepo
    + DeviceRepo
    + fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// Which database this is.
    fn backend(&self) -> Backend;

    /// Applies every pending migration; returns how many it applied.
    /// Safe to run from several instances at once (the backend serialises).
    async fn migrate(&self) -> Result<usize, StoreError>;

    /// Compares the migrations recorded in the database with those built in.
    /// Also proves the database answers.
    async fn migration_status(&self) -> Result<MigrationStatus, StoreError>;

    /// Waits for open connections to finish and closes the pool.
    async fn close(&self);

    /// This store as one of `workers` HTTP worker threads should use it:
    /// the same database, generations and hooks, with a pool of its own
    /// (a `workers`-th of the connections, rounded down) whose connections are opened, and
    /// so driven, by that worker's runtime. Called on the worker's thread.
    /// A pool shared by the workers' single-threaded runtimes has each
    /// query's socket readiness delivered by whichever runtime opened the
    /// connection: a cross-thread wake-up per round trip (see
    /// docs/benchmarks.md, "Several instances"). `None` (the default): share
    /// this store.
    fn for_worker(&self, workers: usize) -> Option<std::sync::Arc<dyn Store>> {
        let _ = workers;
        None
    }

    /// Calls `hook` after each write of this process that changes `what`
    /// (its transaction ended), so other instances can be told at once.
    /// Only the first hook per kind counts. The default keeps none.
    fn on_change(&self, what: Change, hook: ChangeHook) {
        let _ = (what, hook);
    }

    /// Another instance changed `what`: caches over this store drop what
    /// they hold of it (the client generation moves, without the hook).
    fn changed_elsewhere(&self, what: Change) {
        let _ = what;
    }

    /// The token-state generation: a counter kept in the database (migration
    /// 0021) that every transaction able to make a valid access token
    /// invalid, or to change what it answers, moves as it commits — a grant
    /// revoked, a session ended, a `jti` put on the revocation list, a user
    /// disabled or changed, a group changed — whoever writes: this instance,
    /// another one sharing the database, the CLI. The protocol reads it once
    /// per token check and uses its cached state of a token only while the
    /// counter has not moved since that state was read, so a change
    /// committed anywhere is seen by the very next request everywhere.
    /// `None`: this store keeps no such counter, so nothing is cached (the
    /// default).
    async fn token_state_generation(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }

    /// What checking an access token needs, read at once: whether `jti_key`
    /// is recorded (and unexpired at `now`, see [`GrantRepo::jti_recorded`]),
    /// and — when `grant_id` is given — that grant with the browser session
    /// its `sid` names, if that session still exists. Backends answer with
    /// one query; this default makes the separate reads.
    async fn access_token_state(
        &self,
        jti_key: &str,
        grant_id: Option<&str>,
        now: time::OffsetDateTime,
    ) -> Result<AccessTokenState, StoreError> {
        let revoked = self.jti_recorded(jti_key, now).await?;
        let grant = match grant_id {
            Some(id) => self.find_grant(id).await?,
            None => None,
        };
        let session = match grant.as_ref().and_then(|g| g.sid.as_deref()) {
            Some(sid) => self.find_session_by_sid(sid).await?.map(|s| SessionTimes {
                user_id: s.user_id,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
            }),
            None => None,
        };
        Ok(AccessTokenState { revoked, grant, session })
    }
}

/// The hot, short-lived state: sign-in's throttle counters, pending
/// authorization requests (and pushed ones), the state of a browser
/// session's ceremonies. Every [`Store`] keeps it in tables; with several
/// instances, Redis may keep it instead (`portcullis-store-redis`): each is
/// written and read once or a few times within minutes, and none must
/// survive a restart of Redis (a user starts the sign-in again).
pub trait HotState: Throttle + AuthRequestRepo + SessionStateRepo + fmt::Debug + Send + Sync {}

impl<T: Throttle + AuthRequestRepo + SessionStateRepo + fmt::Debug + Send + Sync + ?Sized> HotState for T {}

/// What a write changed, as far as the in-memory caches of other instances
/// care (see [`Store::on_change`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// A client was created, changed or deleted.
    Clients,
    /// A signing key was added, changed state or was deleted.
    Keys,
}

impl Change {
    /// The name on the wire (Redis pub/sub).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clients => "clients",
            Self::Keys => "keys",
        }
    }

    /// The change a name names.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "clients" => Some(Self::Clients),
            "keys" => Some(Self::Keys),
            _ => None,
        }
    }
}

/// The answer of [`Store::access_token_state`].
#[derive(Debug, Clone)]
pub struct AccessTokenState {
    /// The token's `jti` is on the revocation list.
    pub revoked: bool,
    /// The grant, if asked for and it exists.
    pub grant: Option<GrantRow>,
    /// The session the grant's `sid` names, if it exists.
    pub session: Option<SessionTimes>,
}

/// What decides whether a browser session is still alive (see [`Session`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    /// The signed-in user, if any.
    pub user_id: Option<uuid::Uuid>,
    /// When the session began.
    pub created_at: time::OffsetDateTime,
    /// When it was last used.
    pub last_seen_at: time::OffsetDateTime,
}
