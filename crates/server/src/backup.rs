//! `portcullis backup --to FILE`: a consistent copy of the SQLite database,
//! taken while `serve` runs (see `SqliteStore::backup_to`). PostgreSQL has
//! its own tools (`pg_dump -Fc`), and the key-encryption key is never in
//! the copy: it is backed up, and kept, apart (docs/operations.md).

use clap::Args;
use portcullis_store::StoreError;
use portcullis_store_sqlite::SqliteStore;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::settings::{DatabaseKind, Settings};
use crate::{EXIT_CONFIG, fail};

/// `portcullis backup`
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write; it must not exist (a backup never overwrites one).
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
}

/// Why no backup was written. Each message is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The database is PostgreSQL, which `pg_dump` backs up.
    #[error(
        "portcullis backup copies a SQLite database and {url} is PostgreSQL: back it up with \
         pg_dump -Fc (docs/operations.md, \"Backup and restore\")"
    )]
    Postgres {
        /// The database URL, password redacted.
        url: String,
    },
    /// No database file where the settings say.
    #[error("no SQLite database at {url}: nothing to back up (is this the server's configuration?)")]
    NoDatabase {
        /// The database URL.
        url: String,
    },
    /// The destination exists.
    #[error("{0} already exists: a backup never overwrites a file; choose a new name")]
    Exists(PathBuf),
    /// The database could not be opened.
    #[error("cannot open the database {url}: {source}")]
    Open {
        /// The database URL.
        url: String,
        /// Why.
        source: StoreError,
    },
    /// The copy failed (nothing is left at the destination).
    #[error("cannot back up to {path}: {source}")]
    Write {
        /// The destination.
        path: PathBuf,
        /// Why.
        source: StoreError,
    },
}

impl BackupError {
    /// 2 for a configuration that cannot be backed up this way, 1 for a refused or failed copy.
    fn exit_code(&self) -> u8 {
        match self {
            Self::Postgres { .. } | Self::NoDatabase { .. } | Self::Open { .. } => EXIT_CONFIG,
            Self::Exists(_) | Self::Write { .. } => 1,
        }
    }
}

/// Runs `portcullis backup`; prints where the copy went and where the
/// key-encryption key it needs is.
pub(crate) async fn run(settings: &Settings, args: BackupArgs) -> ExitCode {
    match backup(settings, &args.to).await {
        Ok(bytes) => {
            #[allow(clippy::print_stdout)] // the command's output
            {
                println!("backup written: {} ({bytes} bytes)", args.to.display());
                println!(
                    "not in it: the key-encryption key ({}); back it up separately and store it apart",
                    kek_source(settings)
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.exit_code(), &e),
    }
}

/// Writes the snapshot; its size in bytes.
pub async fn backup(settings: &Settings, to: &Path) -> Result<u64, BackupError> {
    let url = settings.database_url();
    if url.kind() == DatabaseKind::Postgres {
        return Err(BackupError::Postgres { url: url.redacted() });
    }
    if to.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(to.to_owned()));
    }
    let store =
        match SqliteStore::connect_existing(url.expose(), &crate::database::sqlite_options(settings)).await {
            Ok(store) => store,
            Err(StoreError::NotFound) => return Err(BackupError::NoDatabase { url: url.redacted() }),
            Err(source) => return Err(BackupError::Open { url: url.redacted(), source }),
        };
    let result = store.backup_to(to).await;
    portcullis_store::Store::close(&store).await;
    match result {
        Ok(()) => Ok(std::fs::metadata(to).map(|m| m.len()).unwrap_or(0)),
        Err(StoreError::Conflict(_)) => Err(BackupError::Exists(to.to_owned())),
        Err(source) => Err(BackupError::Write { path: to.to_owned(), source }),
    }
}

/// Where this configuration takes the key-encryption key from.
fn kek_source(settings: &Settings) -> String {
    if settings.keys.encryption_key.is_some() {
        "keys.encryption_key".to_owned()
    } else if let Some(path) = &settings.keys.encryption_key_file {
        format!("keys.encryption_key_file = {}", path.display())
    } else {
        crate::keys::generated_kek_path(settings).display().to_string()
    }
}
