//! Headless Chromium signs in to a relying party of Portcullis through each
//! kind of upstream: another Portcullis, and node-oidc-provider (an
//! implementation nobody here wrote, with its own development sign-in and
//! consent pages). `scripts/test` installs Chromium and the node modules;
//! without them this test FAILS, it never skips.

use portcullis_core::Issuer;
use portcullis_server::settings::UpstreamSettings;
use portcullis_tests::node::{Script, dir, run_json};
use portcullis_tests::oidc::{
    ClientSpec, PASSWORD, browser_dir, callback_server, client_secret, create_client, create_user, free_port,
    jwt_claims, pkce, require_chromium, spawn_oidc_app, spawn_oidc_app_with,
};
use portcullis_tests::{Backend, TestApp, TestDatabase, both_backends};
use serde_json::{Value, json};
use std::sync::Arc;

fn upstream(id: &str, label: &str, issuer: &str, client_id: &str) -> UpstreamSettings {
    serde_json::from_value(json!({
        "id": id,
        "display_name": label,
        "issuer": issuer,
        "client_id": client_id,
        "client_secret": client_secret(client_id),
        "trust_email_verified": true,
        "jit": true,
        "allowed_email_domains": ["example.com"],
    }))
    .expect("upstream settings")
}

/// Chromium through the relying party's authorization request at `down`,
/// continuing with `label` as `username`; the claims of the ID token the
/// relying party then gets.
async fn sign_in_through(down: &TestApp, label: &str, kind: &str, username: &str, callback: &str) -> Value {
    sign_in_proving(down, label, kind, username, callback, false).await.0
}

/// [`sign_in_through`]; with `prove`, Portcullis asks for the account with
/// the upstream's address first, and the browser signs in to it. Also
/// returns the notice the sign-in page showed then.
async fn sign_in_proving(
    down: &TestApp,
    label: &str,
    kind: &str,
    username: &str,
    callback: &str,
    prove: bool,
) -> (Value, Value) {
    let chromium = require_chromium();
    let (verifier, challenge) = pkce();
    let home = down.settings.issuer.as_str().trim_end_matches('/').to_owned();
    let authorize = format!(
        "{home}/authorize?client_id=portal&redirect_uri={}&response_type=code&scope=openid%20email&state=xyz\
         &code_challenge={challenge}&code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(callback.as_bytes()).collect::<String>()
    );
    let mode = if prove { "prove" } else { "" };
    let args =
        [authorize.as_str(), label, kind, username, PASSWORD, callback, mode].map(str::to_owned).to_vec();
    let (ok, report) =
        run_json(browser_dir(), "playwright-core", "upstream.mjs", args, vec![("CHROMIUM", chromium)]).await;
    assert!(ok && report["ok"] == true, "the browser did not get through {label}: {report:#}");
    assert_eq!(report["signInPath"], "/login");
    assert_eq!(report["callbackBody"], "callback reached");
    let back = url::Url::parse(report["callback"].as_str().expect("callback")).expect("url");
    let param = |n: &str| back.query_pairs().find(|(k, _)| k == n).map(|(_, v)| v.into_owned());
    assert_eq!(param("state").as_deref(), Some("xyz"));
    let code = param("code").expect("code");
    // A new connection: the browser took longer than the server keeps an
    // idle one open, and a pooled one could be closed as it is reused.
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", callback),
        ("code_verifier", verifier.as_str()),
    ];
    let res = reqwest::Client::new()
        .post(format!("{}/token", down.address))
        .basic_auth("portal", Some(client_secret("portal")))
        .form(&form)
        .send()
        .await
        .expect("token request");
    let tokens: Value = res.json().await.expect("tokens");
    let claims = jwt_claims(tokens["id_token"].as_str().expect("id token"));
    // Portcullis's own pages raised no CSP violation or script error.
    let errors = report["consoleErrors"].as_array().expect("errors").clone();
    let ours: Vec<_> = errors.iter().filter(|e| e.as_str().is_some_and(|e| e.contains(&home))).collect();
    assert!(ours.is_empty(), "{ours:?}");
    (claims, report["proveNotice"].clone())
}

async fn chromium_continues_with_portcullis_and_node_oidc_provider(backend: Backend) {
    // Another Portcullis, with Alice.
    let up = spawn_oidc_app(Backend::Sqlite).await;
    create_user(&up, "alice", &[]).await;
    // node-oidc-provider.
    let node_port = free_port();
    let node_issuer = format!("http://127.0.0.1:{node_port}");
    // The Portcullis under test, on localhost (a secure context, so its
    // __Host- cookie works over http; the upstreams are on 127.0.0.1).
    let down = spawn_oidc_app_with(Arc::new(TestDatabase::new(backend).await), |s| {
        s.issuer = Issuer::parse(&format!("http://localhost:{}", s.listen.port())).expect("issuer");
        s.upstreams = vec![
            upstream("corp", "Corp", &up.address, "portcullis-rp"),
            upstream("node", "Node", &node_issuer, "portcullis"),
        ];
    })
    .await;
    let home = down.settings.issuer.as_str().trim_end_matches('/').to_owned();
    let to_corp = format!("{home}/login/upstream/corp/callback");
    create_client(&up, ClientSpec::confidential("portcullis-rp", &to_corp)).await;
    let to_node = format!("{home}/login/upstream/node/callback");
    let env = [
        ("PORT", node_port.to_string()),
        ("CLIENT_ID", "portcullis".to_owned()),
        ("CLIENT_SECRET", client_secret("portcullis")),
        ("REDIRECT_URI", to_node),
    ];
    let mut node = Script::spawn(&dir("browser"), "oidc-provider", "upstream_idp.mjs", &env);
    assert!(node.read_line().contains("listening"), "node-oidc-provider started");
    let callback = callback_server();
    create_client(&down, ClientSpec::confidential("portal", &callback)).await;

    let claims = sign_in_through(&down, "Corp", "portcullis", "alice", &callback).await;
    let alice = down.store.find_user_by_login("alice").await.expect("find").expect("created");
    assert_eq!(claims["sub"], alice.id.to_string());
    assert_eq!(claims["amr"], json!(["fed"]));
    assert_eq!(claims["iss"], home);

    // Carol has an account here with the address Corp gives her: she
    // proves it (her password here), under the sign-in page's CSP with the
    // relying party's request pending, and Corp is linked to it.
    let carol_here = create_user(&down, "carol", &[]).await;
    create_user(&up, "carol", &[]).await;
    let (claims, notice) = sign_in_proving(&down, "Corp", "portcullis", "carol", &callback, true).await;
    assert!(notice.as_str().is_some_and(|n| n.contains("Sign in to it to link Corp")), "{notice}");
    assert_eq!(claims["sub"], carol_here.id.to_string());
    assert_eq!(claims["amr"], json!(["pwd"]), "a local sign-in");
    let linked = down.store.user_upstream_identities(carol_here.id).await.expect("links");
    assert_eq!(linked.len(), 1, "Corp is linked to Carol's account");

    let claims = sign_in_through(&down, "Node", "node", "nadia", &callback).await;
    let nadia = down.store.find_user_by_login("nadia").await.expect("find").expect("created");
    assert_eq!(claims["sub"], nadia.id.to_string());
    assert_eq!(claims["amr"], json!(["fed"]));
    assert_eq!(
        (nadia.email.as_str(), nadia.email_verified),
        ("nadia@example.com", true),
        "from its userinfo"
    );
    let linked = down.store.user_upstream_identities(nadia.id).await.expect("links");
    assert_eq!((linked[0].issuer.as_str(), linked[0].subject.as_str()), (node_issuer.as_str(), "nadia"));
}

both_backends!(chromium_continues_with_portcullis_and_node_oidc_provider);
