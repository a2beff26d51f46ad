//! Schema-version bookkeeping shared by the backends.

/// A migration compiled into the binary.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigration<'a> {
    /// Numeric prefix of the file name.
    pub version: i64,
    /// The rest of the file name.
    pub description: &'a str,
    /// Checksum of the file's text.
    pub checksum: &'a [u8],
}

/// A migration recorded as applied in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Numeric prefix of the file name.
    pub version: i64,
    /// Checksum recorded when it ran.
    pub checksum: Vec<u8>,
    /// False when it failed half-way (a dirty schema).
    pub success: bool,
}

/// How the database's schema compares with the binary's migrations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Migrations the binary knows of.
    pub expected: usize,
    /// Of those, applied successfully with the same checksum.
    pub applied: usize,
    /// Known to the binary, not yet applied (`version_description`).
    pub pending: Vec<String>,
    /// Applied with another checksum: a migration file was edited after release.
    pub modified: Vec<i64>,
    /// Recorded as failed.
    pub failed: Vec<i64>,
}

impl MigrationStatus {
    /// Computes the comparison.
    pub fn compare(embedded: &[EmbeddedMigration<'_>], applied: &[AppliedMigration]) -> Self {
        let mut status = Self { expected: embedded.len(), ..Self::default() };
        for m in embedded {
            match applied.iter().find(|a| a.version == m.version) {
                None => status.pending.push(format!("{}_{}", m.version, m.description)),
                Some(a) if !a.success => status.failed.push(m.version),
                Some(a) if a.checksum != m.checksum => status.modified.push(m.version),
                Some(_) => status.applied += 1,
            }
        }
        status
    }

    /// True when every built-in migration is applied as built.
    pub fn is_current(&self) -> bool {
        self.applied == self.expected
    }

    /// A one-line reason when not current.
    pub fn problem(&self) -> Option<String> {
        if !self.failed.is_empty() {
            Some(format!("migrations recorded as failed: {:?}", self.failed))
        } else if !self.modified.is_empty() {
            Some(format!("applied migrations differ from this build: {:?}", self.modified))
        } else if !self.pending.is_empty() {
            Some(format!("{} migration(s) pending", self.pending.len()))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(version: i64, checksum: &[u8], success: bool) -> AppliedMigration {
        AppliedMigration { version, checksum: checksum.to_vec(), success }
    }

    #[test]
    fn classifies_each_migration() {
        let embedded = [
            EmbeddedMigration { version: 1, description: "init", checksum: b"a" },
            EmbeddedMigration { version: 2, description: "users", checksum: b"b" },
            EmbeddedMigration { version: 3, description: "keys", checksum: b"c" },
            EmbeddedMigration { version: 4, description: "mail", checksum: b"d" },
        ];
        let status = MigrationStatus::compare(
            &embedded,
            &[applied(1, b"a", true), applied(2, b"X", true), applied(3, b"c", false)],
        );
        assert_eq!(status.applied, 1);
        assert_eq!(status.modified, vec![2]);
        assert_eq!(status.failed, vec![3]);
        assert_eq!(status.pending, vec!["4_mail".to_owned()]);
        assert!(!status.is_current());
        assert!(status.problem().is_some_and(|p| p.contains("failed")));
    }

    #[test]
    fn current_when_all_applied() {
        let embedded = [EmbeddedMigration { version: 1, description: "init", checksum: b"a" }];
        let status = MigrationStatus::compare(&embedded, &[applied(1, b"a", true)]);
        assert!(status.is_current());
        assert_eq!(status.problem(), None);
    }
}
