use portcullis_tests::{Backend, both_backends, spawn_app};
use serde_json::Value;

async fn healthz_and_readyz_answer_200(backend: Backend) {
    let app = spawn_app(backend).await;

    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["cache-control"], "no-store");
    assert_eq!(health.json::<Value>().await.expect("json")["status"], "ok");

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], backend.as_str());
}

async fn readyz_is_503_when_the_database_is_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    app.store.close().await;

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["reason"], "database unreachable");
    // Liveness does not depend on the database.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

async fn readyz_is_503_when_a_migration_is_recorded_as_failed(backend: Backend) {
    let app = spawn_app(backend).await;
    app.db.execute("UPDATE _sqlx_migrations SET success = false").await;

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert!(body["reason"].as_str().is_some_and(|r| r.contains("failed")), "{body}");
}

async fn readyz_is_503_when_the_schema_differs_from_the_build(backend: Backend) {
    let app = spawn_app(backend).await;
    app.db.execute("DELETE FROM _sqlx_migrations").await;

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert!(body["reason"].as_str().is_some_and(|r| r.contains("pending")), "{body}");
}

both_backends!(
    healthz_and_readyz_answer_200,
    readyz_is_503_when_the_database_is_gone,
    readyz_is_503_when_a_migration_is_recorded_as_failed,
    readyz_is_503_when_the_schema_differs_from_the_build,
);
