//! A PostgreSQL database of its own per test, on the server that
//! `PORTCULLIS_TEST_POSTGRES_URL` names (`scripts/test` starts one); its
//! client tools (`psql`, `pg_dump`, `pg_restore`). Without the variable a
//! test that needs PostgreSQL fails, saying so: it never passes unrun.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{run, text};

/// Where `scripts/test` puts its throwaway PostgreSQL server.
pub(crate) const POSTGRES_ENV: &str = "PORTCULLIS_TEST_POSTGRES_URL";

fn admin_url() -> String {
    std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_ENV} is not set: this test needs a PostgreSQL server. \
             Run it through scripts/test, which installs and starts one."
        )
    })
}

/// A PostgreSQL client program: the newest installed under
/// /usr/lib/postgresql (Debian), else the one on PATH.
pub(crate) fn pg_tool(name: &str) -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|d| {
            let version = d.file_name().to_string_lossy().parse::<u32>().ok()?;
            let path = d.path().join("bin").join(name);
            path.is_file().then_some((version, path))
        })
        .collect();
    found.sort();
    found.pop().map_or_else(|| PathBuf::from(name), |(_, path)| path)
}

/// Runs `sql` on the database at `url`; fails the test if it fails.
pub(crate) fn psql_on(url: &str, sql: &str) {
    let out = run(Command::new(pg_tool("psql")).arg(url).args(["-v", "ON_ERROR_STOP=1", "-qc", sql]));
    assert!(out.status.success(), "psql {sql}: {}", text(&out.stderr));
}

/// An empty database, dropped on drop.
pub(crate) struct PgDatabase {
    name: String,
    /// Its URL.
    pub(crate) url: String,
}

impl PgDatabase {
    /// Creates it.
    pub(crate) fn new() -> Self {
        let admin = admin_url();
        let name = format!("portcullis_cli_{}", portcullis_core::random::hex_id());
        psql_on(&admin, &format!("CREATE DATABASE {name}"));
        let mut url = url::Url::parse(&admin).unwrap_or_else(|e| panic!("{POSTGRES_ENV}: {e}: {admin}"));
        url.set_path(&format!("/{name}"));
        Self { name, url: url.to_string() }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = Command::new(pg_tool("psql")).arg(admin_url()).args(["-qc", &sql]).output();
        if !dropped.is_ok_and(|o| o.status.success()) {
            #[allow(clippy::print_stderr)] // a leaked test database is worth a word, not a failure
            {
                eprintln!("warning: could not drop the test database {}", self.name);
            }
        }
    }
}
