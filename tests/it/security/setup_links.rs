//! Only the newest first-admin setup link works (issue 14, finding T2): each
//! start without users prints a new link, and the earlier ones, which may
//! sit in old logs, die with it.

use portcullis_tests::{Backend, TestDatabase, both_backends, spawn_app_with};
use std::sync::Arc;

async fn a_new_setup_link_invalidates_the_earlier_ones(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let first = spawn_app_with(db.clone(), |_| {}).await;
    let old = first.setup_path.clone().expect("a setup link at the first start");
    assert_eq!(first.get(&old).await.status(), 200, "valid until the next start");
    first.stop().await;

    let second = spawn_app_with(db, |_| {}).await;
    let new = second.setup_path.clone().expect("no user yet: a new link");
    assert_ne!(new, old);
    let res = second.get(&old).await;
    assert_eq!(res.status(), 403, "the earlier link");
    assert!(res.text().await.expect("body").contains("Setup link not valid"));
    assert_eq!(second.get(&new).await.status(), 200, "the newest link");
}

both_backends!(a_new_setup_link_invalidates_the_earlier_ones);
