//! Linked upstream identities behave the same on both backends.

use crate::accounts::repos::new_user;
use crate::store::audit::event;
use portcullis_store::{AuditOutcome, Effects, StoreError, UpstreamIdentity};
use portcullis_tests::{Backend, both_backends, test_store};
use time::macros::datetime;
use uuid::Uuid;

fn identity(issuer: &str, subject: &str, user_id: Uuid) -> UpstreamIdentity {
    UpstreamIdentity {
        issuer: issuer.into(),
        subject: subject.into(),
        upstream_id: "corp".into(),
        user_id,
        email: Some("ada@corp.example".into()),
        linked_at: datetime!(2026-03-01 10:00:00.5 UTC),
        last_sign_in_at: None,
    }
}

async fn an_identity_links_to_one_account_with_its_audit_event(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let ada = store.create_user(&new_user("ada", "ada@example.com")).await.expect("ada");
    let bob = store.create_user(&new_user("bob", "bob@example.com")).await.expect("bob");
    let linked = [event("upstream.linked", AuditOutcome::Success, 1)];

    assert_eq!(store.find_upstream_identity("https://corp.example", "ada-1").await.expect("find"), None);
    let ada_at_corp = identity("https://corp.example", "ada-1", ada.id);
    store.link_upstream_identity(&ada_at_corp, &Effects::audit(&linked)).await.expect("link");
    let found = store.find_upstream_identity("https://corp.example", "ada-1").await.expect("find");
    let expected = UpstreamIdentity { linked_at: datetime!(2026-03-01 10:00 UTC), ..ada_at_corp.clone() };
    assert_eq!(found, Some(expected.clone()), "instants are kept to the second");
    assert_eq!(store.recent_audit(10).await.expect("audit").len(), 1);

    // The same identity again, for Bob or for Ada: refused, nothing written.
    for user in [bob.id, ada.id] {
        let err = store
            .link_upstream_identity(
                &identity("https://corp.example", "ada-1", user),
                &Effects::audit(&linked),
            )
            .await
            .expect_err("linked already");
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    }
    let err = store
        .link_upstream_identity(
            &identity("https://corp.example", "x", Uuid::new_v4()),
            &Effects::audit(&linked),
        )
        .await
        .expect_err("no such user");
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.recent_audit(10).await.expect("audit").len(), 1, "refused links write no event");

    // The subject is only unique within its issuer; exact, case-sensitive.
    store
        .link_upstream_identity(&identity("https://other.example", "ada-1", bob.id), &Effects::default())
        .await
        .expect("other issuer");
    store
        .link_upstream_identity(&identity("https://corp.example", "ADA-1", bob.id), &Effects::default())
        .await
        .expect("other subject");
    assert_eq!(store.user_upstream_identities(ada.id).await.expect("list"), vec![expected]);
    let bobs = store.user_upstream_identities(bob.id).await.expect("list");
    let bobs: Vec<_> = bobs.iter().map(|i| (i.issuer.as_str(), i.subject.as_str())).collect();
    assert_eq!(bobs, [("https://corp.example", "ADA-1"), ("https://other.example", "ada-1")]);
}

async fn unlinking_takes_only_the_holders_link_and_deletion_takes_all(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let ada = store.create_user(&new_user("ada", "ada@example.com")).await.expect("ada");
    let bob = store.create_user(&new_user("bob", "bob@example.com")).await.expect("bob");
    store
        .link_upstream_identity(&identity("https://corp.example", "ada-1", ada.id), &Effects::default())
        .await
        .expect("link");
    let at = datetime!(2026-03-02 09:00 UTC);
    let unlinked = [event("upstream.unlinked", AuditOutcome::Success, 2)];

    assert!(
        !store
            .unlink_upstream_identity(bob.id, "https://corp.example", "ada-1", at, &Effects::audit(&unlinked))
            .await
            .expect("bob"),
        "not Bob's to unlink"
    );
    assert!(store.find_upstream_identity("https://corp.example", "ada-1").await.expect("find").is_some());
    assert!(store.recent_audit(10).await.expect("audit").is_empty());
    assert!(
        store
            .unlink_upstream_identity(ada.id, "https://corp.example", "ada-1", at, &Effects::audit(&unlinked))
            .await
            .expect("ada")
    );
    assert_eq!(store.find_upstream_identity("https://corp.example", "ada-1").await.expect("find"), None);
    assert_eq!(store.recent_audit(10).await.expect("audit").len(), 1);
    assert!(
        !store
            .unlink_upstream_identity(ada.id, "https://corp.example", "ada-1", at, &Effects::audit(&unlinked))
            .await
            .expect("again")
    );

    // Sign-ins are recorded; a deleted account takes its links along.
    store
        .link_upstream_identity(&identity("https://corp.example", "bob-1", bob.id), &Effects::default())
        .await
        .expect("link");
    store.record_upstream_sign_in("https://corp.example", "bob-1", at).await.expect("sign-in");
    let found =
        store.find_upstream_identity("https://corp.example", "bob-1").await.expect("find").expect("linked");
    assert_eq!(found.last_sign_in_at, Some(at));
    let err =
        store.record_upstream_sign_in("https://corp.example", "nobody", at).await.expect_err("not linked");
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    db.execute(&format!("DELETE FROM users WHERE id = '{}'", bob.id)).await;
    assert_eq!(store.find_upstream_identity("https://corp.example", "bob-1").await.expect("find"), None);
}

both_backends!(
    an_identity_links_to_one_account_with_its_audit_event,
    unlinking_takes_only_the_holders_link_and_deletion_takes_all
);
