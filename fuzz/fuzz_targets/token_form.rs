#![no_main]
//! `token_form`: see `portcullis_fuzz_harness::token_form`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = portcullis_fuzz_harness::token_form(data);
});
