//! The web crate never calls the store: `crates/web/clippy.toml` disallows
//! every method of every trait in `crates/store` (`cargo clippy` then fails
//! on a call). This test keeps that list complete: a trait method added,
//! moved or renamed in `crates/store` without its line in the list fails
//! here, with the lines to add.

#![allow(clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

/// `portcullis_store::Trait::method` for every method of every `pub trait`
/// in the store crate's sources.
fn store_trait_methods(src: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(src)
        .expect("crates/store/src")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let mut current: Option<String> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("pub trait ") {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                current = Some(name);
                continue;
            }
            let Some(trait_name) = &current else { continue };
            if line.starts_with('}') {
                current = None;
                continue;
            }
            let body = line.trim_start();
            let body = body.strip_prefix("async ").unwrap_or(body);
            if let Some(rest) = body.strip_prefix("fn ") {
                let method: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                found.insert(format!("portcullis_store::{trait_name}::{method}"));
            }
        }
    }
    found
}

/// The paths `clippy.toml` disallows.
fn disallowed(clippy_toml: &str) -> BTreeSet<String> {
    clippy_toml
        .lines()
        .filter_map(|line| line.split_once("path = \"").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once('"').map(|(path, _)| path.to_owned()))
        .collect()
}

#[test]
fn clippy_toml_disallows_every_store_trait_method() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR"));
    let methods = store_trait_methods(&web.join("../store/src"));
    assert!(methods.len() > 50, "the store's traits were not found: {methods:?}");
    assert!(methods.contains("portcullis_store::Store::migration_status"), "{methods:?}");
    let listed = disallowed(&std::fs::read_to_string(web.join("clippy.toml")).expect("clippy.toml"));
    let missing: Vec<String> = methods
        .difference(&listed)
        .map(|path| format!("    {{ path = \"{path}\", reason = \"web never calls the store: make it an authn/protocol/keys function\" }},"))
        .collect();
    assert!(missing.is_empty(), "add to crates/web/clippy.toml:\n{}", missing.join("\n"));
    let stale: Vec<&String> =
        listed.iter().filter(|p| p.starts_with("portcullis_store::") && !methods.contains(*p)).collect();
    assert!(stale.is_empty(), "remove from crates/web/clippy.toml (no such store trait method): {stale:?}");
}
