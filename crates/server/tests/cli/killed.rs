//! Acceptance 4 of issue 18 (an instance killed with SIGKILL), with real
//! processes: two `portcullis serve` on one PostgreSQL database and one
//! key-encryption key. Grants are made across both (a browser session
//! signed in on each, codes redeemed on the other), then both are loaded
//! (client_credentials, introspection on A, userinfo on A) and B gets
//! SIGKILL (no drain, no clean-up) mid-load. A answers every request,
//! before and after the kill. Nothing B held in memory was needed: every
//! token B issued is active on A, every grant refreshes on A, the session
//! signed in on B gets a code from A without a password, a code issued by
//! B and not yet redeemed is redeemed on A once and only once, and a code
//! B redeemed stays redeemed. B restarted rejoins: it serves, its tokens
//! are active on A, and a key staged meanwhile is published by both.

use crate::browser::{Browser, PASSWORD};
use crate::common::{RunExt, Server, portcullis, text};
use crate::oauth::{
    Credentials, active, client_credentials, jwks_kids, try_client_credentials, try_introspect, userinfo,
};
use crate::postgres::PgDatabase;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// Load threads per instance.
const THREADS: usize = 3;

fn instance(dir: &Path, url: &str) -> Command {
    let mut cmd = portcullis(dir);
    cmd.env("PORTCULLIS__DATABASE__URL", url)
        .env("PORTCULLIS__KEYS__ENCRYPTION_KEY", KEK)
        .env("PORTCULLIS__KEYS__REFRESH_INTERVAL_SECS", "1");
    cmd
}

/// `portcullis clients add ARGS --client-id ID`; its credentials.
fn add_client(dir: &Path, url: &str, id: &str, args: &[&str]) -> Credentials {
    let out = instance(dir, url).args(["clients", "add", "--client-id", id]).args(args).run();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let secret =
        stdout.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap_or_else(|| panic!("{stdout}"));
    Credentials { id: id.to_owned(), secret: secret.to_owned() }
}

fn add_user(dir: &Path, url: &str, username: &str) {
    crate::common::add_user(instance(dir, url), username, PASSWORD);
}

#[derive(Debug, Default)]
struct Tally {
    /// Rounds A answered as expected.
    a_ok: AtomicUsize,
    /// Rounds B answered as expected (all before the kill).
    b_ok: AtomicUsize,
    /// Rounds on B that failed: the kill and after (lost with B).
    b_lost: AtomicUsize,
    /// Tokens B issued, each to be checked on A.
    from_b: Mutex<Vec<String>>,
    /// Anything A got wrong.
    a_wrong: Mutex<Vec<String>>,
}

/// A failed round: whether A (the survivor) is to blame, and what happened.
type Failure = (bool, String);

/// One round on `port`: a client_credentials token, introspected on A
/// (the survivor); on A also userinfo with a user's access token.
fn round(port: u16, a: u16, client: &Credentials, user_token: &str) -> Result<String, Failure> {
    let on_a = port == a;
    let (status, body) = try_client_credentials(port, client).map_err(|e| (on_a, e))?;
    if status != 200 {
        return Err((on_a, format!("token: {status} {body}")));
    }
    let token = body["access_token"].as_str().ok_or_else(|| (on_a, format!("{body}")))?.to_owned();
    let (status, body) = try_introspect(a, client, &token).map_err(|e| (true, e))?;
    if status != 200 || body["active"] != serde_json::Value::Bool(true) {
        return Err((true, format!("introspect on A: {status} {body}")));
    }
    if on_a {
        match userinfo(a, user_token) {
            Ok(200) => {}
            other => return Err((true, format!("userinfo on A: {other:?}"))),
        }
    }
    Ok(token)
}

fn field(body: &serde_json::Value, name: &str) -> String {
    body[name].as_str().unwrap_or_else(|| panic!("no {name} in {body}")).to_owned()
}

#[test]
fn an_instance_killed_with_sigkill_mid_load_loses_nothing() {
    let db = PgDatabase::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let (d, url) = (dir.path(), db.url.as_str());
    let machine = add_client(d, url, "batch", &["--name", "Batch", "--grant", "client_credentials"]);
    let rp = add_client(
        d,
        url,
        "rp",
        &["--name", "RP", "--redirect-uri", crate::browser::CALLBACK, "--no-consent"],
    );
    add_user(d, url, "alice");
    let mut a = Server::start(instance(d, url));
    let mut b = Server::start(instance(d, url));
    let (pa, pb) = (a.port(), b.port());
    assert_eq!(jwks_kids(pa), jwks_kids(pb), "one key set");

    // Grants across the two: a session signed in on each, codes redeemed
    // on the same and on the other instance.
    let (mut on_a, mut on_b) = (Browser::new(), Browser::new());
    let mut grants = Vec::new();
    // (first code of its browser, which browser, issued at, redeemed at)
    for (first, (browser_b, at, redeem_at)) in
        [(true, (true, pb, pa)), (true, (false, pa, pb)), (false, (true, pb, pb)), (false, (false, pa, pa))]
    {
        let browser = if browser_b { &mut on_b } else { &mut on_a };
        let (code, verifier) = browser.code(at, first.then_some("alice"));
        let (status, body) = browser.redeem(redeem_at, &rp, &code, &verifier);
        assert_eq!(status, 200, "{body}");
        grants.push((field(&body, "access_token"), field(&body, "refresh_token"), code, verifier));
    }
    // A code B issued, to be redeemed only after B is gone.
    let (pending, pending_verifier) = on_b.code(pb, None);

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut load = Vec::new();
    for (i, (port, on_a)) in (0..THREADS).flat_map(|_| [(pa, true), (pb, false)]).enumerate() {
        let (stop, tally, machine) = (stop.clone(), tally.clone(), machine.clone());
        let user_token = grants[i % grants.len()].0.clone();
        load.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match (round(port, pa, &machine, &user_token), on_a) {
                    (Ok(_), true) => {
                        tally.a_ok.fetch_add(1, Ordering::Relaxed);
                    }
                    (Ok(token), false) => {
                        tally.b_ok.fetch_add(1, Ordering::Relaxed);
                        tally.from_b.lock().expect("lock").push(token);
                    }
                    (Err((true, e)), _) => tally.a_wrong.lock().expect("lock").push(e),
                    (Err((false, _)), _) => {
                        tally.b_lost.fetch_add(1, Ordering::Relaxed);
                        // B is gone: do not spin on refused connections.
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        }));
    }
    wait_until("load on both", || {
        tally.a_ok.load(Ordering::Relaxed) >= 30 && tally.b_ok.load(Ordering::Relaxed) >= 30
    });

    let status = b.kill();
    #[cfg(unix)]
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "{status}");
    let at_kill = tally.a_ok.load(Ordering::Relaxed);
    wait_until("A serving on after the kill", || tally.a_ok.load(Ordering::Relaxed) >= at_kill + 60);
    stop.store(true, Ordering::Relaxed);
    for thread in load {
        thread.join().expect("load thread");
    }
    assert!(tally.b_lost.load(Ordering::Relaxed) > 0, "B was loaded when it died");
    let wrong = tally.a_wrong.lock().expect("lock");
    assert!(wrong.is_empty(), "A failed {} requests, e.g. {:?}", wrong.len(), wrong.first());

    // Every token B issued before it died is still good on A.
    let from_b = tally.from_b.lock().expect("lock").clone();
    assert!(from_b.len() >= 30);
    for token in &from_b {
        assert!(active(pa, &machine, token), "a token from B is inactive on A");
    }
    // No grant lost: each refreshes on A, and its new access token works there.
    for (_, refresh_token, _, _) in &grants {
        let (status, body) = on_a.refresh(pa, &rp, refresh_token);
        assert_eq!(status, 200, "{body}");
        assert_eq!(userinfo(pa, &field(&body, "access_token")), Ok(200));
    }
    // No session lost: the one signed in on B gets a code from A, no password.
    let (code, verifier) = on_b.code(pa, None);
    assert_eq!(on_b.redeem(pa, &rp, &code, &verifier).0, 200);
    // No code redeemable twice: B's unredeemed code works once on A; the
    // code B redeemed itself stays redeemed.
    assert_eq!(on_a.redeem(pa, &rp, &pending, &pending_verifier).0, 200);
    let (status, body) = on_a.redeem(pa, &rp, &pending, &pending_verifier);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (_, _, redeemed_by_b, verifier) = &grants[2];
    let (status, body) = on_a.redeem(pa, &rp, redeemed_by_b, verifier);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // B restarted rejoins: it serves, and A and B agree on its tokens and
    // on a key staged while it was away.
    let mut b = Server::start(instance(d, url));
    let pb = b.port();
    assert!(active(pa, &machine, &client_credentials(pb, &machine)));
    assert!(active(pb, &machine, &client_credentials(pa, &machine)));
    assert!(active(pb, &machine, &from_b[0]), "B's own token from before the kill");
    let out = instance(d, url).args(["keys", "rotate", "--alg", "ES256"]).run();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let staged = text(&out.stdout).split_whitespace().next().expect("kid").to_owned();
    wait_until("both instances publish the staged key", || {
        jwks_kids(pa).contains(&staged) && jwks_kids(pb).contains(&staged)
    });
    assert_eq!(jwks_kids(pa), jwks_kids(pb));
    assert!(a.terminate().success(), "{}", a.seen.join("\n"));
    assert!(b.terminate().success(), "{}", b.seen.join("\n"));
}

/// Polls `done` every 20 ms; fails after a minute.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
