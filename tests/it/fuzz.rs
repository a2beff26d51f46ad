//! The fuzz targets' regression tests, on stable: every committed input of
//! `fuzz/corpus/<target>/`, `fuzz/seeds/<target>/` and
//! `fuzz/regressions/<target>/` goes through the same harness function the
//! target runs (`portcullis_fuzz_harness`), which must not panic. Seeds also
//! assert their outcome: `ok-…` accepted, `no-…` rejected. `scripts/fuzz`
//! grows the corpus and adds crash reproducers to `regressions/`.

use portcullis_fuzz_harness::{Harness, Outcome, TARGETS};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `dir` (not its dot-files), sorted; none if it is missing.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    files
}

fn harness(target: &str) -> Harness {
    TARGETS.iter().find(|(name, _)| *name == target).map(|(_, f)| *f).expect("a known target")
}

/// Runs `target` over its corpus, seeds and regressions.
fn replay(target: &str) {
    let run = harness(target);
    let dir = fuzz_dir();
    let corpus = inputs(&dir.join("corpus").join(target));
    assert!(!corpus.is_empty(), "fuzz/corpus/{target}/ is missing or empty: nothing would be checked");
    let seeds = inputs(&dir.join("seeds").join(target));
    assert!(!seeds.is_empty(), "fuzz/seeds/{target}/ is missing or empty");
    let regressions = inputs(&dir.join("regressions").join(target));
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).expect("read an input");
        // A panic names the file through this wrapper.
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target} panicked on {}", path.display());
    }
    let mut accepted = 0;
    for path in &seeds {
        let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
        let outcome = run(&std::fs::read(path).expect("read a seed"));
        if name.starts_with("ok-") {
            assert_eq!(outcome, Outcome::Accepted, "seed {target}/{name} is refused");
            accepted += 1;
        } else if name.starts_with("no-") {
            assert_eq!(outcome, Outcome::Rejected, "seed {target}/{name} is accepted");
        } else {
            panic!("seed {target}/{name}: name it ok-… or no-…");
        }
    }
    assert!(accepted > 0, "{target}: no seed reaches the end of the happy path");
}

#[test]
fn authorize_query_corpus() {
    replay("authorize_query");
}

#[test]
fn token_form_corpus() {
    replay("token_form");
}

#[test]
fn jwt_corpus() {
    replay("jwt");
}

#[test]
fn config_toml_corpus() {
    replay("config_toml");
}

/// Every target has its test above.
#[test]
fn every_target_is_replayed() {
    let names: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["authorize_query", "token_form", "jwt", "config_toml"]);
    for name in names {
        assert!(fuzz_dir().join("fuzz_targets").join(format!("{name}.rs")).is_file(), "{name} has no target");
    }
}
