//! PostgreSQL backend of the Portcullis store: for several instances sharing
//! one database.
//!
//! [`PgStore::connect`] opens a pool. [`PgStore`] implements
//! `portcullis_store::sql::Db` — and so every repository trait, whose SQL is
//! shared with SQLite in `portcullis_store::sql` — with what is PostgreSQL's
//! own: its value types (see [`exec`]), row and table locks, the claim
//! statements of the job queues (`FOR UPDATE SKIP LOCKED`), the throttle's
//! interval arithmetic.
//! Migrations run on a dedicated connection under sqlx's advisory lock, so
//! instances starting together apply each migration exactly once.

pub mod exec;

use async_trait::async_trait;
use portcullis_store::sql::{self, Db, Lock, Queue, email_tokens, grants, outbox, users};
use portcullis_store::{AccessTokenState, Backend, Generation, MigrationStatus, Store, StoreError};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::sync::LazyLock;
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
    /// When set, the pool of this store itself has at most this many
    /// connections, and `max_connections` is what the pools of the stores
    /// made by [`Store::for_worker`] share: the server's request workers
    /// each have their own, and this store serves only its background
    /// work (expiry sweeps, outbox, back-channel logout, key refresh).
    pub background_connections: Option<u32>,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self { max_connections: 10, timeout: Duration::from_secs(5), background_connections: None }
    }
}

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    connect: PgConnectOptions,
    options: PgOptions,
    /// Advanced after every client write (shared by clones).
    clients_generation: Generation,
    keys_generation: Generation,
}

pub(crate) use portcullis_store_sqlx::store_err as backend_err;

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
            .map_err(|_| StoreError::unavailable(format!("no answer within {}s", options.timeout.as_secs())))?
            .map_err(backend_err)?;
        let _ = probe.close().await;
        let own = PgOptions {
            max_connections: options.background_connections.unwrap_or(options.max_connections),
            ..options.clone()
        };
        let pool = pool_options(&own).connect_with(connect.clone()).await.map_err(backend_err)?;
        Ok(Self {
            pool,
            connect,
            options: options.clone(),
            clients_generation: Generation::default(),
            keys_generation: Generation::default(),
        })
    }

    /// This store for one of `workers` HTTP workers (see
    /// [`Store::for_worker`]): a pool of its own, of `max_connections /
    /// workers` (rounded down, at least 1: the workers together stay within
    /// `max_connections`), whose connections are opened by the first
    /// queries that need them, on the worker's runtime.
    pub fn worker(&self, workers: usize) -> Self {
        let workers = u32::try_from(workers.max(1)).unwrap_or(u32::MAX);
        let options = PgOptions {
            max_connections: (self.options.max_connections / workers).max(1),
            background_connections: None,
            ..self.options.clone()
        };
        let pool = pool_options(&options).connect_lazy_with(self.connect.clone());
        Self { pool, options, ..self.clone() }
    }

    /// The connection pool, for tests that inspect rows directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The pool's settings.
///
/// No ping before each acquire (sqlx's default): it costs a network
/// round trip per query. sqlx tests a connection when it goes back to
/// the pool, so one that broke in use is dropped there. One that dies
/// while idle (a server restart kills them all) would fail its next
/// query: the first such failure is noted (`note_connection_lost`),
/// and from then on every connection that went idle before it is
/// pinged once before use (`idle_since_lost`) and dropped if dead —
/// the hot path pays nothing until a connection is found dead. The
/// statement that found it runs again on another connection when it
/// cannot have taken effect (`retry_on_fresh_connection`). Idle
/// connections are closed after 10 minutes.
fn pool_options(options: &PgOptions) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if !portcullis_store_sqlx::idle_since_lost(meta.idle_for) {
                    return Ok(true);
                }
                Ok(conn.ping().await.is_ok())
            })
        })
        .idle_timeout(Duration::from_secs(600))
}

/// Advisory-lock key serialising Portcullis instances that migrate one database
/// ("portcull" in ASCII).
const MIGRATION_LOCK_ID: i64 = 0x706f_7274_6375_6c6c;

/// Compares the migrations recorded on `conn`'s database with the built-in ones.
async fn status_on(conn: &mut PgConnection) -> Result<MigrationStatus, StoreError> {
    const TABLE_EXISTS: &str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL AS present";
    portcullis_store_sqlx::migration_status::<exec::Dialect>(conn, TABLE_EXISTS, &MIGRATOR).await
}

#[async_trait]
impl Store for PgStore {
    fn on_change(&self, what: portcullis_store::Change, hook: portcullis_store::ChangeHook) {
        portcullis_store::sql::on_change(self, what, hook);
    }

    fn changed_elsewhere(&self, what: portcullis_store::Change) {
        portcullis_store::sql::changed_elsewhere(self, what);
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn for_worker(&self, workers: usize) -> Option<std::sync::Arc<dyn Store>> {
        Some(std::sync::Arc::new(self.worker(workers)))
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
        let applied = result?;
        // Idempotent: instances starting together may both run it.
        users::normalise_display_names(self).await?;
        Ok(applied)
    }

    async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend_err)?;
        status_on(&mut conn).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    /// The counter of migration 0021, moved at commit by deferred triggers
    /// in every instance's transactions: one primary-key read.
    async fn token_state_generation(&self) -> Result<Option<u64>, StoreError> {
        grants::token_state_generation(self).await.map(Some)
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

/// The throttle reservation (see `Db::RESERVE`), with intervals; the row
/// lock makes concurrent reservations of one key queue. `n`, the new count,
/// is written out where it is needed (SET expressions see the row as it was).
const RESERVE: &str = "
INSERT INTO rate_limits (key, failures, blocked_until, updated_at) VALUES ($1, 1, $7, $2)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN rate_limits.updated_at < $6 THEN 1 ELSE rate_limits.failures + 1 END,
    blocked_until = CASE
        WHEN (CASE WHEN rate_limits.updated_at < $6 THEN 1 ELSE rate_limits.failures + 1 END) < $3 THEN NULL
        ELSE $2 + make_interval(secs => LEAST($5, $4 << LEAST((CASE WHEN rate_limits.updated_at < $6 THEN 1 ELSE rate_limits.failures + 1 END) - $3, 30)::integer))
    END,
    updated_at = $2
WHERE rate_limits.updated_at < $6 OR rate_limits.blocked_until IS NULL OR rate_limits.blocked_until <= $2
RETURNING failures, blocked_until";

/// The job queues' claims: `SKIP LOCKED`, so instances sharing the database
/// never lease the same row and none waits for another's lease. `$1` lease
/// until, `$2` now, `$3` at most this many.
static CLAIM_MAIL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE mail_outbox SET locked_until = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM mail_outbox
                      WHERE status = 'pending' AND next_attempt_at <= $2
                        AND (locked_until IS NULL OR locked_until <= $2)
                      ORDER BY next_attempt_at, created_at, id LIMIT $3
                      FOR UPDATE SKIP LOCKED)
         RETURNING {}",
        outbox::COLUMNS
    )
});
static CLAIM_BACKCHANNEL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE backchannel_logouts SET lease_until = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM backchannel_logouts
                      WHERE next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)
                      ORDER BY next_attempt_at, created_at, id LIMIT $3
                      FOR UPDATE SKIP LOCKED)
         RETURNING {}",
        grants::BACKCHANNEL_COLUMNS
    )
});
static CLAIM_LINK_REQUESTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE link_requests SET locked_until = $1
         WHERE id IN (SELECT id FROM link_requests WHERE locked_until IS NULL OR locked_until <= $2
                      ORDER BY created_at, id LIMIT $3
                      FOR UPDATE SKIP LOCKED)
         RETURNING {}",
        email_tokens::LINK_REQUEST_COLUMNS
    )
});

#[async_trait]
impl Db for PgStore {
    type Row = exec::Row;
    type Pool<'a> = exec::Conn<'a>;
    type Tx = exec::Conn<'static>;

    const RESERVE: &'static str = RESERVE;

    async fn begin(&self) -> Result<exec::Conn<'static>, StoreError> {
        Ok(exec::Conn::Tx(portcullis_store_sqlx::begin(&self.pool).await?))
    }

    fn reader(&self) -> exec::Conn<'_> {
        exec::Conn::Pool(&self.pool)
    }

    fn writer(&self) -> exec::Conn<'_> {
        exec::Conn::Pool(&self.pool)
    }

    async fn lock(&self, tx: &mut exec::Conn<'static>, lock: Lock) -> Result<(), StoreError> {
        match lock {
            Lock::User(id) => {
                sql::Exec::execute(
                    tx,
                    "SELECT id FROM users WHERE id = $1 FOR UPDATE",
                    portcullis_store::args![id],
                )
                .await
            }
            // Conflicts with itself: under READ COMMITTED alone, two could
            // both delete before either inserts, and both tokens would stay.
            Lock::SetupTokens => {
                sql::Exec::execute(tx, "LOCK TABLE setup_tokens IN SHARE ROW EXCLUSIVE MODE", &[]).await
            }
        }
        .map(drop)
    }

    fn clients_counter(&self) -> &Generation {
        &self.clients_generation
    }

    fn keys_counter(&self) -> &Generation {
        &self.keys_generation
    }

    fn claim(queue: Queue) -> &'static str {
        match queue {
            Queue::Mail => &CLAIM_MAIL,
            Queue::Backchannel => &CLAIM_BACKCHANNEL,
            Queue::LinkRequests => &CLAIM_LINK_REQUESTS,
        }
    }
}
