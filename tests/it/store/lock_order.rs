//! Lock order on PostgreSQL, where writers run concurrently (SQLite's one
//! writer runs them one at a time, so this cannot happen there).
//!
//! Deleting a user locks the user's row, then its cascade reaches the
//! user's pending link requests. The mail worker completing a link request
//! must take the locks in the same order; it used to delete the request
//! first and lock the user last (through the new token's foreign key), and
//! a deletion at that moment deadlocked with it (a 500 in CI).

use portcullis_store::{EmailToken, EmailTokenPurpose, LinkRequestRow, NewUser};
use portcullis_tests::{Backend, test_store};
use sqlx::Connection;
use time::macros::datetime;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completing_a_link_request_waits_for_the_user_before_touching_the_request() {
    let (store, db) = test_store(Backend::Postgres).await;
    let now = datetime!(2026-03-01 10:00 UTC);
    let user = uuid::Uuid::new_v4();
    store
        .create_user(&NewUser {
            id: user,
            username: "alice".into(),
            email: "alice@example.com".into(),
            email_verified: true,
            display_name: None,
            roles: Vec::new(),
            password_hash: None,
            created_at: now,
        })
        .await
        .expect("user");
    let request = LinkRequestRow {
        id: "request-1".into(),
        purpose: EmailTokenPurpose::Reset,
        user_id: Some(user),
        session_hash: None,
        resume: None,
        ip: None,
        user_agent: None,
        created_at: now,
    };
    store.create_link_request(&request).await.expect("link request");

    // A deletion that has locked the user's row and not yet reached the request.
    let mut deleter = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    sqlx::raw_sql("BEGIN").execute(&mut deleter).await.expect("begin");
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user)
        .execute(&mut deleter)
        .await
        .expect("lock the user");

    let token = EmailToken {
        token_hash: "ab".repeat(32),
        purpose: EmailTokenPurpose::Reset,
        user_id: user,
        new_email: None,
        session_hash: None,
        created_at: now,
        expires_at: now + time::Duration::minutes(15),
        used_at: None,
        account_stamp: Some("stamp".into()),
    };
    let worker = {
        let store = store.clone();
        tokio::spawn(async move { store.complete_link_request("request-1", Some(&token), &[]).await })
    };
    // Until the worker waits for a lock (bounded; not a speed assertion).
    let mut probe = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut waiting = false;
    for _ in 0..300 {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut probe)
        .await
        .expect("pg_stat_activity");
        if n > 0 {
            waiting = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(waiting, "the worker never waited for the user's row");

    // It waits on the user, holding nothing of the request: the deletion
    // can take the request's row at once and finish.
    sqlx::query("SELECT id FROM link_requests WHERE id = 'request-1' FOR UPDATE NOWAIT")
        .fetch_all(&mut deleter)
        .await
        .expect("the request's row is not held by the waiting worker");
    sqlx::query("DELETE FROM users WHERE id = $1").bind(user).execute(&mut deleter).await.expect("delete");
    sqlx::raw_sql("COMMIT").execute(&mut deleter).await.expect("commit");

    // The worker then finds the request gone and completes nothing.
    worker.await.expect("join").expect("no deadlock, no error");
    assert_eq!(db.count("SELECT * FROM link_requests").await, 0);
    assert_eq!(db.count("SELECT * FROM email_tokens").await, 0);
}
