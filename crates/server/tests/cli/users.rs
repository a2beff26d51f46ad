//! `portcullis users …` as an operator meets it: add, set-password, disable, list.

use crate::common::portcullis;
use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

/// Runs `portcullis users ARGS` with `stdin` piped in.
fn users(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = portcullis(dir)
        .arg("users")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("output")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn add(dir: &Path, username: &str, extra: &[&str], password: &str) -> Output {
    let email = format!("{username}@example.com");
    let mut args = vec!["add", "--username", username, "--email", &email, "--password-stdin"];
    args.extend_from_slice(extra);
    users(dir, &args, password)
}

#[test]
fn add_then_list_shows_the_user_and_roles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = add(dir.path(), "root", &["--admin"], "a long passphrase\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = add(dir.path(), "alice", &[], "another passphrase\n");
    assert!(out.status.success(), "{}", stderr(&out));

    let out = users(dir.path(), &["list"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&out);
    let root = list.lines().find(|l| l.contains(" root ")).unwrap_or_else(|| panic!("{list}"));
    assert!(
        root.contains("root@example.com") && root.contains("active") && root.ends_with("admin"),
        "{root}"
    );
    let alice = list.lines().find(|l| l.contains(" alice ")).unwrap_or_else(|| panic!("{list}"));
    assert!(alice.contains(" active ") && alice.trim_end().ends_with('-'), "{alice}");
    assert!(!list.contains("argon2"), "never print a hash");

    // A second factor required of alice, then lifted; a reset of her factors.
    assert!(users(dir.path(), &["require-mfa", "alice"], "").status.success());
    let list = stdout(&users(dir.path(), &["list"], ""));
    let alice = list.lines().find(|l| l.contains(" alice ")).unwrap_or_else(|| panic!("{list}"));
    assert!(alice.contains(" active    req"), "{alice}");
    assert!(users(dir.path(), &["require-mfa", "alice", "--off"], "").status.success());
    let list = stdout(&users(dir.path(), &["list"], ""));
    assert!(!list.contains(" req"), "{list}");
    let out = users(dir.path(), &["reset-mfa", "alice"], "");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn refusals_are_one_line_with_exit_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(add(dir.path(), "root", &[], "a long passphrase\n").status.success());

    for (out, needle) in [
        (add(dir.path(), "ROOT", &[], "a long passphrase\n"), "already in use"),
        (add(dir.path(), "bob", &[], "short\n"), "at least 8 characters"),
        (add(dir.path(), "carol", &[], "carol@example.com\n"), "must not be your username or email"),
        (
            users(dir.path(), &["set-password", "nobody", "--password-stdin"], "a long passphrase\n"),
            "no such user",
        ),
        (users(dir.path(), &["disable", "nobody"], ""), "no such user"),
    ] {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains(needle), "{needle:?} not in {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn the_password_is_never_an_argument() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = users(dir.path(), &["add", "--username", "u", "--email", "u@example.com"], "");
    assert_eq!(out.status.code(), Some(2), "clap refuses it: {}", stderr(&out));
    assert!(stderr(&out).contains("--password-stdin"));
}

#[test]
fn set_password_and_disable() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(add(dir.path(), "alice", &[], "a long passphrase\n").status.success());
    let out = users(dir.path(), &["set-password", "ALICE@example.com", "--password-stdin"], "alice\n");
    assert_eq!(out.status.code(), Some(1), "the policy applies: {}", stderr(&out));
    let out = users(dir.path(), &["set-password", "alice", "--password-stdin"], "a brand new passphrase\r\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("password changed"), "{}", stderr(&out));

    let out = users(dir.path(), &["disable", "alice"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("user disabled"));
    let list = stdout(&users(dir.path(), &["list"], ""));
    assert!(list.lines().any(|l| l.contains(" alice ") && l.contains("disabled")), "{list}");
}
