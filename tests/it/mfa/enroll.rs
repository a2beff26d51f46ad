//! `MfaRepo::enroll_factor` on both backends: the factor (or the new
//! recovery codes) and the notice commit together, or neither does.

use portcullis_store::{Effects, Enrollment, NewMail, PasskeyRow, StoreError};
use portcullis_tests::{Backend, both_backends, test_store};
use time::Duration;
use uuid::Uuid;

use crate::grants::{T0, user};

fn notice(to: &str) -> Vec<NewMail> {
    vec![NewMail { to: to.into(), subject: "notice".into(), text: "t".into(), html: "<p>h</p>".into() }]
}

fn hashes(prefix: &str) -> Vec<String> {
    (0..3).map(|i| format!("{prefix}-{i}")).collect()
}

async fn pending_mails(store: &dyn portcullis_store::Store) -> u64 {
    store.outbox_stats().await.expect("stats").pending
}

async fn a_totp_step_codes_and_notice_commit_together(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    let first = hashes("first");
    let enrollment = Enrollment::Totp { step: 100, recovery_codes: Some(&first) };
    assert!(
        !store.enroll_factor(alice, enrollment, T0, &Effects::mails(&notice("a@x"))).await.expect("no app"),
        "no pending app"
    );
    assert_eq!(
        (pending_mails(&*store).await, store.count_recovery_codes(alice).await.expect("count")),
        (0, 0)
    );

    store.begin_totp(alice, "sealed", T0).await.expect("begin");
    assert!(
        store.enroll_factor(alice, enrollment, T0, &Effects::mails(&notice("a@x"))).await.expect("confirm")
    );
    let totp = store.find_totp(alice).await.expect("find").expect("app");
    assert_eq!((totp.confirmed_at, totp.last_step), (Some(T0), Some(100)));
    assert_eq!(
        (pending_mails(&*store).await, store.count_recovery_codes(alice).await.expect("count")),
        (1, 3)
    );

    let later = T0 + Duration::minutes(1);
    let again = Enrollment::Totp { step: 101, recovery_codes: None };
    assert!(
        !store.enroll_factor(alice, again, later, &Effects::mails(&notice("a@x"))).await.expect("confirmed"),
        "once only"
    );
    assert_eq!(pending_mails(&*store).await, 1, "a refused step queues nothing");
}

async fn recovery_codes_are_replaced_with_their_notice(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    let (old, new) = (hashes("old"), hashes("new"));
    assert!(
        store
            .enroll_factor(alice, Enrollment::RecoveryCodes(&old), T0, &Effects::default())
            .await
            .expect("first")
    );
    assert!(
        store
            .enroll_factor(alice, Enrollment::RecoveryCodes(&new), T0, &Effects::mails(&notice("a@x")))
            .await
            .expect("new")
    );
    assert!(!store.use_recovery_code(alice, "old-0", T0).await.expect("old"), "the old set is gone");
    assert!(store.use_recovery_code(alice, "new-0", T0).await.expect("new"));
    assert_eq!(pending_mails(&*store).await, 1);
}

async fn a_passkey_conflict_queues_no_notice(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let (alice, bob) = (user(&*store, "alice").await, user(&*store, "bob").await);
    let passkey = |user_id| PasskeyRow {
        id: Uuid::new_v4(),
        user_id,
        credential_id: "cred-1".into(),
        name: "Laptop".into(),
        passkey: "{}".into(),
        created_at: T0,
        last_used_at: None,
    };
    let laptop = passkey(alice);
    assert!(
        store
            .enroll_factor(alice, Enrollment::Passkey(&laptop), T0, &Effects::mails(&notice("a@x")))
            .await
            .expect("add")
    );
    assert_eq!(store.list_passkeys(alice).await.expect("list"), vec![laptop]);
    let stolen = passkey(bob);
    let refused =
        store.enroll_factor(bob, Enrollment::Passkey(&stolen), T0, &Effects::mails(&notice("b@x"))).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_eq!(pending_mails(&*store).await, 1, "the refused passkey's notice rolled back with it");
    assert!(store.list_passkeys(bob).await.expect("list").is_empty());
}

both_backends!(
    a_totp_step_codes_and_notice_commit_together,
    recovery_codes_are_replaced_with_their_notice,
    a_passkey_conflict_queues_no_notice,
);
