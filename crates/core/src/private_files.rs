//! Files and folders readable by their owner only: the database, its
//! companions, the key-encryption key and the folder holding them.

use std::path::Path;

/// The mode of a private file.
pub const FILE_MODE: u32 = 0o600;

/// The mode of a private folder.
pub const DIR_MODE: u32 = 0o700;

/// Takes every group and other permission away from `path`, if it exists
/// and has any; returns the mode it had then (`None`: missing, or already
/// private). The owner's bits are kept. A no-op where modes do not exist.
pub fn restrict_to_owner(path: &Path) -> std::io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match std::fs::metadata(path) {
            Ok(meta) => meta.permissions().mode() & 0o7777,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if mode & 0o077 == 0 {
            return Ok(None);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        Ok(Some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(None)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn group_and_other_bits_go_the_owner_bits_stay() {
        let dir = std::env::temp_dir().join(format!("portcullis-private-{}", crate::random::hex_id()));
        std::fs::create_dir(&dir).expect("dir");
        let file = dir.join("f");
        std::fs::write(&file, b"x").expect("write");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(restrict_to_owner(&file).expect("tighten"), Some(0o644));
        assert_eq!(mode(&file), FILE_MODE);
        assert_eq!(restrict_to_owner(&file).expect("again"), None);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(restrict_to_owner(&dir).expect("tighten"), Some(0o755));
        assert_eq!(mode(&dir), DIR_MODE);
        assert_eq!(restrict_to_owner(&dir.join("missing")).expect("missing"), None);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
