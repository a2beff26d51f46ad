//! `portcullis groups …`: the console's group operations from the command line.

use crate::common::portcullis;
use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

fn run(dir: &Path, command: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = portcullis(dir)
        .arg(command)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("output")
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn groups_are_made_filled_renamed_and_deleted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let add = ["add", "--username", "alice", "--email", "alice@example.com", "--password-stdin"];
    ok(run(d, "users", &add, "a long passphrase\n"));

    ok(run(d, "groups", &["create", "Ops"], ""));
    let dup = run(d, "groups", &["create", "OPS"], "");
    assert_eq!(dup.status.code(), Some(1), "names are unique whatever the case");
    ok(run(d, "groups", &["add", "ops", "alice@example.com"], ""));
    let members = ok(run(d, "groups", &["members", "Ops"], ""));
    assert!(members.contains(" alice ") && members.contains("alice@example.com"), "{members}");
    let unknown = run(d, "groups", &["add", "Ops", "nobody"], "");
    assert_eq!(unknown.status.code(), Some(1));

    ok(run(d, "groups", &["rename", "Ops", "Operations"], ""));
    let list = ok(run(d, "groups", &["list"], ""));
    assert!(list.contains("Operations") && !list.contains(" Ops\n"), "{list}");
    ok(run(d, "groups", &["remove", "Operations", "alice"], ""));
    assert_eq!(ok(run(d, "groups", &["members", "Operations"], "")), "");
    ok(run(d, "groups", &["delete", "Operations"], ""));
    assert_eq!(ok(run(d, "groups", &["list"], "")), "");
    assert_eq!(run(d, "groups", &["members", "Operations"], "").status.code(), Some(1));
}
