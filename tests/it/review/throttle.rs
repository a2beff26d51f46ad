//! Findings 3, 4, 7 and 8, and acceptance 3: every credential check is
//! reserved on its own counters before it runs, so parallel attempts cannot
//! slip past a limit; no first factor clears the second factor's counter;
//! nothing but time clears an IP's; accounts are counted once resolved.

use futures_util::future::join_all;
use portcullis_core::Clock;
use portcullis_store::{LockoutPolicy, MemoryThrottle, RateLimit, Reservation, Throttle};
use portcullis_tests::mfa::{enroll_totp, password_sign_in, totp_code};
use portcullis_tests::oidc::{Browser, PASSWORD, create_user, hidden, spawn_oidc_app, spawn_oidc_app_with};
use portcullis_tests::{Backend, TestDatabase, both_backends, test_store};
use proptest::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use time::Duration;
use time::macros::datetime;

use super::{failures, hashes, location, lockout, post_code, post_password, wrong_code};

/// Finding 3: wrong second factors count on the account's own counter,
/// which a right password never clears: alternating wrong codes with
/// password sign-ins reaches the limit, and then even the right code waits.
async fn second_factor_guesses_have_their_own_counter(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let alice = create_user(&app, "alice", &[]).await;
    let owner = Browser::new(&app);
    assert_eq!(location(&password_sign_in(&owner, "alice", &[]).await), "/");
    let (secret, _) = enroll_totp(&owner, app.clock.now()).await;
    app.clock.advance(Duration::seconds(30));
    let right = totp_code(&secret, app.clock.now());
    let wrong = wrong_code(&right);

    let attacker = Browser::new(&app);
    let limit = app.settings.auth.max_second_factor_failures;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        assert_eq!(
            location(&post_password(&attacker, "alice", PASSWORD).await),
            "/login/mfa",
            "the password passes"
        );
        for _ in 0..2 {
            statuses.push(post_code(&attacker, "totp", wrong).await.status().as_u16());
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429], "the limit holds across password sign-ins");
    assert_eq!(failures(&app, &format!("mfa:{}", alice.id)).await, limit);
    assert_eq!(failures(&app, &format!("pwd:{}", alice.id)).await, 0, "the passwords were right");
    let refused = post_code(&attacker, "totp", &right).await;
    assert_eq!(refused.status(), 429, "even the right code waits out the back-off");
    assert!(refused.headers().contains_key("retry-after"));

    // The back-off ends; the right code (of a new time step) works and
    // clears the counter.
    app.clock.advance(Duration::seconds(i64::from(app.settings.auth.lockout_base_secs)));
    let right = totp_code(&secret, app.clock.now());
    assert_eq!(post_code(&attacker, "totp", &right).await.status(), 303);
    assert_eq!(failures(&app, &format!("mfa:{}", alice.id)).await, 0);
}

/// Finding 4 and acceptance 3: 50 parallel wrong passwords for one account
/// are hashed at most `max_failures_per_account` times (argon2 runs
/// counted, not timed); the rest are refused before hashing, and so is the
/// right password afterwards.
async fn parallel_wrong_passwords_are_hashed_at_most_the_limit(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let dave = create_user(&app, "dave", &[]).await;
    let browsers: Vec<Browser> = (0..50).map(|_| Browser::new(&app)).collect();
    let mut forms = Vec::new();
    for browser in &browsers {
        let page = browser.get("/login").await.text().await.expect("page");
        forms.push(hidden(&page, "csrf_token").expect("csrf"));
    }
    let before = hashes(&app).await;
    let attempts = browsers.iter().zip(&forms).map(|(browser, csrf)| async move {
        browser
            .post("/login", &[("csrf_token", csrf), ("username", "dave"), ("password", "wrong guess")])
            .await
    });
    let statuses: Vec<u16> = join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();
    let hashed = hashes(&app).await - before;
    let limit = u64::from(app.settings.auth.max_failures_per_account);
    assert!(hashed <= limit, "{hashed} argon2 runs for 50 parallel attempts (limit {limit})");
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count() as u64,
        hashed,
        "each evaluated attempt answered"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count() as u64, 50 - hashed, "the rest refused");
    assert_eq!(u64::from(failures(&app, &format!("pwd:{}", dave.id)).await), hashed);
    let res = post_password(&Browser::new(&app), "dave", PASSWORD).await;
    assert_eq!(res.status(), 429, "the right password waits too");
    assert_eq!(hashes(&app).await - before, hashed, "and is not hashed");
}

/// Finding 4 at the store: 40 concurrent reservations of one counter admit
/// exactly the limit, on each backend and in memory.
async fn parallel_reservations_admit_exactly_the_limit(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let memory = MemoryThrottle::new();
    let policy = lockout(5);
    let now = datetime!(2026-03-01 12:00 UTC);
    for throttle in [store.as_ref() as &dyn Throttle, &memory] {
        let answers = join_all((0..40).map(|_| throttle.reserve_attempt("pwd:dave", &policy, now))).await;
        let admitted = answers.iter().filter(|a| matches!(a, Ok(Reservation::Admitted { .. }))).count();
        assert_eq!(admitted, 5, "{answers:?}");
        assert!(answers.iter().all(Result::is_ok));
    }
}

/// Finding 7: a right password on the attacker's own account gives back
/// only its own reservation; the IP's failures stand until time clears them.
async fn no_success_clears_the_ip_counter(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| {
        s.auth.max_failures_per_ip = 6;
        s.auth.max_failures_per_account = 100;
    })
    .await;
    create_user(&app, "dave", &[]).await;
    create_user(&app, "mallory", &[]).await;
    let attacker = Browser::new(&app);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        for _ in 0..2 {
            statuses.push(post_password(&attacker, "dave", "wrong guess").await.status().as_u16());
        }
        statuses.push(post_password(&attacker, "mallory", PASSWORD).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 303, 200, 200, 303, 200, 200, 429], "{statuses:?}");
    assert_eq!(failures(&app, "ip:127.0.0.1").await, 6);
    assert_eq!(post_password(&attacker, "dave", "another guess").await.status(), 429);
}

/// Finding 8: the counter is the account's once the name resolves, so
/// `dave` locked is `dave@example.com` locked; names of no account are
/// counted as typed, with the same answers.
async fn lockouts_count_per_account_not_per_name_typed(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "dave", &[]).await;
    let browser = Browser::new(&app);
    for _ in 0..5 {
        assert_eq!(post_password(&browser, "dave", "wrong guess").await.status(), 200);
    }
    let res = post_password(&browser, "dave@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429, "the same account under its email");
    assert_eq!(post_password(&browser, "DAVE", PASSWORD).await.status(), 429);
    for _ in 0..5 {
        assert_eq!(post_password(&browser, "nobody", "wrong guess").await.status(), 200);
    }
    assert_eq!(post_password(&browser, "nobody", "wrong guess").await.status(), 429, "unknown names alike");
    assert_eq!(post_password(&browser, "nobody2", "wrong guess").await.status(), 200);
}

both_backends!(
    second_factor_guesses_have_their_own_counter,
    parallel_wrong_passwords_are_hashed_at_most_the_limit,
    parallel_reservations_admit_exactly_the_limit,
    no_success_clears_the_ip_counter,
    lockouts_count_per_account_not_per_name_typed,
    stores_follow_the_reference_throttle,
);

/// One operation on a throttle.
#[derive(Debug, Clone)]
enum Op {
    Reserve(usize),
    Release(usize),
    Clear(usize),
    Wait(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize).prop_map(Op::Reserve),
        2 => (0..3usize).prop_map(Op::Release),
        1 => (0..3usize).prop_map(Op::Clear),
        // Often short, sometimes past a back-off or the whole window.
        2 => prop_oneof![0..40i64, 25..320i64, 800..1000i64].prop_map(Op::Wait),
    ]
}

/// Drives `ops` through `throttle` and through the reference transitions
/// side by side (keys namespaced by `case`); panics at the first difference.
async fn replay(throttle: &dyn Throttle, case: usize, ops: &[Op], policy: &LockoutPolicy) {
    let mut model: [Option<RateLimit>; 3] = [None, None, None];
    let mut now = datetime!(2026-03-01 12:00 UTC);
    let key = |k: usize| format!("case{case}:key{k}");
    for op in ops {
        match *op {
            Op::Reserve(k) => {
                let (next, expected) = portcullis_store::reserve(model[k].as_ref(), policy, now);
                let got = throttle.reserve_attempt(&key(k), policy, now).await.expect("reserve");
                assert_eq!(got, expected, "reserve {k} at {now} after {ops:?}");
                model[k] = next;
            }
            Op::Release(k) => {
                throttle.release_attempt(&key(k)).await.expect("release");
                model[k] = portcullis_store::release(model[k].as_ref());
            }
            Op::Clear(k) => {
                throttle.clear_attempts(&key(k)).await.expect("clear");
                model[k] = None;
            }
            Op::Wait(secs) => now += Duration::seconds(secs),
        }
    }
}

/// The SQL reservation is the reference transition, on both backends, and
/// so is the in-memory throttle: random sequences of reservations,
/// releases, clears and waits give the same answers (shrunk on failure).
async fn stores_follow_the_reference_throttle(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let memory = MemoryThrottle::new();
    follow_the_reference(&[(store.as_ref(), lockout(3)), (&memory, lockout(2))]);
}

/// Drives 48 random sequences (shrunk on failure) through each throttle
/// with its policy, next to the reference transitions; panics at the
/// first difference. From a multi-threaded runtime.
pub(crate) fn follow_the_reference(throttles: &[(&dyn Throttle, LockoutPolicy)]) {
    let handle = tokio::runtime::Handle::current();
    let config = ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let case = AtomicUsize::new(0);
    let result = tokio::task::block_in_place(|| {
        runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
            let n = case.fetch_add(1, Ordering::Relaxed);
            handle.block_on(async {
                for (throttle, policy) in throttles {
                    replay(*throttle, n, &ops, policy).await;
                }
            });
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
