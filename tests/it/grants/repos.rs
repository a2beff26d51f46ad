//! Requests, consents, grants, codes, refresh tokens, JWT ids and the expiry
//! sweep behave the same on both backends, including under concurrency.

use portcullis_store::{
    AuthRequestRow, CodeRow, Effects, Redemption, RefreshTokenRow, Rotate, RotateOutcome, Session,
    SessionTimes, StoreError,
};
use portcullis_tests::{Backend, both_backends, test_store};
use time::Duration;

use super::{T0, client, code, grant, refresh, session as signed_in, user};

async fn auth_requests_round_trip_and_are_deleted(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    client(&*store, "rp", false).await;
    let request = AuthRequestRow {
        id: "req-1".into(),
        client_id: "rp".into(),
        request: r#"{"scope":"openid","state":"xyz"}"#.into(),
        created_at: T0,
        expires_at: T0 + Duration::minutes(10),
    };
    store.create_auth_request(&request).await.expect("create");
    let err = store.create_auth_request(&request).await.expect_err("duplicate id");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.find_auth_request("req-1").await.expect("find"), Some(request));
    assert_eq!(store.find_auth_request("req-2").await.expect("find"), None);
    assert!(store.delete_auth_request("req-1").await.expect("delete"));
    assert!(!store.delete_auth_request("req-1").await.expect("delete again"));
    assert_eq!(store.find_auth_request("req-1").await.expect("find"), None);
}

/// A pushed request is taken once: of two concurrent takers, one gets it.
async fn an_auth_request_is_taken_once(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    client(&*store, "rp", false).await;
    let request = AuthRequestRow {
        id: "par:1".into(),
        client_id: "rp".into(),
        request: r#"{"scope":"openid"}"#.into(),
        created_at: T0,
        expires_at: T0 + Duration::seconds(60),
    };
    store.create_auth_request(&request).await.expect("create");
    let (a, b) = tokio::join!(store.take_auth_request("par:1"), store.take_auth_request("par:1"));
    let taken: Vec<_> = [a.expect("take"), b.expect("take")].into_iter().flatten().collect();
    assert_eq!(taken, [request], "exactly one taker gets it");
    assert_eq!(store.find_auth_request("par:1").await.expect("find"), None, "and it is gone");
    assert_eq!(store.take_auth_request("par:2").await.expect("take"), None);
}

async fn consent_is_replaced_and_keeps_its_creation(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "rp", false).await;
    client(&*store, "other", false).await;
    assert_eq!(store.find_consent(alice, "rp").await.expect("find"), None);

    store.save_consent(alice, "rp", &["openid".into()], T0).await.expect("save");
    assert_eq!(store.find_consent(alice, "rp").await.expect("find"), Some(vec!["openid".to_owned()]));
    let wider = ["openid".to_owned(), "email".to_owned(), "profile".to_owned()];
    store.save_consent(alice, "rp", &wider, T0 + Duration::hours(1)).await.expect("replace");
    assert_eq!(store.find_consent(alice, "rp").await.expect("find"), Some(wider.to_vec()), "order kept");
    assert_eq!(store.find_consent(alice, "other").await.expect("find"), None);
    assert_eq!(db.count("SELECT 1 FROM consents").await, 1, "one row per user and client");
    assert_eq!(db.count("SELECT 1 FROM consents WHERE created_at < updated_at").await, 1, "created_at kept");
}

async fn grants_and_codes_round_trip(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "rp", false).await;
    let mut g = grant("g1", "rp", alice, Some("sid-1"), true);
    g.created_at = T0 + Duration::milliseconds(750); // stored to the second
    g.resources = vec!["https://api.example/".into(), "urn:example:reports".into()];
    let c = code("code-1", &g);
    store.create_grant_with_code(&g, &c).await.expect("create");
    g.created_at = T0;

    assert_eq!(store.find_grant("g1").await.expect("find"), Some(g.clone()));
    assert_eq!(store.find_grant("nope").await.expect("find"), None);
    let (found_code, found_grant) = store.find_code("code-1").await.expect("find").expect("code");
    assert_eq!(found_code, c);
    assert_eq!(found_grant, g);
    assert!(found_grant.is_live(T0));
    assert!(store.find_code("code-2").await.expect("find").is_none());

    // Offline grants have no session; a code without a nonce.
    let offline = grant("g2", "rp", alice, None, false);
    let c2 = CodeRow { nonce: None, ..code("code-2", &offline) };
    store.create_grant_with_code(&offline, &c2).await.expect("create");
    let (found_code, found_grant) = store.find_code("code-2").await.expect("find").expect("code");
    assert_eq!((found_code, found_grant), (c2, offline));

    // Grant and code commit together: a clashing code leaves no grant behind.
    let clash = grant("g3", "rp", alice, Some("sid-1"), true);
    let err = store.create_grant_with_code(&clash, &code("code-1", &clash)).await.expect_err("code clash");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.find_grant("g3").await.expect("find"), None, "rolled back");
}

async fn a_code_redeems_once_and_a_replay_revokes_its_grant(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "rp", false).await;
    let g = grant("g1", "rp", alice, Some("sid-1"), true);
    store.create_grant_with_code(&g, &code("code-1", &g)).await.expect("create");

    let t1 = T0 + Duration::seconds(5);
    let rt = refresh("rt-1", &g, t1);
    assert_eq!(store.redeem_code("code-1", Some(&rt), t1).await.expect("redeem"), Redemption::Redeemed);
    let (found_rt, found_grant) = store.find_refresh_token("rt-1").await.expect("find").expect("stored");
    assert_eq!(found_rt, rt);
    assert!(found_grant.is_live(t1));
    let (used, _) = store.find_code("code-1").await.expect("find").expect("code");
    assert_eq!(used.consumed_at, Some(t1));

    let t2 = T0 + Duration::seconds(9);
    let again = refresh("rt-2", &g, t2);
    assert_eq!(store.redeem_code("code-1", Some(&again), t2).await.expect("replay"), Redemption::Replayed);
    let revoked = store.find_grant("g1").await.expect("find").expect("grant");
    assert_eq!(revoked.revoked_at, Some(t2));
    assert!(!revoked.is_live(t2));
    assert!(store.find_refresh_token("rt-2").await.expect("find").is_none(), "a replay stores nothing");
    let (_, via_token) = store.find_refresh_token("rt-1").await.expect("find").expect("still there");
    assert_eq!(via_token.revoked_at, Some(t2), "the family dies with the grant");
    let (used, _) = store.find_code("code-1").await.expect("find").expect("code");
    assert_eq!(used.consumed_at, Some(t1), "the first redemption's instant stays");

    // A third try keeps the first revocation instant.
    let t3 = T0 + Duration::seconds(20);
    assert_eq!(store.redeem_code("code-1", None, t3).await.expect("replay"), Redemption::Replayed);
    assert_eq!(store.find_grant("g1").await.expect("find").expect("grant").revoked_at, Some(t2));
    assert_eq!(store.redeem_code("unknown", None, t3).await.expect("unknown"), Redemption::Unknown);

    // Without a refresh token (no offline access asked): just consumed.
    let g2 = grant("g2", "rp", alice, Some("sid-1"), true);
    store.create_grant_with_code(&g2, &code("code-2", &g2)).await.expect("create");
    assert_eq!(store.redeem_code("code-2", None, t1).await.expect("redeem"), Redemption::Redeemed);
    assert_eq!(db.count("SELECT 1 FROM refresh_tokens WHERE grant_id = 'g2'").await, 0);
    assert!(store.find_grant("g2").await.expect("find").expect("grant").is_live(t1));
}

async fn concurrent_redemptions_of_one_code_redeem_it_once(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "rp", false).await;
    let g = grant("g1", "rp", alice, Some("sid-1"), true);
    store.create_grant_with_code(&g, &code("code-1", &g)).await.expect("create");

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let rt = refresh(&format!("rt-{i}"), &g, T0);
            tokio::spawn(async move { store.redeem_code("code-1", Some(&rt), T0).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task").expect("redeem"));
    }
    let redeemed = outcomes.iter().filter(|o| **o == Redemption::Redeemed).count();
    let replayed = outcomes.iter().filter(|o| **o == Redemption::Replayed).count();
    assert_eq!((redeemed, replayed), (1, 7), "{outcomes:?}");
    assert_eq!(db.count("SELECT 1 FROM refresh_tokens").await, 1, "only the winner's token is stored");
}

async fn refresh_tokens_rotate_once_and_reuse_revokes_the_family(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "rp", false).await;
    let g = grant("g1", "rp", alice, None, false);
    store.create_grant_with_code(&g, &code("code-1", &g)).await.expect("create");
    let rt1 = refresh("rt-1", &g, T0);
    assert_eq!(store.redeem_code("code-1", Some(&rt1), T0).await.expect("redeem"), Redemption::Redeemed);

    let t1 = T0 + Duration::hours(1);
    let rt2 = refresh("rt-2", &g, t1);
    assert_eq!(
        store.rotate_refresh_token(&rotate("rt-1", &rt2), t1).await.expect("rotate"),
        RotateOutcome::Rotated
    );
    let (old, _) = store.find_refresh_token("rt-1").await.expect("find").expect("kept for reuse detection");
    assert_eq!(old.rotated_at, Some(t1));
    let (new, live) = store.find_refresh_token("rt-2").await.expect("find").expect("successor");
    assert_eq!((new, live.is_live(t1)), (rt2.clone(), true));

    let t2 = T0 + Duration::hours(2);
    let rt3 = refresh("rt-3", &g, t2);
    assert_eq!(
        store.rotate_refresh_token(&rotate("rt-1", &rt3), t2).await.expect("reuse"),
        RotateOutcome::Replayed
    );
    assert_eq!(store.find_grant("g1").await.expect("find").expect("grant").revoked_at, Some(t2));
    assert!(store.find_refresh_token("rt-3").await.expect("find").is_none(), "a reuse stores nothing");
    let (_, family) = store.find_refresh_token("rt-2").await.expect("find").expect("row");
    assert!(!family.is_live(t2), "the successor dies with the grant");
    assert_eq!(
        store.rotate_refresh_token(&rotate("nope", &rt3), t2).await.expect("unknown"),
        RotateOutcome::Unknown
    );
    assert_eq!(db.count("SELECT 1 FROM refresh_tokens").await, 2);
}

async fn concurrent_rotations_of_one_token_rotate_it_once(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "rp", false).await;
    let g = grant("g1", "rp", alice, None, false);
    store.create_grant_with_code(&g, &code("code-1", &g)).await.expect("create");
    let rt = refresh("rt", &g, T0);
    store.redeem_code("code-1", Some(&rt), T0).await.expect("redeem");

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let next = refresh(&format!("rt-{i}"), &g, T0);
            tokio::spawn(async move { store.rotate_refresh_token(&rotate("rt", &next), T0).await })
        })
        .collect();
    let mut redeemed = 0;
    for task in tasks {
        if task.await.expect("task").expect("rotate") == RotateOutcome::Rotated {
            redeemed += 1;
        }
    }
    assert_eq!(redeemed, 1);
    assert_eq!(db.count("SELECT 1 FROM refresh_tokens").await, 2, "the original and one successor");
}

/// A rotation without grace.
fn rotate<'a>(token_hash: &'a str, next: &'a RefreshTokenRow) -> Rotate<'a> {
    Rotate { token_hash, next, sealed_successor: None, grace_since: None }
}

async fn a_reuse_within_the_grace_returns_the_sealed_successor_and_after_it_revokes(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "rp", false).await;
    let g = grant("g1", "rp", alice, None, false);
    store.create_grant_with_code(&g, &code("code-1", &g)).await.expect("create");
    store.redeem_code("code-1", Some(&refresh("rt-1", &g, T0)), T0).await.expect("redeem");

    let t1 = T0 + Duration::minutes(5);
    let rt2 = refresh("rt-2", &g, t1);
    let graced = |since| Rotate {
        sealed_successor: Some("sealed-rt-2"),
        grace_since: Some(since),
        ..rotate("rt-1", &rt2)
    };
    assert_eq!(
        store.rotate_refresh_token(&graced(t1 - Duration::seconds(10)), t1).await.expect("rotate"),
        RotateOutcome::Rotated
    );

    // A second tab, 10 s later, inside a 10 s grace: the same successor, nothing written.
    let t2 = t1 + Duration::seconds(10);
    let other = refresh("rt-other", &g, t2);
    let again = Rotate { next: &other, ..graced(t2 - Duration::seconds(10)) };
    assert_eq!(
        store.rotate_refresh_token(&again, t2).await.expect("graced"),
        RotateOutcome::Graced("sealed-rt-2".into())
    );
    assert!(store.find_grant("g1").await.expect("find").expect("grant").is_live(t2), "the family lives");
    assert!(store.find_refresh_token("rt-other").await.expect("find").is_none(), "nothing stored");
    let (old, _) = store.find_refresh_token("rt-1").await.expect("find").expect("row");
    assert_eq!(old.rotated_at, Some(t1), "the first rotation's instant stays");

    // One second later the grace is over: the family is revoked.
    let t3 = t2 + Duration::seconds(1);
    let late = Rotate { next: &other, ..graced(t3 - Duration::seconds(10)) };
    assert_eq!(store.rotate_refresh_token(&late, t3).await.expect("reuse"), RotateOutcome::Replayed);
    assert_eq!(store.find_grant("g1").await.expect("find").expect("grant").revoked_at, Some(t3));

    // Rotated without a sealed successor (grace off then): never forgiven.
    let g2 = grant("g2", "rp", alice, None, false);
    store.create_grant_with_code(&g2, &code("code-2", &g2)).await.expect("create");
    store.redeem_code("code-2", Some(&refresh("rt-a", &g2, T0)), T0).await.expect("redeem");
    let rt_b = refresh("rt-b", &g2, t1);
    store.rotate_refresh_token(&rotate("rt-a", &rt_b), t1).await.expect("rotate");
    let forgive = Rotate { grace_since: Some(t1 - Duration::seconds(10)), ..rotate("rt-a", &other) };
    assert_eq!(store.rotate_refresh_token(&forgive, t1).await.expect("reuse"), RotateOutcome::Replayed);
    assert_eq!(db.count("SELECT 1 FROM refresh_tokens WHERE sealed IS NOT NULL").await, 1);
}

async fn a_refresh_state_reads_token_grant_session_and_user_at_once(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "rp", false).await;
    store.create_session(&signed_in("h1", "sid-1", Some(alice))).await.expect("session");
    let bound = grant("g1", "rp", alice, Some("sid-1"), true);
    store.create_grant_with_code(&bound, &code("code-1", &bound)).await.expect("create");
    let rt = refresh("rt-1", &bound, T0);
    store.redeem_code("code-1", Some(&rt), T0).await.expect("redeem");

    let state = store.refresh_state("rt-1").await.expect("read").expect("known");
    assert_eq!((state.token, state.grant), (rt, bound));
    let session = state.session.expect("the grant's session");
    assert_eq!((session.user_id, session.created_at), (Some(alice), T0));
    let found = state.user.expect("the grant's user");
    assert_eq!((found.id, found.username.as_str(), found.disabled), (alice, "alice", false));
    assert_eq!(found, store.find_user(alice).await.expect("find").expect("user"), "every column");

    // An offline grant: no session.
    let offline = grant("g2", "rp", alice, None, false);
    store.create_grant_with_code(&offline, &code("code-2", &offline)).await.expect("create");
    store.redeem_code("code-2", Some(&refresh("rt-2", &offline, T0)), T0).await.expect("redeem");
    let state = store.refresh_state("rt-2").await.expect("read").expect("known");
    assert!(state.session.is_none() && state.user.is_some());
    assert!(store.refresh_state("nope").await.expect("read").is_none());
}

async fn grants_are_revoked_one_by_one_or_per_user(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    client(&*store, "rp", false).await;
    for (id, owner, sid, bound) in [
        ("a1", alice, Some("sid-a"), true),
        ("a2", alice, None, false),
        ("a3", alice, Some("sid-a"), true),
        ("b1", bob, Some("sid-b"), true),
    ] {
        let g = grant(id, "rp", owner, sid, bound);
        store.create_grant_with_code(&g, &code(&format!("code-{id}"), &g)).await.expect("create");
    }
    let t1 = T0 + Duration::minutes(1);
    assert!(store.revoke_grant("a1", t1).await.expect("revoke"));
    assert!(!store.revoke_grant("a1", t1 + Duration::minutes(1)).await.expect("already revoked"));
    assert!(!store.revoke_grant("nope", t1).await.expect("unknown"));
    assert_eq!(store.find_grant("a1").await.expect("find").expect("grant").revoked_at, Some(t1));

    let t2 = T0 + Duration::minutes(2);
    assert_eq!(store.revoke_user_grants(alice, t2).await.expect("revoke all"), 2, "offline ones too");
    for id in ["a2", "a3"] {
        assert_eq!(store.find_grant(id).await.expect("find").expect("grant").revoked_at, Some(t2));
    }
    assert_eq!(store.find_grant("a1").await.expect("find").expect("grant").revoked_at, Some(t1));
    assert!(store.find_grant("b1").await.expect("find").expect("grant").is_live(t2), "other users untouched");
    assert_eq!(store.revoke_user_grants(alice, t2).await.expect("again"), 0);

    let expired = T0 + Duration::days(31);
    assert!(!store.revoke_grant("b1", expired).await.expect("an expired grant is not live"));
}

async fn a_jti_is_recorded_once_until_it_expires(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let exp = T0 + Duration::seconds(60);
    assert!(!store.jti_recorded("rp:jti-1", T0).await.expect("recorded?"));
    assert!(store.record_jti("rp:jti-1", T0, exp).await.expect("record"));
    assert!(!store.record_jti("rp:jti-1", T0 + Duration::seconds(30), exp).await.expect("replay"));
    assert!(store.jti_recorded("rp:jti-1", T0 + Duration::seconds(59)).await.expect("recorded?"));
    assert!(!store.jti_recorded("rp:jti-1", exp).await.expect("expired"));
    assert!(store.record_jti("rp:jti-2", T0, exp).await.expect("another key"));

    // Once expired, the key may be recorded again (and is then live again).
    let exp2 = exp + Duration::seconds(60);
    assert!(store.record_jti("rp:jti-1", exp, exp2).await.expect("after expiry"));
    assert!(!store.record_jti("rp:jti-1", exp + Duration::seconds(1), exp2).await.expect("replay"));
    assert!(store.jti_recorded("rp:jti-1", exp).await.expect("recorded again"));

    // Concurrent recordings of a fresh key: exactly one wins.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.record_jti("rp:jti-3", T0, exp).await })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        if task.await.expect("task").expect("record") {
            won += 1;
        }
    }
    assert_eq!(won, 1);
}

async fn expired_rows_are_swept_and_live_ones_kept(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "rp", false).await;
    let now = T0 + Duration::days(1);

    for (id, expires_at) in [("req-old", now), ("req-live", now + Duration::seconds(1))] {
        let r = AuthRequestRow {
            id: id.into(),
            client_id: "rp".into(),
            request: "{}".into(),
            created_at: T0,
            expires_at,
        };
        store.create_auth_request(&r).await.expect("create");
    }
    // An expired grant: it goes with its code and its two refresh tokens.
    let mut old = grant("g-old", "rp", alice, Some("sid-1"), true);
    old.expires_at = now - Duration::hours(1);
    store.create_grant_with_code(&old, &code("code-old", &old)).await.expect("create");
    store.redeem_code("code-old", Some(&refresh("rt-old-1", &old, T0)), T0).await.expect("redeem");
    store
        .rotate_refresh_token(&rotate("rt-old-1", &refresh("rt-old-2", &old, T0)), T0)
        .await
        .expect("rotate");
    // A live grant: its expired code and expired refresh token go, the rest stays.
    let live = grant("g-live", "rp", alice, Some("sid-1"), true);
    store.create_grant_with_code(&live, &code("code-live", &live)).await.expect("create");
    let mut stale = refresh("rt-stale", &live, T0);
    stale.expires_at = now;
    store.redeem_code("code-live", Some(&stale), T0).await.expect("redeem");
    store
        .rotate_refresh_token(&rotate("rt-stale", &refresh("rt-live", &live, T0)), T0)
        .await
        .expect("rotate");
    // JWT ids.
    store.record_jti("jti-old", T0, now).await.expect("record");
    store.record_jti("jti-live", T0, now + Duration::minutes(1)).await.expect("record");

    // req-old, code-old, rt-old-1, rt-old-2, g-old, code-live (60 s), rt-stale, jti-old
    assert_eq!(store.delete_expired_grants(now).await.expect("sweep"), 8);
    assert_eq!(store.delete_expired_grants(now).await.expect("sweep again"), 0);

    assert!(store.find_auth_request("req-old").await.expect("find").is_none());
    assert!(store.find_auth_request("req-live").await.expect("find").is_some());
    assert!(store.find_grant("g-old").await.expect("find").is_none());
    assert!(store.find_refresh_token("rt-old-2").await.expect("find").is_none());
    assert!(store.find_grant("g-live").await.expect("find").is_some());
    assert!(store.find_code("code-live").await.expect("find").is_none());
    assert!(store.find_refresh_token("rt-stale").await.expect("find").is_none());
    assert!(store.find_refresh_token("rt-live").await.expect("find").is_some());
    assert!(!store.jti_recorded("jti-old", T0).await.expect("recorded?"));
    assert!(store.jti_recorded("jti-live", now).await.expect("recorded?"));
    assert_eq!(db.count("SELECT 1 FROM auth_codes").await, 0);
    assert_eq!(db.count("SELECT 1 FROM refresh_tokens").await, 1);
}

async fn access_token_state_reads_revocation_grant_and_session_at_once(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let alice = user(&*store, "alice").await;
    client(&*store, "rp", false).await;
    let session = Session {
        id_hash: "h1".into(),
        sid: "sid-1".into(),
        csrf_token: "c1".into(),
        user_id: Some(alice),
        auth_time: Some(T0),
        amr: vec!["pwd".into()],
        acr: None,
        upstream_id: None,
        ip: None,
        user_agent: None,
        created_at: T0,
        last_seen_at: T0 + Duration::minutes(1),
    };
    store.create_session(&session).await.expect("session");
    let bound = grant("g1", "rp", alice, Some("sid-1"), true);
    store.create_grant_with_code(&bound, &code("code-1", &bound)).await.expect("grant");
    let orphan = grant("g2", "rp", alice, Some("sid-gone"), true);
    store.create_grant_with_code(&orphan, &code("code-2", &orphan)).await.expect("grant");
    let offline = grant("g3", "rp", alice, None, false);
    store.create_grant_with_code(&offline, &code("code-3", &offline)).await.expect("grant");
    store.record_jti("revoked:j1", T0, T0 + Duration::hours(1)).await.expect("record");

    let state = store.access_token_state("revoked:j1", None, T0).await.expect("state");
    assert!(state.revoked);
    assert_eq!((state.grant, state.session), (None, None), "no grant asked for");

    let state = store.access_token_state("revoked:j2", Some("g1"), T0).await.expect("state");
    assert!(!state.revoked);
    assert_eq!(state.grant, Some(bound));
    let times =
        SessionTimes { user_id: Some(alice), created_at: T0, last_seen_at: T0 + Duration::minutes(1) };
    assert_eq!(state.session, Some(times));

    let state = store.access_token_state("revoked:j1", Some("g2"), T0).await.expect("state");
    assert!(state.revoked);
    assert_eq!((state.grant, state.session), (Some(orphan), None), "the session is gone");
    let state = store.access_token_state("revoked:j2", Some("g3"), T0).await.expect("state");
    assert_eq!((state.grant, state.session), (Some(offline), None), "an offline grant has no session");
    let state = store.access_token_state("revoked:j2", Some("nope"), T0).await.expect("state");
    assert_eq!((state.grant, state.session), (None, None));

    let later = T0 + Duration::hours(1);
    assert!(!store.access_token_state("revoked:j1", None, later).await.expect("state").revoked, "expired");
    store.end_session("h1", T0, &Effects::default()).await.expect("end");
    let state = store.access_token_state("revoked:j2", Some("g1"), T0).await.expect("state");
    assert_eq!(state.session, None, "an ended session is gone at once");
}

both_backends!(
    auth_requests_round_trip_and_are_deleted,
    an_auth_request_is_taken_once,
    consent_is_replaced_and_keeps_its_creation,
    grants_and_codes_round_trip,
    a_code_redeems_once_and_a_replay_revokes_its_grant,
    concurrent_redemptions_of_one_code_redeem_it_once,
    refresh_tokens_rotate_once_and_reuse_revokes_the_family,
    concurrent_rotations_of_one_token_rotate_it_once,
    a_reuse_within_the_grace_returns_the_sealed_successor_and_after_it_revokes,
    a_refresh_state_reads_token_grant_session_and_user_at_once,
    grants_are_revoked_one_by_one_or_per_user,
    a_jti_is_recorded_once_until_it_expires,
    expired_rows_are_swept_and_live_ones_kept,
    access_token_state_reads_revocation_grant_and_session_at_once,
);
