#![no_main]
//! `jwt`: see `portcullis_fuzz_harness::jwt`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = portcullis_fuzz_harness::jwt(data);
});
