//! Which migrations a database has applied.

use super::{Exec, Row};
use crate::{AppliedMigration, EmbeddedMigration, MigrationStatus, StoreError};

fn applied(row: &impl Row) -> Result<AppliedMigration, StoreError> {
    Ok(AppliedMigration {
        version: row.int("version")?,
        checksum: row.bytes("checksum")?,
        success: row.flag("success")?,
    })
}

/// Compares the migrations recorded on `db` (sqlx's `_sqlx_migrations`, if
/// `table_exists` — the dialect's catalogue query, answering a boolean
/// `present` — says it is there) with the built-in ones.
pub async fn migration_status(
    db: &mut impl Exec,
    table_exists: &'static str,
    embedded: &[EmbeddedMigration<'_>],
) -> Result<MigrationStatus, StoreError> {
    const APPLIED: &str = "SELECT version, checksum, success FROM _sqlx_migrations";
    let applied = if db.fetch_one(table_exists, args![]).await?.flag("present")? {
        db.fetch_all(APPLIED, args![]).await?.iter().map(applied).collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    Ok(MigrationStatus::compare(embedded, &applied))
}
