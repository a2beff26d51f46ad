//! The pages: markup a browser and a screen reader need, security headers on
//! every response, friendly errors for bad input.

use portcullis_tests::{Backend, both_backends, spawn_app};

use super::open_login;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

fn assert_security_headers(res: &reqwest::Response) {
    let h = res.headers();
    assert_eq!(h["content-security-policy"], CSP, "{}", res.url());
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
}

async fn every_response_carries_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/", "/login", "/logout", "/healthz", "/static/portcullis.css", "/no-such-page", "/setup"] {
        let res = app.get(path).await;
        assert_security_headers(&res);
    }
    for path in ["/", "/login"] {
        assert_eq!(app.get(path).await.headers()["cache-control"], "no-store", "{path}");
    }
    let css = app.get("/static/portcullis.css").await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(css.headers()["cache-control"], "public, max-age=3600");
}

async fn the_sign_in_page_is_accessible_and_script_is_external_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let html = app.get("/login").await.text().await.expect("body");
    for needle in [
        "<html lang=\"en\">",
        "name=\"viewport\"",
        "<label for=\"username\">",
        "<label for=\"password\">",
        "id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username webauthn\"",
        "id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\"",
        "<form method=\"post\" action=\"/login\">",
        "<button type=\"submit\">Sign in</button>",
    ] {
        assert!(html.contains(needle), "missing {needle} in:\n{html}");
    }
    // One external script (passkeys; `script-src 'self'`), nothing inline.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(html.contains("<script src=\"/static/passkey.js\" defer></script>"), "{html}");
    assert!(html.contains("id=\"passkey-signin\""), "a passkey button next to the username");
    assert!(!html.contains("style="), "no inline style (the CSP forbids it)");

    let landing = app.get("/").await.text().await.expect("body");
    assert!(landing.contains("<a class=\"button\" href=\"/login\">Sign in</a>"), "{landing}");
}

async fn malformed_forms_get_a_friendly_400_not_a_500(backend: Backend) {
    let app = spawn_app(backend).await;
    let (cookie, _) = open_login(&app).await;
    let res = app
        .client
        .post(format!("{}/login", app.address))
        .header("content-type", "application/json")
        .header("cookie", format!("{}={cookie}", super::COOKIE))
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 400);
    assert_security_headers(&res);
    let body = res.text().await.expect("body");
    assert!(body.contains("Bad request") && !body.contains("panicked"), "{body}");

    let huge = "x".repeat(64 * 1024);
    let res = super::post_form(&app, "/login", Some(&cookie), &[("password", huge.as_str())]).await;
    assert_eq!(res.status(), 400);

    let res = app.get("/setup?token=a&token=b").await;
    assert!(res.status().is_client_error(), "{}", res.status());
}

both_backends!(
    every_response_carries_the_security_headers,
    the_sign_in_page_is_accessible_and_script_is_external_only,
    malformed_forms_get_a_friendly_400_not_a_500,
);
