use portcullis_keys::{Algorithm, TokenSigner};
use portcullis_server::keys::revoke_key;
use portcullis_tests::{Backend, TestDatabase, both_backends, spawn_app_with};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) async fn published_kids(app: &portcullis_tests::TestApp) -> Vec<String> {
    let jwks: Value = app.get("/jwks").await.json().await.expect("json");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

/// Acceptance 6: `portcullis keys revoke KID` (the same library call), made
/// while the server runs, takes the key out of the JWKS within the refresh
/// interval, and later tokens carry another kid.
async fn a_revoked_key_leaves_the_jwks_within_the_refresh_interval(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_app_with(db, |s| s.keys.refresh_interval_secs = 1).await;
    let old = app.keys.live().current().active_kid(Algorithm::Es256).expect("active").to_owned();
    assert!(published_kids(&app).await.contains(&old));

    let replacement = revoke_key(&app.settings, app.store.clone(), &app.clock, &old)
        .await
        .expect("revoke")
        .expect("a replacement signs");

    // Poll until the running server has refreshed (bounded; no timing asserted).
    let deadline = Instant::now() + Duration::from_secs(30);
    while published_kids(&app).await.contains(&old) {
        assert!(Instant::now() < deadline, "{old} still published 30 s after revocation");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published_kids(&app).await.contains(&replacement));
    let token = app
        .keys
        .live()
        .sign_jwt(Algorithm::Es256, "JWT", json!({"sub": "u"}).as_object().expect("object"))
        .expect("sign");
    let header = jsonwebtoken::decode_header(&token).expect("header");
    assert_eq!(header.kid.as_deref(), Some(replacement.as_str()));
    assert_ne!(replacement, old);

    let audit = app.store.recent_audit(10).await.expect("audit");
    assert!(
        audit.iter().any(|e| e.event.kind == "signing_key.revoked" && e.event.detail["kid"] == old.as_str())
    );
}

async fn revoking_twice_or_an_unknown_kid_is_refused(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_app_with(db, |_| {}).await;
    let kid = app.keys.live().current().active_kid(Algorithm::Rs256).expect("active").to_owned();

    revoke_key(&app.settings, app.store.clone(), &app.clock, &kid).await.expect("first revoke");
    let again = revoke_key(&app.settings, app.store.clone(), &app.clock, &kid).await.expect_err("twice");
    assert_eq!(again.code, 1);
    assert!(again.message.contains("already revoked"), "{}", again.message);
    let unknown =
        revoke_key(&app.settings, app.store.clone(), &app.clock, "nope").await.expect_err("unknown");
    assert!(unknown.message.contains("nope"), "{}", unknown.message);
    // The algorithm still has exactly one signer.
    assert_eq!(db_active(&app, "RS256").await, 1);
}

async fn db_active(app: &portcullis_tests::TestApp, alg: &str) -> i64 {
    app.db.count(&format!("SELECT kid FROM signing_keys WHERE alg = '{alg}' AND state = 'active'")).await
}

/// Replacing an active key is one transaction: the successor is active
/// and the old key revoked together, or nothing changes (so no reader ever
/// finds the algorithm without an active key).
async fn an_active_key_is_swapped_for_its_successor_in_one_step(backend: Backend) {
    use portcullis_core::Clock;
    use portcullis_store::SigningKeyState;
    let app = spawn_app_with(Arc::new(TestDatabase::new(backend).await), |_| {}).await;
    let now = app.clock.now();
    let service = app.keys.service();
    let old = app.keys.live().current().active_kid(Algorithm::Es256).expect("active").to_owned();
    let next = service.rotate(Algorithm::Es256, now, false).await.expect("stage a successor");
    let states = || async {
        let keys = app.store.signing_keys().await.expect("keys");
        let state = |kid: &str| keys.iter().find(|k| k.kid == kid).map(|k| k.state);
        (state(&old), state(&next))
    };
    assert_eq!(states().await, (Some(SigningKeyState::Active), Some(SigningKeyState::Staged)));

    // The successor is not staged any more: nothing changes.
    let swapped = app.store.swap_active_signing_key(&old, SigningKeyState::Revoked, &old, now).await;
    assert!(!swapped.expect("swap"), "a key cannot succeed itself");
    assert_eq!(states().await, (Some(SigningKeyState::Active), Some(SigningKeyState::Staged)));

    assert!(
        app.store.swap_active_signing_key(&old, SigningKeyState::Revoked, &next, now).await.expect("swap")
    );
    assert_eq!(states().await, (Some(SigningKeyState::Revoked), Some(SigningKeyState::Active)));
    let again = app.store.swap_active_signing_key(&old, SigningKeyState::Revoked, &next, now).await;
    assert!(!again.expect("swap again"), "the old key is no longer active");
    assert_eq!(states().await, (Some(SigningKeyState::Revoked), Some(SigningKeyState::Active)));
}

both_backends!(
    a_revoked_key_leaves_the_jwks_within_the_refresh_interval,
    revoking_twice_or_an_unknown_kid_is_refused,
    an_active_key_is_swapped_for_its_successor_in_one_step,
);
