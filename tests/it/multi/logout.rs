//! Acceptance 4 of issue 18 (first fault): a logout on one instance is seen
//! by the very next request on the other. Each round signs alice in, has A
//! check (and cache) her access token, ends her session on B, and asks A
//! again at once, by userinfo and by introspection, while bob's token is
//! hammered on both instances in the background. Zero acceptances: A reads
//! the database's token-state generation with every check, and B's logout
//! moved it in the transaction that ended the session.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use portcullis_tests::oidc::Browser;
use portcullis_tests::{Backend, both_backends};

use super::{active, code_at, end_session, field, pair, redeem, userinfo};

const ROUNDS: usize = 50;

async fn a_logout_on_one_instance_is_seen_by_the_next_request_on_the_other(backend: Backend) {
    let cluster = Arc::new(pair(backend).await);
    let (a, b) = (&cluster.apps[0], &cluster.apps[1]);

    // Background load: bob's token checked on both instances, non-stop
    // (one client each: the pools are small, and a starved pool is not
    // what this test is about).
    let bob = Browser::new(a);
    let (code, verifier) = code_at(&a.address, &bob, "bob").await;
    let (status, tokens) = redeem(a, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let bob_access = field(&tokens, "access_token");
    let stop = Arc::new(AtomicBool::new(false));
    let load_done = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for i in 0..2 {
        let (cluster, stop, done, access) =
            (cluster.clone(), stop.clone(), load_done.clone(), bob_access.clone());
        load.push(tokio::spawn(async move {
            let app = &cluster.apps[i % 2];
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(userinfo(app, &access).await, 200, "bob's token stays valid");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    let mut accepted = Vec::new();
    for round in 0..ROUNDS {
        let browser = Browser::new(a);
        let (code, verifier) = code_at(&a.address, &browser, "alice").await;
        let (status, tokens) = redeem(a, &code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        let access = field(&tokens, "access_token");
        assert_eq!(userinfo(a, &access).await, 200, "checked (and cached) on A");
        assert!(active(a, &access).await);

        end_session(b, &browser, &field(&tokens, "id_token")).await;
        // Alternate which check comes first, so each is the very next one.
        let (by_userinfo, by_introspection) = if round % 2 == 0 {
            let u = userinfo(a, &access).await;
            (u, active(a, &access).await)
        } else {
            let i = active(a, &access).await;
            (userinfo(a, &access).await, i)
        };
        if by_userinfo != 401 || by_introspection {
            accepted.push((round, by_userinfo, by_introspection));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("background load");
    }
    assert!(load_done.load(Ordering::Relaxed) > 0, "the background load ran");
    assert!(accepted.is_empty(), "A accepted a token B had logged out: {accepted:?}");
}

both_backends!(a_logout_on_one_instance_is_seen_by_the_next_request_on_the_other);
