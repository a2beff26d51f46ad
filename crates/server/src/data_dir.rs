//! `data_dir` is private to Portcullis's user: the SQLite database and the
//! generated key-encryption key live there.

use portcullis_core::private_files;
use std::path::Path;

/// Takes group and other permissions away from an existing `data_dir` (mode
/// 0700), with a warning when it had any. A missing one is left alone: what
/// first writes there (the SQLite store, the generated `keys.kek`) creates it
/// with mode 0700, and a deployment keeping nothing there (PostgreSQL and a
/// configured key) gets no empty folder. A folder Portcullis may not change
/// (owned by another user, a read-only mount) is reported, not fatal: the
/// files inside are created owner-only all the same.
pub(crate) fn secure(dir: &Path) {
    if !dir.is_dir() {
        return;
    }
    match private_files::restrict_to_owner(dir) {
        Ok(None) => {}
        Ok(Some(was)) => tracing::warn!(
            data_dir = %dir.display(),
            "data_dir was open to other users (mode {was:04o}): now 0700"
        ),
        Err(e) => tracing::warn!(
            data_dir = %dir.display(),
            error = %e,
            "data_dir may be open to other users and its mode cannot be changed: make it 0700"
        ),
    }
}
