//! Opening the store the database URL names.

use portcullis_store::{Store, StoreError};
use portcullis_store_postgres::{PgOptions, PgStore};
use portcullis_store_sqlite::{SqliteOptions, SqliteStore};
use std::sync::Arc;
use std::time::Duration;

use crate::settings::{DatabaseKind, Settings};

/// Connections of a serving instance's own PostgreSQL pool, beside those of
/// its HTTP workers (`database.max_connections`, split among them).
pub(crate) const BACKGROUND_CONNECTIONS: u32 = 4;

/// Connects to the configured database (SQLite or PostgreSQL, by URL scheme),
/// for a command. Does not migrate.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, StoreError> {
    open(settings, None).await
}

/// Connects to the configured database for `serve`: with PostgreSQL, each
/// HTTP worker gets a pool of its own (`Store::for_worker`), and the store
/// returned keeps [`BACKGROUND_CONNECTIONS`] for the rest.
pub(crate) async fn open_serving_store(settings: &Settings) -> Result<Arc<dyn Store>, StoreError> {
    open(settings, Some(BACKGROUND_CONNECTIONS)).await
}

async fn open(
    settings: &Settings,
    background_connections: Option<u32>,
) -> Result<Arc<dyn Store>, StoreError> {
    let url = settings.database_url();
    Ok(match url.kind() {
        DatabaseKind::Sqlite => {
            Arc::new(SqliteStore::connect(url.expose(), &sqlite_options(settings)).await?)
        }
        DatabaseKind::Postgres => {
            let timeout = Duration::from_secs(settings.database.connect_timeout_secs);
            let mut options = PgOptions { timeout, background_connections, ..PgOptions::default() };
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
