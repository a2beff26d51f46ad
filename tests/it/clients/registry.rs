//! The run-time client operations (`protocol::clients::Registry`) against a
//! running app: what they change is what `/token` accepts at once; a stale
//! administrator, a configuration-declared client and a mistyped
//! confirmation change nothing; each change is audited with its actor.

use std::sync::Arc;

use portcullis_core::Clock;
use portcullis_protocol::Resources;
use portcullis_protocol::clients::{Actor, ClientSpec, Registry, RegistryError};
use portcullis_server::settings::{ClientSettings, SecretKey};
use portcullis_tests::oidc::spawn_oidc_app_with;
use portcullis_tests::{Backend, TestApp, TestDatabase, both_backends};
use time::Duration;
use uuid::Uuid;

const CONFIG_SECRET: &str = "config-secret-0123456789abcdef0123456789";

static NO_RESOURCES: Resources = Resources::empty();

fn registry(app: &TestApp) -> Registry<'_> {
    Registry {
        store: app.store.as_ref(),
        now: app.clock.now(),
        max_token_lifetime: Duration::days(1),
        resources: &NO_RESOURCES,
    }
}

fn admin(id: Uuid, may_change: bool) -> Actor {
    Actor::Admin { id, may_change, ip: Some("192.0.2.4".into()), user_agent: Some("test".into()) }
}

/// A machine client `id` as typed.
fn machine(id: &str) -> ClientSpec {
    ClientSpec {
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["api".into()],
        ..ClientSpec::new(id)
    }
}

async fn token(app: &TestApp, client_id: &str, secret: &str) -> u16 {
    let res = app
        .client
        .post(format!("{}/token", app.address))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "api")])
        .send()
        .await
        .expect("token request");
    res.status().as_u16()
}

async fn app(backend: Backend) -> TestApp {
    let declared = ClientSettings {
        client_id: "config-rp".into(),
        name: None,
        client_secret: Some(SecretKey::new(CONFIG_SECRET.into())),
        client_secret_sha256: None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["client_credentials".into()],
        token_endpoint_auth_method: "client_secret_basic".into(),
        scopes: vec!["api".into()],
        require_consent: false,
        backchannel_logout_uri: None,
        id_token_signed_response_alg: "RS256".into(),
        access_token_ttl: 300,
        jwks: None,
        admin_api: true,
        allowed_origins: vec![],
        dpop_bound_access_tokens: false,
        require_pushed_authorization_requests: false,
        resources: vec![],
    };
    spawn_oidc_app_with(Arc::new(TestDatabase::new(backend).await), |s| s.clients.push(declared)).await
}

async fn changes_apply_at_the_token_endpoint_at_once(backend: Backend) {
    let app = app(backend).await;
    let root = admin(Uuid::new_v4(), true);
    let registered = registry(&app).register(&root, &machine("batch")).await.expect("register");
    let first = registered.secret.expect("a confidential client gets a secret");
    assert_eq!(token(&app, "batch", &first).await, 200);

    // Within the overlap both secrets work; at its end only the new one.
    let rotated = registry(&app).rotate_secret(&root, "batch", Duration::seconds(30)).await.expect("rotate");
    assert_eq!(rotated.previous_until, Some(app.clock.now() + Duration::seconds(30)));
    assert_eq!(token(&app, "batch", &rotated.secret).await, 200);
    assert_eq!(token(&app, "batch", &first).await, 200);
    app.clock.advance(Duration::seconds(30));
    assert_eq!(token(&app, "batch", &first).await, 401);
    assert_eq!(token(&app, "batch", &rotated.secret).await, 200);

    registry(&app).set_disabled(&root, "batch", true).await.expect("disable");
    assert_eq!(token(&app, "batch", &rotated.secret).await, 401, "a disabled client cannot authenticate");
    registry(&app).set_disabled(&root, "batch", false).await.expect("enable");
    assert_eq!(token(&app, "batch", &rotated.secret).await, 200);

    let err = registry(&app).delete(&root, "batch", "batc").await.expect_err("a mistyped confirmation");
    assert!(matches!(err, RegistryError::ConfirmationMismatch), "{err:?}");
    assert_eq!(token(&app, "batch", &rotated.secret).await, 200, "nothing was deleted");
    registry(&app).delete(&root, "batch", "batch").await.expect("delete");
    assert_eq!(token(&app, "batch", &rotated.secret).await, 401);

    let Actor::Admin { id, .. } = root else { unreachable!("an admin") };
    let events = app.store.recent_audit(50).await.expect("audit");
    let mut kinds: Vec<&str> = events.iter().rev().map(|e| e.event.kind.as_str()).collect();
    kinds.retain(|k| k.starts_with("client."));
    let expected =
        ["client.registered", "client.secret_rotated", "client.disabled", "client.enabled", "client.deleted"];
    assert_eq!(kinds, expected);
    for e in events.iter().filter(|e| e.event.kind.starts_with("client.")) {
        assert_eq!(e.event.detail["actor"], id.to_string(), "{:?}", e.event);
        assert_eq!(e.event.detail["client_id"], "batch");
        assert_eq!(e.event.ip.as_deref(), Some("192.0.2.4"));
    }
}

async fn refused_changes_change_nothing(backend: Backend) {
    let app = app(backend).await;
    let root = admin(Uuid::new_v4(), true);
    let secret = registry(&app).register(&root, &machine("batch")).await.expect("register").secret;
    let secret = secret.expect("a secret");
    let before = app.store.list_clients().await.expect("list");
    let events = app.store.recent_audit(50).await.expect("audit").len();

    // An administrator whose authentication is too old for a change.
    let stale = admin(Uuid::new_v4(), false);
    let reg = registry(&app);
    let refusals = [
        reg.register(&stale, &machine("other")).await.map(drop),
        reg.rotate_secret(&stale, "batch", Duration::ZERO).await.map(drop),
        reg.set_disabled(&stale, "batch", true).await,
        reg.delete(&stale, "batch", "batch").await.map(drop),
    ];
    for refusal in refusals {
        assert!(matches!(refusal, Err(RegistryError::ReauthenticationRequired)), "{refusal:?}");
    }

    // A client of the configuration file, from the console or the command line.
    for actor in [root.clone(), Actor::Operator] {
        let refusals = [
            reg.rotate_secret(&actor, "config-rp", Duration::ZERO).await.map(drop),
            reg.set_disabled(&actor, "config-rp", true).await,
            reg.delete(&actor, "config-rp", "config-rp").await.map(drop),
        ];
        for refusal in refusals {
            assert!(matches!(refusal, Err(RegistryError::DeclaredInConfig)), "{refusal:?}");
            assert!(refusal.is_err_and(|e| e.to_string().contains("configuration file; change it there")));
        }
    }

    // Taken ids, unknown clients, broken rules, too long an overlap.
    let taken = reg.register(&root, &machine("batch")).await;
    assert!(matches!(taken, Err(RegistryError::Taken)), "{taken:?}");
    let unknown = reg.set_disabled(&root, "nobody", true).await;
    assert!(matches!(unknown, Err(RegistryError::UnknownClient)), "{unknown:?}");
    let public_cc = ClientSpec { token_endpoint_auth_method: "none".into(), ..machine("public") };
    let invalid = reg.register(&root, &public_cc).await;
    assert!(matches!(invalid, Err(RegistryError::Invalid(_))), "{invalid:?}");
    let long_lived = ClientSpec { access_token_ttl_secs: 86_401, ..machine("long") };
    let invalid = reg.register(&root, &long_lived).await;
    assert!(matches!(invalid, Err(RegistryError::Invalid(_))), "{invalid:?}");
    let overlap = reg.rotate_secret(&root, "batch", Duration::days(30) + Duration::seconds(1)).await;
    assert!(matches!(overlap, Err(RegistryError::OverlapTooLong)), "{overlap:?}");

    assert_eq!(app.store.list_clients().await.expect("list"), before, "nothing changed");
    assert_eq!(app.store.recent_audit(50).await.expect("audit").len(), events, "nothing was audited");
    assert_eq!(token(&app, "batch", &secret).await, 200);
    assert_eq!(token(&app, "config-rp", CONFIG_SECRET).await, 200);
}

async fn the_command_line_is_audited_without_an_actor_id(backend: Backend) {
    let app = app(backend).await;
    let public = ClientSpec {
        token_endpoint_auth_method: "none".into(),
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        ..ClientSpec::new("")
    };
    let registered = registry(&app).register(&Actor::Operator, &public).await.expect("register");
    assert_eq!(registered.secret, None, "a public client has no secret");
    let id = registered.client.client_id.as_str().to_owned();
    assert_eq!(id.len(), 32, "a blank id is 32 random hex digits");
    let err = registry(&app).rotate_secret(&Actor::Operator, &id, Duration::ZERO).await;
    assert!(matches!(err, Err(RegistryError::NoSecret)), "{err:?}");
    let events = app.store.recent_audit(10).await.expect("audit");
    let event = events.iter().find(|e| e.event.kind == "client.registered").expect("audited");
    assert_eq!(event.event.detail.get("actor"), None);
    assert_eq!(event.event.user_agent.as_deref(), Some("portcullis-cli"));
    assert_eq!(event.event.detail["client_id"], id);
}

both_backends!(
    changes_apply_at_the_token_endpoint_at_once,
    refused_changes_change_nothing,
    the_command_line_is_audited_without_an_actor_id,
);
