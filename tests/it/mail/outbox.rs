//! Outbox repository rules: enqueue, lease, retry, fail, stats.

use portcullis_store::{MailStatus, NewMail};
use portcullis_tests::{Backend, both_backends, test_store};
use time::Duration;
use time::macros::datetime;

fn mail(n: u32) -> NewMail {
    NewMail {
        to: format!("user{n}@example.test"),
        subject: format!("subject {n}"),
        text: "text".into(),
        html: "<p>html</p>".into(),
    }
}

async fn a_leased_mail_is_not_claimed_twice_until_the_lease_expires(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let t0 = datetime!(2030-01-01 00:00:00 UTC);
    let ids = store.enqueue_mails(&[mail(1)], t0).await.expect("enqueue");
    assert_eq!(ids.len(), 1);
    let lease = t0 + Duration::minutes(5);
    let first = store.claim_due_mail(t0, lease).await.expect("claim").expect("a due mail");
    assert_eq!(first.id, ids[0]);
    assert_eq!(first.attempts, 1);
    assert_eq!(first.mail, mail(1));
    assert!(store.claim_due_mail(t0, lease).await.expect("claim").is_none(), "leased mail claimed again");
    let later = lease + Duration::seconds(1);
    let again = store
        .claim_due_mail(later, later + Duration::minutes(5))
        .await
        .expect("claim")
        .expect("lease expired");
    assert_eq!(again.attempts, 2);
}

async fn retry_defers_sent_and_failed_leave_the_queue(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let t0 = datetime!(2030-01-01 00:00:00 UTC);
    let ids = store.enqueue_mails(&[mail(1), mail(2)], t0).await.expect("enqueue");
    let stats = store.outbox_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.oldest_pending_at), (2, Some(t0)));
    let a = store.claim_due_mail(t0, t0 + Duration::minutes(5)).await.expect("claim").expect("mail");
    store.retry_mail(&a.id, t0 + Duration::seconds(30), "down").await.expect("retry");
    let b = store.claim_due_mail(t0, t0 + Duration::minutes(5)).await.expect("claim").expect("other mail");
    assert_ne!(a.id, b.id);
    assert!(
        store.claim_due_mail(t0 + Duration::seconds(29), t0).await.expect("claim").is_none(),
        "not due yet"
    );
    store.mark_mail_sent(&b.id, t0).await.expect("sent");
    let due = t0 + Duration::seconds(30);
    let a2 = store.claim_due_mail(due, due + Duration::minutes(5)).await.expect("claim").expect("due again");
    assert_eq!((a2.id.as_str(), a2.attempts, a2.next_attempt_at), (a.id.as_str(), 2, due));
    store.fail_mail(&a2.id, "gave up").await.expect("fail");
    assert!(ids.contains(&a.id) && ids.contains(&b.id));
    let found = store.find_mail(&a.id).await.expect("find").expect("exists");
    assert_eq!(found.status, MailStatus::Failed);
    assert_eq!(store.find_mail(&b.id).await.expect("find").expect("exists").status, MailStatus::Sent);
    assert_eq!(store.outbox_stats().await.expect("stats").pending, 0);
    assert!(store.claim_due_mail(due + Duration::days(9), due).await.expect("claim").is_none());
}

both_backends!(
    a_leased_mail_is_not_claimed_twice_until_the_lease_expires,
    retry_defers_sent_and_failed_leave_the_queue
);
