//! The administrator's list of sessions: signed-in and live only, newest
//! first, in keyset pages that new sessions do not shift; and its count.

use portcullis_store::{Session, SessionCursor, SessionQuery, Store};
use portcullis_tests::{Backend, both_backends, test_store};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::grants::{T0, session, user};

/// Now, for the list (T0 + 12 h): sessions idle for an hour or older than 12
/// hours are over.
const NOW: OffsetDateTime = datetime!(2030-01-01 12:00:00 UTC);

fn query(after: Option<SessionCursor>, limit: u32) -> SessionQuery {
    SessionQuery {
        idle_before: NOW - Duration::hours(1),
        created_before: NOW - Duration::hours(12),
        after,
        limit,
    }
}

/// A signed-in session created `minutes` after T0 and used just now.
async fn live(store: &dyn Store, sid: &str, user_id: uuid::Uuid, minutes: i64) {
    let s = Session {
        created_at: T0 + Duration::minutes(minutes),
        last_seen_at: NOW - Duration::minutes(1),
        ..session(&format!("hash-{sid}"), sid, Some(user_id))
    };
    store.create_session(&s).await.expect("session");
}

fn sids(sessions: &[Session]) -> Vec<&str> {
    sessions.iter().map(|s| s.sid.as_str()).collect()
}

async fn live_sessions_of_signed_in_users_are_listed_newest_first(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let (alice, bob) = (user(&*store, "alice").await, user(&*store, "bob").await);
    live(&*store, "s-a1", alice, 10).await;
    live(&*store, "s-b1", bob, 20).await;
    live(&*store, "s-a2", alice, 30).await;
    live(&*store, "s-b2", bob, 30).await; // the same second as s-a2: by sid, descending

    // Each left out for one reason.
    let fresh = |s: Session| Session { created_at: T0 + Duration::minutes(1), last_seen_at: NOW, ..s };
    let anonymous = fresh(session("hash-anon", "s-anon", None));
    let idle = Session {
        last_seen_at: NOW - Duration::hours(1),
        ..fresh(session("hash-idle", "s-idle", Some(alice)))
    };
    let old =
        Session { created_at: NOW - Duration::hours(12), ..fresh(session("hash-old", "s-old", Some(bob))) };
    for s in [&anonymous, &idle, &old] {
        store.create_session(s).await.expect("session");
    }

    let listed = store.list_sessions(&query(None, 50)).await.expect("list");
    assert_eq!(sids(&listed), ["s-b2", "s-a2", "s-b1", "s-a1"], "no anonymous, idle or too old session");
    assert_eq!(listed[0].user_id, Some(bob));
    assert_eq!(listed[0].ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(
        store.count_live_sessions(NOW - Duration::hours(1), NOW - Duration::hours(12)).await.expect("n"),
        4
    );
    let later = NOW + Duration::minutes(15);
    let count = store.count_live_sessions(later - Duration::hours(1), later - Duration::hours(12)).await;
    assert_eq!(count.expect("n"), 3, "s-a1 was created 12 hours before or earlier");
}

async fn session_pages_are_not_shifted_by_new_sessions(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    for i in 0..7 {
        live(&*store, &format!("s-{i}"), alice, i * 10 + 1).await;
    }
    live(&*store, "s-3b", alice, 31).await; // the same second as s-3

    let mut seen = Vec::new();
    let mut after = None;
    for page in 0.. {
        let rows = store.list_sessions(&query(after, 3)).await.expect("page");
        assert!(rows.len() <= 3);
        let Some(last) = rows.last() else { break };
        after = Some(SessionCursor::from(last));
        seen.extend(rows.iter().map(|s| s.sid.clone()));
        // Someone signs in between pages: newest, so on no later page.
        live(&*store, &format!("new-{page}"), alice, 600 + page).await;
        assert!(page < 10, "the pages end");
    }
    assert_eq!(seen, ["s-6", "s-5", "s-4", "s-3b", "s-3", "s-2", "s-1", "s-0"], "each once, in order");
}

both_backends!(
    live_sessions_of_signed_in_users_are_listed_newest_first,
    session_pages_are_not_shifted_by_new_sessions,
);
