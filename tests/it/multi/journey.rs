//! Acceptance 2 of issue 18: the SQL-only multi-instance shape. A relying
//! party's journey with its steps on alternating instances: the sign-in
//! through the round-robin proxy (its requests alternate), the code
//! redeemed on A, refreshed on B, userinfo on A, logout on B: then the very
//! next userinfo on A is 401 and the refresh token is `invalid_grant` on
//! both. Two instances on one SQLite file work too (one writer at a time,
//! the same triggers), so it runs on both backends.
//!
//! Acceptance 1: the same journey with Redis configured (sign-in's
//! counters there), after a wrong password on each instance: the two
//! failures are one account's counter in Redis, and the right password
//! clears it for both.

use portcullis_store_redis::{Redis, RedisThrottle};
use portcullis_tests::cluster::Cluster;
use portcullis_tests::oidc::{Browser, create_user};
use portcullis_tests::redis::RedisServer;
use portcullis_tests::{Backend, both_backends};

use super::{code_at, end_session, field, pair, pair_with, redeem, refresh, userinfo};
use crate::review::post_password;

async fn a_journey_over_alternating_instances(backend: Backend) {
    journey(&pair(backend).await).await;
}

async fn a_journey_over_alternating_instances_with_redis(backend: Backend) {
    let server = tokio::task::spawn_blocking(RedisServer::start).await.expect("redis starts");
    let prefix = crate::redis::prefix("journey");
    let cluster = {
        let (url, prefix) = (server.url(), prefix.clone());
        pair_with(backend, move |s| crate::redis::use_redis(s, &url, &prefix)).await
    };
    let throttle = RedisThrottle::new(Redis::connect(&server.config(&prefix)).await.expect("connect"));
    let alice = create_user(&cluster.apps[0], "alice2", &[]).await;
    for app in &cluster.apps {
        assert_eq!(post_password(&Browser::new(app), "alice2", "wrong guess").await.status(), 200);
    }
    let account = format!("pwd:{}", alice.id);
    let counted = throttle.get(&account).await.expect("get").map(|s| s.failures);
    assert_eq!(counted, Some(2), "one counter in Redis for both instances");
    journey(&cluster).await;
    let res =
        post_password(&Browser::new(&cluster.apps[1]), "alice2", portcullis_tests::oidc::PASSWORD).await;
    assert_eq!(res.status(), 303, "the right password");
    assert_eq!(throttle.get(&account).await.expect("get"), None, "cleared for both");
}

async fn journey(cluster: &Cluster) {
    let (a, b) = (&cluster.apps[0], &cluster.apps[1]);

    // Authorize and sign in through the proxy: a connection per request,
    // handed to A and B in turn (the session and CSRF cookies made on one
    // are honoured by the other).
    let browser = Browser::at(&cluster.proxy.address);
    let (code, verifier) = code_at(&cluster.proxy.address, &browser, "alice").await;
    let served = cluster.proxy.connections();
    assert!(served.iter().all(|&n| n > 0), "both instances served the sign-in: {served:?}");

    let (status, tokens) = redeem(a, &code, &verifier).await;
    assert_eq!(status, 200, "code redeemed on A: {tokens}");
    let id_token = field(&tokens, "id_token");
    let (status, refreshed) = refresh(b, &field(&tokens, "refresh_token")).await;
    assert_eq!(status, 200, "refreshed on B: {refreshed}");
    let access = field(&refreshed, "access_token");
    let refresh_token = field(&refreshed, "refresh_token");
    assert_eq!(userinfo(a, &access).await, 200, "userinfo on A (its state now cached on A)");
    assert_eq!(userinfo(b, &access).await, 200, "and on B");

    end_session(b, &browser, &id_token).await;
    assert_eq!(userinfo(a, &access).await, 401, "the very next userinfo on A");
    assert_eq!(userinfo(b, &access).await, 401, "and on B");
    for app in [a, b] {
        let (status, body) = refresh(app, &refresh_token).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    }
}

both_backends!(a_journey_over_alternating_instances, a_journey_over_alternating_instances_with_redis);
