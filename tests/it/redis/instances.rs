//! Redis behind the application: two instances share sign-in's counters
//! there (acceptance 1's Redis, with `multi::journey`), and Redis stopped
//! mid-run is a 503 where sign-in needs it, nowhere else (acceptance 4).

use portcullis_core::Clock;
use portcullis_protocol::GrantType;
use portcullis_store::SessionStateRepo;
use portcullis_store_redis::{Redis, RedisHot, RedisThrottle};
use portcullis_tests::mfa::{enroll_totp, password_sign_in, totp_code};
use portcullis_tests::oidc::{
    Browser, ClientSpec, PASSWORD, create_client, create_user, spawn_oidc_app_with, token_request,
};
use portcullis_tests::redis::RedisServer;
use portcullis_tests::{Backend, TestApp, TestDatabase, both_backends};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{cluster_on, prefix, use_redis};
use crate::review::{location, post_code, post_password};

async fn redis_server() -> RedisServer {
    tokio::task::spawn_blocking(RedisServer::start).await.expect("redis starts")
}

/// Wrong passwords for one account, alternating between two instances,
/// count on one counter in Redis: the limit holds across both, the right
/// password waits too, and the database holds no counter at all.
async fn two_instances_count_on_one_counter_in_redis(backend: Backend) {
    let server = redis_server().await;
    let prefix = prefix("shared");
    let cluster = cluster_on(backend, &server, &prefix, |_| {}).await;
    let (a, b) = (&cluster.apps[0], &cluster.apps[1]);
    let dave = create_user(a, "dave", &[]).await;
    let limit = a.settings.auth.max_failures_per_account;
    for i in 0..limit {
        let app = if i % 2 == 0 { a } else { b };
        let res = post_password(&Browser::new(app), "dave", "wrong guess").await;
        assert_eq!(res.status(), 200, "wrong password {i} is checked");
    }
    for app in [a, b] {
        let res = post_password(&Browser::new(app), "dave", PASSWORD).await;
        assert_eq!(res.status(), 429, "the limit holds on both instances");
    }
    let throttle = RedisThrottle::new(Redis::connect(&server.config(&prefix)).await.expect("connect"));
    let account = format!("pwd:{}", dave.id);
    let counted = throttle.get(&account).await.expect("get").map(|s| s.failures);
    assert_eq!(counted, Some(limit), "one counter, in Redis");
    assert_eq!(a.store.find_rate_limit(&account).await.expect("find"), None, "none in the database");
    assert_eq!(a.store.find_rate_limit("ip:127.0.0.1").await.expect("find"), None);
}

async fn machine_token(app: &TestApp) -> u16 {
    let form = [("grant_type", "client_credentials"), ("scope", "api")];
    token_request(app, "machine", &form).await.status().as_u16()
}

/// Redis killed mid-run: sign-in answers 503 with `Retry-After` (the
/// attempt cannot be counted, so it is not checked: never a 500, never a
/// session), `/readyz` is 503 naming Redis; the token endpoint, discovery
/// and JWKS need no Redis and answer 200. Redis restarted (empty): sign-in
/// works again within 5 s, without a restart of the application.
async fn redis_away_is_a_503_where_needed_and_back_within_5_s(backend: Backend) {
    let mut server = redis_server().await;
    let (url, prefix) = (server.url(), prefix("away"));
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| use_redis(s, &url, &prefix)).await;
    create_user(&app, "dave", &[]).await;
    let mut machine = ClientSpec::confidential("machine", "https://rp.example/cb");
    machine.grants = vec![GrantType::ClientCredentials];
    machine.redirect_uris = vec![];
    machine.scopes = "api".into();
    create_client(&app, machine).await;
    create_client(&app, ClientSpec::confidential("rp", crate::review::CB)).await;
    let (_, authorize) = crate::review::authorize_url(&app, "openid", None);
    let res = Browser::new(&app).get(&authorize).await;
    assert_eq!(res.status(), 303, "a pending request kept in Redis");
    assert_eq!(location(&post_password(&Browser::new(&app), "dave", PASSWORD).await), "/");
    assert_eq!(app.get("/readyz").await.status(), 200);

    server.stop();
    for password in [PASSWORD, "wrong guess"] {
        let res = post_password(&Browser::new(&app), "dave", password).await;
        assert_eq!(res.status(), 503, "sign-in needs Redis");
        assert!(res.headers().contains_key("retry-after"), "{:?}", res.headers());
        assert!(res.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap_or("").contains("sid")));
        let page = res.text().await.expect("page");
        assert!(!page.contains("panicked") && !page.contains("redis://"), "{page}");
    }
    let res = Browser::new(&app).get(&authorize).await;
    assert_eq!(res.status(), 503, "the pending request cannot be kept: a page, not a redirect");
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.headers().get("location").is_none());
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["reason"], "redis unreachable", "{body}");
    assert_eq!(machine_token(&app).await, 200, "client_credentials needs no Redis");
    let discovery = app.get("/.well-known/openid-configuration").await;
    assert_eq!(discovery.status(), 200);
    assert_eq!(app.get("/jwks").await.status(), 200);

    tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .map(|server| {
        let deadline = Instant::now() + Duration::from_secs(5);
        (server, deadline)
    })
    .map(|(server, deadline)| async move {
        loop {
            let res = post_password(&Browser::new(&app), "dave", PASSWORD).await;
            if res.status() == 303 {
                assert_eq!(location(&res), "/");
                break;
            }
            assert_eq!(res.status(), 503, "only unavailable while Redis comes back");
            assert!(Instant::now() < deadline, "sign-in still 503 five seconds after Redis returned");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(app.get("/readyz").await.status(), 200);
        drop(server);
    })
    .expect("redis restarts")
    .await;
}

both_backends!(
    two_instances_count_on_one_counter_in_redis,
    redis_away_is_a_503_where_needed_and_back_within_5_s,
);

/// A sign-in waiting for its second factor, and the pending authorization
/// request, live in Redis: the password posted on one instance, the code on
/// the other (the proxy alternates), and neither is in the database.
async fn a_second_factor_completes_on_the_other_instance(backend: Backend) {
    let server = redis_server().await;
    let prefix = prefix("mfa");
    let cluster = cluster_on(backend, &server, &prefix, |_| {}).await;
    let a = &cluster.apps[0];
    create_user(a, "alice", &[]).await;
    let owner = Browser::new(a);
    assert_eq!(location(&password_sign_in(&owner, "alice", &[]).await), "/");
    let (secret, _) = enroll_totp(&owner, a.clock.now()).await;

    let browser = Browser::at(&cluster.proxy.address);
    assert_eq!(location(&post_password(&browser, "alice", PASSWORD).await), "/login/mfa");
    let session = portcullis_authn::sessions::hash_id(&browser.session_cookie().expect("a session"));
    let hot = RedisHot::new(Redis::connect(&server.config(&prefix)).await.expect("connect"));
    let now = a.clock.now();
    assert!(hot.find_session_state(&session, "signin", now).await.expect("find").is_some(), "in Redis");
    assert_eq!(a.store.find_session_state(&session, "signin", now).await.expect("find"), None, "not in SQL");
    let served = cluster.proxy.connections();
    assert!(served.iter().all(|&n| n > 0), "both instances served: {served:?}");

    for app in &cluster.apps {
        app.clock.advance(time::Duration::seconds(30));
    }
    let code = totp_code(&secret, a.clock.now());
    let res = post_code(&browser, "totp", &code).await;
    assert_eq!(res.status(), 303, "the code completes the sign-in begun on the other instance");
    assert_eq!(location(&res), "/");
    assert_eq!(hot.find_session_state(&session, "signin", now).await.expect("find"), None, "taken");
}

both_backends!(a_second_factor_completes_on_the_other_instance);
