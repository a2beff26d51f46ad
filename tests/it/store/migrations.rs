use portcullis_tests::{Backend, TestDatabase, both_backends, spawn_app_with};
use std::collections::BTreeSet;
use std::sync::Arc;

fn migration_files(backend: &str) -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(backend);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_backends_have_the_same_migration_file_names() {
    let sqlite = migration_files("sqlite");
    assert!(!sqlite.is_empty());
    assert!(sqlite.iter().all(|name| name.ends_with(".sql")));
    assert_eq!(sqlite, migration_files("postgres"));
}

async fn migrating_twice_applies_nothing_the_second_time(backend: Backend) {
    let expected = migration_files(backend.as_str()).len();
    let db = TestDatabase::new(backend).await;
    let store = db.open().await;

    let before = store.migration_status().await.expect("status");
    assert!(!before.is_current());
    assert_eq!(before.pending.len(), expected);

    assert_eq!(store.migrate().await.expect("first"), expected);
    assert_eq!(store.migrate().await.expect("second"), 0);
    assert!(store.migration_status().await.expect("status").is_current());
    assert_eq!(db.count("SELECT version FROM _sqlx_migrations").await, expected as i64);
}

async fn concurrent_migrators_apply_each_migration_exactly_once(backend: Backend) {
    let expected = migration_files(backend.as_str()).len();
    let db = TestDatabase::new(backend).await;
    let (a, b) = (db.open().await, db.open().await);

    let (applied_a, applied_b) = tokio::join!(a.migrate(), b.migrate());

    let (applied_a, applied_b) = (applied_a.expect("a migrates"), applied_b.expect("b migrates"));
    assert_eq!(applied_a + applied_b, expected, "a applied {applied_a}, b applied {applied_b}");
    assert!(a.migration_status().await.expect("status").is_current());
    assert_eq!(db.count("SELECT version FROM _sqlx_migrations").await, expected as i64);
}

async fn a_restarted_instance_applies_no_migration_twice(backend: Backend) {
    let expected = migration_files(backend.as_str()).len() as i64;
    let db = Arc::new(TestDatabase::new(backend).await);

    let first = spawn_app_with(db.clone(), |_| {}).await;
    assert_eq!(first.get("/readyz").await.status(), 200);
    first.stop().await;
    first.store.close().await;

    let second = spawn_app_with(db.clone(), |_| {}).await;
    assert_eq!(second.get("/readyz").await.status(), 200);
    assert_eq!(db.count("SELECT version FROM _sqlx_migrations").await, expected);
}

async fn two_instances_started_together_both_come_up(backend: Backend) {
    let expected = migration_files(backend.as_str()).len() as i64;
    let db = Arc::new(TestDatabase::new(backend).await);

    let (a, b) = tokio::join!(spawn_app_with(db.clone(), |_| {}), spawn_app_with(db.clone(), |_| {}));

    assert_eq!(a.get("/readyz").await.status(), 200);
    assert_eq!(b.get("/readyz").await.status(), 200);
    assert_eq!(db.count("SELECT version FROM _sqlx_migrations").await, expected);
}

both_backends!(
    migrating_twice_applies_nothing_the_second_time,
    concurrent_migrators_apply_each_migration_exactly_once,
    a_restarted_instance_applies_no_migration_twice,
    two_instances_started_together_both_come_up,
);
