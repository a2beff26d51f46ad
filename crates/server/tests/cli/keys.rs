//! `portcullis keys …` and the key-encryption key as an operator meets them.

use crate::common::{portcullis, run, text};
use std::process::Command;

const KEK_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const KEK_B: &str = "HxwdHh8YGRobFBUWFxAREhMMDQ4PCAkKCwQFBgcAAQI";

#[test]
fn a_wrong_kek_exits_2_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let staged =
        run(portcullis(dir.path()).env("PORTCULLIS__KEYS__ENCRYPTION_KEY", KEK_A).args(["keys", "rotate"]));
    assert!(staged.status.success(), "{}", text(&staged.stderr));

    for args in [&["serve"][..], &["keys", "rotate"][..]] {
        let out = run(portcullis(dir.path()).env("PORTCULLIS__KEYS__ENCRYPTION_KEY", KEK_B).args(args));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        assert!(lines[0].contains("key-encryption key"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn without_a_configured_kek_one_is_generated_once_with_mode_0600_and_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(portcullis(dir.path()).args(["keys", "rotate", "--alg", "ES256"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("WARN") && stderr.contains("keys.kek"), "{stderr}");
    let path = dir.path().join("data/keys.kek");
    let first = std::fs::read_to_string(&path).expect("kek file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
    }

    let again = run(portcullis(dir.path()).args(["keys", "rotate", "--alg", "RS256"]));
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(std::fs::read_to_string(&path).expect("kek file"), first, "the file is reused");

    // Losing the file while keys exist is an error, not a fresh key set.
    std::fs::remove_file(&path).expect("remove");
    let lost = run(portcullis(dir.path()).args(["keys", "rotate"]));
    assert_eq!(lost.status.code(), Some(2), "{}", text(&lost.stderr));
    assert!(text(&lost.stderr).contains("keys.kek"), "{}", text(&lost.stderr));
    assert!(!path.exists());
}

#[test]
fn keys_list_rotate_and_revoke() {
    let dir = tempfile::tempdir().expect("temp dir");
    let kek = |cmd: &mut Command| {
        cmd.env("PORTCULLIS__KEYS__ENCRYPTION_KEY", KEK_A);
    };
    let mut rotate = portcullis(dir.path());
    kek(&mut rotate);
    let out = run(rotate.args(["keys", "rotate", "--alg", "ES256", "--now"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let kid = text(&out.stdout).split_whitespace().next().expect("kid").to_owned();

    let mut list = portcullis(dir.path());
    let out = run(list.args(["keys", "list"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let header: Vec<&str> = table.lines().next().expect("header").split_whitespace().collect();
    assert_eq!(header, ["KID", "ALG", "STATE", "CREATED", "ACTIVATES", "RETIRES"]);
    assert!(
        table.lines().any(|l| l.starts_with(&kid) && l.contains("ES256") && l.contains("active")),
        "{table}"
    );

    let mut revoke = portcullis(dir.path());
    kek(&mut revoke);
    let out = run(revoke.args(["keys", "revoke", &kid]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("revoked"), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("REVOKED"), "logged loudly: {}", text(&out.stderr));

    let mut unknown = portcullis(dir.path());
    kek(&mut unknown);
    let out = run(unknown.args(["keys", "revoke", "no-such-kid"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("error: "), "{}", text(&out.stderr));
}

#[test]
fn config_check_redacts_the_kek() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out =
        run(portcullis(dir.path()).env("PORTCULLIS__KEYS__ENCRYPTION_KEY", KEK_A).args(["config", "check"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(!stdout.contains(KEK_A), "{stdout}");
    assert!(stdout.contains("encryption_key = \"[redacted]\""), "{stdout}");
}
