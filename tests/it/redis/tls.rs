//! `rediss://`: Redis over TLS, its certificate issued by a private CA
//! given as `redis.tls_ca_file`. Without that CA the server is not
//! trusted; with it, the application signs people in through it.

use portcullis_store::{Reservation, Throttle};
use portcullis_store_redis::{Redis, RedisThrottle};
use portcullis_tests::oidc::{Browser, PASSWORD, create_user, spawn_oidc_app_with};
use portcullis_tests::redis::RedisServer;
use portcullis_tests::{Backend, TestDatabase, both_backends};
use std::sync::Arc;
use time::macros::datetime;

use crate::review::{location, lockout, post_password};

async fn tls_server() -> RedisServer {
    tokio::task::spawn_blocking(RedisServer::start_tls).await.expect("redis over TLS starts")
}

#[tokio::test(flavor = "multi_thread")]
async fn rediss_trusts_the_configured_ca_and_nothing_else() {
    let server = tls_server().await;
    let mut config = server.config(&super::prefix("tls"));
    assert!(Redis::connect(&config).await.is_err(), "the system's roots do not know the test CA");
    config.ca_pem = Some(server.ca_pem());
    let throttle = RedisThrottle::new(Redis::connect(&config).await.expect("trusted through the CA"));
    let now = datetime!(2026-03-01 12:00 UTC);
    let answer = throttle.reserve_attempt("pwd:x", &lockout(3), now).await.expect("reserve over TLS");
    assert!(matches!(answer, Reservation::Admitted { failures: 1, .. }), "{answer:?}");
    let plain = server.config("tls:").target;
    let portcullis_store_redis::RedisTarget::Server(url) = plain else { panic!("a server") };
    let mut config = server.config("tls:");
    config.target = portcullis_store_redis::RedisTarget::Server(url.replace("rediss://", "redis://"));
    assert!(Redis::connect(&config).await.is_err(), "no plain text on a TLS port");
}

async fn the_application_signs_in_through_redis_over_tls(backend: Backend) {
    let server = tls_server().await;
    let (url, ca, prefix) = (server.url(), server.ca_file(), super::prefix("tls-app"));
    let app = spawn_oidc_app_with(Arc::new(TestDatabase::new(backend).await), |s| {
        super::use_redis(s, &url, &prefix);
        s.redis.tls_ca_file = Some(ca);
    })
    .await;
    create_user(&app, "dave", &[]).await;
    assert_eq!(post_password(&Browser::new(&app), "dave", "wrong guess").await.status(), 200);
    assert_eq!(location(&post_password(&Browser::new(&app), "dave", PASSWORD).await), "/");
    assert_eq!(app.get("/readyz").await.status(), 200);
}

both_backends!(the_application_signs_in_through_redis_over_tls);
