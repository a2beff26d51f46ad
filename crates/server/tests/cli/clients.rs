//! `portcullis clients …` as an operator meets it: add (secret shown once,
//! stored hashed), list, rotate-secret (the new secret shown once, the old
//! one kept for the overlap), disable, enable, delete; a client declared in
//! the configuration file is changed there.

use crate::common::{Server, portcullis, run, write_config};
use portcullis_protocol::ClientSecretHash;
use std::path::Path;
use std::process::Output;

fn clients(dir: &Path, args: &[&str]) -> Output {
    run(portcullis(dir).arg("clients").args(args))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The value after `label: ` in the command's output.
fn field(out: &str, label: &str) -> Option<String> {
    out.lines().find_map(|l| l.strip_prefix(&format!("{label}: ")).map(str::to_owned))
}

/// Every byte the SQLite database holds (main file and write-ahead log).
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["portcullis.db", "portcullis.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.join("data").join(name)) {
            all.extend(bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn add_prints_id_and_secret_once_and_stores_only_the_sha256() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = clients(dir.path(), &["add", "--name", "Web App", "--redirect-uri", "https://rp.example/cb"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let id = field(&text, "client_id").unwrap_or_else(|| panic!("{text}"));
    let secret = field(&text, "client_secret").unwrap_or_else(|| panic!("{text}"));
    assert_eq!(id.len(), 32, "random hex id");
    assert_eq!(secret.len(), 43, "256 bits, base64url");

    let db = database_bytes(dir.path());
    assert!(!contains(&db, &secret), "the secret itself is never stored");
    assert!(contains(&db, &ClientSecretHash::of(&secret).to_hex()), "its SHA-256 is");

    let out = clients(dir.path(), &["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&out);
    let row = list.lines().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{list}"));
    assert!(
        row.contains("Web App") && row.contains("client_secret_basic") && row.contains("runtime"),
        "{row}"
    );
    assert!(row.ends_with("https://rp.example/cb"), "{row}");
    assert!(!list.contains(&secret), "list never shows a secret");
}

#[test]
fn a_public_client_gets_no_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = [
        "add",
        "--name",
        "CLI",
        "--public",
        "--client-id",
        "native",
        "--redirect-uri",
        "http://127.0.0.1/cb",
    ];
    let out = clients(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(field(&stdout(&out), "client_id").as_deref(), Some("native"));
    assert_eq!(field(&stdout(&out), "client_secret"), None);
    let list = stdout(&clients(dir.path(), &["list"]));
    assert!(list.lines().any(|l| l.starts_with("native") && l.contains(" none ")), "{list}");
}

#[test]
fn a_machine_client_needs_no_redirect_uri() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = clients(dir.path(), &["add", "--name", "Batch", "--grant", "client_credentials"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(field(&stdout(&out), "client_secret").is_some());
}

#[test]
fn a_device_client_needs_no_redirect_uri() {
    let dir = tempfile::tempdir().expect("temp dir");
    let grant = "urn:ietf:params:oauth:grant-type:device_code";
    let args = [
        "add",
        "--name",
        "TV",
        "--client-id",
        "tv",
        "--public",
        "--grant",
        grant,
        "--grant",
        "refresh_token",
    ];
    let out = clients(dir.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(field(&stdout(&out), "client_secret"), None);
    let list = stdout(&clients(dir.path(), &["list"]));
    assert!(list.lines().any(|l| l.starts_with("tv")), "{list}");
}

#[test]
fn inconsistent_or_duplicate_clients_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        &["add", "--name", "X", "--public", "--grant", "client_credentials"][..],
        &["add", "--name", "X", "--redirect-uri", "https://rp.example/cb#fragment"],
        &["add", "--name", "X"],
        &["add", "--name", "X", "--grant", "implicit", "--redirect-uri", "https://rp.example/cb"],
    ] {
        let out = clients(dir.path(), args);
        assert!(!out.status.success(), "{args:?} must fail: {}", stdout(&out));
        assert!(stderr(&out).contains("error"), "{}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
    let args = ["add", "--name", "A", "--client-id", "dup", "--redirect-uri", "https://rp.example/cb"];
    assert!(clients(dir.path(), &args).status.success());
    let out = clients(dir.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let list = stdout(&clients(dir.path(), &["list"]));
    assert_eq!(list.lines().filter(|l| l.starts_with("dup")).count(), 1, "{list}");
}

/// Adds the machine client `id`; its secret.
fn add_machine(dir: &Path, id: &str) -> String {
    let out = clients(dir, &["add", "--name", "Batch", "--client-id", id, "--grant", "client_credentials"]);
    assert!(out.status.success(), "{}", stderr(&out));
    field(&stdout(&out), "client_secret").unwrap_or_else(|| panic!("{}", stdout(&out)))
}

/// The `list` row of `id`.
fn row(dir: &Path, id: &str) -> Option<String> {
    let list = stdout(&clients(dir, &["list"]));
    list.lines().find(|l| l.split_whitespace().next() == Some(id)).map(str::to_owned)
}

#[test]
fn rotate_secret_prints_the_new_secret_once_and_keeps_the_old_one_for_the_overlap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = add_machine(dir.path(), "batch");

    let out = clients(dir.path(), &["rotate-secret", "batch", "--overlap-secs", "3600"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(field(&text, "client_id").as_deref(), Some("batch"));
    let new = field(&text, "client_secret").unwrap_or_else(|| panic!("{text}"));
    assert_eq!(new.len(), 43, "256 bits, base64url");
    assert_ne!(new, old);
    assert!(field(&text, "previous_secret_valid_until").is_some(), "{text}");
    let db = database_bytes(dir.path());
    assert!(!contains(&db, &new), "the secret itself is never stored");
    assert!(contains(&db, &ClientSecretHash::of(&new).to_hex()), "its SHA-256 is");
    assert!(contains(&db, &ClientSecretHash::of(&old).to_hex()), "the old one stays for the overlap");

    let out = clients(dir.path(), &["rotate-secret", "batch"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let newest = field(&text, "client_secret").unwrap_or_else(|| panic!("{text}"));
    assert_ne!(newest, new);
    assert!(text.contains("the previous secret no longer works"), "{text}");
    assert!(!stdout(&clients(dir.path(), &["list"])).contains(&newest), "list never shows a secret");
}

#[test]
fn disable_enable_and_delete_change_the_client() {
    let dir = tempfile::tempdir().expect("temp dir");
    add_machine(dir.path(), "batch");
    let status = |dir: &Path| row(dir, "batch").map(|r| r.split_whitespace().nth(4).unwrap_or("").to_owned());
    assert_eq!(status(dir.path()).as_deref(), Some("active"));

    assert!(clients(dir.path(), &["disable", "batch"]).status.success());
    assert_eq!(status(dir.path()).as_deref(), Some("disabled"));
    assert!(clients(dir.path(), &["enable", "batch"]).status.success());
    assert_eq!(status(dir.path()).as_deref(), Some("active"));

    let out = clients(dir.path(), &["delete", "batch"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(row(dir.path(), "batch"), None, "deleted");
    let out = clients(dir.path(), &["delete", "batch"]);
    assert_eq!(out.status.code(), Some(1), "already gone");
    assert!(stderr(&out).contains("unknown client"), "{}", stderr(&out));
}

#[test]
fn impossible_changes_are_refused_with_exit_code_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    add_machine(dir.path(), "batch");
    let public = [
        "add",
        "--name",
        "CLI",
        "--public",
        "--client-id",
        "native",
        "--redirect-uri",
        "http://127.0.0.1/cb",
    ];
    assert!(clients(dir.path(), &public).status.success());
    for (args, needle) in [
        (&["rotate-secret", "nobody"][..], "unknown client"),
        (&["disable", "nobody"], "unknown client"),
        (&["rotate-secret", "native"], "no secret"),
        (&["rotate-secret", "batch", "--overlap-secs", "2592001"], "30 days"),
    ] {
        let out = clients(dir.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
    let out = clients(dir.path(), &["rotate-secret", "batch", "--overlap-secs", "-1"]);
    assert!(!out.status.success(), "a negative overlap is no number of seconds");
}

#[test]
fn a_client_of_the_configuration_file_is_changed_there() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(
        dir.path(),
        "[[clients]]\nclient_id = \"config-rp\"\nclient_secret = \"Vq0n8Lr2xT5bW9kZ3mC7pF1sH4jD6gY0aE2uN8iO5qR\"\n\
         grant_types = [\"client_credentials\"]\nscopes = [\"api\"]\nadmin_api = true\n",
    );
    // The server syncs `[[clients]]` into the store at start.
    let mut serve = portcullis(dir.path());
    serve.arg("--config").arg(&config);
    let mut server = Server::start(serve);
    server.port();
    assert!(server.terminate().success(), "{}", server.seen.join("\n"));

    let synced = row(dir.path(), "config-rp").unwrap_or_else(|| panic!("not synced"));
    assert!(synced.contains(" config ") && synced.contains(" yes "), "source and admin_api: {synced}");
    for args in [
        &["rotate-secret", "config-rp"][..],
        &["disable", "config-rp"],
        &["enable", "config-rp"],
        &["delete", "config-rp"],
    ] {
        let out = run(portcullis(dir.path()).arg("--config").arg(&config).arg("clients").args(args));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("declared in the configuration file; change it there"), "{args:?}: {err}");
    }
    assert_eq!(row(dir.path(), "config-rp"), Some(synced), "unchanged");
}

#[test]
fn add_requires_par_and_allows_configured_resources_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(
        dir.path(),
        "[[resources]]\nidentifier = \"https://api.example.com/\"\nscopes = [\"api\"]\n",
    );
    let add = |resource: &str, id: &str| {
        let args = [
            "add",
            "--name",
            "Shop",
            "--client-id",
            id,
            "--redirect-uri",
            "https://shop.example/cb",
            "--require-par",
        ];
        run(portcullis(dir.path())
            .arg("--config")
            .arg(&config)
            .arg("clients")
            .args(args)
            .args(["--resource", resource]))
    };
    let out = add("https://unknown.example/", "stray");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("https://unknown.example/"), "the error names it: {}", stderr(&out));
    let out = add("https://api.example.com/", "shop");
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&run(portcullis(dir.path()).arg("--config").arg(&config).args(["clients", "list"])));
    assert!(list.lines().any(|l| l.starts_with("shop")), "{list}");
    assert!(!list.lines().any(|l| l.starts_with("stray")), "{list}");
}
