//! How SQLite binds and reads the shared statements' values: UUIDs as text,
//! instants as unix seconds, lists as JSON arrays, JSON as text.

use portcullis_store::StoreError;
use portcullis_store::sql::{self, Arg};
use portcullis_store_sqlx::{Query, corrupt, get};
use sqlx::sqlite::{Sqlite, SqliteRow};
use time::OffsetDateTime;
use uuid::Uuid;

/// SQLite's encodings.
#[derive(Debug)]
pub struct Dialect;

impl portcullis_store_sqlx::Dialect for Dialect {
    type Db = Sqlite;
    type Row = Row;

    fn query(sql: &'static str, args: &[Arg<'_>]) -> Query<Dialect> {
        args.iter().fold(sqlx::query(sql), |q, arg| match *arg {
            Arg::Uuid(v) => q.bind(v.map(|u| u.to_string())),
            Arg::At(v) => q.bind(v.map(OffsetDateTime::unix_timestamp)),
            Arg::List(v) => q.bind(serde_json::Value::from(v.to_vec()).to_string()),
            Arg::Json(v) => q.bind(v.to_string()),
            Arg::Text(v) => q.bind(v),
            Arg::Int(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
        })
    }

    fn rows_affected(result: &<Sqlite as sqlx::Database>::QueryResult) -> u64 {
        result.rows_affected()
    }
}

fn instant(secs: i64, column: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| corrupt(column))
}

impl sql::Row for Row {
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError> {
        get::<_, &str>(&self.0, column)?.parse().map_err(|_| corrupt(column))
    }
    fn text(&self, column: &str) -> Result<String, StoreError> {
        get(&self.0, column)
    }
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        let raw: Option<&str> = get(&self.0, column)?;
        raw.map(|u| u.parse().map_err(|_| corrupt(column))).transpose()
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        get(&self.0, column)
    }
    fn at(&self, column: &str) -> Result<OffsetDateTime, StoreError> {
        instant(get(&self.0, column)?, column)
    }
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        get(&self.0, column)
    }
    fn opt_at(&self, column: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        get::<_, Option<i64>>(&self.0, column)?.map(|s| instant(s, column)).transpose()
    }
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        get(&self.0, column)
    }
    fn list(&self, column: &str) -> Result<Vec<String>, StoreError> {
        serde_json::from_str(get(&self.0, column)?).map_err(|_| corrupt(column))
    }
    fn json(&self, column: &str) -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(get(&self.0, column)?).map_err(|_| corrupt(column))
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        get(&self.0, column)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        get(&self.0, column)
    }
}

/// A result row.
#[derive(Debug)]
pub struct Row(SqliteRow);

impl From<SqliteRow> for Row {
    fn from(row: SqliteRow) -> Self {
        Row(row)
    }
}

/// Where statements run: a pool, one connection or a transaction.
pub type Conn<'a> = portcullis_store_sqlx::Conn<'a, Dialect>;
