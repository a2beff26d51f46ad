//! PostgreSQL backend of the Portcullis store: for several instances sharing
//! one database.
//!
//! [`PgStore::connect`] opens a pool; [`PgStore`] implements every repository
//! trait of `portcullis-store`. Migrations run on a dedicated connection under
//! sqlx's advisory lock, so instances starting together apply each migration
//! exactly once.

mod audit;
mod clients;
mod email_tokens;
mod grants;
mod keys;
mod mfa;
mod outbox;
mod rate_limits;
mod sessions;
mod setup;
mod users;

use async_trait::async_trait;
use portcullis_store::{
    AccessTokenState, AppliedMigration, Backend, EmbeddedMigration, Generation, MigrationStatus, Store,
    StoreError,
};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Row};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::Duration;

/// The schema, compiled in from `migrations/postgres/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// How to open the pool.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Pool size per instance.
    pub max_connections: u32,
    /// How long to wait for a connection before giving up.
    pub timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self { max_connections: 10, timeout: Duration::from_secs(5) }
    }
}

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    connect: PgConnectOptions,
    /// Advanced after every client write (shared by clones).
    clients_generation: Generation,
    /// Advanced after every write that can change a token's state (see
    /// `Store::token_state_generation`; shared by clones): such a write
    /// method takes `token_state.on_drop()` first thing, so the counter moves
    /// after its commit on every path out.
    token_state: Generation,
    /// Whether [`Store::follow_changes`] is listening (shared by clones).
    following: Arc<AtomicBool>,
}

/// Notified when a change can invalidate access tokens (migration 0010).
const TOKEN_STATE_CHANNEL: &str = "portcullis_token_state";

pub(crate) fn backend_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        other => StoreError::Backend(Box::new(other)),
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db`); fails at once
    /// when the server cannot be reached. Does not migrate.
    pub async fn connect(url: &str, options: &PgOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(Box::new(e)))?
            .application_name("portcullis");
        // One direct connection first: a pool only reports "timed out", while
        // the operator needs the cause (refused, unknown host, bad password).
        let probe = tokio::time::timeout(options.timeout, PgConnection::connect_with(&connect))
            .await
            .map_err(|_| {
                StoreError::Backend(format!("no answer within {}s", options.timeout.as_secs()).into())
            })?
            .map_err(backend_err)?;
        let _ = probe.close().await;
        // No ping before each acquire (sqlx's default): it costs a network
        // round trip per query. A connection that broke while idle fails its
        // next query and is dropped; idle ones are closed after 10 minutes.
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.timeout)
            .test_before_acquire(false)
            .idle_timeout(Duration::from_secs(600))
            .connect_with(connect.clone())
            .await
            .map_err(backend_err)?;
        Ok(Self {
            pool,
            connect,
            clients_generation: Generation::default(),
            token_state: Generation::default(),
            following: Arc::default(),
        })
    }

    /// A listener on the token-state channel (one connection of the pool).
    async fn listen(&self) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(TOKEN_STATE_CHANNEL).await?;
        Ok(listener)
    }

    /// The connection pool, for tests that inspect rows directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Advisory-lock key serialising Portcullis instances that migrate one database
/// ("portcull" in ASCII).
const MIGRATION_LOCK_ID: i64 = 0x706f_7274_6375_6c6c;

/// Compares the migrations recorded on `conn`'s database with the built-in ones.
async fn status_on(conn: &mut PgConnection) -> Result<MigrationStatus, StoreError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(backend_err)?;
    let applied = if exists {
        sqlx::query("SELECT version, checksum, success FROM _sqlx_migrations")
            .fetch_all(&mut *conn)
            .await
            .map_err(backend_err)?
            .iter()
            .map(|row| AppliedMigration {
                version: row.get("version"),
                checksum: row.get("checksum"),
                success: row.get("success"),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(MigrationStatus::compare(&embedded(), &applied))
}

fn embedded() -> Vec<EmbeddedMigration<'static>> {
    MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| EmbeddedMigration { version: m.version, description: &m.description, checksum: &m.checksum })
        .collect()
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<usize, StoreError> {
        // A dedicated connection, closed afterwards: sqlx takes a session-level
        // advisory lock and does not release it when a migration fails, so the
        // lock must never go back into the pool. Our own lock around it lets us
        // count what *this* instance applied while another waits.
        let mut conn = PgConnection::connect_with(&self.connect).await.map_err(backend_err)?;
        let result = async {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK_ID)
                .execute(&mut conn)
                .await
                .map_err(backend_err)?;
            let before = status_on(&mut conn).await?;
            // `run` trips the "Acquire is not general enough" error inside an
            // async-trait future; sqlx provides `run_direct` for exactly that.
            MIGRATOR
                .run_direct(None, &mut conn, false)
                .await
                .map_err(|e| StoreError::Migration(e.to_string()))?;
            let after = status_on(&mut conn).await?;
            Ok(after.applied.saturating_sub(before.applied))
        }
        .await;
        let _ = conn.close().await; // ends the session, releasing both locks
        result
    }

    async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend_err)?;
        status_on(&mut conn).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    /// Known while this instance listens to the other instances' changes
    /// (see [`Store::follow_changes`]); `None` (nothing cached) otherwise.
    fn token_state_generation(&self) -> Option<u64> {
        self.following.load(AtomicOrdering::Acquire).then(|| self.token_state.get())
    }

    /// Listens on `portcullis_token_state` (notified at commit by the
    /// triggers of migration 0010) and advances the token-state generation
    /// on every notification. While it is not listening, nothing is cached;
    /// after a lost connection (notifications missed) it advances the
    /// generation once more before caching resumes.
    async fn follow_changes(&self) {
        loop {
            match self.listen().await {
                Ok(mut listener) => {
                    self.token_state.advance();
                    self.following.store(true, AtomicOrdering::Release);
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(_)) => self.token_state.advance(),
                            // Reconnected: what was sent meanwhile is lost.
                            Ok(None) => {
                                tracing::warn!("the change listener reconnected; cached token state dropped");
                                self.token_state.advance();
                            }
                            Err(e) => {
                                self.following.store(false, AtomicOrdering::Release);
                                self.token_state.advance();
                                if self.pool.is_closed() {
                                    return;
                                }
                                tracing::warn!(error = %e, "the change listener failed; token state is not cached until it is back");
                                break;
                            }
                        }
                    }
                }
                Err(e) => {
                    if self.pool.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %e, "cannot listen to changes; token state is not cached");
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn access_token_state(
        &self,
        jti_key: &str,
        grant_id: Option<&str>,
        now: time::OffsetDateTime,
    ) -> Result<AccessTokenState, StoreError> {
        grants::access_token_state(self, jti_key, grant_id, now).await
    }
}
