//! SQLite backend of the Portcullis store: the embedded, single-machine default.
//!
//! [`SqliteStore::connect`] opens (creating if missing) a database file in WAL
//! mode with foreign keys on. [`SqliteStore`] implements
//! `portcullis_store::sql::Db` — and so every repository trait, whose SQL is
//! shared with PostgreSQL in `portcullis_store::sql` — with what is SQLite's
//! own: one writer connection and `BEGIN IMMEDIATE`, its value encodings
//! (UUIDs as text, instants as unix seconds, lists as JSON: see [`exec`]),
//! the claim statements of the job queues and the throttle's back-off
//! arithmetic. [`SqliteStore::backup_to`] writes an online snapshot.

mod backup;
pub mod exec;

use async_trait::async_trait;
use portcullis_core::private_files;
use portcullis_store::sql::{Db, Lock, Queue, email_tokens, grants, outbox, users};
use portcullis_store::{AccessTokenState, Backend, Generation, MigrationStatus, Store, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};
use std::path::Path;
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

/// The schema, compiled in from `migrations/sqlite/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// How to open the database.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Readers' pool size (WAL: many readers; writers share one more
    /// connection, one at a time).
    pub max_connections: u32,
    /// How long to wait for a connection, and for a lock held by another writer.
    pub timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self { max_connections: 8, timeout: Duration::from_secs(5) }
    }
}

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Readers (WAL: they never wait for the writer).
    pool: SqlitePool,
    /// One connection, for every statement that writes: writers queue for it
    /// in order instead of meeting SQLite's write lock, whose busy handler
    /// sleeps and retries (milliseconds of idle cores and a long tail under
    /// concurrent writes). Another process writing the file (the CLI) still
    /// meets the lock and waits up to the busy timeout.
    write_pool: SqlitePool,
    url: String,
    /// Advanced after every client write (shared by clones).
    clients_generation: Generation,
    keys_generation: Generation,
}

pub(crate) use portcullis_store_sqlx::store_err as backend_err;

impl SqliteStore {
    /// Opens `url` (`sqlite://path/to/file.db`), creating the file (mode
    /// 0600) and its folder (0700) if missing, and taking group and other
    /// permissions away from an existing database, its `-wal` and `-shm`
    /// files and its lock file. Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str, options: &SqliteOptions) -> Result<Self, StoreError> {
        let connect = connect_options(url)?;
        if let Some(dir) = connect.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        // No ping before each acquire (sqlx's default): on a local file it
        // only doubles the round trips to the connection's worker thread.
        let connect = connect.busy_timeout(options.timeout);
        let _lock = StartupLock::acquire(url).await?;
        if let Some(db) = file_path(&connect) {
            private_database_files(&db)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.timeout)
            .test_before_acquire(false)
            .connect_with(connect.clone())
            .await
            .map_err(backend_err)?;
        let write_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(options.timeout)
            .test_before_acquire(false)
            .connect_with(connect)
            .await
            .map_err(backend_err)?;
        Ok(Self {
            pool,
            write_pool,
            url: url.to_owned(),
            clients_generation: Generation::default(),
            keys_generation: Generation::default(),
        })
    }

    /// Opens the database file `url` names if it exists, as [`Self::connect`]
    /// does; [`StoreError::NotFound`] if it does not (nothing is created:
    /// for commands that only read, such as a backup).
    pub async fn connect_existing(url: &str, options: &SqliteOptions) -> Result<Self, StoreError> {
        match file_path(&connect_options(url)?) {
            Some(db) if db.is_file() => Self::connect(url, options).await,
            _ => Err(StoreError::NotFound),
        }
    }

    /// The connection pool, for tests that inspect rows directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn connect_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    Ok(SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Backend(Box::new(e)))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true))
}

/// Creates the database folder readable by its owner only.
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, private_files::DIR_MODE);
    builder
        .create(dir)
        .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", dir.display()).into()))
}

/// The database file of `options`; none for an in-memory database.
fn file_path(options: &SqliteConnectOptions) -> Option<std::path::PathBuf> {
    let db = options.get_filename();
    (!db.as_os_str().is_empty() && !db.to_string_lossy().contains(":memory:")).then(|| db.to_path_buf())
}

/// Creates the database file readable and writable by its owner only
/// (0600) before SQLite opens it, so it never exists with the process's
/// default mode (0644 under the usual umask); SQLite gives the `-wal` and
/// `-shm` files it creates the mode of the database file. Files left wider
/// by an earlier version lose their group and other permissions (see [`tighten`]).
fn private_database_files(db: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, private_files::FILE_MODE);
    match options.open(db) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(StoreError::Backend(format!("cannot create {}: {e}", db.display()).into())),
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        tighten(Path::new(&path));
    }
    Ok(())
}

/// Takes group and other permissions away from `path`, if it exists and
/// has any (logged). A file this process may not change (another owner) is
/// reported, not fatal, as before this check existed.
fn tighten(path: &Path) {
    match private_files::restrict_to_owner(path) {
        Ok(None) => {}
        Ok(Some(was)) => {
            tracing::warn!(path = %path.display(), "the file was open to other users (mode {was:04o}): now owner-only");
        }
        Err(e) => tracing::warn!(
            path = %path.display(),
            error = %e,
            "the file may be open to other users and its mode cannot be changed: make it 0600"
        ),
    }
}

/// An exclusive lock on `<database>.migrate.lock` (none for in-memory
/// databases), held while a store opens its first connections (the first
/// one switches a new file to WAL, which needs the file to itself: SQLite
/// answers "database is locked" at once, without its busy handler) and while
/// it migrates, so that instances starting together take turns.
struct StartupLock(Option<std::fs::File>);

impl StartupLock {
    async fn acquire(url: &str) -> Result<Self, StoreError> {
        let Some(db) = file_path(&connect_options(url)?) else {
            return Ok(Self(None));
        };
        let path = db.with_extension("migrate.lock");
        let io_err = |e: std::io::Error| StoreError::Migration(format!("lock {}: {e}", path.display()));
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, private_files::FILE_MODE);
        let file = options.open(&path).map_err(io_err)?;
        tighten(&path);
        let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .map_err(|e| StoreError::Migration(format!("lock task: {e}")))?
            .map_err(io_err)?;
        Ok(Self(Some(file)))
    }
}

impl Drop for StartupLock {
    fn drop(&mut self) {
        if let Some(file) = &self.0 {
            let _ = file.unlock();
        }
    }
}

/// Compares the migrations recorded on `conn`'s database with the built-in ones.
async fn status_on(conn: &mut SqliteConnection) -> Result<MigrationStatus, StoreError> {
    const TABLE_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations') AS present";
    portcullis_store_sqlx::migration_status::<exec::Dialect>(conn, TABLE_EXISTS, &MIGRATOR).await
}

#[async_trait]
impl Store for SqliteStore {
    fn on_change(&self, what: portcullis_store::Change, hook: portcullis_store::ChangeHook) {
        portcullis_store::sql::on_change(self, what, hook);
    }

    fn changed_elsewhere(&self, what: portcullis_store::Change) {
        portcullis_store::sql::changed_elsewhere(self, what);
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<usize, StoreError> {
        // sqlx takes no lock on SQLite, so two processes starting together
        // could both apply a migration: serialise them with an exclusive
        // lock on a file beside the database (released when dropped).
        let _lock = StartupLock::acquire(&self.url).await?;
        let before = self.migration_status().await?;
        let mut conn = connect_options(&self.url)?.connect().await.map_err(backend_err)?;
        // `run` trips the "Acquire is not general enough" error inside an
        // async-trait future; sqlx provides `run_direct` for exactly that.
        let result = MIGRATOR.run_direct(None, &mut conn, false).await;
        let _ = conn.close().await;
        result.map_err(|e| StoreError::Migration(e.to_string()))?;
        users::normalise_display_names(self).await?;
        let after = self.migration_status().await?;
        Ok(after.applied.saturating_sub(before.applied))
    }

    async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend_err)?;
        status_on(&mut conn).await
    }

    async fn close(&self) {
        self.write_pool.close().await;
        self.pool.close().await;
    }

    /// The counter of migration 0021, moved by triggers in the writing
    /// transaction: also by another process writing the file.
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

/// The throttle reservation (see `Db::RESERVE`), in unix seconds. `n`, the
/// new count, is written out where it is needed (SET expressions see the
/// row as it was).
const RESERVE: &str = "
INSERT INTO rate_limits (key, failures, blocked_until, updated_at) VALUES ($1, 1, $7, $2)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN rate_limits.updated_at < $6 THEN 1 ELSE rate_limits.failures + 1 END,
    blocked_until = CASE
        WHEN (CASE WHEN rate_limits.updated_at < $6 THEN 1 ELSE rate_limits.failures + 1 END) < $3 THEN NULL
        ELSE $2 + min($5, $4 << min((CASE WHEN rate_limits.updated_at < $6 THEN 1 ELSE rate_limits.failures + 1 END) - $3, 30))
    END,
    updated_at = $2
WHERE rate_limits.updated_at < $6 OR rate_limits.blocked_until IS NULL OR rate_limits.blocked_until <= $2
RETURNING failures, blocked_until";

/// The job queues' claims: one `UPDATE … RETURNING` each, as SQLite runs
/// one writer at a time, so two workers never lease the same row. `$1`
/// lease until, `$2` now, `$3` at most this many.
static CLAIM_MAIL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE mail_outbox SET locked_until = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM mail_outbox
                      WHERE status = 'pending' AND next_attempt_at <= $2
                        AND (locked_until IS NULL OR locked_until <= $2)
                      ORDER BY next_attempt_at, created_at, id LIMIT $3)
         RETURNING {}",
        outbox::COLUMNS
    )
});
static CLAIM_BACKCHANNEL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE backchannel_logouts SET lease_until = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM backchannel_logouts
                      WHERE next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)
                      ORDER BY next_attempt_at, created_at, id LIMIT $3)
         RETURNING {}",
        grants::BACKCHANNEL_COLUMNS
    )
});
static CLAIM_LINK_REQUESTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE link_requests SET locked_until = $1
         WHERE id IN (SELECT id FROM link_requests WHERE locked_until IS NULL OR locked_until <= $2
                      ORDER BY created_at, id LIMIT $3)
         RETURNING {}",
        email_tokens::LINK_REQUEST_COLUMNS
    )
});

#[async_trait]
impl Db for SqliteStore {
    type Row = exec::Row;
    type Pool<'a> = exec::Conn<'a>;
    type Tx = exec::Conn<'static>;

    const RESERVE: &'static str = RESERVE;

    async fn begin(&self) -> Result<exec::Conn<'static>, StoreError> {
        Ok(exec::Conn::Tx(self.write_pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend_err)?))
    }

    fn reader(&self) -> exec::Conn<'_> {
        exec::Conn::Pool(&self.pool)
    }

    fn writer(&self) -> exec::Conn<'_> {
        exec::Conn::Pool(&self.write_pool)
    }

    /// Nothing to take: the transaction holds the one write lock.
    async fn lock(&self, _tx: &mut exec::Conn<'static>, _lock: Lock) -> Result<(), StoreError> {
        Ok(())
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
