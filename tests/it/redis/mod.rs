//! Redis (issue 18): sign-in's throttle counters shared by every instance.
//!
//! - `throttle`: the Redis throttle is the reference transition (random
//!   sequences, shrunk on failure) and admits exactly the limit under
//!   parallel reservations from two connections, on one server and on a
//!   three-master Redis Cluster.
//! - `instances`: two instances count one account's wrong passwords on one
//!   counter in Redis (none in the database); Redis stopped mid-run gives
//!   503 with `Retry-After` where sign-in needs it while the token endpoint,
//!   discovery and JWKS keep serving, `/readyz` says so, and it all works
//!   again within 5 s of Redis returning.

mod fanout;
mod hot;
mod instances;
mod throttle;
mod tls;

use portcullis_server::settings::RedisUrl;

/// A key prefix of one test's own.
pub(crate) fn prefix(test: &str) -> String {
    format!("test:{test}:{}:", uuid::Uuid::new_v4().simple())
}

/// Two instances on a fresh `backend` database behind the round-robin
/// proxy, both on `server` with keys under `prefix`, their settings then
/// changed by `customise`.
pub(crate) async fn cluster_on(
    backend: portcullis_tests::Backend,
    server: &portcullis_tests::redis::RedisServer,
    prefix: &str,
    customise: impl Fn(&mut portcullis_server::Settings) + Clone,
) -> portcullis_tests::cluster::Cluster {
    let (url, prefix) = (server.url(), prefix.to_owned());
    portcullis_tests::cluster::spawn_cluster(backend, 2, move |s| {
        use_redis(s, &url, &prefix);
        customise(s);
    })
    .await
}

/// Points `settings` at the Redis server `url`, keys under `prefix`.
pub(crate) fn use_redis(settings: &mut portcullis_server::Settings, url: &str, prefix: &str) {
    settings.redis.url = Some(RedisUrl::parse(url).expect("redis url"));
    settings.redis.key_prefix = prefix.to_owned();
    settings.redis.timeout_ms = 500;
}
