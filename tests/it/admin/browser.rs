//! Acceptance 2 of the console, in headless Chromium (`tests/browser/admin.mjs`):
//! an admin signs in, adds a passkey through a CDP virtual authenticator,
//! then every console page (a GET route of `admin_routes()`, with real ids)
//! has no serious or critical axe-core violation and every link, button and
//! field is reached with Tab. Screenshots at 1280 and 390 pixels wide go to
//! `target/admin-screenshots/<backend>/` (not in git). Without Chromium or
//! `tests/browser/node_modules` this test FAILS, it never skips.

use portcullis_core::Clock;
use portcullis_store::{Effects, NewGroup};
use portcullis_tests::oidc::{
    ClientSpec, PASSWORD, browser_dir, create_client, create_user, require_chromium, spawn_oidc_app_with,
};
use portcullis_tests::{Backend, TestDatabase, both_backends};
use portcullis_web::admin_routes;
use serde_json::Value;
use std::process::Command;
use std::sync::Arc;

async fn every_console_page_is_accessible_and_keyboard_reachable(backend: Backend) {
    let chromium = require_chromium();
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| {
        let port = s.listen.port();
        s.issuer = portcullis_core::Issuer::parse(&format!("http://localhost:{port}")).expect("issuer");
    })
    .await;
    create_user(&app, "root", &["admin"]).await;
    let alice = create_user(&app, "alice", &[]).await;
    let group = NewGroup { id: uuid::Uuid::new_v4(), name: "Ops".into(), created_at: app.clock.now() };
    let group = app.store.create_group(&group, &Effects::default()).await.expect("group");
    app.store
        .add_group_member(group.id, alice.id, group.created_at, &Effects::default())
        .await
        .expect("member");

    create_client(&app, ClientSpec::confidential("portal", "http://127.0.0.1:9/cb")).await;

    let pages: Vec<String> = admin_routes()
        .into_iter()
        .filter(|(method, _)| *method == "GET")
        .map(|(_, path)| {
            let id = if path.starts_with("/admin/groups/") {
                group.id.to_string()
            } else if path.starts_with("/admin/clients/") {
                "portal".to_owned()
            } else {
                alice.id.to_string()
            };
            path.replace("{id}", &id)
        })
        .filter(|path| !path.ends_with("/export"))
        .collect();
    assert!(pages.len() >= 8, "{pages:?}");
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/admin-screenshots")
        .join(backend.as_str());
    // Only this run's pictures: the ids in their names change every run.
    let _ = std::fs::remove_dir_all(&shots);
    let base = app.settings.issuer.as_str().trim_end_matches('/').to_owned();
    let mut args = vec![base, "root".to_owned(), PASSWORD.to_owned(), shots.display().to_string()];
    args.extend(pages.iter().cloned());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("admin.mjs")
            .args(&args)
            .current_dir(browser_dir())
            .env("CHROMIUM", chromium)
            .output()
            .expect("node is needed for the browser test")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!("no JSON report ({e}): {stdout}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    assert!(out.status.success() && report["ok"] == true, "console journey failed: {report:#}");
    assert_eq!(report["consoleErrors"], serde_json::json!([]), "no CSP violation or script error");
    for path in &pages {
        let page = &report["pages"][path];
        assert_eq!(page["status"], 200, "{path}: {page:#}");
        assert_eq!(page["serious"], serde_json::json!([]), "{path}: serious or critical axe violations");
        assert_eq!(page["unreachable"], 0, "{path}: controls Tab never reaches: {page:#}");
        assert!(page["controls"].as_u64().expect("controls") > 0, "{path}");
        for width in [1280, 390] {
            let name = path.trim_start_matches('/').replace(['/', '-'], "_");
            assert!(shots.join(format!("{name}-{width}.png")).exists(), "{path} at {width}px");
        }
    }
}

both_backends!(every_console_page_is_accessible_and_keyboard_reachable);
