//! The audit log's filters, alone and combined, its keyset pages (newest
//! first, unmoved by new events) and the dashboard's counts.

use portcullis_store::{AuditFilter, AuditOutcome, NewAuditEvent, Store};
use portcullis_tests::{Backend, both_backends, test_store};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use crate::grants::T0;

const A: &str = "192.0.2.1";
const B: &str = "2001:db8::b";

struct Log {
    alice: Uuid,
    bob: Uuid,
    /// The ids of the events recorded, in order (`ids[0]` is the first).
    ids: Vec<i64>,
}

/// Records the fixture events, a minute apart from T0 + 1 min.
async fn fill(store: &dyn Store) -> Log {
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    use AuditOutcome::{Failure, Success};
    let events = [
        ("signin.success", Success, Some(alice), Some(A)),
        ("signin.failure", Failure, Some(alice), Some(B)),
        ("signin.failure", Failure, Some(bob), Some(B)),
        ("signin.lockout", Failure, None, Some(B)),
        ("user.created", Success, Some(bob), Some(A)),
        ("signin.success", Success, Some(bob), Some(A)),
        ("signing_key.revoked", Success, None, None),
    ];
    let mut ids = Vec::new();
    for (minute, (kind, outcome, user_id, ip)) in (1..).zip(events) {
        let event = NewAuditEvent {
            at: T0 + Duration::minutes(minute),
            kind: kind.into(),
            outcome,
            user_id,
            ip: ip.map(Into::into),
            user_agent: Some("test".into()),
            detail: json!({ "n": minute }),
        };
        ids.push(store.record_audit(&event).await.expect("record"));
    }
    Log { alice, bob, ids }
}

/// The positions in `log.ids` (0 = first recorded) of what `filter` finds.
async fn found(store: &dyn Store, log: &Log, filter: AuditFilter) -> Vec<usize> {
    let filter = AuditFilter { limit: if filter.limit == 0 { 100 } else { filter.limit }, ..filter };
    let events = store.query_audit(&filter).await.expect("query");
    events.iter().map(|e| log.ids.iter().position(|id| *id == e.id).expect("a fixture event")).collect()
}

async fn each_filter_narrows_the_log_newest_first(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let log = fill(&*store).await;
    let all = AuditFilter::default;

    assert_eq!(found(&*store, &log, all()).await, [6, 5, 4, 3, 2, 1, 0], "newest first");
    let first = store.query_audit(&AuditFilter { limit: 1, ..all() }).await.expect("query").remove(0);
    assert_eq!(first.event.kind, "signing_key.revoked");
    assert_eq!((first.event.at, first.event.detail.clone()), (T0 + Duration::minutes(7), json!({ "n": 7 })));

    assert_eq!(found(&*store, &log, AuditFilter { user_id: Some(log.alice), ..all() }).await, [1, 0]);
    assert_eq!(found(&*store, &log, AuditFilter { user_id: Some(log.bob), ..all() }).await, [5, 4, 2]);
    assert_eq!(
        found(&*store, &log, AuditFilter { user_id: Some(Uuid::new_v4()), ..all() }).await,
        Vec::<usize>::new()
    );

    let kind = |k: &str| AuditFilter { kind: Some(k.into()), ..all() };
    assert_eq!(found(&*store, &log, kind("signin.failure")).await, [2, 1], "a kind");
    assert_eq!(found(&*store, &log, kind("signin.")).await, [5, 3, 2, 1, 0], "a family, not signing_key.*");
    assert_eq!(found(&*store, &log, kind("signin")).await, Vec::<usize>::new(), "no dot: an exact kind");
    assert_eq!(found(&*store, &log, kind("Signin.failure")).await, Vec::<usize>::new(), "case counts");
    assert_eq!(found(&*store, &log, kind("signin.%")).await, Vec::<usize>::new(), "no wildcard");
    assert_eq!(found(&*store, &log, kind(" ")).await, [6, 5, 4, 3, 2, 1, 0], "blank: any kind");

    let failures = AuditFilter { outcome: Some(AuditOutcome::Failure), ..all() };
    assert_eq!(found(&*store, &log, failures).await, [3, 2, 1]);
    let successes = AuditFilter { outcome: Some(AuditOutcome::Success), ..all() };
    assert_eq!(found(&*store, &log, successes).await, [6, 5, 4, 0]);
    assert_eq!(found(&*store, &log, AuditFilter { ip: Some(B.into()), ..all() }).await, [3, 2, 1]);
    assert_eq!(
        found(&*store, &log, AuditFilter { ip: Some("192.0.2".into()), ..all() }).await,
        Vec::<usize>::new(),
        "exact"
    );

    let window =
        AuditFilter { from: Some(T0 + Duration::minutes(2)), to: Some(T0 + Duration::minutes(4)), ..all() };
    assert_eq!(found(&*store, &log, window).await, [2, 1], "from inclusive, to exclusive");
    let since = AuditFilter { from: Some(T0 + Duration::minutes(6)), ..all() };
    assert_eq!(found(&*store, &log, since).await, [6, 5]);
    let until = AuditFilter { to: Some(T0 + Duration::minutes(2)), ..all() };
    assert_eq!(found(&*store, &log, until).await, [0]);
}

async fn filters_combine(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let log = fill(&*store).await;
    let family = || AuditFilter { kind: Some("signin.".into()), ..AuditFilter::default() };

    let failed_from_b = AuditFilter { outcome: Some(AuditOutcome::Failure), ip: Some(B.into()), ..family() };
    assert_eq!(found(&*store, &log, failed_from_b.clone()).await, [3, 2, 1]);
    let alices = AuditFilter { user_id: Some(log.alice), ..failed_from_b.clone() };
    assert_eq!(found(&*store, &log, alices).await, [1]);
    let later = AuditFilter { from: Some(T0 + Duration::minutes(3)), ..failed_from_b };
    assert_eq!(found(&*store, &log, later.clone()).await, [3, 2]);
    let window = AuditFilter { to: Some(T0 + Duration::minutes(4)), ..later };
    assert_eq!(found(&*store, &log, window).await, [2]);
    let bobs_successes_from_a = AuditFilter {
        user_id: Some(log.bob),
        kind: Some("signin.success".into()),
        outcome: Some(AuditOutcome::Success),
        ip: Some(A.into()),
        from: Some(T0),
        to: Some(T0 + Duration::hours(1)),
        before_id: Some(log.ids[6]),
        limit: 10,
    };
    assert_eq!(found(&*store, &log, bobs_successes_from_a.clone()).await, [5], "every filter at once");
    let earlier = AuditFilter { before_id: Some(log.ids[5]), ..bobs_successes_from_a };
    assert_eq!(found(&*store, &log, earlier).await, Vec::<usize>::new());
}

async fn keyset_pages_are_not_moved_by_new_events(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let log = fill(&*store).await;
    let mut seen = Vec::new();
    let mut before_id = None;
    loop {
        let filter =
            AuditFilter { kind: Some("signin.".into()), before_id, limit: 2, ..AuditFilter::default() };
        let page = store.query_audit(&filter).await.expect("page");
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        before_id = Some(last.id);
        seen.extend(page.iter().map(|e| e.id));
        // A new event of the family arrives between pages.
        let new = NewAuditEvent {
            at: T0 + Duration::hours(1),
            kind: "signin.failure".into(),
            outcome: AuditOutcome::Failure,
            user_id: None,
            ip: None,
            user_agent: None,
            detail: json!({}),
        };
        store.record_audit(&new).await.expect("record");
        assert!(seen.len() < 20, "the pages end");
    }
    let expected: Vec<i64> = [5, 3, 2, 1, 0].iter().map(|&i| log.ids[i]).collect();
    assert_eq!(seen, expected, "every event once, newest first, none of those recorded meanwhile");
}

async fn dashboard_counts_events_of_a_kind_since_an_instant(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    assert_eq!(store.count_audit_since("signin.", None, T0).await.expect("count"), 0);
    fill(&*store).await;
    let at = |minutes| T0 + Duration::minutes(minutes);
    use AuditOutcome::{Failure, Success};

    assert_eq!(store.count_audit_since("signin.", None, T0).await.expect("count"), 5, "the family");
    assert_eq!(store.count_audit_since("signin.success", Some(Success), T0).await.expect("count"), 2);
    assert_eq!(store.count_audit_since("signin.success", Some(Success), at(2)).await.expect("count"), 1);
    assert_eq!(store.count_audit_since("signin.failure", Some(Failure), at(2)).await.expect("count"), 2);
    assert_eq!(store.count_audit_since("signin.failure", Some(Failure), at(3)).await.expect("count"), 1);
    assert_eq!(store.count_audit_since("signin.failure", Some(Success), T0).await.expect("count"), 0);
    assert_eq!(store.count_audit_since("signin.lockout", None, at(4)).await.expect("count"), 1, "inclusive");
    assert_eq!(store.count_audit_since("signin.lockout", None, at(5)).await.expect("count"), 0);
    assert_eq!(store.count_audit_since("signin.", Some(Failure), at(1)).await.expect("count"), 3);
}

both_backends!(
    each_filter_narrows_the_log_newest_first,
    filters_combine,
    keyset_pages_are_not_moved_by_new_events,
    dashboard_counts_events_of_a_kind_since_an_instant,
);
