//! Everything Portcullis keeps on disk is private to its user: `data_dir`
//! 0700, the SQLite database, its `-wal` and `-shm` files, its lock file and
//! the generated `keys.kek` 0600 (issue 14, finding 13).
//!
//! SQLite only: PostgreSQL keeps its data in its own server, so with it
//! `data_dir` holds at most `keys.kek`, whose mode an older test covers. These
//! tests therefore run once, on SQLite, rather than through `both_backends!`.

use portcullis_core::Clock;
use portcullis_store::NewUser;
use portcullis_tests::{Backend, TestApp, TestDatabase, spawn_app_with};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Every entry of `dir`.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("read dir").map(|e| e.expect("entry").path()).collect();
    all.sort();
    all
}

/// An app on SQLite whose `data_dir` is `<temp>/data` (the database in it).
async fn spawn_in(db: Arc<TestDatabase>, data_dir: &Path) -> TestApp {
    let data_dir = data_dir.to_owned();
    spawn_app_with(db, move |s| {
        s.data_dir = data_dir;
        s.database.url = None; // the default: <data_dir>/portcullis.db
    })
    .await
}

/// A write through the app's store, so the WAL holds something.
async fn write_something(app: &TestApp) {
    app.store
        .create_user(&NewUser {
            id: uuid::Uuid::new_v4(),
            username: format!("u{}", uuid::Uuid::new_v4().simple()),
            email: format!("{}@example.com", uuid::Uuid::new_v4().simple()),
            email_verified: true,
            display_name: None,
            roles: vec![],
            password_hash: None,
            created_at: app.clock.now(),
        })
        .await
        .expect("create user");
}

/// Asserts `dir` is 0700 and every file in it 0600; returns the file names.
fn assert_private(dir: &Path) -> Vec<String> {
    assert_eq!(format!("{:o}", mode(dir)), "700", "data_dir {}", dir.display());
    let mut names = Vec::new();
    for path in entries(dir) {
        assert_eq!(format!("{:o}", mode(&path)), "600", "{}", path.display());
        names.push(path.file_name().expect("name").to_string_lossy().into_owned());
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_new_data_dir_and_every_file_in_it_are_private() {
    let db = Arc::new(TestDatabase::new(Backend::Sqlite).await);
    let data_dir = db.dir.path().join("data");
    let app = spawn_in(db.clone(), &data_dir).await;
    write_something(&app).await;

    let names = assert_private(&data_dir);
    for expected in ["portcullis.db", "portcullis.db-wal", "portcullis.db-shm", "portcullis.migrate.lock"] {
        assert!(names.iter().any(|n| n == expected), "{expected} in {names:?}");
    }
    assert!(names.iter().any(|n| n == "keys.kek"), "{names:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_existing_data_dir_and_database_open_to_others_are_tightened() {
    let db = Arc::new(TestDatabase::new(Backend::Sqlite).await);
    let data_dir = db.dir.path().join("data");
    // A database made by an earlier version: folder 0755, files 0644.
    let first = spawn_in(db.clone(), &data_dir).await;
    write_something(&first).await;
    first.stop().await;
    set_mode(&data_dir, 0o755);
    for path in entries(&data_dir) {
        set_mode(&path, 0o644);
    }
    assert_eq!(mode(&data_dir.join("portcullis.db")), 0o644);

    let second = spawn_in(db.clone(), &data_dir).await;
    write_something(&second).await;
    let names = assert_private(&data_dir);
    assert!(names.iter().any(|n| n == "portcullis.db"), "{names:?}");
    second.stop().await;
}
