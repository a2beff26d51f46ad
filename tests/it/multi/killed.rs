//! Acceptance 4 of issue 18 (instance killed): two instances under load
//! through the proxy; B is stopped abruptly (its listeners closed without
//! draining, connections in flight dropped). What B held in memory is
//! needed by nobody: the proxy hands new connections to A, every request
//! started after the kill is answered by A, every grant made on either
//! instance still refreshes, a session signed in on B still signs in on A,
//! and a code redeemed on B cannot be redeemed again on A.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use portcullis_tests::cluster::fresh_connections;
use portcullis_tests::oidc::{Browser, Interact};
use portcullis_tests::{Backend, both_backends};

use super::{code_at, code_with, field, pair, redeem, refresh};

const GRANTS: usize = 6;

#[derive(Debug, Default)]
struct Tally {
    ok: AtomicUsize,
    /// Requests in flight at the kill (started before it completed) that
    /// failed: lost with B. A real SIGKILL resets their connections; here B
    /// may also answer one 500 as its pool closes behind the stopped
    /// listeners.
    dropped: AtomicUsize,
    /// Any failure of a request started after the kill.
    wrong: std::sync::Mutex<Vec<String>>,
}

async fn an_instance_killed_mid_load_loses_nothing(backend: Backend) {
    let cluster = Arc::new(pair(backend).await);
    let (a, b) = (&cluster.apps[0], &cluster.apps[1]);

    // Grants made on both instances; a code redeemed on B.
    let mut grants = Vec::new();
    for i in 0..GRANTS {
        let app = &cluster.apps[i % 2];
        let browser = Browser::new(app);
        let (code, verifier) = code_at(&app.address, &browser, "alice").await;
        let (status, tokens) = redeem(app, &code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        grants.push((field(&tokens, "access_token"), field(&tokens, "refresh_token")));
    }
    let on_b = Browser::new(b);
    let (code, verifier) = code_at(&b.address, &on_b, "bob").await;
    assert_eq!(redeem(b, &code, &verifier).await.0, 200);

    // Load through the proxy: userinfo with the grants' tokens.
    let proxy = cluster.proxy.address.clone();
    let (stop, killed, tally) =
        (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)), Arc::new(Tally::default()));
    let mut load = Vec::new();
    for (access, _) in &grants {
        let (proxy, stop, killed, tally) = (proxy.clone(), stop.clone(), killed.clone(), tally.clone());
        let access = access.clone();
        load.push(tokio::spawn(async move {
            let http = fresh_connections();
            while !stop.load(Ordering::Relaxed) {
                let after_kill = killed.load(Ordering::Relaxed);
                let outcome = http.get(format!("{proxy}/userinfo")).bearer_auth(&access).send().await;
                match outcome {
                    Ok(res) if res.status() == 200 => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ if !after_kill => {
                        tally.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(res) => tally.wrong.lock().expect("lock").push(format!("status {}", res.status())),
                    Err(e) => tally.wrong.lock().expect("lock").push(format!("{e:?}")),
                }
            }
        }));
    }
    while tally.ok.load(Ordering::Relaxed) < 50 {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    b.kill().await;
    killed.store(true, Ordering::Relaxed);
    let served_by_b = cluster.proxy.connections()[1];
    let at_kill = tally.ok.load(Ordering::Relaxed);
    while tally.ok.load(Ordering::Relaxed) < at_kill + 100 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("load");
    }
    assert!(served_by_b > 0, "B served part of the load before the kill");
    assert!(tally.wrong.lock().expect("lock").is_empty(), "{tally:?}");

    // Nothing B held is lost: every grant refreshes on A, B's session signs
    // in on A without a password, B's code stays redeemed.
    for (_, refresh_token) in &grants {
        let (status, body) = refresh(a, refresh_token).await;
        assert_eq!(status, 200, "{body}");
    }
    let (again, _) = code_with(&a.address, &on_b, Interact::ConsentOnly).await;
    assert!(!again.is_empty());
    let (status, body) = redeem(a, &code, &verifier).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

both_backends!(an_instance_killed_mid_load_loses_nothing);
