//! `Store::for_worker`: an HTTP worker's own view of the store is the same
//! database, with the same change hooks, through a pool of its own.

use portcullis_store::{Change, ClientRepo, Store};
use portcullis_tests::{Backend, both_backends, test_store};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

async fn a_worker_store_shares_the_database_and_the_change_hooks(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let heard = Arc::new(AtomicUsize::new(0));
    let counter = heard.clone();
    store.on_change(
        Change::Clients,
        Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }),
    );
    let worker: Arc<dyn Store> = match (backend, store.for_worker(4)) {
        // PostgreSQL: a pool per worker (its sockets driven by that worker's runtime).
        (Backend::Postgres, Some(worker)) => worker,
        // SQLite: every write goes through one writer connection; the
        // workers share the store.
        (Backend::Sqlite, None) => store.clone(),
        (backend, other) => panic!("{backend:?}: for_worker gave {}", other.map_or("None", |_| "a store")),
    };

    worker.create_client(&crate::clients::repos::record("rp")).await.expect("create through the worker");
    assert_eq!(heard.load(Ordering::SeqCst), 1, "the hook set on the store hears the worker's write");
    let found = store.find_client("rp").await.expect("find").expect("the store sees the worker's write");
    assert_eq!(found.client_id, "rp");
    worker.delete_client("rp").await.expect("delete through the worker");
    assert_eq!(heard.load(Ordering::SeqCst), 2);
    assert_eq!(store.find_client("rp").await.expect("find"), None);
}

both_backends!(a_worker_store_shares_the_database_and_the_change_hooks);

/// The connections of a serving instance: `max_connections` split among the
/// workers' pools, and a few more for background work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_workers_split_max_connections_and_background_work_keeps_its_own() {
    use portcullis_store_postgres::{PgOptions, PgStore};
    let db = portcullis_tests::TestDatabase::new(Backend::Postgres).await;
    let options = PgOptions { max_connections: 10, background_connections: Some(4), ..PgOptions::default() };
    let store = PgStore::connect(&db.url, &options).await.expect("connect");
    store.migrate().await.expect("migrate");
    assert_eq!(store.pool().options().get_max_connections(), 4, "background work");
    let workers: Vec<PgStore> = (0..3).map(|_| store.worker(3)).collect();
    for worker in &workers {
        assert_eq!(worker.pool().options().get_max_connections(), 3, "10 / 3 workers, rounded down");
        assert_eq!(worker.pool().size(), 0, "connections are opened by the worker's own queries");
    }
    workers[0].find_client("nobody").await.expect("a query through a worker's pool");
    assert_eq!(workers[0].pool().size(), 1);
    assert_eq!(workers[1].pool().size(), 0, "not another worker's");
}
