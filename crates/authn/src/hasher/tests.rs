//! Hashing and verification, and agreement with argon2's own
//! `hash_password` and `verify_password` whatever the stored parameters.

use super::*;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Version};

fn cheap(memory_kib: u32) -> PasswordHasher {
    PasswordHasher::new(Argon2Cost { memory_kib, iterations: 1, parallelism: 1 }).expect("valid")
}

#[test]
fn hashes_are_argon2id_salted_and_verify() {
    let hasher = cheap(64);
    let a = hasher.hash(&Password::new("correct horse")).expect("hash");
    let b = hasher.hash(&Password::new("correct horse")).expect("hash");
    assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{a}");
    assert_ne!(a, b);
    let right = hasher.verify(Some(&a), &Password::new("correct horse"));
    assert_eq!(right, Verification::Match { needs_rehash: false });
    assert_eq!(hasher.verify(Some(&a), &Password::new("wrong horse")), Verification::Mismatch);
    assert_eq!(hasher.verify(None, &Password::new("correct horse")), Verification::Mismatch);
    assert_eq!(hasher.verify(Some("garbage"), &Password::new("x")), Verification::Mismatch);
    assert_eq!(hasher.verifications(), 4);
}

#[test]
fn outdated_parameters_ask_for_a_rehash() {
    let old = cheap(64).hash(&Password::new("correct horse")).expect("hash");
    let newer = cheap(128);
    assert_eq!(
        newer.verify(Some(&old), &Password::new("correct horse")),
        Verification::Match { needs_rehash: true }
    );
}

#[test]
fn owasp_defaults_and_bad_parameters() {
    assert_eq!(Argon2Cost::default(), Argon2Cost { memory_kib: 19456, iterations: 2, parallelism: 1 });
    let err = PasswordHasher::new(Argon2Cost { memory_kib: 1, iterations: 1, parallelism: 1 });
    assert!(matches!(err, Err(AuthnError::Parameters(_))));
}

/// A PHC string made by argon2 itself (not through [`PasswordHasher`]).
fn argon2_hash(algorithm: Algorithm, version: Version, params: Params, password: &str) -> String {
    use argon2::PasswordHasher as _;
    let salt = portcullis_core::random::bytes::<16>();
    Argon2::new(algorithm, version, params)
        .hash_password_with_salt(password.as_bytes(), &salt)
        .expect("hash")
        .to_string()
}

fn params(m: u32, t: u32, p: u32, output_len: Option<usize>) -> Params {
    Params::new(m, t, p, output_len).expect("params")
}

#[test]
fn new_hashes_verify_with_argon2_itself() {
    use argon2::PasswordVerifier as _;
    let hash = cheap(64).hash(&Password::new("correct horse")).expect("hash");
    let parsed = PasswordHash::new(&hash).expect("phc");
    assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
    assert!(Argon2::default().verify_password(b"wrong horse", &parsed).is_err());
}

#[test]
fn argon2s_own_hashes_verify_with_their_own_parameters() {
    use Algorithm::{Argon2d, Argon2i, Argon2id};
    // Configured: m = 256, t = 1, p = 1. The first fills this thread's
    // buffer; the smaller ones then run on what it left there; the larger
    // one runs on memory of its own.
    let hasher = cheap(256);
    let cases = [
        (Argon2id, Version::V0x13, params(256, 1, 1, None), false),
        (Argon2id, Version::V0x13, params(128, 2, 2, Some(40)), true),
        (Argon2i, Version::V0x10, params(32, 3, 1, None), true),
        (Argon2d, Version::V0x13, params(256, 1, 1, None), true),
        (Argon2id, Version::V0x13, params(512, 1, 1, None), true),
    ];
    for (algorithm, version, params, needs_rehash) in cases {
        let stored = argon2_hash(algorithm, version, params, "correct horse");
        let right = hasher.verify(Some(&stored), &Password::new("correct horse"));
        assert_eq!(right, Verification::Match { needs_rehash }, "{stored}");
        assert_eq!(
            hasher.verify(Some(&stored), &Password::new("correct horsf")),
            Verification::Mismatch,
            "{stored}"
        );
    }
}

#[test]
fn an_absurd_memory_cost_is_refused_not_allocated() {
    let hasher = cheap(64);
    let stored = hasher.hash(&Password::new("correct horse")).expect("hash");
    // 4 GiB: refused at parsing, and verified against the dummy instead.
    let absurd = stored.replace("m=64,", "m=4194304,");
    assert!(compute::StoredHash::parse(&absurd).is_err());
    assert_eq!(hasher.verify(Some(&absurd), &Password::new("correct horse")), Verification::Mismatch);
    assert_eq!(hasher.verifications(), 1);
    assert!(compute::StoredHash::parse(&stored.replace("m=64,", "m=1048576,")).is_ok(), "1 GiB is allowed");
    let saltless = stored.rsplitn(3, '$').last().expect("prefix");
    assert!(compute::StoredHash::parse(saltless).is_err(), "{saltless}");
}

#[test]
fn a_thread_keeps_one_buffer_at_the_configured_cost() {
    std::thread::spawn(|| {
        let hasher = cheap(64);
        assert_eq!(compute::kept_blocks(), 0, "building the hasher keeps nothing");
        let stored = hasher.hash(&Password::new("correct horse")).expect("hash");
        assert_eq!(compute::kept_blocks(), 64);
        let larger =
            argon2_hash(Algorithm::Argon2id, Version::V0x13, params(256, 1, 1, None), "correct horse");
        assert!(matches!(
            hasher.verify(Some(&larger), &Password::new("correct horse")),
            Verification::Match { .. }
        ));
        assert_eq!(compute::kept_blocks(), 64, "a larger old hash does not grow the buffer");
        assert_eq!(
            hasher.verify(Some(&stored), &Password::new("correct horse")),
            Verification::Match { needs_rehash: false }
        );
        assert_eq!(hasher.verify(None, &Password::new("correct horse")), Verification::Mismatch);
        assert_eq!(compute::kept_blocks(), 64);
    })
    .join()
    .expect("thread");
}
