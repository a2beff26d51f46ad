//! The SQL both backends share, written once.
//!
//! Every repository trait is implemented here, once, for any [`Db`]: a
//! backend (`portcullis-store-sqlite`, `portcullis-store-postgres`) supplies
//! only what really differs between the two databases:
//!
//! - how a value is bound and read back ([`Arg`] and [`Row`]): SQLite keeps
//!   UUIDs as text, instants as unix seconds and lists as JSON text, where
//!   PostgreSQL has `UUID`, `TIMESTAMPTZ` and `TEXT[]` (instants are kept to
//!   the second on both);
//! - how a transaction starts ([`Db::begin`]: `BEGIN IMMEDIATE` on SQLite's
//!   one writer connection, a pooled transaction on PostgreSQL) and which
//!   connection a write goes to ([`Db::writer`]);
//! - the few statements whose dialects differ (`FOR UPDATE SKIP LOCKED`,
//!   row locks), as methods of [`Db`] written inline in each backend.
//!
//! Statements use `$N` placeholders, which both databases bind by number.
//! The submodules hold one aggregate each: its statements, its row mapper
//! and its repository implementation.

/// The arguments of a statement, in placeholder order: `args![a, b]` is
/// `&[Arg::from(a), Arg::from(b)]`.
#[macro_export]
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        &[$($crate::sql::Arg::from($arg)),*]
    };
}
pub use args;

mod audit;
mod clients;
mod effects;
pub mod email_tokens;
#[macro_use]
pub mod grants;
mod devices;
pub mod groups;
mod keys;
mod mfa;
mod migrations;
pub mod outbox;
mod rate_limits;
mod sessions;
mod setup;
mod upstreams;
pub mod users;

pub use migrations::migration_status;

use crate::{Generation, StoreError};
use async_trait::async_trait;
use std::fmt;
use time::OffsetDateTime;
use uuid::Uuid;

/// A bound value, in the application's types; the backend picks its column
/// representation (see the module documentation). `None` binds `NULL`.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// `TEXT`.
    Text(Option<&'a str>),
    /// `BIGINT` / `INTEGER`.
    Int(Option<i64>),
    /// `BOOLEAN`.
    Bool(bool),
    /// `UUID` (text on SQLite).
    Uuid(Option<Uuid>),
    /// `TIMESTAMPTZ` to the second (unix seconds on SQLite).
    At(Option<OffsetDateTime>),
    /// `TEXT[]` (a JSON array on SQLite).
    List(&'a [String]),
    /// `JSONB` (JSON text on SQLite).
    Json(&'a serde_json::Value),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Some(v))
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Some(v))
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::Text(v.as_deref())
    }
}
impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl From<Uuid> for Arg<'_> {
    fn from(v: Uuid) -> Self {
        Arg::Uuid(Some(v))
    }
}
impl From<Option<Uuid>> for Arg<'_> {
    fn from(v: Option<Uuid>) -> Self {
        Arg::Uuid(v)
    }
}
impl From<OffsetDateTime> for Arg<'_> {
    fn from(v: OffsetDateTime) -> Self {
        Arg::At(Some(v))
    }
}
impl From<Option<OffsetDateTime>> for Arg<'_> {
    fn from(v: Option<OffsetDateTime>) -> Self {
        Arg::At(v)
    }
}
impl<'a> From<&'a [String]> for Arg<'a> {
    fn from(v: &'a [String]) -> Self {
        Arg::List(v)
    }
}
impl<'a> From<&'a Vec<String>> for Arg<'a> {
    fn from(v: &'a Vec<String>) -> Self {
        Arg::List(v)
    }
}
impl<'a> From<&'a serde_json::Value> for Arg<'a> {
    fn from(v: &'a serde_json::Value) -> Self {
        Arg::Json(v)
    }
}

/// A result row, read in the application's types. A value that does not
/// decode is [`StoreError::Corrupt`], naming the column.
pub trait Row: Send + Sync {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError>;
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError>;
    fn at(&self, column: &str) -> Result<OffsetDateTime, StoreError>;
    fn opt_at(&self, column: &str) -> Result<Option<OffsetDateTime>, StoreError>;
    fn list(&self, column: &str) -> Result<Vec<String>, StoreError>;
    fn json(&self, column: &str) -> Result<serde_json::Value, StoreError>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError>;
}

/// What a statement is run for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Every row.
    Rows,
    /// At most one row.
    Row,
    /// The count of rows affected.
    Count,
}

/// What a statement gave, as asked by [`Want`].
#[derive(Debug)]
pub enum Output<R> {
    Rows(Vec<R>),
    Row(Option<R>),
    Count(u64),
}

/// Runs statements: a pool (each statement on its own) or a transaction.
/// A backend implements [`Exec::run`]; the rest is written here once.
#[async_trait]
pub trait Exec: Send {
    type Row: Row;

    /// Runs `sql` with `args` bound to `$1`, `$2`, … in order.
    async fn run(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
        want: Want,
    ) -> Result<Output<Self::Row>, StoreError>;

    async fn fetch_all(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<Vec<Self::Row>, StoreError> {
        match self.run(sql, args, Want::Rows).await? {
            Output::Rows(rows) => Ok(rows),
            Output::Row(row) => Ok(row.into_iter().collect()),
            Output::Count(_) => Ok(Vec::new()),
        }
    }

    async fn fetch_optional(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<Self::Row>, StoreError> {
        match self.run(sql, args, Want::Row).await? {
            Output::Rows(rows) => Ok(rows.into_iter().next()),
            Output::Row(row) => Ok(row),
            Output::Count(_) => Ok(None),
        }
    }

    /// Rows affected.
    async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        match self.run(sql, args, Want::Count).await? {
            Output::Rows(rows) => Ok(rows.len() as u64),
            Output::Row(row) => Ok(u64::from(row.is_some())),
            Output::Count(n) => Ok(n),
        }
    }

    /// The one row the statement returns; [`StoreError::NotFound`] if none.
    async fn fetch_one(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<Self::Row, StoreError> {
        self.fetch_optional(sql, args).await?.ok_or(StoreError::NotFound)
    }
}

/// A transaction: rolled back when dropped without [`Tx::commit`].
#[async_trait]
pub trait Tx: Exec + Sized {
    async fn commit(self) -> Result<(), StoreError>;
}

/// A database: how to reach it, and the statements its dialect writes its
/// own way. Implementing it implements every repository trait.
#[async_trait]
pub trait Db: Send + Sync + fmt::Debug + 'static {
    type Row: Row;
    type Pool<'a>: Exec<Row = Self::Row>
    where
        Self: 'a;
    type Tx: Tx<Row = Self::Row>;

    /// A throttle reservation in one statement (see
    /// [`crate::Throttle::reserve_attempt`]): `$1` key, `$2` now, `$3` max
    /// failures, `$4` base delay (s), `$5` max delay (s), `$6` forget
    /// counters last reserved before this, `$7` the block of a fresh
    /// counter's first failure; returns `failures, blocked_until`, or no row
    /// when the key is backing off. The back-off arithmetic differs between
    /// the dialects (integer seconds, intervals).
    const RESERVE: &'static str;

    /// For reads.
    fn reader(&self) -> Self::Pool<'_>;

    /// For a write outside a transaction (SQLite: the one writer connection).
    fn writer(&self) -> Self::Pool<'_>;

    /// A write transaction that holds the database's write lock from its
    /// first statement on SQLite, a plain one on PostgreSQL.
    async fn begin(&self) -> Result<Self::Tx, StoreError>;

    /// Advanced after every client write (see [`crate::ClientRepo`]).
    fn clients_counter(&self) -> &Generation;

    /// Advanced after every signing-key write (see [`crate::Store::on_change`]).
    fn keys_counter(&self) -> &Generation;

    /// Takes `lock` until `tx` ends, where the dialect needs it for
    /// writers to serialise (PostgreSQL: a row or table lock; SQLite:
    /// nothing, its write transactions already hold the one write lock).
    async fn lock(&self, tx: &mut Self::Tx, lock: Lock) -> Result<(), StoreError>;

    /// The claim of `queue`'s due jobs: leases up to `$3` jobs due at `$2`
    /// and not leased, oldest first, until `$1`, and returns their rows (the
    /// queue's columns). PostgreSQL skips rows another instance is leasing
    /// (`FOR UPDATE SKIP LOCKED`); SQLite's one writer does it in one
    /// `UPDATE … RETURNING`.
    fn claim(queue: Queue) -> &'static str;
}

/// What [`Db::lock`] locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// One user's row: writes about one user's factors take turns.
    User(Uuid),
    /// The setup tokens: instances creating one take turns, so the last
    /// one's link is the only one left.
    SetupTokens,
}

/// The job queues: rows claimed with a lease, completed, or retried later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// `mail_outbox`: pending mails (columns [`outbox::COLUMNS`]).
    Mail,
    /// `backchannel_logouts` (columns [`grants::BACKCHANNEL_COLUMNS`]).
    Backchannel,
    /// `link_requests`: "mail me a link" requests (columns
    /// [`email_tokens::LINK_REQUEST_COLUMNS`]).
    LinkRequests,
}

/// Leases up to `limit` due jobs of `queue` until `lease_until` (see [`Db::claim`]).
pub(crate) async fn claim<D: Db>(
    db: &D,
    queue: Queue,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: i64,
) -> Result<Vec<D::Row>, StoreError> {
    db.writer().fetch_all(D::claim(queue), args![lease_until, now, limit]).await
}

/// A row mapper's error for a value that does not decode, naming its column.
pub fn corrupt(column: &str) -> StoreError {
    StoreError::Corrupt(column.to_owned())
}

/// The strings that begin with `prefix` as a range, `lo <= s < hi`, in the
/// order both backends compare text columns here: by bytes (SQLite's
/// `BINARY`, PostgreSQL's `COLLATE "C"`), which for UTF-8 is the order of
/// code points. `hi` is `prefix` with its last character advanced (dropping
/// trailing U+10FFFF, which has no successor), so the range holds exactly
/// the strings `prefix` begins, and every character, `%`, `_` and `\`
/// included, stands for itself. `None` when no string is greater than all
/// of them: `prefix` is empty or only U+10FFFF.
pub fn prefix_bounds(prefix: &str) -> Option<(String, String)> {
    let mut hi: Vec<char> = prefix.chars().collect();
    while let Some(last) = hi.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'), // past the surrogates, which are no characters
            char::MAX => None,
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            hi.push(next);
            return Some((prefix.to_owned(), hi.into_iter().collect()));
        }
    }
    None
}

/// `0` for a count that does not fit.
/// [`crate::Store::on_change`] for every backend: the hook goes on that
/// kind's generation, which the shared statements advance.
pub fn on_change<D: Db>(db: &D, what: crate::Change, hook: crate::ChangeHook) {
    match what {
        crate::Change::Clients => db.clients_counter().set_hook(hook),
        crate::Change::Keys => db.keys_counter().set_hook(hook),
    }
}

/// [`crate::Store::changed_elsewhere`] for every backend: the client
/// generation moves (without its hook); nothing over the store caches keys
/// (the server reloads them itself).
pub fn changed_elsewhere<D: Db>(db: &D, what: crate::Change) {
    if what == crate::Change::Clients {
        db.clients_counter().advance_quietly();
    }
}

pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::prefix_bounds;

    fn bounds(prefix: &str) -> Option<(String, String)> {
        prefix_bounds(prefix)
    }

    #[test]
    fn a_prefix_range_holds_exactly_the_strings_it_begins() {
        assert_eq!(bounds("ab"), Some(("ab".into(), "ac".into())));
        assert_eq!(bounds("a%"), Some(("a%".into(), "a&".into())), "no wildcard");
        assert_eq!(bounds("zo\u{eb}"), Some(("zo\u{eb}".into(), "zo\u{ec}".into())));
        assert_eq!(bounds("a\u{10FFFF}"), Some(("a\u{10FFFF}".into(), "b".into())), "U+10FFFF carries");
        assert_eq!(bounds("\u{D7FF}"), Some(("\u{D7FF}".into(), "\u{E000}".into())), "surrogates skipped");
        assert_eq!(bounds(""), None);
        assert_eq!(bounds("\u{10FFFF}\u{10FFFF}"), None);

        let (lo, hi) = bounds("ab").expect("bounds");
        for inside in ["ab", "ab\u{0}", "abz", "ab\u{10FFFF}\u{10FFFF}"] {
            assert!(lo.as_str() <= inside && inside < hi.as_str(), "{inside:?}");
        }
        for outside in ["a", "aa\u{10FFFF}", "ac", "b", "A", "aB"] {
            assert!(!(lo.as_str() <= outside && outside < hi.as_str()), "{outside:?}");
        }
    }
}
