//! The `admin` scope (the admin API's power) is granted only through
//! client_credentials and only to clients marked `admin_api`; a user's
//! authorization request never gets it.

use portcullis_protocol::GrantType;
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, create_client, pkce, spawn_oidc_app, token_request,
};
use portcullis_tests::{Backend, both_backends};
use serde_json::Value;

const CB: &str = "http://127.0.0.1:9/cb";

fn machine(id: &str, admin_api: bool) -> ClientSpec {
    let mut spec = ClientSpec::confidential(id, CB);
    spec.grants = vec![GrantType::ClientCredentials, GrantType::AuthorizationCode];
    spec.scopes = "openid api admin".into();
    spec.admin_api = admin_api;
    spec
}

async fn only_admin_api_clients_get_the_admin_scope(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_client(&app, machine("plain", false)).await;
    create_client(&app, machine("ops-bot", true)).await;
    let grant = |scope: Option<&'static str>| {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        form
    };

    let refused = token_request(&app, "plain", &grant(Some("api admin"))).await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"], "invalid_scope");
    let default: Value = token_request(&app, "plain", &grant(None)).await.json().await.expect("json");
    assert_eq!(default["scope"], "api", "admin is left out of a plain client's default scope");

    let res = token_request(&app, "ops-bot", &grant(Some("admin"))).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["scope"], "admin");

    // A user's authorization request: never.
    let (_, challenge) = pkce();
    let url = format!(
        "{}/authorize?client_id=ops-bot&redirect_uri={}&response_type=code&scope=openid%20admin&state=s&code_challenge={challenge}&code_challenge_method=S256",
        app.address,
        url::form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    );
    let back = Browser::new(&app).authorize(&url, Interact::ConsentOnly).await.redirect();
    assert_eq!(Outcome::param(&back, "error").as_deref(), Some("invalid_scope"));
}

both_backends!(only_admin_api_clients_get_the_admin_scope);
