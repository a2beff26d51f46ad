//! The Redis throttle against the reference transitions, on a server and on
//! a cluster (acceptance 6 of issue 18).

use futures_util::future::join_all;
use portcullis_store::{Reservation, Throttle};
use portcullis_store_redis::{Redis, RedisConfig, RedisThrottle};
use portcullis_tests::redis::{RedisCluster, RedisServer};
use time::macros::datetime;

use crate::review::lockout;
use crate::review::throttle::follow_the_reference;

/// Random sequences of reservations, releases, clears and waits give the
/// reference's answers.
async fn follows_the_reference(config: RedisConfig) {
    let throttle = RedisThrottle::new(Redis::connect(&config).await.expect("connect"));
    follow_the_reference(&[(&throttle, lockout(3))]);
}

/// 40 concurrent reservations of one counter, half through each of two
/// connections (two instances), admit exactly the limit; a release lets
/// exactly one more through.
async fn parallel_reservations_admit_exactly_the_limit(config: RedisConfig) {
    let a = RedisThrottle::new(Redis::connect(&config).await.expect("connect A"));
    let b = RedisThrottle::new(Redis::connect(&config).await.expect("connect B"));
    let policy = lockout(5);
    let now = datetime!(2026-03-01 12:00 UTC);
    let attempts = (0..40).map(|i| {
        let throttle: &dyn Throttle = if i % 2 == 0 { &a } else { &b };
        throttle.reserve_attempt("pwd:dave", &policy, now)
    });
    let answers = join_all(attempts).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    let admitted = answers.iter().filter(|a| matches!(a, Ok(Reservation::Admitted { .. }))).count();
    assert_eq!(admitted, 5, "{answers:?}");
    let state = a.get("pwd:dave").await.expect("get").expect("a counter");
    assert_eq!(state.failures, 5);
    assert_eq!(state.blocked_until, Some(now + policy.base_delay), "the fifth blocks at once");

    b.release_attempt("pwd:dave").await.expect("release");
    let again = join_all((0..4).map(|_| a.reserve_attempt("pwd:dave", &policy, now))).await;
    let admitted = again.iter().filter(|a| matches!(a, Ok(Reservation::Admitted { .. }))).count();
    assert_eq!(admitted, 1, "{again:?}");
    a.clear_attempts("pwd:dave").await.expect("clear");
    assert_eq!(b.get("pwd:dave").await.expect("get"), None);
}

fn server() -> RedisServer {
    RedisServer::start()
}

#[tokio::test(flavor = "multi_thread")]
async fn follows_the_reference_on_a_server() {
    let server = tokio::task::spawn_blocking(server).await.expect("redis");
    follows_the_reference(server.config(&super::prefix("reference"))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn follows_the_reference_on_a_cluster() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start).await.expect("cluster");
    follows_the_reference(cluster.config(&super::prefix("reference"))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_reservations_admit_exactly_the_limit_on_a_server() {
    let server = tokio::task::spawn_blocking(server).await.expect("redis");
    parallel_reservations_admit_exactly_the_limit(server.config(&super::prefix("parallel"))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_reservations_admit_exactly_the_limit_on_a_cluster() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start).await.expect("cluster");
    parallel_reservations_admit_exactly_the_limit(cluster.config(&super::prefix("parallel"))).await;
}
