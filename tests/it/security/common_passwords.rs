//! Common and breached passwords are refused wherever a password is chosen
//! (issue 14, finding 9): here through the first-admin setup page.

use portcullis_tests::{Backend, TestApp, both_backends, spawn_app};

use crate::accounts::{csrf_token, post_form, set_cookie};

/// Submits the setup form with `password`: (status, page).
async fn set_up_with(app: &TestApp, password: &str) -> (u16, String) {
    let path = app.setup_path.clone().expect("a setup link at first start");
    let res = app.get(&path).await;
    assert_eq!(res.status(), 200);
    let (cookie, _) = set_cookie(&res).expect("session");
    let csrf = csrf_token(&res.text().await.expect("body"));
    let token = path.split("token=").nth(1).expect("token").to_owned();
    let form = [
        ("csrf_token", csrf.as_str()),
        ("token", token.as_str()),
        ("username", "root"),
        ("email", "root@example.com"),
        ("password", password),
        ("password_confirm", password),
    ];
    let res = post_form(app, "/setup", Some(&cookie), &form).await;
    (res.status().as_u16(), res.text().await.expect("body"))
}

async fn the_setup_page_refuses_a_common_password(backend: Backend) {
    let app = spawn_app(backend).await;
    for common in ["password", "12345678", "Password1", "QWERTYUIOP"] {
        let (status, page) = set_up_with(&app, common).await;
        assert_eq!(status, 422, "{common}");
        assert!(page.contains("this password is too common"), "{common}: {page}");
    }
    assert_eq!(app.store.count_users().await.expect("count"), 0);
    let (status, _) = set_up_with(&app, "plum orchard under quiet snow").await;
    assert_eq!(status, 303, "an uncommon passphrase is accepted");
}

both_backends!(the_setup_page_refuses_a_common_password);
