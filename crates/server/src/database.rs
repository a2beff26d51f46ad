//! Opening the store the database URL names.

use portcullis_store::{Store, StoreError};
use portcullis_store_postgres::{PgOptions, PgStore};
use portcullis_store_sqlite::{SqliteOptions, SqliteStore};
use std::sync::Arc;
use std::time::Duration;

use crate::settings::{DatabaseKind, Settings};

/// Connects to the configured database (SQLite or PostgreSQL, by URL scheme).
/// Does not migrate.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, StoreError> {
    let url = settings.database_url();
    Ok(match url.kind() {
        DatabaseKind::Sqlite => {
            Arc::new(SqliteStore::connect(url.expose(), &sqlite_options(settings)).await?)
        }
        DatabaseKind::Postgres => {
            let timeout = Duration::from_secs(settings.database.connect_timeout_secs);
            let mut options = PgOptions { timeout, ..PgOptions::default() };
            if let Some(n) = settings.database.max_connections {
                options.max_connections = n;
            }
            Arc::new(PgStore::connect(url.expose(), &options).await?)
        }
    })
}

/// How to open a SQLite database, from the settings.
pub(crate) fn sqlite_options(settings: &Settings) -> SqliteOptions {
    let timeout = Duration::from_secs(settings.database.connect_timeout_secs);
    let mut options = SqliteOptions { timeout, ..SqliteOptions::default() };
    if let Some(n) = settings.database.max_connections {
        options.max_connections = n;
    }
    options
}
