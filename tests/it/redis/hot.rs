//! Single-use artefacts on Redis (acceptance 6 for a server and a cluster):
//! pending authorization requests and the state of a browser session's
//! ceremonies are taken once, whatever the number of takers and instances;
//! the stored lifetime is the rule, as in the database.

use futures_util::future::join_all;
use portcullis_store::{AuthRequestRepo, AuthRequestRow, SessionStateRepo};
use portcullis_store_redis::{Redis, RedisConfig, RedisHot};
use portcullis_tests::redis::{RedisCluster, RedisServer};
use time::Duration;
use time::macros::datetime;

fn request(id: &str) -> AuthRequestRow {
    let created_at = datetime!(2026-03-01 12:00:00.123 UTC);
    AuthRequestRow {
        id: id.into(),
        client_id: "rp".into(),
        request: r#"{"client_id":"rp","scope":"openid"}"#.into(),
        created_at,
        expires_at: created_at + Duration::minutes(10),
    }
}

async fn single_use_artefacts_are_taken_once(config: RedisConfig) {
    let a = RedisHot::new(Redis::connect(&config).await.expect("connect A"));
    let b = RedisHot::new(Redis::connect(&config).await.expect("connect B"));

    // Pending requests: what is stored is read back as it was, by either
    // instance, until deleted.
    let row = request("r1");
    a.create_auth_request(&row).await.expect("create");
    assert_eq!(b.find_auth_request("r1").await.expect("find"), Some(row.clone()));
    assert!(b.delete_auth_request("r1").await.expect("delete"));
    assert!(!a.delete_auth_request("r1").await.expect("delete again"));
    assert_eq!(a.find_auth_request("r1").await.expect("find"), None);

    // A pushed request raced by 20 takers over two connections: one gets it.
    a.create_auth_request(&request("r2")).await.expect("create");
    let takers =
        (0..20).map(|i| if i % 2 == 0 { a.take_auth_request("r2") } else { b.take_auth_request("r2") });
    let taken: Vec<_> = join_all(takers).await.into_iter().map(|r| r.expect("take")).collect();
    assert_eq!(taken.iter().filter(|t| t.is_some()).count(), 1, "{taken:?}");
    assert_eq!(taken.into_iter().flatten().next(), Some(request("r2")));

    // Session states: replaced by a put, invisible once expired, taken once.
    let now = datetime!(2026-03-01 12:00 UTC);
    let until = now + Duration::minutes(5);
    a.put_session_state("s1", "passkey", "first", until).await.expect("put");
    a.put_session_state("s1", "passkey", "second", until).await.expect("put again");
    a.put_session_state("s1", "signin", "other kind", until).await.expect("put");
    assert_eq!(b.find_session_state("s1", "passkey", now).await.expect("find").as_deref(), Some("second"));
    assert_eq!(b.find_session_state("s1", "passkey", until).await.expect("find"), None, "expired");
    assert_eq!(b.find_session_state("s2", "passkey", now).await.expect("find"), None, "another session's");
    let takers = (0..20).map(|i| {
        let hot = if i % 2 == 0 { &a } else { &b };
        hot.take_session_state("s1", "passkey", now)
    });
    let taken: Vec<_> = join_all(takers).await.into_iter().map(|r| r.expect("take")).collect();
    assert_eq!(taken.iter().flatten().collect::<Vec<_>>(), [&"second".to_owned()], "{taken:?}");
    assert_eq!(a.find_session_state("s1", "signin", now).await.expect("find").as_deref(), Some("other kind"));
    // An expired state taken is gone, and not returned.
    assert_eq!(a.take_session_state("s1", "signin", until).await.expect("take"), None);
    assert_eq!(a.find_session_state("s1", "signin", now).await.expect("find"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn single_use_artefacts_are_taken_once_on_a_server() {
    let server = tokio::task::spawn_blocking(RedisServer::start).await.expect("redis");
    single_use_artefacts_are_taken_once(server.config(&super::prefix("hot"))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn single_use_artefacts_are_taken_once_on_a_cluster() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start).await.expect("cluster");
    single_use_artefacts_are_taken_once(cluster.config(&super::prefix("hot"))).await;
}
