//! Groups: unique names whatever their case, idempotent memberships that go
//! with their group and their user, and the administrator's audit event
//! committed with each change and only with a change.

use portcullis_store::{Effects, NewGroup, Store, StoreError};
use portcullis_tests::{Backend, both_backends, test_store};
use time::Duration;
use uuid::Uuid;

use super::{admin_event, audit_kinds};
use crate::grants::{T0, user};

async fn create(store: &dyn Store, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    let group = NewGroup { id, name: name.into(), created_at: T0 };
    store.create_group(&group, &Effects::default()).await.expect("create group");
    id
}

fn names(groups: &[portcullis_store::Group]) -> Vec<&str> {
    groups.iter().map(|g| g.name.as_str()).collect()
}

async fn groups_are_created_found_listed_and_renamed(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let id = Uuid::new_v4();
    let new = NewGroup { id, name: "Engineering".into(), created_at: T0 + Duration::milliseconds(400) };
    let created = store.create_group(&new, &Effects::default()).await.expect("create");
    assert_eq!((created.id, created.name.as_str()), (id, "Engineering"));
    assert_eq!((created.created_at, created.updated_at), (T0, T0), "kept to the second");

    assert_eq!(store.find_group(id).await.expect("find"), Some(created.clone()));
    assert_eq!(store.find_group(Uuid::new_v4()).await.expect("find"), None);
    let by_name = store.find_group_by_name("  engineering ").await.expect("by name");
    assert_eq!(by_name, Some(created.clone()), "names are found whatever their case");
    assert_eq!(store.find_group_by_name("engineers").await.expect("by name"), None);

    create(&*store, "beta").await;
    create(&*store, "Alpha").await;
    create(&*store, "gamma").await;
    let listed = store.list_groups().await.expect("list");
    assert_eq!(names(&listed), ["Alpha", "beta", "Engineering", "gamma"], "by name, whatever the case");

    let later = T0 + Duration::hours(1);
    let renamed = store.rename_group(id, "Platform", None, later, &Effects::default()).await.expect("rename");
    let renamed = renamed.expect("no precondition: renamed");
    assert_eq!((renamed.name.as_str(), renamed.created_at, renamed.updated_at), ("Platform", T0, later));
    assert_eq!(store.find_group(id).await.expect("find"), Some(renamed));
    assert_eq!(store.find_group_by_name("engineering").await.expect("by name"), None, "the old name is free");
    let recased =
        store.rename_group(id, "PLATFORM", None, later, &Effects::default()).await.expect("own name");
    let recased = recased.expect("renamed");
    assert_eq!(recased.name, "PLATFORM", "a group may change the case of its own name");

    let missing = store.rename_group(Uuid::new_v4(), "Nobody", None, later, &Effects::default()).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

async fn group_names_differing_in_case_conflict(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let admins = create(&*store, "Admins").await;
    let staff = create(&*store, "Staff").await;

    let twin = NewGroup { id: Uuid::new_v4(), name: "ADMINS".into(), created_at: T0 };
    let err = store.create_group(&twin, &Effects::default()).await.expect_err("same name, other case");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let padded = NewGroup { id: Uuid::new_v4(), name: " admins ".into(), created_at: T0 };
    let err = store.create_group(&padded, &Effects::default()).await.expect_err("same name, padded");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    let err = store.rename_group(staff, "aDmInS", None, T0, &Effects::default()).await.expect_err("taken");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.find_group(staff).await.expect("find").expect("staff").name, "Staff", "unchanged");
    assert_eq!(store.find_group(admins).await.expect("find").expect("admins").name, "Admins");
    assert_eq!(store.list_groups().await.expect("list").len(), 2);
}

async fn memberships_are_idempotent_and_need_both_ends(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let (carol, alice, bob) =
        (user(&*store, "carol").await, user(&*store, "Alice").await, user(&*store, "bob").await);
    let ops = create(&*store, "ops").await;
    let devs = create(&*store, "Devs").await;
    let none = Effects::default();

    assert!(store.add_group_member(ops, carol, T0, &none).await.expect("add"));
    assert!(store.add_group_member(ops, alice, T0, &none).await.expect("add"));
    assert!(!store.add_group_member(ops, alice, T0, &none).await.expect("again"), "already a member");
    assert!(store.add_group_member(devs, alice, T0, &none).await.expect("add"));

    let members: Vec<String> =
        store.group_members(ops).await.expect("members").into_iter().map(|u| u.username).collect();
    assert_eq!(members, ["Alice", "carol"], "by username, whatever the case");
    assert_eq!(store.user_groups(alice).await.expect("groups"), ["Devs", "ops"]);
    assert_eq!(store.user_groups(carol).await.expect("groups"), ["ops"]);
    assert_eq!(store.user_groups(bob).await.expect("groups"), Vec::<String>::new());
    assert!(store.group_members(Uuid::new_v4()).await.expect("unknown group").is_empty());

    for (group, member) in [(Uuid::new_v4(), bob), (ops, Uuid::new_v4())] {
        let added = store.add_group_member(group, member, T0, &none).await;
        assert!(matches!(added, Err(StoreError::NotFound)), "{added:?}");
        let removed = store.remove_group_member(group, member, T0, &none).await;
        assert!(matches!(removed, Err(StoreError::NotFound)), "{removed:?}");
    }

    assert!(store.remove_group_member(ops, alice, T0, &none).await.expect("remove"));
    assert!(!store.remove_group_member(ops, alice, T0, &none).await.expect("again"), "not a member");
    assert!(!store.remove_group_member(ops, bob, T0, &none).await.expect("never one"));
    assert_eq!(store.user_groups(alice).await.expect("groups"), ["Devs"]);
    let members: Vec<Uuid> = store.group_members(ops).await.expect("members").iter().map(|u| u.id).collect();
    assert_eq!(members, [carol]);
}

async fn memberships_go_with_their_user_and_their_group(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let (alice, bob) = (user(&*store, "alice").await, user(&*store, "bob").await);
    let (ops, devs) = (create(&*store, "ops").await, create(&*store, "devs").await);
    for (group, member) in [(ops, alice), (ops, bob), (devs, alice), (devs, bob)] {
        store.add_group_member(group, member, T0, &Effects::default()).await.expect("add");
    }

    db.execute(&format!("DELETE FROM users WHERE id = '{alice}'")).await;
    assert_eq!(db.count("SELECT 1 FROM group_members").await, 2, "the deleted user's memberships are gone");
    assert_eq!(store.user_groups(alice).await.expect("groups"), Vec::<String>::new());
    let members: Vec<Uuid> = store.group_members(ops).await.expect("members").iter().map(|u| u.id).collect();
    assert_eq!(members, [bob]);

    store.delete_group(ops, T0, &Effects::default()).await.expect("delete");
    assert_eq!(store.find_group(ops).await.expect("find"), None);
    assert_eq!(
        store.user_groups(bob).await.expect("groups"),
        ["devs"],
        "the deleted group's memberships are gone"
    );
    assert_eq!(db.count("SELECT 1 FROM group_members").await, 1);
    let again = store.delete_group(ops, T0, &Effects::default()).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
}

async fn each_group_write_commits_its_audit_event_and_a_refused_one_none(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    let effects = |kind: &str| [admin_event(kind, Some(alice))];

    // Each change writes its event.
    let ops = Uuid::new_v4();
    let new = NewGroup { id: ops, name: "ops".into(), created_at: T0 };
    store.create_group(&new, &Effects::audit(&effects("group.created"))).await.expect("create");
    store
        .rename_group(ops, "Ops", None, T0, &Effects::audit(&effects("group.renamed")))
        .await
        .expect("rename");
    let added = effects("group.member_added");
    assert!(store.add_group_member(ops, alice, T0, &Effects::audit(&added)).await.expect("add"));
    let removed = effects("group.member_removed");
    assert!(store.remove_group_member(ops, alice, T0, &Effects::audit(&removed)).await.expect("remove"));
    let written = ["group.created", "group.renamed", "group.member_added", "group.member_removed"];
    assert_eq!(audit_kinds(&*store).await, written);

    // Refused writes, and memberships already as asked, write nothing.
    let refused = effects("refused");
    let refused = Effects::audit(&refused);
    let twin = NewGroup { id: Uuid::new_v4(), name: "OPS".into(), created_at: T0 };
    assert!(store.create_group(&twin, &refused).await.is_err());
    let other = create(&*store, "other").await;
    assert!(store.rename_group(other, "ops", None, T0, &refused).await.is_err());
    assert!(store.rename_group(Uuid::new_v4(), "new", None, T0, &refused).await.is_err());
    assert!(store.add_group_member(Uuid::new_v4(), alice, T0, &refused).await.is_err());
    assert!(store.add_group_member(ops, Uuid::new_v4(), T0, &refused).await.is_err());
    assert!(store.remove_group_member(Uuid::new_v4(), alice, T0, &refused).await.is_err());
    assert!(!store.remove_group_member(ops, alice, T0, &refused).await.expect("not a member"));
    store.add_group_member(ops, alice, T0, &Effects::default()).await.expect("add quietly");
    assert!(!store.add_group_member(ops, alice, T0, &refused).await.expect("already a member"));
    assert!(store.delete_group(Uuid::new_v4(), T0, &refused).await.is_err());
    assert_eq!(audit_kinds(&*store).await, written, "no event without its change");

    store.delete_group(ops, T0, &Effects::audit(&effects("group.deleted"))).await.expect("delete");
    let last = store.recent_audit(1).await.expect("audit").remove(0).event;
    assert_eq!(last, admin_event("group.deleted", Some(alice)), "written as given");
}

both_backends!(
    groups_are_created_found_listed_and_renamed,
    group_names_differing_in_case_conflict,
    memberships_are_idempotent_and_need_both_ends,
    memberships_go_with_their_user_and_their_group,
    each_group_write_commits_its_audit_event_and_a_refused_one_none,
);
