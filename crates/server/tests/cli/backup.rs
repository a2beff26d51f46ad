//! Backup and restore as an operator does them (docs/operations.md,
//! "Backup and restore"): the database copied while the server runs —
//! `portcullis backup` on SQLite, `pg_dump -Fc` on PostgreSQL — and the
//! key-encryption key kept apart. Restored into a fresh data dir or a
//! fresh database, with the key, the server brings back the users, the
//! clients and the signing keys, and the access tokens it issued before
//! the backup still verify; without the key it refuses to start, with one
//! line, rather than make new keys the stored ones cannot be read by.

use crate::common::{RunExt, Server, portcullis, run, text};
use crate::oauth::{Credentials, active, client_credentials, jwks_kids};
use crate::postgres::{PgDatabase, pg_tool};
use std::process::{Command, Output};

const KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

/// Where one deployment keeps its state: a data dir, and the settings
/// (environment) every command of it runs with.
struct Deployment {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Deployment {
    fn sqlite() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir"), env: Vec::new() }
    }

    /// On the PostgreSQL database `url`, with `kek` (if any) configured.
    fn postgres(url: &str, kek: Option<&str>) -> Self {
        let mut env = vec![("PORTCULLIS__DATABASE__URL", url.to_owned())];
        if let Some(kek) = kek {
            env.push(("PORTCULLIS__KEYS__ENCRYPTION_KEY", kek.to_owned()));
        }
        Self { dir: tempfile::tempdir().expect("temp dir"), env }
    }

    fn data(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    fn cmd(&self) -> Command {
        let mut cmd = portcullis(self.dir.path());
        cmd.envs(self.env.iter().map(|(k, v)| (*k, v.as_str())));
        cmd
    }

    fn serve(&self) -> Server {
        Server::start(self.cmd())
    }

    /// `portcullis users add USERNAME`, password on stdin.
    fn add_user(&self, username: &str) {
        crate::common::add_user(self.cmd(), username, "a long passphrase");
    }

    /// `portcullis clients add` of the machine client `id`; its credentials.
    fn add_machine_client(&self, id: &str) -> Credentials {
        let out = self
            .cmd()
            .args(["clients", "add", "--name", "Batch", "--client-id", id, "--grant", "client_credentials"])
            .run();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let secret = stdout
            .lines()
            .find_map(|l| l.strip_prefix("client_secret: "))
            .unwrap_or_else(|| panic!("{stdout}"));
        Credentials { id: id.to_owned(), secret: secret.to_owned() }
    }

    /// The output of `portcullis ARGS`, which must succeed.
    fn list(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).run();
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }
}

/// What was there when the backup was taken.
struct Before {
    client: Credentials,
    token: String,
    kids: Vec<String>,
}

/// Alice and a machine client; a token issued and the JWKS noted; then
/// `backup` runs while the server serves, and bob is added after it.
fn populate_and_back_up(original: &Deployment, backup: impl FnOnce()) -> Before {
    original.add_user("alice");
    let client = original.add_machine_client("batch");
    let mut server = original.serve();
    let port = server.port();
    let token = client_credentials(port, &client);
    let kids = jwks_kids(port);
    assert!(!kids.is_empty());
    backup();
    original.add_user("bob");
    assert!(server.terminate().success(), "{}", server.seen.join("\n"));
    Before { client, token, kids }
}

/// Exit 2 with one `error:` line containing `needle`; the server never got going.
fn assert_refused(out: &Output, needle: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(needle), "{needle:?} not in {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("signing key generated"), "{stderr}");
}

/// The restored deployment has alice (not bob: the backup is of its
/// moment), the client, the same published keys; the old token is still
/// active and a new one is issued.
fn assert_restored(restored: &Deployment, before: &Before) {
    let mut server = restored.serve();
    let port = server.port();
    assert_eq!(jwks_kids(port), before.kids, "the same signing keys");
    assert!(active(port, &before.client, &before.token), "the token issued before the backup verifies");
    let fresh = client_credentials(port, &before.client);
    assert!(active(port, &before.client, &fresh));
    assert!(server.terminate().success(), "{}", server.seen.join("\n"));
    assert!(!server.seen.iter().any(|l| l.contains("signing key generated")), "{}", server.seen.join("\n"));

    let users = restored.list(&["users", "list"]);
    assert!(users.contains(" alice "), "{users}");
    assert!(!users.contains(" bob "), "added after the backup: {users}");
    let clients = restored.list(&["clients", "list"]);
    assert!(clients.lines().any(|l| l.starts_with("batch ")), "{clients}");
}

#[test]
fn a_sqlite_backup_taken_while_serving_restores_users_clients_keys_and_tokens() {
    let original = Deployment::sqlite();
    let file = original.dir.path().join("portcullis-backup.db");
    let before = populate_and_back_up(&original, || {
        let out = original.cmd().args(["backup", "--to"]).arg(&file).run();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("backup written"), "{stdout}");
        assert!(stdout.contains("keys.kek"), "says the key is elsewhere: {stdout}");
    });
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("backup").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the copy is as private as the database");
    }
    // The key-encryption key, backed up apart.
    let kek = std::fs::read(original.data().join("keys.kek")).expect("keys.kek");

    // Restore the database file alone: the server refuses to start.
    let restored = Deployment::sqlite();
    std::fs::create_dir(restored.data()).expect("data dir");
    std::fs::copy(&file, restored.data().join("portcullis.db")).expect("restore");
    assert_refused(&restored.cmd().arg("serve").run(), "keys.kek");
    assert!(!restored.data().join("keys.kek").exists(), "no key generated in its place");

    std::fs::write(restored.data().join("keys.kek"), kek).expect("restore the key");
    assert_restored(&restored, &before);
}

#[test]
fn a_postgres_dump_taken_while_serving_restores_users_clients_keys_and_tokens() {
    let db = PgDatabase::new();
    let original = Deployment::postgres(&db.url, Some(KEK));
    let dump = original.dir.path().join("portcullis.dump");
    let before = populate_and_back_up(&original, || {
        let out = run(Command::new(pg_tool("pg_dump")).args(["-Fc", "-f"]).arg(&dump).arg(&db.url));
        assert!(out.status.success(), "pg_dump: {}", text(&out.stderr));
    });

    let target = PgDatabase::new();
    let out = run(Command::new(pg_tool("pg_restore"))
        .args(["--no-owner", "--exit-on-error", "-d", &target.url])
        .arg(&dump));
    assert!(out.status.success(), "pg_restore: {}", text(&out.stderr));

    // Without the key-encryption key the server refuses to start.
    let keyless = Deployment::postgres(&target.url, None);
    assert_refused(&keyless.cmd().arg("serve").run(), "key-encryption key");
    assert!(!keyless.data().join("keys.kek").exists(), "no key generated in its place");

    assert_restored(&Deployment::postgres(&target.url, Some(KEK)), &before);
}

#[test]
fn backup_refuses_postgres_an_existing_file_and_a_missing_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = dir.path().join("taken.db");
    std::fs::write(&taken, b"precious").expect("write");

    let out = portcullis(dir.path()).args(["backup", "--to"]).arg(dir.path().join("x.db")).run();
    assert_refused(&out, "no SQLite database");
    assert!(!dir.path().join("data/portcullis.db").exists(), "nothing created");

    assert!(portcullis(dir.path()).arg("migrate").run().status.success());
    let out = portcullis(dir.path()).args(["backup", "--to"]).arg(&taken).run();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("already exists"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&taken).expect("read"), b"precious", "never overwritten");

    let out = portcullis(dir.path())
        .args(["backup", "--to"])
        .arg(dir.path().join("pg.db"))
        .env("PORTCULLIS__DATABASE__URL", "postgres://app:s3cret@127.0.0.1:1/portcullis")
        .run();
    assert_refused(&out, "pg_dump");
    assert!(!text(&out.stderr).contains("s3cret"), "{}", text(&out.stderr));
    assert!(!dir.path().join("pg.db").exists());
}
