//! How PostgreSQL binds and reads the shared statements' values: native
//! `UUID`, `TIMESTAMPTZ` (kept to the second, as on SQLite), `TEXT[]` and
//! `JSONB`; `INTEGER` and `BIGINT` both read as `i64`.

use portcullis_store::StoreError;
use portcullis_store::sql::{self, Arg};
use portcullis_store_sqlx::{Query, corrupt, get};
use sqlx::postgres::{PgRow, Postgres};
use time::OffsetDateTime;
use uuid::Uuid;

/// PostgreSQL's encodings.
#[derive(Debug)]
pub struct Dialect;

impl portcullis_store_sqlx::Dialect for Dialect {
    type Db = Postgres;
    type Row = Row;

    fn query(sql: &'static str, args: &[Arg<'_>]) -> Query<Dialect> {
        args.iter().fold(sqlx::query(sql), |q, arg| match *arg {
            Arg::Uuid(v) => q.bind(v),
            Arg::At(v) => q.bind(v.map(to_second)),
            Arg::List(v) => q.bind(v),
            Arg::Json(v) => q.bind(sqlx::types::Json(v)),
            Arg::Text(v) => q.bind(v),
            Arg::Int(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
        })
    }

    fn rows_affected(result: &<Postgres as sqlx::Database>::QueryResult) -> u64 {
        result.rows_affected()
    }
}

/// Instants are kept to the second, as in the SQLite backend.
fn to_second(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(0).unwrap_or(at)
}

impl sql::Row for Row {
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError> {
        get(&self.0, column)
    }
    fn text(&self, column: &str) -> Result<String, StoreError> {
        get(&self.0, column)
    }
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        get(&self.0, column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        get(&self.0, column)
    }
    fn at(&self, column: &str) -> Result<OffsetDateTime, StoreError> {
        get(&self.0, column)
    }
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        get(&self.0, column)
    }
    fn opt_at(&self, column: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        get(&self.0, column)
    }
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        get(&self.0, column)
    }
    fn list(&self, column: &str) -> Result<Vec<String>, StoreError> {
        get(&self.0, column)
    }
    fn json(&self, column: &str) -> Result<serde_json::Value, StoreError> {
        get(&self.0, column)
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.opt_int(column)?.ok_or_else(|| corrupt(column))
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        get::<_, Option<i64>>(&self.0, column)
            .or_else(|_| Ok(get::<_, Option<i32>>(&self.0, column)?.map(i64::from)))
    }
}

/// A result row.
#[derive(Debug)]
pub struct Row(PgRow);

impl From<PgRow> for Row {
    fn from(row: PgRow) -> Self {
        Row(row)
    }
}

/// Where statements run: a pool, one connection or a transaction.
pub type Conn<'a> = portcullis_store_sqlx::Conn<'a, Dialect>;
