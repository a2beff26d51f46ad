//! The second-factor repository behaves the same on both backends: passkeys
//! unique by credential, TOTP steps accepted once and only forwards,
//! recovery codes used once, session state taken once and dying with its
//! session.

use portcullis_store::{Effects, FactorRef, PasskeyRow, Session, StoreError};
use portcullis_tests::{Backend, both_backends, test_store};
use time::Duration;
use uuid::Uuid;

use crate::grants::{T0, user};

fn passkey(user_id: Uuid, credential: &str, name: &str, at: time::OffsetDateTime) -> PasskeyRow {
    PasskeyRow {
        id: Uuid::new_v4(),
        user_id,
        credential_id: credential.into(),
        name: name.into(),
        passkey: format!("{{\"cred\":\"{credential}\"}}"),
        created_at: at,
        last_used_at: None,
    }
}

async fn passkeys_are_per_user_and_unique_by_credential(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let (alice, bob) = (user(&*store, "alice").await, user(&*store, "bob").await);
    let laptop = passkey(alice, "cred-1", "Laptop", T0);
    let phone = passkey(alice, "cred-2", "Phone", T0 + Duration::minutes(1));
    store.add_passkey(&laptop).await.expect("add");
    store.add_passkey(&phone).await.expect("add");
    let stolen = passkey(bob, "cred-1", "Bob's", T0);
    assert!(
        matches!(store.add_passkey(&stolen).await, Err(StoreError::Conflict(_))),
        "a credential id is unique"
    );
    assert_eq!(store.list_passkeys(alice).await.expect("list"), vec![laptop.clone(), phone.clone()]);
    assert!(store.list_passkeys(bob).await.expect("list").is_empty());
    assert_eq!(store.find_passkey_by_credential("cred-2").await.expect("find"), Some(phone.clone()));

    store.record_passkey_use(phone.id, "{\"counter\":2}", T0 + Duration::hours(1)).await.expect("use");
    let used = store.find_passkey_by_credential("cred-2").await.expect("find").expect("phone");
    assert_eq!(used.last_used_at, Some(T0 + Duration::hours(1)));
    assert_eq!(used.passkey, "{\"counter\":2}");

    let none = Effects::default();
    let remove = |user, id| store.remove_factor(user, FactorRef::Passkey(id), T0, &none);
    assert!(remove(bob, laptop.id).await.expect("remove").is_none(), "only the owner removes");
    assert!(remove(alice, laptop.id).await.expect("remove").is_some());
    assert_eq!(store.list_passkeys(alice).await.expect("list"), vec![used]);
}

async fn totp_steps_are_accepted_once_and_only_forwards(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    assert!(store.find_totp(alice).await.expect("find").is_none());
    assert!(!store.accept_totp_step(alice, 100, false, T0).await.expect("no secret"));

    store.begin_totp(alice, "sealed-1", T0).await.expect("begin");
    store.begin_totp(alice, "sealed-2", T0).await.expect("restart while unconfirmed");
    assert!(!store.accept_totp_step(alice, 100, false, T0).await.expect("unconfirmed does not count"));
    assert!(store.accept_totp_step(alice, 100, true, T0).await.expect("confirm"));
    let row = store.find_totp(alice).await.expect("find").expect("row");
    assert_eq!(
        (row.secret_sealed.as_str(), row.confirmed_at, row.last_step),
        ("sealed-2", Some(T0), Some(100))
    );
    assert!(!store.accept_totp_step(alice, 101, true, T0).await.expect("confirmed once"));
    assert!(matches!(store.begin_totp(alice, "sealed-3", T0).await, Err(StoreError::Conflict(_))));

    assert!(!store.accept_totp_step(alice, 100, false, T0).await.expect("replay"));
    assert!(!store.accept_totp_step(alice, 99, false, T0).await.expect("older"));
    assert!(store.accept_totp_step(alice, 101, false, T0).await.expect("next"));
    assert!(!store.accept_totp_step(alice, 101, false, T0).await.expect("replay"));
    assert!(
        store.remove_factor(alice, FactorRef::Totp, T0, &Effects::default()).await.expect("remove").is_some()
    );
    assert!(
        store.remove_factor(alice, FactorRef::Totp, T0, &Effects::default()).await.expect("again").is_none()
    );
}

async fn recovery_codes_are_used_once_and_replaced(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    let hashes: Vec<String> = (0..10).map(|i| format!("hash-{i}")).collect();
    store.replace_recovery_codes(alice, &hashes, T0).await.expect("replace");
    assert_eq!(store.count_recovery_codes(alice).await.expect("count"), 10);
    assert!(store.use_recovery_code(alice, "hash-3", T0).await.expect("use"));
    assert!(!store.use_recovery_code(alice, "hash-3", T0).await.expect("again"));
    assert!(!store.use_recovery_code(alice, "nope", T0).await.expect("unknown"));
    assert_eq!(store.count_recovery_codes(alice).await.expect("count"), 9);
    store.replace_recovery_codes(alice, &["fresh".to_owned()], T0).await.expect("replace");
    assert!(!store.use_recovery_code(alice, "hash-4", T0).await.expect("old codes gone"));
    assert_eq!(store.count_recovery_codes(alice).await.expect("count"), 1);
    store.set_mfa_required(alice, true, T0, &Effects::default()).await.expect("flag");
    assert!(store.find_user(alice).await.expect("find").expect("alice").mfa_required);
    assert!(matches!(
        store.set_mfa_required(Uuid::new_v4(), true, T0, &Effects::default()).await,
        Err(StoreError::NotFound)
    ));
}

async fn session_state_is_taken_once_and_dies_with_the_session(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    let session = Session {
        id_hash: "h1".into(),
        sid: "sid-1".into(),
        csrf_token: "c".into(),
        user_id: Some(alice),
        auth_time: Some(T0),
        amr: vec!["pwd".into()],
        acr: None,
        upstream_id: None,
        ip: None,
        user_agent: None,
        created_at: T0,
        last_seen_at: T0,
    };
    store.create_session(&session).await.expect("session");
    let until = T0 + Duration::minutes(5);
    store.put_session_state("h1", "passkey_signin", "state-a", until).await.expect("put");
    store.put_session_state("h1", "passkey_signin", "state-b", until).await.expect("replace");
    assert_eq!(
        store.find_session_state("h1", "passkey_signin", T0).await.expect("find").as_deref(),
        Some("state-b")
    );
    assert_eq!(
        store.take_session_state("h1", "passkey_signin", T0).await.expect("take").as_deref(),
        Some("state-b")
    );
    assert_eq!(store.take_session_state("h1", "passkey_signin", T0).await.expect("take"), None, "single use");

    store.put_session_state("h1", "late", "x", until).await.expect("put");
    assert_eq!(store.take_session_state("h1", "late", until).await.expect("take"), None, "expired");
    store.put_session_state("h1", "old", "x", until).await.expect("put");
    assert_eq!(store.delete_expired_session_states(until).await.expect("sweep"), 1);

    store.put_session_state("h1", "kept", "x", until).await.expect("put");
    let mut rotated = session.clone();
    rotated.id_hash = "h2".into();
    store.replace_session("h1", &rotated).await.expect("rotate");
    assert_eq!(store.find_session_state("h1", "kept", T0).await.expect("find"), None, "dies with the old id");
    assert_eq!(store.list_user_sessions(alice).await.expect("list"), vec![rotated]);
}

both_backends!(passkeys_are_per_user_and_unique_by_credential);
both_backends!(totp_steps_are_accepted_once_and_only_forwards);
both_backends!(recovery_codes_are_used_once_and_replaced);
both_backends!(session_state_is_taken_once_and_dies_with_the_session);
