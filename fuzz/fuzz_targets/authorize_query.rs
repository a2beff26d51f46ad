#![no_main]
//! `authorize_query`: see `portcullis_fuzz_harness::authorize_query`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = portcullis_fuzz_harness::authorize_query(data);
});
