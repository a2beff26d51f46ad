#![no_main]
//! `config_toml`: see `portcullis_fuzz_harness::config_toml`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = portcullis_fuzz_harness::config_toml(data);
});
