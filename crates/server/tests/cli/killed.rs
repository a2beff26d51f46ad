//! Acceptance 4 of issue 18 (an instance killed with SIGKILL), with real
//! processes: two `portcullis serve` on one PostgreSQL database and one
//! key-encryption key, machine clients loading both; B gets SIGKILL (no
//! drain, no clean-up) mid-load. A answers every request, before and after
//! the kill; every token B issued before it is active on A (nothing B held
//! in memory was needed); B restarted rejoins: it serves, its tokens are
//! active on A, and a key staged by `portcullis keys rotate` is published
//! by both. What needs a browser (codes, refresh tokens, sessions) is
//! covered in-process by tests/it/multi/killed.rs.

use crate::common::{RunExt, Server, portcullis, text};
use crate::oauth::{
    Credentials, active, client_credentials, jwks_kids, try_client_credentials, try_introspect,
};
use crate::postgres::PgDatabase;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// Load threads per instance.
const THREADS: usize = 3;

fn instance(dir: &std::path::Path, url: &str) -> Command {
    let mut cmd = portcullis(dir);
    cmd.env("PORTCULLIS__DATABASE__URL", url)
        .env("PORTCULLIS__KEYS__ENCRYPTION_KEY", KEK)
        .env("PORTCULLIS__KEYS__REFRESH_INTERVAL_SECS", "1");
    cmd
}

fn add_machine_client(dir: &std::path::Path, url: &str, id: &str) -> Credentials {
    let out = instance(dir, url)
        .args(["clients", "add", "--name", "Batch", "--client-id", id, "--grant", "client_credentials"])
        .run();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let secret =
        stdout.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap_or_else(|| panic!("{stdout}"));
    Credentials { id: id.to_owned(), secret: secret.to_owned() }
}

#[derive(Debug, Default)]
struct Tally {
    /// Requests A answered as expected.
    a_ok: AtomicUsize,
    /// Requests B answered as expected (all before the kill).
    b_ok: AtomicUsize,
    /// Requests to B that failed: the kill and after (lost with B).
    b_lost: AtomicUsize,
    /// Tokens B issued, each to be checked on A.
    from_b: Mutex<Vec<String>>,
    /// Anything A got wrong.
    a_wrong: Mutex<Vec<String>>,
}

/// A failed round: whether A (the survivor) is to blame, and what happened.
type Failure = (bool, String);

/// One round on `port`: a token, introspected on A (the survivor).
fn round(port: u16, a: u16, client: &Credentials) -> Result<String, Failure> {
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
    Ok(token)
}

#[test]
fn an_instance_killed_with_sigkill_mid_load_loses_nothing() {
    let db = PgDatabase::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let client = add_machine_client(dir.path(), &db.url, "batch");
    let mut a = Server::start(instance(dir.path(), &db.url));
    let mut b = Server::start(instance(dir.path(), &db.url));
    let (pa, pb) = (a.port(), b.port());
    assert_eq!(jwks_kids(pa), jwks_kids(pb), "one key set");

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut load = Vec::new();
    for (port, on_a) in (0..THREADS).flat_map(|_| [(pa, true), (pb, false)]) {
        let (stop, tally, client) = (stop.clone(), tally.clone(), client.clone());
        load.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match (round(port, pa, &client), on_a) {
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
        assert!(active(pa, &client, token), "a token from B is inactive on A");
    }

    // B restarted rejoins: it serves, and A and B agree on its tokens and
    // on a key staged while it was away.
    let mut b = Server::start(instance(dir.path(), &db.url));
    let pb = b.port();
    assert!(active(pa, &client, &client_credentials(pb, &client)));
    assert!(active(pb, &client, &client_credentials(pa, &client)));
    assert!(active(pb, &client, &from_b[0]), "B's own token from before the kill");
    let out = instance(dir.path(), &db.url).args(["keys", "rotate", "--alg", "ES256"]).run();
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
