//! `portcullis clients …` as an operator meets it: add (secret shown once, stored hashed), list.

use crate::common::{portcullis, run};
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
    assert!(row.contains("Web App") && row.contains("client_secret_basic") && row.contains("cli"), "{row}");
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
