//! What the two sqlx backends share: running `portcullis_store::sql`'s
//! statements on a pool, one connection or a transaction, whatever the
//! database. A backend supplies its [`Dialect`]: how values are bound and
//! rows read (the encodings differ: see each backend's `exec` module).

use async_trait::async_trait;
use portcullis_store::sql::{self, Arg, Output, Want};
use portcullis_store::{EmbeddedMigration, MigrationStatus, StoreError};
use sqlx::migrate::Migrator;
use sqlx::{Database, Executor, Pool, Transaction};

/// A database's encodings.
pub trait Dialect: Send + Sync + 'static {
    /// The sqlx database.
    type Db: Database;
    /// Its rows, read in the application's types.
    type Row: sql::Row + From<<Self::Db as Database>::Row>;

    /// `sql` with `args` bound in this database's encodings.
    fn query(sql: &'static str, args: &[Arg<'_>]) -> Query<Self>;

    /// How many rows a statement changed.
    fn rows_affected(result: &<Self::Db as Database>::QueryResult) -> u64;
}

/// A statement with its arguments bound.
pub type Query<D> =
    sqlx::query::Query<'static, <D as Dialect>::Db, <<D as Dialect>::Db as Database>::Arguments>;

/// A sqlx error as a store error: a missing row, a unique-key conflict,
/// the database being away ([`StoreError::Unavailable`]: see
/// [`connection_lost`]), or the backend's own.
pub fn store_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        e if connection_lost(&e) => {
            note_connection_lost();
            StoreError::unavailable(e)
        }
        other => StoreError::Backend(Box::new(other)),
    }
}

/// SQLSTATEs of a server that is going away or not there yet: class 08
/// (connection exception), `57P01` admin shutdown (`pg_ctl stop/restart -m
/// fast`), `57P02` crash shutdown, `57P03` cannot connect now (starting up,
/// shutting down, in recovery), `53300` too many connections.
fn is_unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// Whether `e` says the database cannot be reached right now, rather than
/// that it refused the statement: an I/O or TLS error on the connection, no
/// connection free within the pool's timeout, a closed pool, or a server
/// shutting down or starting ([`is_unavailable_sqlstate`]). SQLite's
/// "database is locked" beyond its busy timeout is *not* this: it is a
/// `Database` error with SQLite's own code, a fault of this process.
pub fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            true
        }
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_unavailable_sqlstate(&code)),
        _ => false,
    }
}

/// Whether a statement that failed with `e` on a pooled connection, outside
/// any transaction, may be run once more on another connection. The rule:
/// only when the failure shows the statement did not take effect, so that
/// running it again cannot apply it twice.
///
/// - `57P01`/`57P02` (the server terminated the connection): PostgreSQL
///   aborts the open transaction of a backend it terminates, and a commit
///   that completed is followed by `ReadyForQuery` before the terminate is
///   read — so this error in answer to an autocommit statement means it was
///   never received, or was rolled back.
/// - A broken pipe or "not connected" when writing: nothing reached a live
///   server.
/// - A reset or an unexpected end of the stream: the server may have run
///   the statement and committed before the connection broke, so only a
///   read (`SELECT`) is run again.
///
/// Never inside a transaction (its earlier statements died with the
/// connection: the caller's whole operation fails, 503), and never for a
/// pool that could not give a connection (`PoolTimedOut` already waited).
pub fn retry_on_fresh_connection(e: &sqlx::Error, sql: &str) -> bool {
    use std::io::ErrorKind;
    match e {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| matches!(&*code, "57P01" | "57P02")),
        sqlx::Error::Io(io) => match io.kind() {
            ErrorKind::BrokenPipe | ErrorKind::NotConnected => true,
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof => {
                is_read(sql)
            }
            _ => false,
        },
        _ => false,
    }
}

/// Whether `sql` only reads (a plain `SELECT`).
fn is_read(sql: &str) -> bool {
    sql.trim_start().get(..6).is_some_and(|word| word.eq_ignore_ascii_case("select"))
}

/// The reference of [`LOST_AT`].
static EPOCH: std::sync::LazyLock<std::time::Instant> = std::sync::LazyLock::new(std::time::Instant::now);
/// When a connection was last found dead (nanoseconds after [`EPOCH`], plus
/// one; 0: never). One per process: a pool that finds a dead connection
/// makes every pool of the process test its idle connections once — a few
/// round trips, and only after a failure.
static LOST_AT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn since_epoch(at: std::time::Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(*EPOCH).as_nanos()).unwrap_or(u64::MAX).saturating_add(1)
}

/// Records that a connection was found dead now (see [`idle_since_lost`]).
pub fn note_connection_lost() {
    LOST_AT.fetch_max(since_epoch(std::time::Instant::now()), std::sync::atomic::Ordering::AcqRel);
}

/// Whether a connection idle in the pool for `idle_for` went into it before
/// (or when) a connection was last found dead: it may have died the same
/// way (a restarted server kills them all), so it is tested before use.
/// Connections used since then were tested when they went back (sqlx tests
/// a connection on release), so after one round of tests the hot path sends
/// nothing more.
pub fn idle_since_lost(idle_for: std::time::Duration) -> bool {
    let lost = LOST_AT.load(std::sync::atomic::Ordering::Acquire);
    let released = std::time::Instant::now().checked_sub(idle_for).unwrap_or(*EPOCH);
    lost != 0 && since_epoch(released) <= lost
}

/// Begins a transaction on `pool`; when the connection turns out dead at
/// `BEGIN` (nothing of the transaction ran yet), once more on another.
pub async fn begin<DB: Database>(pool: &Pool<DB>) -> Result<Transaction<'static, DB>, StoreError> {
    match pool.begin().await {
        Err(e)
            if connection_lost(&e) && !matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) =>
        {
            note_connection_lost();
            tracing::info!(error = %e, "a pooled connection was dead at BEGIN; beginning on another");
            pool.begin().await.map_err(store_err)
        }
        other => other.map_err(store_err),
    }
}

pub use portcullis_store::sql::corrupt;

/// `column` of `row` as a `T`; [`corrupt`] if it does not decode.
pub fn get<'r, R, T>(row: &'r R, column: &str) -> Result<T, StoreError>
where
    R: sqlx::Row,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    row.try_get(column).map_err(|_| corrupt(column))
}

/// The migrations built into `migrator`, as the store compares them.
pub fn embedded(migrator: &Migrator) -> Vec<EmbeddedMigration<'_>> {
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| EmbeddedMigration { version: m.version, description: &m.description, checksum: &m.checksum })
        .collect()
}

/// Compares the migrations recorded on `conn`'s database with `migrator`'s;
/// `table_exists` is the dialect's catalogue query (see
/// [`sql::migration_status`]).
pub async fn migration_status<D: Dialect>(
    conn: &mut <D::Db as Database>::Connection,
    table_exists: &'static str,
    migrator: &Migrator,
) -> Result<MigrationStatus, StoreError>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: sqlx::IntoArguments<D::Db>,
{
    sql::migration_status(&mut Conn::<D>::One(conn), table_exists, &embedded(migrator)).await
}

/// Where statements run: a pool (each statement on its own), one
/// connection, or a transaction (rolled back if dropped uncommitted).
pub enum Conn<'a, D: Dialect> {
    Pool(&'a Pool<D::Db>),
    One(&'a mut <D::Db as Database>::Connection),
    Tx(Transaction<'static, D::Db>),
}

impl<D: Dialect> std::fmt::Debug for Conn<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conn::Pool(_) => "Conn::Pool",
            Conn::One(_) => "Conn::One",
            Conn::Tx(_) => "Conn::Tx",
        })
    }
}

/// Runs `sql` on `e`, for what `want` asks.
async fn run<'e, D: Dialect, E: Executor<'e, Database = D::Db>>(
    e: E,
    sql: &'static str,
    args: &[Arg<'_>],
    want: Want,
) -> Result<Output<D::Row>, sqlx::Error>
where
    <D::Db as Database>::Arguments: sqlx::IntoArguments<D::Db>,
{
    let q = D::query(sql, args);
    Ok(match want {
        Want::Rows => Output::Rows(q.fetch_all(e).await?.into_iter().map(D::Row::from).collect()),
        Want::Row => Output::Row(q.fetch_optional(e).await?.map(D::Row::from)),
        Want::Count => Output::Count(D::rows_affected(&q.execute(e).await?)),
    })
}

#[async_trait]
impl<D: Dialect> sql::Exec for Conn<'_, D>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: sqlx::IntoArguments<D::Db>,
{
    type Row = D::Row;

    async fn run(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
        want: Want,
    ) -> Result<Output<D::Row>, StoreError> {
        match self {
            Conn::Pool(pool) => match run::<D, _>(*pool, sql, args, want).await {
                // A dead pooled connection (the server restarted while it
                // was idle): once more on another, which the pool tests first
                // (see `idle_since_lost`), when the rule allows.
                Err(e) if retry_on_fresh_connection(&e, sql) => {
                    note_connection_lost();
                    tracing::info!(error = %e, "a pooled connection was dead; running the statement on another");
                    run::<D, _>(*pool, sql, args, want).await
                }
                other => other,
            },
            Conn::One(conn) => run::<D, _>(&mut **conn, sql, args, want).await,
            Conn::Tx(tx) => run::<D, _>(&mut **tx, sql, args, want).await,
        }
        .map_err(store_err)
    }
}

#[async_trait]
impl<D: Dialect> sql::Tx for Conn<'static, D>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: sqlx::IntoArguments<D::Db>,
{
    async fn commit(self) -> Result<(), StoreError> {
        match self {
            Conn::Tx(tx) => tx.commit().await.map_err(store_err),
            Conn::Pool(_) | Conn::One(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use std::io;

    /// A database error with a SQLSTATE, as a server sends it.
    #[derive(Debug)]
    struct Coded(&'static str);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "error {}", self.0)
        }
    }

    impl std::error::Error for Coded {}

    impl sqlx::error::DatabaseError for Coded {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn db(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Coded(code)))
    }

    fn io(kind: io::ErrorKind) -> sqlx::Error {
        sqlx::Error::Io(io::Error::from(kind))
    }

    #[test]
    fn a_database_that_is_away_is_unavailable() {
        for e in [
            io(io::ErrorKind::ConnectionRefused),
            io(io::ErrorKind::ConnectionReset),
            io(io::ErrorKind::BrokenPipe),
            io(io::ErrorKind::UnexpectedEof),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            db("57P01"),
            db("57P02"),
            db("57P03"),
            db("08006"),
            db("08001"),
            db("53300"),
        ] {
            let text = e.to_string();
            assert!(store_err(e).is_unavailable(), "{text}");
        }
    }

    #[test]
    fn a_refused_statement_is_not_unavailability() {
        // Syntax error, serialization failure, SQLite's "database is locked"
        // (SQLITE_BUSY, code 5) beyond its busy timeout: faults, not a
        // database that is away.
        for e in [db("42601"), db("40001"), db("5"), db("517"), sqlx::Error::Protocol("odd".into())] {
            let text = e.to_string();
            assert!(matches!(store_err(e), StoreError::Backend(_)), "{text}");
        }
        assert!(matches!(store_err(sqlx::Error::RowNotFound), StoreError::NotFound));
    }

    #[test]
    fn only_statements_that_did_not_take_effect_are_run_again() {
        let write = "UPDATE grants SET revoked_at = $1 WHERE id = $2";
        let read = "  select id FROM grants WHERE id = $1";
        // The server terminated the connection: nothing committed.
        assert!(retry_on_fresh_connection(&db("57P01"), write));
        assert!(retry_on_fresh_connection(&db("57P02"), write));
        // Nothing reached a live server.
        assert!(retry_on_fresh_connection(&io(io::ErrorKind::BrokenPipe), write));
        // It may have committed before the connection broke: reads only.
        for kind in [io::ErrorKind::ConnectionReset, io::ErrorKind::UnexpectedEof] {
            assert!(!retry_on_fresh_connection(&io(kind), write));
            assert!(retry_on_fresh_connection(&io(kind), read));
        }
        // The pool already waited; a refused statement is not a dead connection.
        assert!(!retry_on_fresh_connection(&sqlx::Error::PoolTimedOut, read));
        assert!(!retry_on_fresh_connection(&db("57P03"), read));
        assert!(!retry_on_fresh_connection(&db("42601"), read));
    }

    #[test]
    fn idle_connections_are_suspect_once_a_connection_was_found_dead() {
        let long = std::time::Duration::from_secs(3600);
        note_connection_lost();
        // Went idle before the loss: tested before use.
        assert!(idle_since_lost(long));
        // Went idle after it (released later, so tested on release).
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(!idle_since_lost(std::time::Duration::ZERO));
    }
}
