//! Where the key-encryption key comes from: configuration, a file, or (first
//! start only) a generated file under `data_dir`.

use portcullis_keys::Kek;
use portcullis_store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::settings::Settings;

/// The generated key file, when none is configured.
pub fn generated_kek_path(settings: &Settings) -> PathBuf {
    settings.data_dir.join("keys.kek")
}

fn read_kek_file(path: &Path) -> Result<Kek, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Kek::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The configured key-encryption key; without one, the generated file, which
/// is created (mode 0600, with a warning) only while the store holds no key:
/// a missing key file must never quietly become a new key set.
pub async fn load_kek(settings: &Settings, store: &dyn Store) -> Result<Kek, String> {
    if let Some(secret) = &settings.keys.encryption_key {
        return Kek::parse(secret.expose()).map_err(|e| format!("keys.encryption_key: {e}"));
    }
    if let Some(path) = &settings.keys.encryption_key_file {
        return read_kek_file(path).map_err(|e| format!("keys.encryption_key_file: {e}"));
    }
    let path = generated_kek_path(settings);
    if path.exists() {
        keep_private(&path);
        return read_kek_file(&path);
    }
    let stored = store.signing_keys().await.map_err(|e| format!("cannot read the signing keys: {e}"))?;
    // Another instance sharing data_dir writes the file before its first key.
    if path.exists() {
        return read_kek_file(&path);
    }
    if !stored.is_empty() {
        return Err(format!(
            "the database holds signing keys but no key-encryption key is configured and {} is missing: \
             set keys.encryption_key or keys.encryption_key_file, or restore the file",
            path.display()
        ));
    }
    let kek = Kek::generate();
    match write_private_file(&path, kek.to_base64url().as_bytes()) {
        Ok(()) => {}
        // Another instance sharing data_dir won the race: use its key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return read_kek_file(&path),
        Err(e) => return Err(format!("cannot write {}: {e}", path.display())),
    }
    tracing::warn!(
        path = %path.display(),
        "no key-encryption key configured: generated one into this file (mode 0600); back it up, or set \
         keys.encryption_key / keys.encryption_key_file — without it the signing keys cannot be decrypted"
    );
    Ok(kek)
}

/// Takes group and other permissions away from the generated key file, with
/// a warning when it had any (a failure is reported, not fatal).
fn keep_private(path: &Path) {
    match portcullis_core::private_files::restrict_to_owner(path) {
        Ok(None) => {}
        Ok(Some(was)) => tracing::warn!(
            path = %path.display(),
            "the key-encryption key file was open to other users (mode {was:04o}): now 0600"
        ),
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot make the key file 0600"),
    }
}

/// Creates `path` readable by its owner only, atomically: the contents go to
/// a temporary file first, then a hard link publishes it, failing with
/// `AlreadyExists` if `path` appeared meanwhile (never a half-written key).
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, portcullis_core::private_files::DIR_MODE);
        builder.create(dir)?;
    }
    let temp = path.with_extension(format!("{}.tmp", portcullis_core::random::hex_id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, portcullis_core::private_files::FILE_MODE);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(contents)?;
        file.write_all(b"\n")?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&temp, path));
    let _ = std::fs::remove_file(&temp);
    linked
}
