//! Acceptance 3 of issue 18, with two instances on one database:
//! - a rotation that falls due on both at once makes exactly one new key
//!   per algorithm (the rotation runs under the `leases` row, taken by one
//!   atomic upsert; the unique index on a staged/active key per algorithm
//!   backs it), and both instances then publish it;
//! - 50 queued mails reach the SMTP capture exactly once each with two
//!   outbox workers draining the queue together (PostgreSQL claims with
//!   `FOR UPDATE SKIP LOCKED`, SQLite's one writer leases in one statement);
//! - back-channel logout tokens reach the relying party exactly once each,
//!   both instances' workers polling the one queue.

use portcullis_core::{Clock, ManualClock};
use portcullis_mailer::{OutboxWorker, RetryPolicy, SmtpConfig, SmtpMailer, TlsMode};
use portcullis_store::Store;
use portcullis_tests::cluster::spawn_cluster;
use portcullis_tests::oidc::{Browser, ClientSpec, create_client, create_user, hidden};
use portcullis_tests::{Backend, SmtpCapture, both_backends, password_changed_mail};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::Duration;

use super::{CB, code_at, field, redeem};

async fn a_rotation_due_on_both_instances_makes_one_key(backend: Backend) {
    let cluster = spawn_cluster(backend, 2, |_| {}).await;
    let (a, b) = (&cluster.apps[0], &cluster.apps[1]);
    let before = a.keys.service().keys().await.expect("keys");
    let algorithms: BTreeSet<_> = before.iter().map(|k| k.alg).collect();

    // Past the rotation period and past the lease A took at start: both
    // contend for the lease at the same instant, twice over.
    let period = i64::try_from(a.settings.keys.rotation_period_secs).expect("secs");
    let later = a.clock.now() + Duration::seconds(period + 1);
    let (sa, sb) = (a.keys.service(), b.keys.service());
    for round in 0..2 {
        let at = later + Duration::seconds(round);
        let (ra, rb) = tokio::join!(sa.rotate_if_due(at), sb.rotate_if_due(at));
        let (ra, rb) = (ra.expect("A rotates or stands by"), rb.expect("B rotates or stands by"));
        let leaders =
            [&ra, &rb].iter().filter(|r| !matches!(r, portcullis_keys::RotationOutcome::NotLeader)).count();
        assert_eq!(leaders, 1, "one instance holds the lease: {ra:?} {rb:?}");
    }
    let after = a.keys.service().keys().await.expect("keys");
    let new: Vec<_> = after.iter().filter(|k| !before.iter().any(|o| o.kid == k.kid)).collect();
    let per_alg: BTreeMap<_, usize> = new.iter().fold(BTreeMap::new(), |mut m, k| {
        *m.entry(k.alg).or_default() += 1;
        m
    });
    assert_eq!(per_alg.keys().copied().collect::<BTreeSet<_>>(), algorithms, "{new:?}");
    assert!(per_alg.values().all(|&n| n == 1), "exactly one new key per algorithm: {new:?}");

    // Each instance re-reads the keys on its refresh: both publish the same.
    a.keys.refresh().await;
    b.keys.refresh().await;
    let kids = |body: serde_json::Value| -> BTreeSet<String> {
        body["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_owned())
            .collect()
    };
    let on_a = kids(a.get("/jwks").await.json().await.expect("json"));
    let on_b = kids(b.get("/jwks").await.json().await.expect("json"));
    assert_eq!(on_a, on_b);
    assert!(new.iter().all(|k| on_a.contains(&k.kid)), "the new keys are published");
}

fn outbox_worker(store: Arc<dyn Store>, smtp: &SmtpCapture, clock: &ManualClock) -> OutboxWorker {
    let config = SmtpConfig {
        host: "127.0.0.1".into(),
        port: smtp.port,
        tls: TlsMode::None,
        username: None,
        password: None,
        from: "Portcullis <no-reply@example.test>".into(),
        timeout: StdDuration::from_secs(5),
    };
    let mailer = SmtpMailer::new(&config).expect("smtp mailer");
    OutboxWorker::new(store, Arc::new(mailer), Arc::new(clock.clone()), RetryPolicy::default(), None)
}

async fn queued_mail_is_sent_once_by_two_workers(backend: Backend) {
    let db = portcullis_tests::TestDatabase::new(backend).await;
    let (one, two) = (db.open().await, db.open().await);
    one.migrate().await.expect("migrate");
    let mut smtp = SmtpCapture::new();
    smtp.start();
    let clock = ManualClock::new(time::macros::datetime!(2030-01-01 00:00 UTC));
    let mails: Vec<_> = (0..50)
        .map(|i| password_changed_mail("Acme ID", &format!("user{i}@example.test"), &format!("user{i}")))
        .collect();
    let ids = one.enqueue_mails(&mails, clock.now()).await.expect("enqueue");
    assert_eq!(ids.len(), 50);

    let (w1, w2) = (outbox_worker(one.clone(), &smtp, &clock), outbox_worker(two, &smtp, &clock));
    let (s1, s2) = tokio::join!(w1.run_once(), w2.run_once());
    let (s1, s2) = (s1.expect("worker 1"), s2.expect("worker 2"));
    assert_eq!(s1 + s2, 50, "every mail sent by one of them ({s1} + {s2})");

    let messages = smtp.messages();
    assert_eq!(messages.len(), 50, "no copy");
    for id in &ids {
        let needle = format!("<{id}@example.test>");
        assert_eq!(messages.iter().filter(|m| m.contains(&needle)).count(), 1, "mail {id}");
    }
}

const SESSIONS: usize = 10;

async fn backchannel_logout_tokens_are_delivered_once(backend: Backend) {
    let cluster = spawn_cluster(backend, 2, |_| {}).await;
    let a = &cluster.apps[0];
    create_user(a, "alice", &[]).await;
    let (endpoint, mut received) = portcullis_tests::oidc::backchannel_receiver();
    let mut spec = ClientSpec::confidential("rp", CB);
    spec.backchannel_logout_uri = Some(endpoint);
    create_client(a, spec).await;

    // Ten sessions, each signed in and out through the proxy.
    let mut sids = BTreeSet::new();
    for _ in 0..SESSIONS {
        let browser = Browser::at(&cluster.proxy.address);
        let (code, verifier) = code_at(&cluster.proxy.address, &browser, "alice").await;
        let (status, tokens) = redeem(a, &code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        let claims = portcullis_tests::oidc::jwt_claims(&field(&tokens, "id_token"));
        sids.insert(claims["sid"].as_str().expect("sid").to_owned());
        let page = browser.get("/logout").await.text().await.expect("page");
        let csrf = hidden(&page, "csrf_token").expect("csrf");
        assert_eq!(browser.post("/logout", &[("csrf_token", &csrf)]).await.status(), 303);
    }
    assert_eq!(sids.len(), SESSIONS);

    // Both instances' workers poll the queue; wait until it is empty (the
    // loop is bounded by the guard, not timed), then count what arrived.
    let mut remaining = 1;
    for _ in 0..600 {
        remaining = cluster.db.count("SELECT id FROM backchannel_logouts").await;
        if remaining == 0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert_eq!(remaining, 0, "every logout delivered");
    let mut per_sid: BTreeMap<String, usize> = BTreeMap::new();
    while let Ok(token) = received.try_recv() {
        let claims = portcullis_tests::oidc::jwt_claims(&token);
        *per_sid.entry(claims["sid"].as_str().expect("sid").to_owned()).or_default() += 1;
    }
    assert_eq!(per_sid.keys().cloned().collect::<BTreeSet<_>>(), sids, "one per session");
    assert!(per_sid.values().all(|&n| n == 1), "exactly once each: {per_sid:?}");
}

both_backends!(
    a_rotation_due_on_both_instances_makes_one_key,
    queued_mail_is_sent_once_by_two_workers,
    backchannel_logout_tokens_are_delivered_once
);
