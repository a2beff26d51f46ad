use portcullis_keys::Kek;
use portcullis_server::Application;
use portcullis_server::settings::SecretKey;
use portcullis_tests::{Backend, TestDatabase, both_backends, spawn_app_with, test_settings};
use serde_json::{Map, Value};
use std::sync::Arc;

use super::with_new_kek;

/// Rows of `signing_keys` whose key columns contain `needle` (a LIKE match:
/// `_` matches any character, so this can only over-report).
async fn rows_containing(db: &TestDatabase, needle: &str) -> i64 {
    let needle = needle.replace('\'', "''");
    db.count(&format!(
        "SELECT kid FROM signing_keys WHERE sealed_private_key LIKE '%{needle}%' OR public_jwk LIKE '%{needle}%'"
    ))
    .await
}

/// Acceptance 2: the rows hold no private key material in plaintext.
async fn private_keys_are_stored_encrypted(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let mut kek = None;
    let app = spawn_app_with(db.clone(), |s| kek = Some(with_new_kek(s))).await;
    let kek = kek.expect("kek");

    let rows = app.store.signing_keys().await.expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows_containing(&db, "\"d\"").await, 0, "a JSON member \"d\" is stored in plaintext");
    for row in &rows {
        let private: Map<String, Value> =
            serde_json::from_slice(&kek.open(&row.kid, &row.sealed_private_key).expect("opens"))
                .expect("json");
        for member in ["d", "p", "q", "dp", "dq", "qi"] {
            if let Some(secret) = private.get(member).and_then(Value::as_str) {
                assert!(secret.len() >= 40, "{member} is a real secret");
                assert_eq!(
                    rows_containing(&db, secret).await,
                    0,
                    "{}: {member} stored in plaintext",
                    row.alg
                );
            }
        }
        // The same search finds what is stored in the clear: the public key.
        let public =
            private.get("n").or_else(|| private.get("x")).and_then(Value::as_str).expect("public part");
        assert_eq!(rows_containing(&db, public).await, 1);
    }
}

/// Acceptance 2: a wrong key-encryption key stops the start, naming the problem.
async fn a_wrong_kek_is_a_startup_error_not_a_new_key_set(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let first = spawn_app_with(db.clone(), |s| {
        with_new_kek(s);
    })
    .await;
    first.stop().await;
    let keys_before = db.count("SELECT kid FROM signing_keys").await;

    let mut settings = test_settings(&db);
    settings.keys.encryption_key = Some(SecretKey::new(Kek::generate().to_base64url()));
    let clock = Arc::new(portcullis_core::ManualClock::new(time::macros::datetime!(2026-01-02 09:00 UTC)));
    let err = Application::build_with_clock(&settings, clock).await.expect_err("must not start");

    let line = err.to_string();
    assert!(line.contains("key-encryption key"), "{line}");
    assert!(!line.contains('\n'), "{line}");
    assert_eq!(db.count("SELECT kid FROM signing_keys").await, keys_before, "no new keys");
}

both_backends!(private_keys_are_stored_encrypted, a_wrong_kek_is_a_startup_error_not_a_new_key_set);
