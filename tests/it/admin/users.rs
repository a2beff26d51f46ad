//! User search: a case-insensitive prefix of the username, the email or the
//! display name, every character literal, in keyset pages that see each
//! user once while users are being added; and the dashboard's counts.

use std::collections::BTreeSet;

use portcullis_store::{Effects, Enrollment, NewUser, PasskeyRow, Store, UserCounts, UserQuery};
use portcullis_tests::{Backend, both_backends, test_store};
use uuid::Uuid;

use crate::grants::T0;

async fn add(store: &dyn Store, username: &str, email: &str, display_name: Option<&str>) -> Uuid {
    let id = Uuid::new_v4();
    let user = NewUser {
        id,
        username: username.into(),
        email: email.into(),
        email_verified: true,
        display_name: display_name.map(Into::into),
        roles: vec![],
        password_hash: None,
        created_at: T0,
    };
    store.create_user(&user).await.expect("create user");
    id
}

/// The usernames `prefix` finds on the first page of `limit`.
async fn found(store: &dyn Store, prefix: &str) -> Vec<String> {
    let query = UserQuery { prefix: Some(prefix.into()), after: None, limit: 100 };
    store.search_users(&query).await.expect("search").into_iter().map(|u| u.username).collect()
}

async fn a_prefix_of_each_column_matches_case_insensitively(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    add(&*store, "Alice", "alice@example.com", Some("Alice Liddell")).await;
    add(&*store, "bob", "Robert.Smith@Example.org", Some("Bobby Tables")).await;
    add(&*store, "carol", "carol@example.net", Some("Zoë Ångström")).await;
    add(&*store, "dave", "dave@example.com", None).await;

    assert_eq!(found(&*store, "ALI").await, ["Alice"], "username");
    assert_eq!(found(&*store, "robert.s").await, ["bob"], "email");
    assert_eq!(found(&*store, "ROBERT.SMITH@EXAMPLE.ORG").await, ["bob"], "a whole email");
    assert_eq!(found(&*store, "bobby t").await, ["bob"], "display name");
    assert_eq!(found(&*store, "ZOË Å").await, ["carol"], "beyond ASCII, folded as the store folds");
    assert_eq!(found(&*store, "  Dave ").await, ["dave"], "the query is trimmed as names are");
    assert_eq!(found(&*store, "b").await, ["bob"], "one row per user, whichever columns match");
    assert_eq!(found(&*store, "liddell").await, Vec::<String>::new(), "a prefix, not a substring");
    assert_eq!(found(&*store, "example").await, Vec::<String>::new());
    assert_eq!(found(&*store, "alicf").await, Vec::<String>::new());
    assert_eq!(found(&*store, "\u{10FFFF}").await, Vec::<String>::new(), "no range beyond U+10FFFF");
    let everyone = ["Alice", "bob", "carol", "dave"];
    assert_eq!(found(&*store, "").await, everyone, "a blank prefix filters nothing");
    assert_eq!(found(&*store, "   ").await, everyone);
    let limited = UserQuery { prefix: None, after: None, limit: 2 };
    let names: Vec<String> =
        store.search_users(&limited).await.expect("search").into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["Alice", "bob"], "by normalised username, at most `limit`");
}

async fn wildcards_in_the_query_match_only_themselves(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    add(&*store, "a%b", "one@example.com", None).await;
    add(&*store, "a_c", "two@example.com", Some("100% sure")).await;
    add(&*store, "abc", "three@example.com", Some("1000 things")).await;
    add(&*store, "a\\d", "four@example.com", None).await;
    add(&*store, "axe", "five@example.com", Some("100_x")).await;

    assert_eq!(found(&*store, "a%").await, ["a%b"]);
    assert_eq!(found(&*store, "a_").await, ["a_c"]);
    assert_eq!(found(&*store, "a\\").await, ["a\\d"]);
    assert_eq!(found(&*store, "%").await, Vec::<String>::new());
    assert_eq!(found(&*store, "100%").await, ["a_c"]);
    assert_eq!(found(&*store, "100_").await, ["axe"]);
    assert_eq!(found(&*store, "a").await, ["a%b", "a\\d", "a_c", "abc", "axe"], "by bytes, on both backends");
}

/// Every page of `prefix` by `limit`, adding the users `between` names
/// (with the page number) after each page; returns the usernames seen.
async fn pages(store: &dyn Store, prefix: Option<&str>, between: &[&str]) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = None;
    for page in 0.. {
        let query = UserQuery { prefix: prefix.map(Into::into), after: after.clone(), limit: 4 };
        let rows = store.search_users(&query).await.expect("page");
        assert!(rows.len() <= 4, "at most the limit");
        let Some(last) = rows.last() else { break };
        after = Some(last.username.clone());
        seen.extend(rows.iter().map(|u| u.username.clone()));
        for name in between {
            let name = format!("{name}{page}");
            add(store, &name, &format!("{name}@example.com"), None).await;
        }
        assert!(page < 50, "the pages end");
    }
    seen
}

async fn keyset_pages_see_every_user_once_while_users_are_added(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let mut existing = BTreeSet::new();
    for i in 0..18 {
        let name = format!("m{i:02}");
        add(&*store, &name, &format!("{name}@example.com"), None).await;
        existing.insert(name);
    }

    // Each page adds a user before every cursor ("a…"), one between the
    // rows ("m05x…") and one after them all ("z…").
    let seen = pages(&*store, None, &["a", "m05x", "z"]).await;
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no user twice: {seen:?}");
    for name in &existing {
        assert!(seen.contains(name), "{name} missing from {seen:?}");
    }
    assert!(!seen.iter().any(|n| n.starts_with('a')), "added before the cursor: next time");
    assert!(seen.iter().any(|n| n.starts_with('z')), "added ahead of the cursor: on a later page");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "in username order across pages");

    // The same with a prefix: only matching users, each once.
    let seen = pages(&*store, Some("M"), &["m99x", "n"]).await;
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no user twice: {seen:?}");
    assert!(seen.iter().all(|n| n.starts_with('m')), "{seen:?}");
    for name in &existing {
        assert!(seen.contains(name), "{name} missing from {seen:?}");
    }
    assert!(seen.iter().any(|n| n.starts_with("m99x")), "added ahead of the cursor: seen");

    // The cursor may be the normalised username or the username itself.
    add(&*store, "Mixed", "mixed@example.com", None).await;
    for after in ["mixed", "MIXED", "Mixed"] {
        let query = UserQuery { prefix: Some("mi".into()), after: Some(after.into()), limit: 10 };
        assert!(store.search_users(&query).await.expect("search").is_empty(), "{after}");
    }
}

async fn dashboard_counts_users_disabled_and_without_a_second_factor(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    assert_eq!(store.user_counts().await.expect("counts"), UserCounts::default());

    let with_passkey = add(&*store, "passkey", "passkey@example.com", None).await;
    let with_app = add(&*store, "app", "app@example.com", None).await;
    let enrolling = add(&*store, "enrolling", "enrolling@example.com", None).await;
    let disabled = add(&*store, "disabled", "disabled@example.com", None).await;
    add(&*store, "plain", "plain@example.com", None).await;

    let passkey = PasskeyRow {
        id: Uuid::new_v4(),
        user_id: with_passkey,
        credential_id: "cred-1".into(),
        name: "key".into(),
        passkey: "{}".into(),
        created_at: T0,
        last_used_at: None,
    };
    store
        .enroll_factor(with_passkey, Enrollment::Passkey(&passkey), T0, &Effects::default())
        .await
        .expect("key");
    store.begin_totp(with_app, "sealed", T0).await.expect("begin");
    let step = Enrollment::Totp { step: 7, recovery_codes: None };
    assert!(store.enroll_factor(with_app, step, T0, &Effects::default()).await.expect("confirm"));
    store.begin_totp(enrolling, "sealed", T0).await.expect("unconfirmed app");
    store.disable_user(disabled, T0, &Effects::default()).await.expect("disable");

    let counts = store.user_counts().await.expect("counts");
    assert_eq!(counts, UserCounts { total: 5, disabled: 1, without_second_factor: 2 }, "enrolling and plain");
    assert_eq!(store.count_users().await.expect("count"), counts.total);
}

async fn display_names_the_migration_could_not_fold_are_normalised_at_start(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let emile = add(&*store, "emile", "emile@example.com", Some("Émile Zola")).await;
    add(&*store, "victor", "victor@example.com", Some("Victor Hugo")).await;
    // As migration 0013 leaves rows it cannot fold (SQLite's lower() is ASCII only).
    db.execute(&format!("UPDATE users SET display_name_norm = NULL WHERE id = '{emile}'")).await;
    assert_eq!(found(&*store, "émile").await, Vec::<String>::new());

    assert_eq!(store.migrate().await.expect("migrate again"), 0, "no migration left");
    assert_eq!(found(&*store, "ÉMILE Z").await, ["emile"]);
    assert_eq!(found(&*store, "victor h").await, ["victor"]);
    let unfolded = "SELECT 1 FROM users WHERE display_name IS NOT NULL AND display_name_norm IS NULL";
    assert_eq!(db.count(unfolded).await, 0);
}

both_backends!(
    a_prefix_of_each_column_matches_case_insensitively,
    wildcards_in_the_query_match_only_themselves,
    keyset_pages_see_every_user_once_while_users_are_added,
    dashboard_counts_users_disabled_and_without_a_second_factor,
    display_names_the_migration_could_not_fold_are_normalised_at_start,
);
