//! The account repositories behave the same on both backends.

use portcullis_store::{Effects, LockoutPolicy, NewUser, Session, StoreError};
use portcullis_tests::{Backend, both_backends, test_store};
use time::macros::datetime;
use uuid::Uuid;

pub(crate) fn new_user(username: &str, email: &str) -> NewUser {
    NewUser {
        id: Uuid::new_v4(),
        username: username.into(),
        email: email.into(),
        email_verified: true,
        display_name: Some("Alice A.".into()),
        roles: vec!["admin".into()],
        password_hash: Some("$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA".into()),
        created_at: datetime!(2026-02-01 08:00:00.75 UTC),
    }
}

async fn users_round_trip_and_are_unique_case_insensitively(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    assert_eq!(store.count_users().await.expect("count"), 0);
    let new = new_user("Alice", "Alice@Example.com");
    let alice = store.create_user(&new).await.expect("create");
    assert_eq!(alice.id, new.id);
    assert_eq!(alice.username, "Alice");
    assert_eq!(alice.roles, vec!["admin".to_owned()]);
    assert!(alice.email_verified && !alice.disabled);
    assert_eq!(alice.created_at, datetime!(2026-02-01 08:00 UTC));
    assert_eq!(alice.updated_at, alice.created_at);

    for (u, e) in [("ALICE", "other@example.com"), ("bob", "alice@EXAMPLE.com")] {
        let err = store.create_user(&new_user(u, e)).await.expect_err("duplicate");
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    }
    assert_eq!(store.find_user_by_login("alice").await.expect("find"), Some(alice.clone()));
    assert_eq!(store.find_user_by_login("ALICE@example.COM").await.expect("find"), Some(alice.clone()));
    assert_eq!(store.find_user_by_login("nobody").await.expect("find"), None);
    assert_eq!(store.find_user(alice.id).await.expect("find"), Some(alice.clone()));

    store.create_user(&new_user("bob", "bob@example.com")).await.expect("create");
    let names: Vec<_> = store.list_users().await.expect("list").into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["Alice", "bob"]);
    assert_eq!(store.count_users().await.expect("count"), 2);

    let later = datetime!(2026-02-02 09:30 UTC);
    store.set_password_hash(alice.id, "$argon2id$new", later).await.expect("set");
    store.disable_user(alice.id, later, &Effects::default()).await.expect("disable");
    let changed = store.find_user(alice.id).await.expect("find").expect("user");
    assert_eq!(changed.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(changed.security_stamp, alice.security_stamp, "the same password rehashed: the same stamp");
    store.change_password(alice.id, "$argon2id$newer", later, &Effects::default()).await.expect("change");
    let changed = store.find_user(alice.id).await.expect("find").expect("user");
    assert_ne!(changed.security_stamp, alice.security_stamp, "a new password: a new stamp");
    assert!(changed.disabled);
    assert_eq!(changed.updated_at, later);
    let missing = store.disable_user(Uuid::new_v4(), later, &Effects::default()).await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
    store.enable_user(alice.id, later, &Effects::default()).await.expect("enable");
    assert!(!store.find_user(alice.id).await.expect("find").expect("user").disabled);
}

async fn sessions_round_trip_and_end(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let user = store.create_user(&new_user("alice", "alice@example.com")).await.expect("user");
    let at = datetime!(2026-02-01 08:00 UTC);
    let session = Session {
        id_hash: "h1".into(),
        sid: "sid-1".into(),
        csrf_token: "c1".into(),
        user_id: Some(user.id),
        auth_time: Some(at),
        amr: vec!["pwd".into()],
        acr: Some("1".into()),
        upstream_id: None,
        ip: Some("192.0.2.1".into()),
        user_agent: Some("ua".into()),
        created_at: at,
        last_seen_at: at,
    };
    store.create_session(&session).await.expect("create");
    let anonymous = Session {
        id_hash: "h2".into(),
        sid: "sid-2".into(),
        user_id: None,
        auth_time: None,
        amr: vec![],
        acr: None,
        upstream_id: None,
        ..session.clone()
    };
    store.create_session(&anonymous).await.expect("create");
    assert!(matches!(store.create_session(&anonymous).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.find_session("h1").await.expect("find"), Some(session.clone()));
    assert_eq!(store.find_session("h2").await.expect("find"), Some(anonymous));

    store.touch_session("h1", datetime!(2026-02-01 08:05 UTC)).await.expect("touch");
    let touched = store.find_session("h1").await.expect("find").expect("row");
    assert_eq!(touched.last_seen_at, datetime!(2026-02-01 08:05 UTC));

    assert_eq!(store.delete_user_sessions(user.id).await.expect("delete"), 1);
    assert_eq!(store.find_session("h1").await.expect("find"), None);
    assert!(store.delete_session("h2").await.expect("delete"));
    assert!(!store.delete_session("h2").await.expect("delete"));
}

async fn expired_rows_are_swept(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let t0 = datetime!(2026-02-01 08:00 UTC);
    let session = |id: &str, created_at, last_seen_at| Session {
        id_hash: id.into(),
        sid: format!("sid-{id}"),
        csrf_token: "c".into(),
        user_id: None,
        auth_time: None,
        amr: vec![],
        acr: None,
        upstream_id: None,
        ip: None,
        user_agent: None,
        created_at,
        last_seen_at,
    };
    let t1 = datetime!(2026-02-01 09:00 UTC);
    store.create_session(&session("idle", t0, t0)).await.expect("create");
    store.create_session(&session("old", t0, t1)).await.expect("create");
    store.create_session(&session("live", t1, t1)).await.expect("create");
    let just_before = datetime!(2026-02-01 07:59:59 UTC);
    assert_eq!(store.delete_expired_sessions(just_before, just_before).await.expect("sweep"), 0);
    assert_eq!(store.delete_expired_sessions(t0, just_before).await.expect("sweep"), 1, "idle only");
    assert_eq!(store.delete_expired_sessions(t0, t0).await.expect("sweep"), 1, "absolute too");
    assert!(store.find_session("live").await.expect("find").is_some());

    let lenient = LockoutPolicy {
        max_failures: 5,
        base_delay: time::Duration::minutes(1),
        max_delay: time::Duration::minutes(10),
        window: time::Duration::minutes(10),
    };
    // The first failure blocks until 12:00.
    let blocking = LockoutPolicy {
        max_failures: 1,
        base_delay: time::Duration::hours(4),
        max_delay: time::Duration::hours(4),
        ..lenient
    };
    store.reserve_attempt("quiet", &lenient, t0).await.expect("reserve");
    store.reserve_attempt("blocking", &blocking, t0).await.expect("reserve");
    store.reserve_attempt("recent", &lenient, t1).await.expect("reserve");
    assert_eq!(store.delete_stale_rate_limits(t1, t1).await.expect("sweep"), 1);
    assert!(store.find_rate_limit("quiet").await.expect("find").is_none());
    assert!(store.find_rate_limit("blocking").await.expect("find").is_some());

    store.create_setup_token("gone", t0).await.expect("create");
    assert_eq!(store.delete_expired_setup_tokens(t0).await.expect("sweep"), 1);
    store.create_setup_token("valid", t1).await.expect("create");
    assert_eq!(store.delete_expired_setup_tokens(t0).await.expect("sweep"), 0);
    assert!(store.setup_token_valid("valid", t0).await.expect("valid"));
}

async fn setup_tokens_are_single_use_and_expire(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let expires = datetime!(2026-02-01 09:00 UTC);
    store.create_setup_token("t1", expires).await.expect("create");
    let before = datetime!(2026-02-01 08:59:59 UTC);
    assert!(store.setup_token_valid("t1", before).await.expect("valid"));
    assert!(!store.setup_token_valid("t1", expires).await.expect("expired"));
    assert!(!store.consume_setup_token("t1", expires).await.expect("expired"));
    assert!(store.consume_setup_token("t1", before).await.expect("consume"));
    assert!(!store.consume_setup_token("t1", before).await.expect("single use"));
    assert!(!store.setup_token_valid("nope", before).await.expect("unknown"));
    // A new token replaces every earlier one.
    store.create_setup_token("t2", expires).await.expect("create");
    store.create_setup_token("t3", expires).await.expect("create");
    assert!(!store.setup_token_valid("t2", before).await.expect("replaced"));
    assert!(!store.consume_setup_token("t2", before).await.expect("replaced"));
    assert!(store.setup_token_valid("t3", before).await.expect("valid"));
}

both_backends!(
    users_round_trip_and_are_unique_case_insensitively,
    sessions_round_trip_and_end,
    expired_rows_are_swept,
    setup_tokens_are_single_use_and_expire,
);
