//! The outbox worker against a real SMTP server process: delivered once with
//! both parts; retried with back-off while SMTP is down; a restart loses
//! nothing and sends nothing twice; given up after the maximum age.

use portcullis_core::{Clock, ManualClock};
use portcullis_mailer::{MailMetrics, OutboxWorker, RetryPolicy, SmtpConfig, SmtpMailer, TlsMode};
use portcullis_store::{MailStatus, Store};
use portcullis_tests::{Backend, SmtpCapture, both_backends, password_changed_mail, test_store};
use std::sync::Arc;
use std::time::Duration;
use time::macros::datetime;

fn worker(store: &Arc<dyn Store>, smtp: &SmtpCapture, clock: &ManualClock) -> (OutboxWorker, MailMetrics) {
    let config = SmtpConfig {
        host: "127.0.0.1".into(),
        port: smtp.port,
        tls: TlsMode::None,
        username: None,
        password: None,
        from: "Portcullis <no-reply@example.test>".into(),
        timeout: Duration::from_secs(5),
    };
    let mailer = SmtpMailer::new(&config).expect("smtp mailer");
    let metrics = MailMetrics::register(&prometheus::Registry::new()).expect("metrics");
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    (
        OutboxWorker::new(
            store.clone(),
            Arc::new(mailer),
            clock,
            RetryPolicy::default(),
            Some(metrics.clone()),
        ),
        metrics,
    )
}

fn clock() -> ManualClock {
    ManualClock::new(datetime!(2030-01-01 00:00:00 UTC))
}

/// How many stored messages carry this outbox id as their Message-ID.
fn copies(smtp: &SmtpCapture, id: &str) -> usize {
    let needle = format!("<{id}@example.test>");
    smtp.messages().iter().filter(|m| m.contains(&needle)).count()
}

async fn a_queued_mail_is_delivered_once_with_both_parts(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let mut smtp = SmtpCapture::new();
    smtp.start();
    let clock = clock();
    let (worker, metrics) = worker(&store, &smtp, &clock);
    let mail = password_changed_mail("Acme ID", "alice@example.test", "alice");
    let ids = store.enqueue_mails(&[mail], clock.now()).await.expect("enqueue");

    assert_eq!(worker.run_once().await.expect("pass"), 1);
    assert_eq!(worker.run_once().await.expect("second pass"), 0);

    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let raw = &messages[0];
    assert!(raw.contains("Subject: Your Acme ID password was changed"), "{raw}");
    assert!(raw.contains("To: alice@example.test"), "{raw}");
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(raw.contains("Content-Type: text/plain"), "{raw}");
    assert!(raw.contains("Content-Type: text/html"), "{raw}");
    assert!(raw.contains("Hello alice,"), "{raw}");
    assert_eq!(copies(&smtp, &ids[0]), 1);
    let row = store.find_mail(&ids[0]).await.expect("find").expect("row");
    assert_eq!((row.status, row.attempts), (MailStatus::Sent, 1));
    assert_eq!((metrics.sent_total(), metrics.queued(), metrics.oldest_unsent_age_secs()), (1, 0, 0));
}

async fn smtp_down_then_back_is_retried_with_back_off_and_delivered(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let mut smtp = SmtpCapture::new();
    let clock = clock();
    let (worker, metrics) = worker(&store, &smtp, &clock);
    let mail = password_changed_mail("Acme ID", "bob@example.test", "bob");
    let ids = store.enqueue_mails(&[mail], clock.now()).await.expect("enqueue");

    assert_eq!(worker.run_once().await.expect("pass while down"), 0);
    let row = store.find_mail(&ids[0]).await.expect("find").expect("row");
    assert_eq!((row.status, row.attempts), (MailStatus::Pending, 1));
    let policy = RetryPolicy::default();
    assert!(row.next_attempt_at >= clock.now() + policy.base_delay, "no back-off: {row:?}");

    smtp.start();
    assert_eq!(worker.run_once().await.expect("not due yet"), 0, "retried before its back-off");
    clock.advance(time::Duration::seconds(10));
    assert_eq!((metrics.queued(), metrics.oldest_unsent_age_secs()), (1, 0));
    worker.run_once().await.expect("still not due");
    assert_eq!(metrics.oldest_unsent_age_secs(), 10);
    clock.advance(time::Duration::try_from(policy.delay(1, 1.0)).expect("delay"));
    assert_eq!(worker.run_once().await.expect("due now"), 1);
    assert_eq!(copies(&smtp, &ids[0]), 1);
    assert_eq!(smtp.messages().len(), 1);
    let row = store.find_mail(&ids[0]).await.expect("find").expect("row");
    assert_eq!((row.status, row.attempts), (MailStatus::Sent, 2));
}

async fn a_restart_loses_nothing_and_sends_nothing_twice(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let mut smtp = SmtpCapture::new();
    let clock = clock();
    let mut ids = Vec::new();
    for name in ["carol", "dave", "erin"] {
        let mail = password_changed_mail("Acme ID", &format!("{name}@example.test"), name);
        ids.extend(store.enqueue_mails(&[mail], clock.now()).await.expect("enqueue"));
    }
    let (first, _) = worker(&store, &smtp, &clock);
    assert_eq!(first.run_once().await.expect("pass while down"), 0);
    drop(first);
    store.close().await;

    // "Restart": a new store and worker on the same database.
    let store = db.open().await;
    smtp.start();
    clock.advance(time::Duration::hours(2));
    let (second, _) = worker(&store, &smtp, &clock);
    assert_eq!(second.run_once().await.expect("pass after restart"), 3);
    clock.advance(time::Duration::hours(2));
    assert_eq!(second.run_once().await.expect("nothing left"), 0);
    let (third, _) = worker(&store, &smtp, &clock);
    assert_eq!(third.run_once().await.expect("another instance"), 0);
    assert_eq!(smtp.messages().len(), 3);
    for id in &ids {
        assert_eq!(copies(&smtp, id), 1, "mail {id}");
    }
}

async fn a_mail_older_than_the_max_age_is_failed(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let smtp = SmtpCapture::new();
    let clock = clock();
    let (worker, metrics) = worker(&store, &smtp, &clock);
    let mail = password_changed_mail("Acme ID", "frank@example.test", "frank");
    let ids = store.enqueue_mails(&[mail], clock.now()).await.expect("enqueue");
    worker.run_once().await.expect("first attempt");
    clock.advance(time::Duration::try_from(RetryPolicy::default().max_age).expect("age"));
    worker.run_once().await.expect("last attempt");
    let row = store.find_mail(&ids[0]).await.expect("find").expect("row");
    assert_eq!((row.status, row.attempts), (MailStatus::Failed, 2));
    assert_eq!((metrics.failed_total(), metrics.queued(), metrics.sent_total()), (1, 0, 0));
    clock.advance(time::Duration::days(30));
    assert_eq!(worker.run_once().await.expect("nothing to do"), 0);
}

/// Waits (bounded) until the SMTP server holds `n` messages.
async fn wait_for_messages(smtp: &SmtpCapture, n: usize) {
    for _ in 0..300 {
        if smtp.messages().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected {n} messages, have {}", smtp.messages().len());
}

async fn a_spawned_worker_wakes_on_notify_and_stops_cleanly(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let mut smtp = SmtpCapture::new();
    smtp.start();
    let clock = clock();
    let (worker, metrics) = worker(&store, &smtp, &clock);
    let first = password_changed_mail("Acme ID", "ivy@example.test", "ivy");
    store.enqueue_mails(&[first], clock.now()).await.expect("enqueue");
    let poke = worker.clone();
    // An hour between passes: only the first pass and the poke can send.
    let handle = worker.spawn(Duration::from_secs(3600));
    wait_for_messages(&smtp, 1).await;
    let second = password_changed_mail("Acme ID", "jan@example.test", "jan");
    store.enqueue_mails(&[second], clock.now()).await.expect("enqueue");
    poke.notify();
    wait_for_messages(&smtp, 2).await;
    handle.stop().await;
    assert_eq!(smtp.messages().len(), 2);
    assert_eq!((metrics.sent_total(), store.outbox_stats().await.expect("stats").pending), (2, 0));
}

both_backends!(
    a_queued_mail_is_delivered_once_with_both_parts,
    smtp_down_then_back_is_retried_with_back_off_and_delivered,
    a_restart_loses_nothing_and_sends_nothing_twice,
    a_mail_older_than_the_max_age_is_failed,
    a_spawned_worker_wakes_on_notify_and_stops_cleanly,
);
