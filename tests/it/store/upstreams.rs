//! Linked upstream identities and upstream sign-ins behave the same on both backends.

use crate::accounts::repos::new_user;
use crate::store::audit::event;
use portcullis_store::{
    AuditOutcome, Effects, NewGroup, StoreError, UpstreamGrants, UpstreamIdentity, UpstreamSignIn,
};
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

    // A deleted account takes its links along.
    store
        .link_upstream_identity(&identity("https://corp.example", "bob-1", bob.id), &Effects::default())
        .await
        .expect("link");
    db.execute(&format!("DELETE FROM users WHERE id = '{}'", bob.id)).await;
    assert_eq!(store.find_upstream_identity("https://corp.example", "bob-1").await.expect("find"), None);
}

fn grants(roles: &[&str], groups: &[&str]) -> UpstreamGrants {
    let own = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
    UpstreamGrants { roles: own(roles), groups: own(groups) }
}

async fn groups_of(store: &dyn portcullis_store::Store, user: Uuid) -> Vec<String> {
    store.user_groups(user).await.expect("groups")
}

async fn an_upstream_sign_in_replaces_only_what_its_rules_gave(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let at = datetime!(2026-03-03 09:00 UTC);
    // Ada holds `admin` and the group Managers by hand.
    let ada = store.create_user(&new_user("ada", "ada@example.com")).await.expect("ada");
    let managers = NewGroup { id: Uuid::new_v4(), name: "Managers".into(), created_at: at };
    store.create_group(&managers, &Effects::default()).await.expect("group");
    store.add_group_member(managers.id, ada.id, at, &Effects::default()).await.expect("member");

    // The first sign-in links, and the rules grant admin (held already),
    // auditor, Managers (held already) and eng (created).
    let ada_at_corp = UpstreamIdentity {
        linked_at: at,
        last_sign_in_at: Some(at),
        ..identity("https://corp.example", "ada-1", ada.id)
    };
    let audit = [event("upstream.linked", AuditOutcome::Success, 1)];
    let first = grants(&["admin", "auditor"], &["managers", "eng"]);
    let sign_in = UpstreamSignIn { identity: &ada_at_corp, create: None, link: true, grants: &first, at };
    let after = store.upstream_sign_in(&sign_in, &Effects::audit(&audit)).await.expect("first");
    assert_eq!(after.roles, ["admin", "auditor"]);
    assert_eq!(groups_of(store.as_ref(), ada.id).await, ["eng", "Managers"]);
    assert!(store.find_group_by_name("eng").await.expect("find").is_some(), "a granted group is created");
    assert_eq!(store.recent_audit(10).await.expect("audit").len(), 1);
    let linked = store.find_upstream_identity("https://corp.example", "ada-1").await.expect("find");
    assert_eq!(linked.expect("linked").last_sign_in_at, Some(at));

    // The upstream no longer grants anything: what the rules gave goes,
    // what Ada held by hand stays.
    let later = at + time::Duration::hours(1);
    let none = grants(&[], &[]);
    let sign_in =
        UpstreamSignIn { identity: &ada_at_corp, create: None, link: false, grants: &none, at: later };
    let after = store.upstream_sign_in(&sign_in, &Effects::default()).await.expect("second");
    assert_eq!(after.roles, ["admin"]);
    assert_eq!(groups_of(store.as_ref(), ada.id).await, ["Managers"]);
    let linked = store.find_upstream_identity("https://corp.example", "ada-1").await.expect("find");
    assert_eq!(linked.expect("linked").last_sign_in_at, Some(later));

    // Granted again: given again, and taken again when it stops.
    let again = grants(&["auditor"], &["eng"]);
    let sign_in =
        UpstreamSignIn { identity: &ada_at_corp, create: None, link: false, grants: &again, at: later };
    assert_eq!(
        store.upstream_sign_in(&sign_in, &Effects::default()).await.expect("third").roles,
        ["admin", "auditor"]
    );
    assert_eq!(groups_of(store.as_ref(), ada.id).await, ["eng", "Managers"]);

    // Not linked (without `link`), or linked already (with it): refused,
    // nothing written.
    let stranger = identity("https://corp.example", "nobody", ada.id);
    let sign_in = UpstreamSignIn { identity: &stranger, create: None, link: false, grants: &first, at };
    let err = store.upstream_sign_in(&sign_in, &Effects::audit(&audit)).await.expect_err("not linked");
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let sign_in = UpstreamSignIn { identity: &ada_at_corp, create: None, link: true, grants: &first, at };
    let err = store.upstream_sign_in(&sign_in, &Effects::audit(&audit)).await.expect_err("linked");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.recent_audit(10).await.expect("audit").len(), 1, "refused sign-ins write nothing");
    assert_eq!(store.find_user(ada.id).await.expect("ada").expect("ada").roles, ["admin", "auditor"]);
}

async fn a_first_sign_in_creates_the_account_with_its_link(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let at = datetime!(2026-03-03 09:00 UTC);
    let new = portcullis_store::NewUser {
        roles: vec![],
        password_hash: None,
        ..new_user("bea", "bea@corp.example")
    };
    let bea_at_corp = UpstreamIdentity {
        linked_at: at,
        last_sign_in_at: Some(at),
        ..identity("https://corp.example", "bea-1", new.id)
    };
    let staff = grants(&["auditor"], &["staff"]);
    let sign_in =
        UpstreamSignIn { identity: &bea_at_corp, create: Some(&new), link: true, grants: &staff, at };
    let bea = store.upstream_sign_in(&sign_in, &Effects::default()).await.expect("created");
    assert_eq!(
        (bea.id, bea.username.as_str(), bea.roles.as_slice()),
        (new.id, "bea", ["auditor".to_owned()].as_slice())
    );
    assert_eq!(bea.password_hash, None);
    assert_eq!(groups_of(store.as_ref(), bea.id).await, ["staff"]);
    assert_eq!(store.user_upstream_identities(bea.id).await.expect("links").len(), 1);

    // Another identity whose account would take Bea's name: nothing written.
    let clash = portcullis_store::NewUser { id: Uuid::new_v4(), ..new.clone() };
    let other = identity("https://corp.example", "bea-2", clash.id);
    let sign_in = UpstreamSignIn { identity: &other, create: Some(&clash), link: true, grants: &staff, at };
    let err = store.upstream_sign_in(&sign_in, &Effects::default()).await.expect_err("taken");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.find_upstream_identity("https://corp.example", "bea-2").await.expect("find"), None);
    assert_eq!(store.count_users().await.expect("count"), 1);
}

both_backends!(
    an_identity_links_to_one_account_with_its_audit_event,
    unlinking_takes_only_the_holders_link_and_deletion_takes_all,
    an_upstream_sign_in_replaces_only_what_its_rules_gave,
    a_first_sign_in_creates_the_account_with_its_link
);
