//! Graceful scale-down (issue 18): asked to stop, an instance first fails
//! `/readyz` while it goes on serving for `http.drain_secs`, then stops.
//! The stop is the one SIGTERM/SIGINT trigger (`Application::run_until`).

use portcullis_server::Application;
use portcullis_tests::{Backend, TestDatabase, test_settings};
use serde_json::Value;
use std::time::Duration;

/// An application on SQLite with `drain_secs`, and the sender that asks it
/// to stop (what SIGTERM does in `portcullis serve`).
async fn start(
    drain_secs: u64,
) -> (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>, TestDatabase) {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let mut settings = test_settings(&db);
    settings.http.drain_secs = drain_secs;
    let app = Application::build(&settings).await.expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    (address, stop, run, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_instance_fails_readyz_but_still_serves() {
    // A long drain: the test never depends on being quick enough.
    let (address, stop, run, _db) = start(600).await;
    let http = reqwest::Client::new();
    assert_eq!(http.get(format!("{address}/readyz")).send().await.expect("readyz").status(), 200);
    // A keep-alive connection opened before the stop, as a load balancer's.
    let pooled = reqwest::Client::new();
    assert_eq!(pooled.get(format!("{address}/healthz")).send().await.expect("healthz").status(), 200);

    stop.send(()).expect("the app listens");

    let mut ready = 200;
    for _ in 0..300 {
        let res = http.get(format!("{address}/readyz")).send().await.expect("readyz while draining");
        ready = res.status().as_u16();
        if ready == 503 {
            let body: Value = res.json().await.expect("json");
            assert_eq!(body["reason"], "draining", "{body}");
            assert_eq!(body["status"], "not_ready", "{body}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 503, "/readyz fails first");

    // Everything else is still served, on new and on kept-alive connections.
    let discovery = http.get(format!("{address}/.well-known/openid-configuration")).send().await;
    assert_eq!(discovery.expect("served while draining").status(), 200);
    assert_eq!(pooled.get(format!("{address}/jwks")).send().await.expect("jwks").status(), 200);
    assert_eq!(http.get(format!("{address}/healthz")).send().await.expect("healthz").status(), 200);
    assert!(!run.is_finished(), "still running during the drain");
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_drain_the_instance_stops() {
    let (address, stop, run, _db) = start(1).await;
    let http = reqwest::Client::new();
    assert_eq!(http.get(format!("{address}/readyz")).send().await.expect("readyz").status(), 200);

    stop.send(()).expect("the app listens");
    // Bounded wait (the drain is 1 s, then in-flight requests get up to
    // http.shutdown_timeout_secs): not a timing assertion.
    let stopped = tokio::time::timeout(Duration::from_secs(60), run).await;
    stopped.expect("stops after the drain").expect("task").expect("clean stop");
    assert!(http.get(format!("{address}/healthz")).send().await.is_err(), "no longer listening");
}
