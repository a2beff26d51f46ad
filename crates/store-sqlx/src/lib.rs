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

/// A sqlx error as a store error: a missing row, a unique-key conflict, or
/// the backend's own.
pub fn store_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        other => StoreError::Backend(Box::new(other)),
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
            Conn::Pool(pool) => run::<D, _>(*pool, sql, args, want).await,
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
