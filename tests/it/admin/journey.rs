//! Acceptance 1 of the console, end to end in headless Chromium
//! (`tests/browser/admin_journey.mjs`, a CDP virtual authenticator for the
//! passkey): the first administrator comes from the setup link, enrolls a
//! passkey, signs in again with it alone, registers a relying party and
//! creates a user with an invitation in the console. The invitation is read
//! from the real SMTP server (aiosmtpd); in a second browser the user sets a
//! password from its link (once only) and signs in to panva's
//! `openid-client` (`tests/oidc-client/journey.mjs`) through the login and
//! consent pages. The administrator disables the user: the RP's next
//! userinfo call is 401 `invalid_token` and its refresh `invalid_grant`.
//!
//! Each page passed through is photographed at 1280 and 390 pixels wide into
//! `target/admin-screenshots/journey-<backend>/` (not in git). Without
//! Chromium, node or the node modules this test FAILS, it never skips.

use portcullis_core::Clock;
use portcullis_tests::oidc::{browser_dir, callback_server, free_port, require_chromium};
use portcullis_tests::{Backend, SmtpCapture, TestDatabase, both_backends, spawn_app_with};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::recovery::use_smtp;

/// How long one step of a script may take (a bound, not an assertion).
const STEP: Duration = Duration::from_secs(120);

/// A node script spoken to in JSON lines; killed if the test ends first.
struct Script {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: UnboundedReceiver<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Script {
    fn spawn(dir: PathBuf, name: &'static str, args: &[String], env: &[(&str, String)]) -> Self {
        let mut child = Command::new("node")
            .arg(name)
            .args(args)
            .current_dir(dir)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("node (20+) is needed for {name}: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Self { name, child, stdin, lines, stderr: Some(stderr) }
    }

    /// Ends the script; its stderr.
    fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default()
    }

    /// The next JSON line; a failure report, garbage, an early exit or
    /// silence past [`STEP`] fails the test with the script's stderr.
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(STEP, self.lines.recv()).await;
        let Ok(Some(line)) = line else {
            let stderr = self.stop();
            panic!("{} said nothing more (timeout or exit); stderr:\n{stderr}", self.name);
        };
        match serde_json::from_str::<Value>(&line) {
            Ok(v) if v["ok"] != false => v,
            Ok(v) => {
                let stderr = self.stop();
                panic!("{} failed: {v:#}\nstderr:\n{stderr}", self.name)
            }
            Err(e) => {
                let stderr = self.stop();
                panic!("{} printed a line that is not JSON ({e}): {line}\nstderr:\n{stderr}", self.name)
            }
        }
    }

    /// The next line, which must be the event `event`.
    async fn event(&mut self, event: &str) -> Value {
        let v = self.next().await;
        assert_eq!(v["event"], event, "{}: {v:#}", self.name);
        v
    }

    /// Writes one line to the script's stdin.
    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").and_then(|()| stdin.flush()).expect("write to the script");
    }

    /// The closing report (the script has exited successfully).
    async fn finish(&mut self) -> Value {
        let report = self.next().await;
        assert_eq!(report["ok"], true, "{}: {report:#}", self.name);
        self.stdin.take();
        let status = tokio::task::block_in_place(|| self.child.wait()).expect("wait for node");
        let stderr = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        assert!(status.success(), "{} exited with {status}: {stderr}", self.name);
        report
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        if self.stderr.is_some() {
            self.stop();
        }
    }
}

fn rp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc-client")
}

async fn an_admin_invites_a_user_who_signs_in_to_an_rp_until_disabled(backend: Backend) {
    let chromium = require_chromium();
    assert!(
        rp_dir().join("node_modules/openid-client/package.json").exists(),
        "tests/oidc-client/node_modules is missing: run scripts/test (npm ci in tests/oidc-client)"
    );
    let mut smtp = SmtpCapture::new();
    smtp.start();
    // The issuer is http://localhost:PORT: WebAuthn needs a secure context
    // and a domain for its RP id. The manual clock stays where spawn_app_with
    // starts it, which the setup link was made at (the RP shifts its own).
    let port = free_port();
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_app_with(db, |s| {
        s.listen = format!("127.0.0.1:{port}").parse().expect("addr");
        s.issuer = portcullis_core::Issuer::parse(&format!("http://localhost:{port}")).expect("issuer");
        use_smtp(s, &smtp);
    })
    .await;
    let base = app.settings.issuer.as_str().trim_end_matches('/').to_owned();
    let setup_url = format!("{base}{}", app.setup_path.clone().expect("a setup link on an empty database"));
    let redirect = callback_server();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/admin-screenshots")
        .join(format!("journey-{}", backend.as_str()));
    // Only this run's pictures.
    let _ = std::fs::remove_dir_all(&shots);

    let args = [base.clone(), setup_url, shots.display().to_string(), redirect.clone()];
    let mut browser = Script::spawn(browser_dir(), "admin_journey.mjs", &args, &[("CHROMIUM", chromium)]);

    // A. The first admin, their passkey, the RP and the invitation.
    let invited = browser.event("invited").await;
    let user_path = invited["userPath"].as_str().expect("the user's page").to_owned();
    let bob = app.store.find_user_by_login("bob").await.expect("find").expect("bob exists");
    assert_eq!(user_path, format!("/admin/users/{}", bob.id));
    assert!(bob.password_hash.is_none(), "no password until bob chooses one");
    assert!(!bob.disabled);
    let root = app.store.find_user_by_login("root").await.expect("find").expect("the first admin");
    assert!(root.has_role("admin"));

    let invitation = invitation_to(&smtp, "bob@example.com").await;
    assert_eq!(invitation.subject, "Your Portcullis account is ready");
    let link = invitation.link("/recover/reset?token=").expect("a set-password link");
    assert!(link.starts_with(&format!("{base}/recover/reset?token=")), "{link}");

    let secret = invited["clientSecret"].as_str().expect("the secret shown once").to_owned();
    let env = [
        ("ISSUER", base.clone()),
        ("CLIENT_ID", "journey-rp".to_owned()),
        ("CLIENT_SECRET", secret),
        ("REDIRECT_URI", redirect.clone()),
        // The app runs on a manual clock: the RP checks exp and iat on it.
        ("SERVER_TIME", app.clock.now().unix_timestamp().to_string()),
    ];
    let mut rp = Script::spawn(rp_dir(), "journey.mjs", &[], &env);
    let authorize = rp.next().await["authorize_url"].as_str().expect("authorize_url").to_owned();
    assert!(authorize.starts_with(&format!("{base}/authorize?")), "{authorize}");

    // B. Bob sets his password, then signs in to the RP in his own browser.
    browser.send(&json!({ "invitation": link, "authorize": authorize }).to_string());
    let callback = browser.event("callback").await;
    let callback = callback["url"].as_str().expect("callback url").to_owned();
    assert!(callback.starts_with(&format!("{redirect}?code=")), "{callback}");
    rp.send(&callback);
    let signed_in = rp.event("signed_in").await;
    assert_eq!(signed_in["sub"], bob.id.to_string());
    assert_eq!(signed_in["id_token"]["azp"], "journey-rp");
    assert_eq!(signed_in["userinfo"]["preferred_username"], "bob");
    assert_eq!(signed_in["userinfo"]["email"], "bob@example.com");
    assert_eq!(signed_in["userinfo"]["name"], "Bob Builder");
    let live = app.store.find_user_by_login("bob").await.expect("find").expect("bob");
    assert!(live.password_hash.is_some(), "bob chose a password");

    // C. The admin disables Bob; the RP tries its tokens again.
    browser.send(&json!({ "disable": true }).to_string());
    let report = browser.finish().await;
    rp.send("again");
    let rp_report = rp.finish().await;

    let after = &rp_report["after"];
    assert_eq!(after["userinfo"]["ok"], false, "{after:#}");
    assert_eq!(after["userinfo"]["status"], 401, "{after:#}");
    assert_eq!(after["userinfo"]["error"], "invalid_token", "{after:#}");
    assert_eq!(after["userinfo"]["challenges"][0]["scheme"], "bearer", "{after:#}");
    assert_eq!(after["refresh"]["ok"], false, "{after:#}");
    assert_eq!(after["refresh"]["status"], 400, "{after:#}");
    assert_eq!(after["refresh"]["error"], "invalid_grant", "{after:#}");

    let admin = &report["admin"];
    assert_eq!(admin["setupNotice"], "The administrator account is ready. Sign in with it.");
    assert_eq!(admin["afterPasswordSignIn"], "/account");
    assert_eq!(
        admin["enrollNotice"],
        "Your account needs a second factor: add a passkey or an authenticator app to continue."
    );
    assert_eq!(admin["consoleBeforeSecondFactor"], "/account?enroll=required");
    assert_eq!(admin["recoveryCodes"], 10);
    assert_eq!(admin["passkeyRows"], 1);
    assert_eq!(admin["credentials"], 1);
    assert_eq!(admin["consoleSignedOut"], 404, "signed out, the console does not exist");
    assert_eq!(admin["afterPasskeySignIn"], "/admin", "the passkey alone opens the console");
    assert_eq!(admin["dashboardHeading"], "Console");
    assert_eq!(admin["signedInAs"], "Signed in as root");
    assert_eq!(admin["usersTotal"], "1");
    assert_eq!(admin["clientHeading"], "Client registered");
    assert_eq!(admin["clientId"], "journey-rp");
    assert_eq!(admin["invitedNotice"], "The user was created; the invitation is on its way.");
    assert_eq!(admin["invitedName"], "bob");
    assert_eq!(admin["invitedStatus"], "Active");

    let user = &report["user"];
    assert_eq!(user["resetHeading"], "Choose a new password");
    assert_eq!(user["resetFor"], "bob");
    assert_eq!(user["landing"], "Signed in as Bob Builder");
    assert_eq!(user["linkAgain"]["status"], 400, "the invitation works once: {user:#}");
    assert_eq!(
        user["linkAgain"]["text"],
        "This link is unknown, already used or expired. Links from our mails work once, for a short time."
    );
    assert_eq!(user["signInPath"], "/login", "the RP's request asks Bob to sign in");
    assert_eq!(user["consentPath"], "/consent");
    assert_eq!(user["consentHeading"], "Allow Journey RP?");
    assert_eq!(
        user["consentScopes"],
        json!([
            "Your email address",
            "Stay connected when you are not signed in here",
            "Confirm who you are",
            "Your name and username",
        ])
    );
    assert_eq!(user["callbackBody"], "callback reached");

    let disable = &report["disable"];
    assert_eq!(disable["statusBefore"], "Active");
    assert!(disable["sessionsBefore"].as_u64().expect("rows") >= 1, "Bob's browser session: {disable:#}");
    let connected = disable["connected"].as_array().expect("rows");
    assert_eq!(connected.len(), 1, "{disable:#}");
    assert!(connected[0].as_str().expect("row").contains("Journey RP"), "{disable:#}");
    assert_eq!(disable["notice"], "The user is disabled; their sessions and refresh tokens ended.");
    assert_eq!(disable["statusAfter"], "Disabled");
    assert_eq!(disable["sessionsAfter"], 0);
    assert_eq!(disable["enableButton"], 1);
    let kinds: Vec<&str> =
        disable["auditKinds"].as_array().expect("kinds").iter().filter_map(Value::as_str).collect();
    for kind in ["user.created", "user.disabled"] {
        assert!(kinds.contains(&kind), "{kind} in Bob's audit log: {kinds:?}");
    }
    assert_eq!(disable["usersDisabled"], "1");
    assert_eq!(disable["userBrowser"], "You are not signed in.", "Bob's browser session ended");
    // No CSP violation or script error; Chromium logs the two refusals the
    // journey asks for (the console signed out, the used link), nothing else.
    assert_eq!(
        report["consoleErrors"],
        json!([
            "Failed to load resource: the server responded with a status of 404 (Not Found)",
            "user: Failed to load resource: the server responded with a status of 400 (Bad Request)",
        ])
    );

    let bob = app.store.find_user_by_login("bob").await.expect("find").expect("bob");
    assert!(bob.disabled);

    // Every page at both widths, the console's among them.
    let taken: Vec<&str> =
        report["screenshots"].as_array().expect("screenshots").iter().filter_map(Value::as_str).collect();
    for name in &taken {
        for width in [1280, 390] {
            let file = shots.join(format!("{name}-{width}.png"));
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            assert!(size > 0, "{} is missing or empty", file.display());
        }
    }
    for page in [
        "admin-dashboard",
        "admin-clients",
        "admin-client-new",
        "admin-client-registered",
        "admin-users",
        "admin-user-new",
        "admin-user-invited",
        "admin-user",
        "admin-user-disabled",
        "admin-audit",
        "admin-dashboard-after",
    ] {
        assert!(taken.iter().any(|t| t.split_once('-').map(|(_, n)| n) == Some(page)), "{page}: {taken:?}");
    }
}

/// The invitation to `to`, once the mail worker delivered it (the admin's
/// own notices may come first).
async fn invitation_to(smtp: &SmtpCapture, to: &str) -> portcullis_tests::Captured {
    for n in 1..=8 {
        if let Some(mail) = smtp.wait_for(n).await.into_iter().find(|m| m.to == to) {
            return mail;
        }
    }
    panic!("no mail to {to}: {:?}", smtp.captured().iter().map(|m| &m.to).collect::<Vec<_>>());
}

both_backends!(an_admin_invites_a_user_who_signs_in_to_an_rp_until_disabled);
