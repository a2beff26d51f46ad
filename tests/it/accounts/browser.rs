//! Acceptance 1: headless Chromium (Debian's `chromium`, driven by
//! `playwright-core` from `tests/browser/`) goes through the first-admin
//! link, signs in, sees the landing page, signs out. `scripts/test` installs
//! both; without them this test FAILS, it never skips.

use portcullis_tests::{Backend, both_backends, spawn_app};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Runs the journey script; returns its JSON report.
fn run_journey(base: &str, setup_url: &str) -> serde_json::Value {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: run scripts/test, which installs chromium"
    );
    assert!(
        browser_dir().join("node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: run scripts/test (npm ci in tests/browser)"
    );
    let mut child = Command::new("node")
        .arg("first_admin.mjs")
        .args([base, setup_url])
        .current_dir(browser_dir())
        .env("CHROMIUM", &chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node is needed for the browser test (Node 20)");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser journey did not finish: {:?}", child.wait_with_output().expect("output"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("no JSON report ({e}); stdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr))
    });
    assert!(out.status.success() && report["ok"] == true, "browser journey failed: {report:#}");
    report
}

async fn a_browser_creates_the_first_admin_then_signs_in_and_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let port = app.address.rsplit(':').next().expect("port").to_owned();
    // localhost is a secure context, so the Secure __Host- cookie works over http.
    let base = format!("http://localhost:{port}");
    let setup_url = format!("{base}{}", app.setup_path.clone().expect("a setup link at first start"));

    let report = tokio::task::spawn_blocking(move || run_journey(&base, &setup_url)).await.expect("journey");

    assert_eq!(report["afterSetup"], "/login");
    assert_eq!(report["notice"], "The administrator account is ready. Sign in with it.");
    assert_eq!(report["tabStop"], "passkey-signin", "the passkey button follows the username field");
    assert_eq!(report["afterSignIn"], "/account", "an admin without a second factor is led to enroll one");
    assert_eq!(
        report["enrollNotice"],
        "Your account needs a second factor: add a passkey or an authenticator app to continue."
    );
    assert_eq!(report["landing"], "Signed in as root");
    assert_eq!(
        report["cookie"],
        serde_json::json!({ "httpOnly": true, "secure": true, "sameSite": "Lax", "path": "/" })
    );
    assert_eq!(report["stylesheetApplied"], "416px", "the stylesheet loads under the CSP");
    assert_eq!(report["afterSignOut"], "You are not signed in.");
    assert_eq!(report["signInLink"], "/login");
    assert_eq!(report["cookieAfterSignOut"], false);
    assert_eq!(report["consoleErrors"], serde_json::json!([]), "no CSP violation or script error");

    let admin = app.store.find_user_by_login("root").await.expect("find").expect("the admin exists");
    assert!(admin.has_role("admin"));
    assert_eq!(
        app.db.count("SELECT * FROM sessions WHERE user_id IS NOT NULL").await,
        0,
        "signed out server-side"
    );
}

both_backends!(a_browser_creates_the_first_admin_then_signs_in_and_out);
