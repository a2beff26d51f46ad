//! A request body must arrive within `http.body_read_timeout_secs` of the
//! request's head (issue 14, finding 14): a "slow POST" gets 408 Request
//! Timeout and its connection closed instead of holding them open.

use portcullis_tests::{Backend, TestApp, TestDatabase, both_backends, spawn_app_with};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the test waits for an answer before calling it a hang: a guard,
/// not a measure of speed.
const HANG_GUARD: Duration = Duration::from_secs(10);

async fn app_with_a_one_second_deadline(backend: Backend) -> TestApp {
    let db = Arc::new(TestDatabase::new(backend).await);
    spawn_app_with(db, |s| s.http.body_read_timeout_secs = 1).await
}

/// Sends the head of `POST path` announcing `length` body bytes, then
/// `chunks` of the body with `pause` before each; returns everything the
/// server sent until it closed the connection (or the guard fired: `None`).
async fn post_slowly(
    app: &TestApp,
    path: &str,
    length: usize,
    chunks: &[&[u8]],
    pause: Duration,
) -> Option<String> {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    for chunk in chunks {
        tokio::time::sleep(pause).await;
        // The server may already have answered and closed: stop sending then.
        if stream.write_all(chunk).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    match tokio::time::timeout(HANG_GUARD, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

async fn a_body_that_never_arrives_gets_408_and_a_closed_connection(backend: Backend) {
    let app = app_with_a_one_second_deadline(backend).await;
    let answer = post_slowly(&app, "/login", 1000, &[b"username=al"], Duration::ZERO)
        .await
        .expect("the server answered and closed the connection instead of waiting for the body");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "408 or a closed connection, got: {answer}"
    );
    assert!(!answer.is_empty(), "actix answers 408 before closing: {answer}");
}

async fn a_body_that_arrives_in_time_is_served(backend: Backend) {
    let app = app_with_a_one_second_deadline(backend).await;
    // Complete, in two parts a little apart, well within the deadline.
    let body: &[u8] = b"grant_type=client_credentials";
    let (first, second) = body.split_at(10);
    let answer = post_slowly(&app, "/token", body.len(), &[first, second], Duration::from_millis(200))
        .await
        .expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 401"), "an ordinary answer (no client): {answer}");
    // And an ordinary client's POST.
    let res = app
        .client
        .post(format!("{}/token", app.address))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 401);
}

both_backends!(
    a_body_that_never_arrives_gets_408_and_a_closed_connection,
    a_body_that_arrives_in_time_is_served,
);
