//! The fan-out through Redis pub/sub: a change one instance makes to a
//! client or a signing key reaches the other instance's caches at once,
//! not at the end of their intervals (the keys' here is an hour).

use portcullis_core::Clock;
use portcullis_protocol::GrantType;
use portcullis_tests::cluster::Cluster;
use portcullis_tests::oidc::{ClientSpec, create_client, token_request};
use portcullis_tests::redis::RedisServer;
use portcullis_tests::{Backend, both_backends};
use std::time::{Duration, Instant};

use super::{cluster_on, prefix};
use crate::keys::revoke::published_kids;

async fn pair(backend: Backend, server: &RedisServer) -> Cluster {
    cluster_on(backend, server, &prefix("fanout"), |s| s.keys.refresh_interval_secs = 3600).await
}

/// Polls `done` until it holds, failing after `within`.
async fn eventually<F: std::future::Future<Output = bool>>(
    within: Duration,
    what: &str,
    done: impl Fn() -> F,
) {
    let deadline = Instant::now() + within;
    while !done().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A key revoked on A (a compromised key) leaves B's JWKS at once, though
/// B re-reads its keys only hourly, and B signs with the replacement.
async fn a_key_revoked_on_one_instance_leaves_the_other_at_once(backend: Backend) {
    let server = tokio::task::spawn_blocking(RedisServer::start).await.expect("redis");
    let cluster = pair(backend, &server).await;
    let (a, b) = (&cluster.apps[0], &cluster.apps[1]);
    let set = a.keys.live().current();
    let alg = portcullis_keys::Algorithm::Rs256;
    let kid = set.active_kid(alg).expect("an active RS256 key").to_owned();
    assert!(published_kids(b).await.contains(&kid));

    let replacement = a.keys.service().revoke(&kid, a.clock.now()).await.expect("revoke").expect("replaced");
    // B re-reads its keys hourly: anything sooner is the fan-out.
    eventually(Duration::from_secs(30), "B drops the revoked key", || async {
        let kids = published_kids(b).await;
        !kids.contains(&kid) && kids.contains(&replacement)
    })
    .await;
    assert_eq!(b.keys.live().current().active_kid(alg), Some(replacement.as_str()));
}

/// A client's secret changed on A is refused by B at once, though B had
/// it cached (for 5 s).
async fn a_client_changed_on_one_instance_is_dropped_by_the_other_at_once(backend: Backend) {
    let server = tokio::task::spawn_blocking(RedisServer::start).await.expect("redis");
    let cluster = pair(backend, &server).await;
    let (a, b) = (&cluster.apps[0], &cluster.apps[1]);
    let mut spec = ClientSpec::confidential("machine", "https://rp.example/cb");
    spec.grants = vec![GrantType::ClientCredentials];
    spec.redirect_uris = vec![];
    spec.scopes = "api".into();
    create_client(a, spec).await;
    let form = [("grant_type", "client_credentials"), ("scope", "api")];
    assert_eq!(token_request(b, "machine", &form).await.status(), 200, "cached on B");

    let changed = Instant::now();
    let mut record = a.store.find_client("machine").await.expect("find").expect("client");
    record.disabled = true;
    a.store.upsert_client(&record).await.expect("disable on A");
    eventually(Duration::from_secs(4), "B refuses the disabled client", || async {
        token_request(b, "machine", &form).await.status() == 401
    })
    .await;
    assert!(changed.elapsed() < Duration::from_secs(5), "before B's cache would have expired by itself");
}

/// `portcullis keys revoke` (the command's own function, as the binary
/// runs it, with the instances' settings) tells the running instances:
/// both drop the key at once, though they re-read keys hourly.
async fn a_key_revoked_with_the_command_leaves_every_instance_at_once(backend: Backend) {
    let server = tokio::task::spawn_blocking(RedisServer::start).await.expect("redis");
    let cluster = pair(backend, &server).await;
    let alg = portcullis_keys::Algorithm::Es256;
    let kid = cluster.apps[0].keys.live().current().active_kid(alg).expect("an active ES256 key").to_owned();
    let settings = cluster.apps[0].settings.clone();
    let command = portcullis_server::keys::KeysCommand::Revoke { kid: kid.clone() };
    let code = portcullis_server::keys::run_keys_command(&settings, command).await;
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    for app in &cluster.apps {
        eventually(Duration::from_secs(30), "the instance drops the revoked key", || async {
            !published_kids(app).await.contains(&kid)
        })
        .await;
        assert_ne!(app.keys.live().current().active_kid(alg), Some(kid.as_str()));
    }
}

both_backends!(
    a_key_revoked_with_the_command_leaves_every_instance_at_once,
    a_key_revoked_on_one_instance_leaves_the_other_at_once,
    a_client_changed_on_one_instance_is_dropped_by_the_other_at_once,
);
