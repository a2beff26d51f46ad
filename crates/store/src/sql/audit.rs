//! The audit log.

use std::sync::OnceLock;

use super::{Arg, Db, Exec, Row, count, prefix_bounds};
use crate::{AuditEvent, AuditFilter, AuditOutcome, AuditRepo, NewAuditEvent, StoreError};
use async_trait::async_trait;
use time::OffsetDateTime;

macro_rules! columns {
    () => {
        "id, at, kind, outcome, user_id, ip, user_agent, detail"
    };
}

const INSERT: &str = "INSERT INTO audit_events (at, kind, outcome, user_id, ip, user_agent, detail)
                      VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
const RECENT: &str = concat!("SELECT ", columns!(), " FROM audit_events ORDER BY id DESC LIMIT $1");

/// The conditions an [`AuditFilter`] may set, in placeholder order; `?`
/// stands for the next placeholder. A statement is made of fixed text only:
/// the conditions a filter sets pick its statement, never its values' text.
/// One statement per combination, rather than `($1 IS NULL OR col = $1)`
/// for every filter: neither planner uses an index for a condition it must
/// plan for both a NULL and a value (SQLite plans before binding, and
/// PostgreSQL's generic plans do too), so a page for one user would scan
/// the log.
const CONDITIONS: [&str; 8] = [
    "user_id = ?",
    "kind = ?",
    "kind >= ? AND kind < ?", // a family of kinds, as a range (see `prefix_bounds`)
    "outcome = ?",
    "ip = ?",
    "at >= ?",
    "at < ?",
    "id < ?",
];
// Each condition's bit in a statement's shape.
const USER: u8 = 1 << 0;
const KIND: u8 = 1 << 1;
const KIND_FAMILY: u8 = 1 << 2;
const OUTCOME: u8 = 1 << 3;
const IP: u8 = 1 << 4;
const FROM: u8 = 1 << 5;
const TO: u8 = 1 << 6;
const BEFORE_ID: u8 = 1 << 7;

/// What is selected, before the conditions, and what follows them.
#[derive(Clone, Copy)]
enum Select {
    /// A page, newest first: the limit is the last placeholder.
    Page,
    /// A count.
    Count,
}

/// The statement selecting `what` under the conditions of `shape` (a bit
/// per entry of [`CONDITIONS`]), made once per shape.
fn statement(what: Select, shape: u8) -> &'static str {
    static PAGES: [OnceLock<String>; 256] = [const { OnceLock::new() }; 256];
    static COUNTS: [OnceLock<String>; 256] = [const { OnceLock::new() }; 256];
    let cache = match what {
        Select::Page => &PAGES,
        Select::Count => &COUNTS,
    };
    cache[usize::from(shape)].get_or_init(|| {
        let mut sql = String::from(match what {
            Select::Page => concat!("SELECT ", columns!(), " FROM audit_events"),
            Select::Count => "SELECT COUNT(*) AS n FROM audit_events",
        });
        let mut n = 0;
        let set = CONDITIONS.iter().enumerate().filter(|(i, _)| shape & (1 << i) != 0);
        for (k, (_, condition)) in set.enumerate() {
            sql.push_str(if k == 0 { " WHERE " } else { " AND " });
            for (j, part) in condition.split('?').enumerate() {
                if j > 0 {
                    n += 1;
                    sql.push_str(&format!("${n}"));
                }
                sql.push_str(part);
            }
        }
        if let Select::Page = what {
            sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
        }
        sql
    })
}

/// A kind filter: exact, or a family (ending with `.`) as its range.
enum Kind {
    Exact(String),
    Family(String, String),
}

impl Kind {
    fn parse(kind: Option<&str>) -> Option<Self> {
        let kind = kind.filter(|k| !k.trim().is_empty())?;
        match kind.ends_with('.').then(|| prefix_bounds(kind)).flatten() {
            Some((lo, hi)) => Some(Self::Family(lo, hi)),
            None => Some(Self::Exact(kind.to_owned())),
        }
    }
}

/// The shape of `filter` (see [`statement`]) and its values in placeholder
/// order, the limit excepted.
fn conditions<'a>(filter: &'a AuditFilter, kind: Option<&'a Kind>) -> (u8, Vec<Arg<'a>>) {
    let mut shape = 0;
    let mut args = Vec::new();
    // In the order of `CONDITIONS`, as the placeholders are numbered.
    let mut set = |bit: u8, values: &[Arg<'a>]| {
        shape |= bit;
        args.extend_from_slice(values);
    };
    if let Some(user_id) = filter.user_id {
        set(USER, &[Arg::from(user_id)]);
    }
    match kind {
        Some(Kind::Exact(kind)) => set(KIND, &[Arg::from(kind)]),
        Some(Kind::Family(lo, hi)) => set(KIND_FAMILY, &[Arg::from(lo), Arg::from(hi)]),
        None => {}
    }
    if let Some(outcome) = filter.outcome {
        set(OUTCOME, &[Arg::from(outcome.as_str())]);
    }
    if let Some(ip) = &filter.ip {
        set(IP, &[Arg::from(ip)]);
    }
    if let Some(from) = filter.from {
        set(FROM, &[Arg::from(from)]);
    }
    if let Some(to) = filter.to {
        set(TO, &[Arg::from(to)]);
    }
    if let Some(before_id) = filter.before_id {
        set(BEFORE_ID, &[Arg::from(before_id)]);
    }
    (shape, args)
}

fn event(row: &impl Row) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        id: row.int("id")?,
        event: NewAuditEvent {
            at: row.at("at")?,
            kind: row.text("kind")?,
            outcome: AuditOutcome::parse(&row.text("outcome")?)?,
            user_id: row.opt_uuid("user_id")?,
            ip: row.opt_text("ip")?,
            user_agent: row.opt_text("user_agent")?,
            detail: row.json("detail")?,
        },
    })
}

/// Appends `e` on `db` (a transaction's, so the event commits with its change).
pub(crate) async fn record(db: &mut impl Exec, e: &NewAuditEvent) -> Result<i64, StoreError> {
    let args = args![e.at, &e.kind, e.outcome.as_str(), e.user_id, &e.ip, &e.user_agent, &e.detail];
    db.fetch_one(INSERT, args).await?.int("id")
}

#[async_trait]
impl<D: Db> AuditRepo for D {
    async fn record_audit(&self, e: &NewAuditEvent) -> Result<i64, StoreError> {
        record(&mut self.writer(), e).await
    }

    async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        self.reader().fetch_all(RECENT, args![i64::from(limit)]).await?.iter().map(event).collect()
    }

    async fn query_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let kind = Kind::parse(filter.kind.as_deref());
        let (shape, mut args) = conditions(filter, kind.as_ref());
        args.push(Arg::from(i64::from(filter.limit)));
        let rows = self.reader().fetch_all(statement(Select::Page, shape), &args).await?;
        rows.iter().map(event).collect()
    }

    async fn count_audit_since(
        &self,
        kind: &str,
        outcome: Option<AuditOutcome>,
        since: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let filter = AuditFilter { outcome, from: Some(since), ..AuditFilter::default() };
        let kind = Kind::parse(Some(kind));
        let (shape, args) = conditions(&filter, kind.as_ref());
        let row = self.reader().fetch_one(statement(Select::Count, shape), &args).await?;
        Ok(count(row.int("n")?))
    }
}

#[cfg(test)]
mod tests {
    use super::{BEFORE_ID, FROM, KIND, KIND_FAMILY, OUTCOME, Select, USER, statement};

    #[test]
    fn statements_number_their_placeholders_in_condition_order() {
        assert_eq!(
            statement(Select::Page, 0),
            "SELECT id, at, kind, outcome, user_id, ip, user_agent, detail FROM audit_events \
             ORDER BY id DESC LIMIT $1"
        );
        assert_eq!(
            statement(Select::Page, USER | KIND_FAMILY | BEFORE_ID),
            "SELECT id, at, kind, outcome, user_id, ip, user_agent, detail FROM audit_events \
             WHERE user_id = $1 AND kind >= $2 AND kind < $3 AND id < $4 ORDER BY id DESC LIMIT $5"
        );
        assert_eq!(
            statement(Select::Count, KIND | OUTCOME | FROM),
            "SELECT COUNT(*) AS n FROM audit_events WHERE kind = $1 AND outcome = $2 AND at >= $3"
        );
    }
}
