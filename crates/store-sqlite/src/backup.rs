//! Online backup: a consistent snapshot of the database in one new file,
//! taken with `VACUUM INTO` while the server keeps reading and writing.

use std::io::ErrorKind;
use std::path::Path;

use crate::{SqliteStore, backend_err};
use portcullis_store::StoreError;

/// `$1`: the file to write, which must be missing or empty.
const VACUUM_INTO: &str = "VACUUM INTO $1";

impl SqliteStore {
    /// Writes a consistent snapshot of the database to `dest`, a new file
    /// (mode 0600: it holds password hashes and the sealed signing keys).
    /// `VACUUM INTO` reads in one transaction, so writes committed while it
    /// runs (by this process or another) are either wholly in the copy or
    /// not at all, and in WAL mode it blocks no writer. The result is one
    /// self-contained file (no `-wal` beside it), compacted.
    ///
    /// An existing `dest` is never overwritten: [`StoreError::Conflict`].
    /// On failure the partial file is removed.
    pub async fn backup_to(&self, dest: &Path) -> Result<(), StoreError> {
        let path = dest
            .to_str()
            .ok_or_else(|| StoreError::Backend(format!("{} is not a UTF-8 path", dest.display()).into()))?;
        create_empty_private_file(dest)?;
        let result = sqlx::query(VACUUM_INTO).bind(path).execute(&self.pool).await.map_err(backend_err);
        let result = result.and_then(|_| {
            std::fs::File::open(dest)
                .and_then(|f| f.sync_all())
                .map_err(|e| StoreError::Backend(format!("cannot sync {}: {e}", dest.display()).into()))
        });
        if result.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        result
    }
}

/// Creates `path` empty and owner-only, failing if anything is there
/// (`VACUUM INTO` accepts an empty file and keeps its mode).
fn create_empty_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, portcullis_core::private_files::FILE_MODE);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            Err(StoreError::Conflict(format!("{} already exists", path.display())))
        }
        Err(e) => Err(StoreError::Backend(format!("cannot create {}: {e}", path.display()).into())),
    }
}
