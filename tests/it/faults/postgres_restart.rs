//! PostgreSQL restarted or stopped under the application (issue 18): every
//! failed answer is a 503 with `Retry-After` — never a 500 — the pool's
//! connections killed by the restart are not handed to requests, and
//! `/readyz` follows the database, back to 200 by itself.
//!
//! Each test runs its own cluster ([`PgCluster`]): the shared one serves
//! every other test.

use portcullis_protocol::GrantType;
use portcullis_tests::oidc::{
    ClientSpec, client_secret, create_client, pkce, spawn_oidc_app_with, token_request,
};
use portcullis_tests::pg_cluster::PgCluster;
use portcullis_tests::{TestApp, TestDatabase};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const CB: &str = "https://rp.example/cb";

/// A cluster of this test's own (started off the async threads).
async fn cluster() -> Arc<PgCluster> {
    Arc::new(tokio::task::spawn_blocking(PgCluster::start).await.expect("cluster starts"))
}

/// Runs a blocking cluster action off the async threads.
async fn on(cluster: &Arc<PgCluster>, action: fn(&PgCluster)) {
    let cluster = cluster.clone();
    tokio::task::spawn_blocking(move || action(&cluster)).await.expect("cluster action");
}

/// The app on a database of `cluster`, with a client-credentials client
/// (`machine`, also the introspecting resource server) and a code client (`rp`).
async fn app_on(cluster: &PgCluster, connect_timeout_secs: u64) -> TestApp {
    let db = Arc::new(TestDatabase::on_postgres(&cluster.admin_url()).await);
    let app = spawn_oidc_app_with(db, |s| s.database.connect_timeout_secs = connect_timeout_secs).await;
    let mut machine = ClientSpec::confidential("machine", CB);
    machine.grants = vec![GrantType::ClientCredentials];
    machine.scopes = "api".into();
    create_client(&app, machine).await;
    create_client(&app, ClientSpec::confidential("rp", CB)).await;
    app
}

/// One answer: which request, its status, whether it said when to retry.
#[derive(Debug, Clone)]
struct Answer {
    what: &'static str,
    status: u16,
    retry_after: bool,
}

impl Answer {
    fn of(what: &'static str, res: &reqwest::Response) -> Self {
        Self { what, status: res.status().as_u16(), retry_after: res.headers().contains_key("retry-after") }
    }

    fn ok(&self) -> bool {
        (200..400).contains(&self.status)
    }
}

/// The mix, all at once: a client-credentials token, its introspection, an
/// authorization request (stored, then the sign-in page), discovery.
/// Transport errors (the app itself never goes away here) fail the test.
async fn round(app: &TestApp) -> Vec<Answer> {
    let token = async {
        let res = token_request(app, "machine", &[("grant_type", "client_credentials")]).await;
        let answer = Answer::of("token", &res);
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let introspection = match body["access_token"].as_str() {
            Some(token) => {
                let res = app
                    .client
                    .post(format!("{}/introspect", app.address))
                    .basic_auth("machine", Some(client_secret("machine")))
                    .form(&[("token", token)])
                    .send()
                    .await
                    .expect("introspect");
                Some(Answer::of("introspect", &res))
            }
            None => None,
        };
        (answer, introspection)
    };
    let sign_in = async {
        let (_, challenge) = pkce();
        let url = format!(
            "/authorize?response_type=code&client_id=rp&redirect_uri={CB}&scope=openid&state=s\
             &code_challenge={challenge}&code_challenge_method=S256"
        );
        Answer::of("authorize", &app.get(&url).await)
    };
    let discovery = async { Answer::of("discovery", &app.get("/.well-known/openid-configuration").await) };
    let ((token, introspection), sign_in, discovery) = tokio::join!(token, sign_in, discovery);
    let mut answers = vec![token, sign_in, discovery];
    answers.extend(introspection);
    answers
}

/// Polls `round` until every answer succeeds (at most 30 s: a bound, not a
/// timing assertion); the answers seen on the way.
async fn until_all_succeed(app: &TestApp) -> Vec<Answer> {
    let mut seen = Vec::new();
    for _ in 0..300 {
        let answers = round(app).await;
        let all_ok = answers.len() == 4 && answers.iter().all(Answer::ok);
        seen.extend(answers);
        if all_ok {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("requests did not succeed again within 30 s: {:?}", seen.iter().rev().take(8).collect::<Vec<_>>());
}

/// Every failure a 503 with `Retry-After`; never a 500.
fn assert_only_503s(answers: &[Answer]) {
    let failures: Vec<&Answer> = answers.iter().filter(|a| !a.ok()).collect();
    for a in &failures {
        assert!(a.status == 503 && a.retry_after, "a failure that is not a 503 with Retry-After: {a:?}");
    }
}

/// `pg_ctl restart -m fast` under a steady mix of requests: no 500, every
/// failure a 503 with `Retry-After`, and success again afterwards. (Most
/// runs see no failure at all: a request that needs a connection while the
/// server restarts waits for the pool to reconnect, within
/// `database.connect_timeout_secs`, and a statement killed on a dead
/// connection runs again on a fresh one; the 503s are
/// `postgres_down_is_503_with_retry_after_and_recovers`'s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_under_load_answers_503_never_500() {
    let cluster = cluster().await;
    let app = Arc::new(app_on(&cluster, 5).await);
    assert!(round(&app).await.iter().all(Answer::ok), "the mix succeeds before the restart");

    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (app, stop) = (app.clone(), stop.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            // Until stopped, and at least a few rounds: a restart quicker
            // than a round must not fail the count below on timing alone.
            while !stop.load(Ordering::Relaxed) || answers.len() <= 8 {
                answers.extend(round(&app).await);
            }
            answers
        })
    };
    on(&cluster, PgCluster::restart_fast).await;
    let mut answers = until_all_succeed(&app).await;
    stop.store(true, Ordering::Relaxed);
    answers.extend(load.await.expect("load"));

    assert_only_503s(&answers);
    assert!(answers.len() > 8, "the load ran through the restart: {}", answers.len());
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200, "ready again by itself");
}

/// After a restart, the pool's idle connections are all dead: none of them
/// may fail a request — each is tested before use once one was found dead,
/// and a statement that found one runs again on a fresh connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_by_a_restart_are_not_handed_to_requests() {
    let cluster = cluster().await;
    let app = app_on(&cluster, 5).await;
    // Several requests at once: several pooled connections, idle afterwards.
    for _ in 0..3 {
        let answers = futures_util::future::join_all((0..4).map(|_| round(&app))).await;
        assert!(answers.iter().flatten().all(Answer::ok), "{answers:?}");
    }

    // Restarted while the pool is idle: `-w` returns once it accepts connections.
    on(&cluster, PgCluster::restart_fast).await;

    for _ in 0..5 {
        let answers = round(&app).await;
        assert!(answers.iter().all(Answer::ok), "a dead pooled connection reached a request: {answers:?}");
    }
    let answers = futures_util::future::join_all((0..4).map(|_| round(&app))).await;
    assert!(answers.iter().flatten().all(Answer::ok), "{answers:?}");
}

/// PostgreSQL stopped: `/readyz` is 503, the pages and endpoints that need
/// the database answer 503 with `Retry-After` in their own shape, those
/// that do not (discovery) still serve; started again: everything is back,
/// without a restart of the app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_is_503_with_retry_after_and_recovers() {
    let cluster = cluster().await;
    // A short acquire timeout: a request waits that long for a connection.
    let app = app_on(&cluster, 1).await;
    assert!(round(&app).await.iter().all(Answer::ok));

    on(&cluster, PgCluster::stop_fast).await;

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "not_ready", "{body}");

    let answers = round(&app).await;
    assert_only_503s(&answers);
    let by = |what| answers.iter().find(|a| a.what == what).expect("answered");
    assert_eq!(by("discovery").status, 200, "discovery needs no database");
    assert_eq!(by("authorize").status, 503, "the authorization request cannot be stored");

    // The OAuth shape: RFC 6749 temporarily_unavailable.
    let res = token_request(&app, "machine", &[("grant_type", "client_credentials")]).await;
    if res.status() == 503 {
        assert!(res.headers().contains_key("retry-after"));
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    } else {
        // The client was in the client cache: the token is signed without the database.
        assert_eq!(res.status(), 200);
    }
    on(&cluster, PgCluster::start_again).await;
    until_all_succeed(&app).await;
    let mut ready = 0;
    for _ in 0..300 {
        ready = app.get("/readyz").await.status().as_u16();
        if ready == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 200, "/readyz recovers by itself");
}
