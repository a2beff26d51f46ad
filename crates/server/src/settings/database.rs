//! Database settings and the database URL (a secret when it holds a password).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use url::Url;

/// Database connection.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (default: `sqlite://<data_dir>/portcullis.db`) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DB`. The backend follows the scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<DatabaseUrl>,
    /// Pool size (default: 8 for SQLite, 10 for PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// Seconds to wait for the database at start and for a pooled connection.
    pub connect_timeout_secs: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: None, max_connections: None, connect_timeout_secs: 5 }
    }
}

/// Which backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// `sqlite:`
    Sqlite,
    /// `postgres:` or `postgresql:`
    Postgres,
}

/// A database URL. Printing it (Debug, Display, Serialize) hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    kind: DatabaseKind,
}

impl DatabaseUrl {
    /// Parses and checks the scheme.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let scheme = raw.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        let kind = match scheme.as_deref() {
            Some("sqlite") => DatabaseKind::Sqlite,
            Some("postgres" | "postgresql") => {
                Url::parse(raw).map_err(|e| format!("malformed PostgreSQL URL: {e}"))?;
                DatabaseKind::Postgres
            }
            _ => return Err("unsupported database URL: expected sqlite://… or postgres://…".into()),
        };
        Ok(Self { raw: raw.to_owned(), kind })
    }

    /// The URL of a SQLite file.
    pub fn sqlite_file(path: &Path) -> Self {
        Self { raw: format!("sqlite://{}", path.display()), kind: DatabaseKind::Sqlite }
    }

    /// Which backend.
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// The URL itself, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The URL with any password replaced by `[redacted]`.
    pub fn redacted(&self) -> String {
        match without_password(&self.raw) {
            Some(redacted) => redacted,
            None if self.raw.contains("password=") => "[redacted]".into(),
            None => self.raw.clone(),
        }
    }
}

/// `raw` with the password of its userinfo replaced by `[redacted]`, when
/// it is a URL with one (database and Redis URLs alike).
pub(super) fn without_password(raw: &str) -> Option<String> {
    let mut url = Url::parse(raw).ok()?;
    url.password()?;
    let _ = url.set_password(Some("[redacted]"));
    Some(url.to_string().replace("%5Bredacted%5D", "[redacted]"))
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_printed() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/portcullis").expect("valid");
        assert_eq!(url.kind(), DatabaseKind::Postgres);
        for shown in [url.to_string(), format!("{url:?}"), url.redacted()] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
        assert!(url.expose().contains("s3cret"));
        let query = DatabaseUrl::parse("postgres://db/p?password=s3cret").expect("valid");
        assert!(!query.to_string().contains("s3cret"));
    }

    #[test]
    fn scheme_selects_backend() {
        assert_eq!(DatabaseUrl::parse("sqlite://x.db").map(|u| u.kind()), Ok(DatabaseKind::Sqlite));
        assert_eq!(DatabaseUrl::parse("postgresql://h/d").map(|u| u.kind()), Ok(DatabaseKind::Postgres));
        assert!(DatabaseUrl::parse("mysql://h/d").is_err());
        assert!(DatabaseUrl::parse("nonsense").is_err());
    }
}
