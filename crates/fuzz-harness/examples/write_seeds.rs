//! Writes `fuzz/seeds/<target>/` from [`portcullis_fuzz_harness::seeds::all`]
//! (signed tokens differ at each run: ES256 signatures are randomised).
//! Run after changing the seeds:
//!
//! ```sh
//! cargo run -p portcullis-fuzz-harness --example write_seeds
//! ```
//!
//! `tests/it/fuzz.rs` then checks them (a seed named `ok-…` must be
//! accepted, one named `no-…` refused).

use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    for (target, name, data) in portcullis_fuzz_harness::seeds::all() {
        let target_dir = dir.join(target);
        std::fs::create_dir_all(&target_dir)?;
        std::fs::write(target_dir.join(name), data)?;
    }
    Ok(())
}
