use portcullis_tests::{Backend, spawn_app};

#[tokio::test]
async fn metrics_count_and_time_requests_by_route_and_status() {
    let app = spawn_app(Backend::Sqlite).await;
    app.get("/healthz").await;
    app.get("/healthz").await;
    app.get("/no-such-page/123").await;

    let res = app.client.get(format!("{}/metrics", app.metrics_address)).send().await.expect("metrics");
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().is_ok_and(|c| c.starts_with("text/plain")));
    let text = res.text().await.expect("body");

    assert!(text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"} 2"#), "{text}");
    // Unknown paths share one label, so a scanner cannot explode the series count.
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="<unmatched>",status="404"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="#
        )
    );
    assert!(
        text.contains(r#"http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 2"#)
    );
    assert!(text.contains(&format!(r#"portcullis_build_info{{version="{}"}} 1"#, env!("CARGO_PKG_VERSION"))));
}

#[tokio::test]
async fn metrics_are_not_served_on_the_public_listener() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(app.get("/metrics").await.status(), 404);
}
