//! A handler extracts, makes ONE call into `authn`, `protocol` or `keys`,
//! maps the result and renders. What it needs to read first (the session,
//! the signed-in account, the pending authorization request, what a page
//! shows) is an extractor's job (`src/extract.rs`). This test reads every
//! `async fn` under `src/routes/` and fails on one that awaits more than
//! once: a second domain call there is a rule or a step that belongs below
//! `web`, or a read that belongs in an extractor.

#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// (function name, `.await` count) of every `async fn` in `text`; a
/// function's body runs to the next `fn` at the same or a lower indent.
fn awaits_per_async_fn(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let signature = trimmed.strip_prefix("pub(crate) ").unwrap_or(trimmed);
        let Some(rest) = signature.strip_prefix("async fn ") else { continue };
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let mut awaits = 0;
        for body in &lines[i + 1..] {
            let t = body.trim_start();
            let starts_fn = ["fn ", "async fn ", "pub(crate) fn ", "pub(crate) async fn ", "impl "]
                .iter()
                .any(|p| t.starts_with(p));
            if starts_fn && body.len() - t.len() <= indent {
                break;
            }
            awaits += body.matches(".await").count();
        }
        found.push((name, awaits));
    }
    found
}

#[test]
fn every_route_function_awaits_at_most_once() {
    let routes = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mut files = Vec::new();
    rust_files(&routes, &mut files);
    files.sort();
    let mut offenders = Vec::new();
    let mut handlers = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        for (name, awaits) in awaits_per_async_fn(&text) {
            handlers += 1;
            if awaits > 1 {
                offenders.push(format!("{}: {name} awaits {awaits} times", file.display()));
            }
        }
    }
    assert!(handlers > 40, "the scan found only {handlers} async functions: is the parser broken?");
    assert!(offenders.is_empty(), "handlers making more than one call:\n{}", offenders.join("\n"));
}

#[test]
fn the_scan_sees_a_second_call() {
    let text = "pub(crate) async fn two(state: S) -> R {\n    let a = state.x().await?;\n    state.y(a).await\n}\n\
                async fn one(state: S) -> R {\n    state.x().await\n}\n";
    assert_eq!(awaits_per_async_fn(text), vec![("two".to_owned(), 2), ("one".to_owned(), 1)]);
}
