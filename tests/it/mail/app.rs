//! The server runs the outbox worker from `[smtp]`, and runs without it.

use portcullis_core::Clock;
use portcullis_server::settings::SmtpTls;
use portcullis_store::MailStatus;
use portcullis_tests::{
    Backend, SmtpCapture, TestDatabase, both_backends, password_changed_mail, spawn_app, spawn_app_with,
};
use std::sync::Arc;
use std::time::Duration;

async fn metrics_text(app: &portcullis_tests::TestApp) -> String {
    reqwest::get(format!("{}/metrics", app.metrics_address))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body")
}

async fn the_server_sends_queued_mail_through_smtp(backend: Backend) {
    let mut smtp = SmtpCapture::new();
    smtp.start();
    let port = smtp.port;
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_app_with(db, |s| {
        s.smtp.host = Some("127.0.0.1".into());
        s.smtp.port = port;
        s.smtp.tls = SmtpTls::None;
        s.mail.poll_interval_secs = 1;
    })
    .await;
    let mail = password_changed_mail("Acme ID", "gina@example.test", "gina");
    let ids = app.store.enqueue_mails(&[mail], app.clock.now()).await.expect("enqueue");
    // The worker runs on its own: wait (bounded) for it to deliver.
    for _ in 0..300 {
        if smtp.messages().len() == 1
            && app.store.find_mail(&ids[0]).await.expect("find").expect("row").status == MailStatus::Sent
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("Subject: Your Acme ID password was changed"));
    assert_eq!(app.store.find_mail(&ids[0]).await.expect("find").expect("row").status, MailStatus::Sent);
    let text = metrics_text(&app).await;
    assert!(text.contains("portcullis_mail_sent_total 1"), "{text}");
    app.stop().await;
}

async fn without_smtp_the_server_runs_and_mail_stays_queued(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(app.settings.smtp.host.is_none());
    let mail = password_changed_mail("Acme ID", "hal@example.test", "hal");
    let ids = app.store.enqueue_mails(&[mail], app.clock.now()).await.expect("enqueue");
    assert_eq!(app.get("/readyz").await.status(), 200);
    let text = metrics_text(&app).await;
    assert!(text.contains("portcullis_mail_sent_total 0"), "{text}");
    let row = app.store.find_mail(&ids[0]).await.expect("find").expect("row");
    assert_eq!((row.status, row.attempts), (MailStatus::Pending, 0));
    app.stop().await;
}

async fn without_smtp_the_backlog_still_shows_in_the_metrics(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_app_with(db, |s| s.mail.poll_interval_secs = 1).await;
    let mail = password_changed_mail("Acme ID", "ida@example.test", "ida");
    app.store.enqueue_mails(&[mail], app.clock.now()).await.expect("enqueue");
    app.clock.advance(time::Duration::seconds(90));
    let mut text = String::new();
    for _ in 0..300 {
        text = metrics_text(&app).await;
        if text.contains("portcullis_mail_queued 1")
            && text.contains("portcullis_mail_oldest_unsent_age_seconds 90")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(text.contains("portcullis_mail_queued 1"), "{text}");
    assert!(text.contains("portcullis_mail_oldest_unsent_age_seconds 90"), "{text}");
    assert!(text.contains("portcullis_mail_sent_total 0"), "{text}");
    app.stop().await;
}

both_backends!(
    the_server_sends_queued_mail_through_smtp,
    without_smtp_the_server_runs_and_mail_stays_queued,
    without_smtp_the_backlog_still_shows_in_the_metrics,
);
