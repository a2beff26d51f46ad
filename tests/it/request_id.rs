use portcullis_tests::{Backend, spawn_app};

#[tokio::test]
async fn every_response_carries_a_fresh_request_id() {
    let app = spawn_app(Backend::Sqlite).await;
    let first = app.get("/healthz").await;
    let second = app.get("/healthz").await;
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().expect("ascii").to_owned();
    let (a, b) = (id(&first), id(&second));
    assert_eq!(a.len(), 32);
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b);
}

#[tokio::test]
async fn a_plain_incoming_request_id_is_kept_and_a_strange_one_replaced() {
    let app = spawn_app(Backend::Sqlite).await;
    let url = format!("{}/healthz", app.address);

    let kept = app.client.get(&url).header("x-request-id", "lb-7f3a.42").send().await.expect("request");
    assert_eq!(kept.headers()["x-request-id"], "lb-7f3a.42");

    let long = "a".repeat(65);
    let replaced = app.client.get(&url).header("x-request-id", &long).send().await.expect("request");
    let id = replaced.headers()["x-request-id"].to_str().expect("ascii");
    assert_ne!(id, long);
    assert_eq!(id.len(), 32);

    let odd = app.client.get(&url).header("x-request-id", "a b\"c").send().await.expect("request");
    assert_ne!(odd.headers()["x-request-id"], "a b\"c");
}
