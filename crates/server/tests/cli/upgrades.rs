//! Upgrades as docs/operations.md ("Upgrades") describes them, on
//! PostgreSQL: once a newer version has applied a migration this binary
//! does not know, an instance of it that is running stays ready (its own
//! migrations are all applied), but one that starts refuses, with one line
//! and exit 2, rather than run on a schema it was not built for. This is
//! why rolling back needs the backup taken before the upgrade.

use crate::common::{RunExt, Server, portcullis, text};
use crate::oauth::get_status;
use crate::postgres::{PgDatabase, psql_on};

const KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

#[test]
fn a_newer_schema_keeps_running_instances_ready_but_an_older_binary_does_not_start() {
    let db = PgDatabase::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let instance = || {
        let mut cmd = portcullis(dir.path());
        cmd.env("PORTCULLIS__DATABASE__URL", &db.url).env("PORTCULLIS__KEYS__ENCRYPTION_KEY", KEK);
        cmd
    };
    let mut running = Server::start(instance());
    let port = running.port();
    assert_eq!(get_status(port, "/readyz"), 200);

    // What a newer version's start leaves behind: a migration recorded
    // that this build does not have.
    psql_on(
        &db.url,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from a newer version', TRUE, '\\x00', 1)",
    );
    assert_eq!(get_status(port, "/readyz"), 200, "the running instance's schema is still complete");

    let out = instance().arg("serve").run();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("9999") && errors[0].contains("missing"), "{stderr}");
    assert!(running.terminate().success(), "{}", running.seen.join("\n"));
}
