//! Acceptance 4: SMTP down, three mails caused through the pages, Portcullis
//! restarted while SMTP is still down, SMTP back: all three arrive, each
//! exactly once.

use portcullis_tests::oidc::{Browser, create_user, spawn_oidc_app_with};
use portcullis_tests::{Backend, SmtpCapture, TestDatabase, both_backends};
use std::sync::Arc;
use std::time::Duration;

use super::{open, submit, use_smtp};

async fn wait_until(db: &TestDatabase, sql: &str, n: i64) {
    for _ in 0..300 {
        if db.count(sql).await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected {n} rows for {sql}, have {}", db.count(sql).await);
}

async fn mails_survive_an_smtp_outage_and_a_restart_and_arrive_once(backend: Backend) {
    let mut smtp = SmtpCapture::new(); // not started: SMTP is down
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db.clone(), |s| use_smtp(s, &smtp)).await;
    let names = ["carol", "dave", "erin"];
    for name in names {
        create_user(&app, name, &[]).await;
    }
    let browser = Browser::new(&app);
    let (_, _, csrf) = open(&browser, "/recover").await;
    for name in names {
        let address = format!("{name}@example.com");
        let (status, _, _) =
            submit(&browser, "/recover", &[("csrf_token", &csrf), ("address", &address)]).await;
        assert_eq!(status, 200);
    }
    // The worker tried each while SMTP was down and scheduled a retry.
    wait_until(&db, "SELECT * FROM mail_outbox WHERE status = 'pending' AND attempts >= 1", 3).await;
    assert!(smtp.messages().is_empty());
    app.stop().await;

    // Portcullis again, on the same database; then SMTP comes back.
    let again = spawn_oidc_app_with(db.clone(), |s| use_smtp(s, &smtp)).await;
    smtp.start();
    again.clock.advance(time::Duration::hours(1)); // past the back-off
    let mails = smtp.wait_for(3).await;
    wait_until(&db, "SELECT * FROM mail_outbox WHERE status = 'sent'", 3).await;
    // Let the worker run a few more passes: nothing goes out twice.
    again.clock.advance(time::Duration::hours(1));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mails_after = smtp.captured();
    assert_eq!(mails_after.len(), 3, "{mails:?}");
    for name in names {
        let to = format!("{name}@example.com");
        let copies: Vec<_> = mails_after.iter().filter(|m| m.to == to).collect();
        assert_eq!(copies.len(), 1, "{to} received {} copies", copies.len());
        assert_eq!(copies[0].subject, "Reset your Portcullis password");
    }
    let mut ids: Vec<_> = mails_after.iter().map(|m| m.message_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "three distinct outbox ids");
    again.stop().await;
}

both_backends!(mails_survive_an_smtp_outage_and_a_restart_and_arrive_once);
