//! DPoP (RFC 9449) end to end, with proofs signed here (ES256 and EdDSA
//! keys): the token endpoint's nonce challenge, DPoP-bound access tokens on
//! every grant, refresh tokens bound to the key, UserInfo with the `DPoP`
//! scheme and `ath`, introspection's `cnf`, and one test per rule broken.
//! `oauth4webapi.rs` drives the same with a real client library.

use josekit::jwk::Jwk;
use josekit::jws::{ES256, EdDSA, JwsHeader};
use josekit::jwt::{self, JwtPayload};
use portcullis_core::Clock;
use portcullis_protocol::GrantType;
use portcullis_tests::TestApp;
use portcullis_tests::TestDatabase;
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, client_secret, create_client, create_user, pkce, spawn_oidc_app,
    spawn_oidc_app_with,
};
use portcullis_tests::{Backend, both_backends};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use time::Duration;

const REDIRECT: &str = "http://127.0.0.1:9/cb";

/// A client's DPoP key, signing proofs on the app's clock.
pub(crate) struct Key {
    private: Jwk,
    public: Map<String, Value>,
    alg: &'static str,
}

impl Key {
    pub(crate) fn es256() -> Self {
        Self::of(Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).expect("ec"), "ES256")
    }

    pub(crate) fn eddsa() -> Self {
        Self::of(Jwk::generate_ed_key(josekit::jwk::alg::ed::EdCurve::Ed25519).expect("ed"), "EdDSA")
    }

    fn of(private: Jwk, alg: &'static str) -> Self {
        let public = private.to_public_key().expect("public").into();
        Self { private, public, alg }
    }

    /// The RFC 7638 thumbprint.
    pub(crate) fn jkt(&self) -> String {
        portcullis_keys::dpop::jwk_thumbprint(&self.public).expect("thumbprint")
    }

    /// A proof of exactly `claims`.
    pub(crate) fn sign(&self, claims: Value) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header.set_claim("jwk", Some(Value::Object(self.public.clone()))).expect("jwk");
        let Value::Object(map) = claims else { panic!("claims are an object") };
        let payload = JwtPayload::from_map(map).expect("payload");
        match self.alg {
            "ES256" => {
                jwt::encode_with_signer(&payload, &header, &ES256.signer_from_jwk(&self.private).expect("s"))
            }
            _ => {
                jwt::encode_with_signer(&payload, &header, &EdDSA.signer_from_jwk(&self.private).expect("s"))
            }
        }
        .expect("sign")
    }

    /// A fresh proof for `method` `url` at the app's now, with `extra` claims.
    pub(crate) fn proof(&self, app: &TestApp, method: &str, url: &str, extra: Value) -> String {
        let mut claims = json!({
            "jti": portcullis_core::random::hex_id(),
            "htm": method,
            "htu": url,
            "iat": app.clock.now().unix_timestamp(),
        });
        if let (Value::Object(claims), Value::Object(extra)) = (&mut claims, extra) {
            claims.extend(extra);
        }
        self.sign(claims)
    }
}

/// `ath` of an access token.
fn ath(token: &str) -> String {
    portcullis_protocol::dpop::ath(token)
}

fn token_url(app: &TestApp) -> String {
    format!("{}/token", app.address)
}

fn userinfo_url(app: &TestApp) -> String {
    format!("{}/userinfo", app.address)
}

/// A signed-in user's authorization code for `client_id`, with its verifier.
async fn code(app: &TestApp, client_id: &str, user: &'static str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let url = format!(
        "{}/authorize?client_id={client_id}&redirect_uri={REDIRECT}&response_type=code&scope=openid%20email%20offline_access\
         &state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256",
        app.address
    );
    let back = Browser::new(app).authorize(&url, Interact::As(user)).await.redirect();
    (Outcome::param(&back, "code").expect("code"), verifier)
}

/// `POST /token` as the public client `client_id` with `form` and the
/// `DPoP` header `proof` (if any).
async fn token(
    app: &TestApp,
    client_id: &str,
    form: &[(&str, &str)],
    proof: Option<&str>,
) -> reqwest::Response {
    let mut form = form.to_vec();
    form.push(("client_id", client_id));
    let mut req = app.client.post(token_url(app)).form(&form);
    if let Some(proof) = proof {
        req = req.header("DPoP", proof);
    }
    req.send().await.expect("token request")
}

/// The server's nonce, from the `use_dpop_nonce` challenge of a proof without one.
async fn nonce_challenge(app: &TestApp, key: &Key, form: &[(&str, &str)], client_id: &str) -> String {
    let proof = key.proof(app, "POST", &token_url(app), json!({}));
    let res = token(app, client_id, form, Some(&proof)).await;
    assert_eq!(res.status(), 400);
    let nonce = res.headers()["dpop-nonce"].to_str().expect("ascii").to_owned();
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "use_dpop_nonce", "{body}");
    nonce
}

fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).expect("payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("b64"))
        .expect("json")
}

/// `GET /userinfo` with `Authorization: <scheme> <token>` and the proof.
async fn userinfo(app: &TestApp, scheme: &str, token: &str, proof: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(userinfo_url(app)).header("authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        req = req.header("DPoP", proof);
    }
    req.send().await.expect("userinfo")
}

fn challenge(res: &reqwest::Response) -> String {
    res.headers().get("www-authenticate").map(|v| v.to_str().expect("ascii").to_owned()).unwrap_or_default()
}

/// A public client's code exchange with `key`: (access token, refresh token).
async fn dpop_tokens(app: &TestApp, key: &Key, client_id: &str, user: &'static str) -> (String, String) {
    let (code, verifier) = code(app, client_id, user).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", &verifier),
    ];
    let nonce = nonce_challenge(app, key, &form, client_id).await;
    let proof = key.proof(app, "POST", &token_url(app), json!({ "nonce": nonce }));
    let res = token(app, client_id, &form, Some(&proof)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    (
        body["access_token"].as_str().expect("at").to_owned(),
        body["refresh_token"].as_str().expect("rt").to_owned(),
    )
}

async fn run_code_flow(backend: Backend, key: Key) {
    let app = spawn_oidc_app(backend).await;
    let alice = create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::public("native", REDIRECT)).await;
    create_client(&app, ClientSpec::confidential("api", "https://api.example/cb")).await;
    let (code, verifier) = code(&app, "native", "alice").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", &verifier),
    ];

    // A proof without the nonce: use_dpop_nonce, with the nonce to use.
    let nonce = nonce_challenge(&app, &key, &form, "native").await;
    // With it: DPoP-bound tokens (the code was not spent by the challenge).
    let proof = key.proof(&app, "POST", &token_url(&app), json!({ "nonce": nonce }));
    let res = token(&app, "native", &form, Some(&proof)).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("dpop-nonce"), "successful answers carry a nonce too");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().expect("access token");
    assert_eq!(claims_of(access)["cnf"]["jkt"], key.jkt());

    // UserInfo: the DPoP scheme and a proof with ath (no nonce needed there).
    let proof = key.proof(&app, "GET", &userinfo_url(&app), json!({ "ath": ath(access) }));
    let res = userinfo(&app, "DPoP", access, Some(&proof)).await;
    assert_eq!(res.status(), 200);
    let info: Value = res.json().await.expect("json");
    assert_eq!(info["sub"], alice.id.to_string());

    // The same token as a bearer token: refused with a DPoP challenge.
    let res = userinfo(&app, "Bearer", access, None).await;
    assert_eq!(res.status(), 401);
    let www = challenge(&res);
    assert!(www.starts_with("DPoP ") && www.contains("error=\"invalid_token\""), "{www}");

    // Introspection tells a resource server the key (RFC 9449 §6.2).
    let res = app
        .client
        .post(format!("{}/introspect", app.address))
        .basic_auth("api", Some(client_secret("api")))
        .form(&[("token", access)])
        .send()
        .await
        .expect("introspect");
    let info: Value = res.json().await.expect("json");
    assert_eq!(info["active"], true);
    assert_eq!(info["token_type"], "DPoP");
    assert_eq!(info["cnf"]["jkt"], key.jkt());
}

async fn an_es256_key_gets_bound_tokens_after_the_nonce_challenge(backend: Backend) {
    run_code_flow(backend, Key::es256()).await;
}

async fn an_eddsa_key_gets_bound_tokens_after_the_nonce_challenge(backend: Backend) {
    run_code_flow(backend, Key::eddsa()).await;
}

async fn a_bound_refresh_token_is_useless_without_its_key(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::public("native", REDIRECT)).await;
    let key = Key::es256();
    let (_, refresh) = dpop_tokens(&app, &key, "native", "alice").await;
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];

    // Stolen alone: no proof.
    let res = token(&app, "native", &form, None).await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.expect("json")["error"], "invalid_grant");
    // With a proof by another key.
    let thief = Key::es256();
    let nonce = nonce_challenge(&app, &thief, &form, "native").await;
    let proof = thief.proof(&app, "POST", &token_url(&app), json!({ "nonce": nonce }));
    let res = token(&app, "native", &form, Some(&proof)).await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.expect("json")["error"], "invalid_grant");
    // The rightful key still refreshes: the refusals revoked nothing.
    let proof = key.proof(&app, "POST", &token_url(&app), json!({ "nonce": nonce }));
    let res = token(&app, "native", &form, Some(&proof)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(claims_of(body["access_token"].as_str().expect("at"))["cnf"]["jkt"], key.jkt());
    // And the successor is bound too.
    let next = body["refresh_token"].as_str().expect("rt");
    let res = token(&app, "native", &[("grant_type", "refresh_token"), ("refresh_token", next)], None).await;
    assert_eq!(res.json::<Value>().await.expect("json")["error"], "invalid_grant");
}

async fn proofs_breaking_a_rule_are_refused_at_userinfo(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::public("native", REDIRECT)).await;
    let key = Key::eddsa();
    let (access, _) = dpop_tokens(&app, &key, "native", "alice").await;
    let url = userinfo_url(&app);
    let now = app.clock.now().unix_timestamp();
    let good = json!({ "ath": ath(&access) });
    let refused = |res: reqwest::Response, what: &str| {
        assert_eq!(res.status(), 401, "{what}");
        let www = challenge(&res);
        assert!(www.starts_with("DPoP ") && www.contains("error=\"invalid_dpop_proof\""), "{what}: {www}");
    };

    let proof = key.proof(&app, "GET", &url, good.clone());
    assert_eq!(userinfo(&app, "DPoP", &access, Some(&proof)).await.status(), 200);
    refused(userinfo(&app, "DPoP", &access, Some(&proof)).await, "replayed jti");
    let wrong_htu = key.proof(&app, "GET", &token_url(&app), good.clone());
    refused(userinfo(&app, "DPoP", &access, Some(&wrong_htu)).await, "wrong htu");
    let wrong_htm = key.proof(&app, "POST", &url, good.clone());
    refused(userinfo(&app, "DPoP", &access, Some(&wrong_htm)).await, "wrong htm");
    let stale = key.proof(&app, "GET", &url, json!({ "ath": ath(&access), "iat": now - 61 }));
    refused(userinfo(&app, "DPoP", &access, Some(&stale)).await, "stale iat");
    let future = key.proof(&app, "GET", &url, json!({ "ath": ath(&access), "iat": now + 60 }));
    refused(userinfo(&app, "DPoP", &access, Some(&future)).await, "iat in the future");
    let wrong_ath = key.proof(&app, "GET", &url, json!({ "ath": ath("another token") }));
    refused(userinfo(&app, "DPoP", &access, Some(&wrong_ath)).await, "wrong ath");
    let other_key = Key::eddsa().proof(&app, "GET", &url, good.clone());
    refused(userinfo(&app, "DPoP", &access, Some(&other_key)).await, "another key");
    refused(userinfo(&app, "DPoP", &access, None).await, "no proof");
    // A nonce is not needed here, but one that is there must be current.
    let stale_nonce = key.proof(&app, "GET", &url, json!({ "ath": ath(&access), "nonce": "stale" }));
    let res = userinfo(&app, "DPoP", &access, Some(&stale_nonce)).await;
    assert_eq!(res.status(), 401);
    assert!(challenge(&res).contains("error=\"use_dpop_nonce\""), "{}", challenge(&res));
    let nonce = res.headers()["dpop-nonce"].to_str().expect("ascii").to_owned();
    let fresh = key.proof(&app, "GET", &url, json!({ "ath": ath(&access), "nonce": nonce }));
    assert_eq!(userinfo(&app, "DPoP", &access, Some(&fresh)).await.status(), 200, "with the fresh nonce");
    // The query is not part of htu (RFC 9449 §4.3).
    let with_query = key.proof(&app, "GET", &format!("{url}?x=1"), good.clone());
    assert_eq!(userinfo(&app, "DPoP", &access, Some(&with_query)).await.status(), 200);
}

async fn proofs_breaking_a_rule_are_refused_at_the_token_endpoint(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::public("native", REDIRECT)).await;
    let key = Key::es256();
    let (code, verifier) = code(&app, "native", "alice").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", &verifier),
    ];
    let nonce = nonce_challenge(&app, &key, &form, "native").await;
    let url = token_url(&app);
    let now = app.clock.now().unix_timestamp();
    let cases = [
        ("wrong htu", key.proof(&app, "POST", &userinfo_url(&app), json!({ "nonce": nonce }))),
        ("wrong htm", key.proof(&app, "GET", &url, json!({ "nonce": nonce }))),
        ("stale iat", key.proof(&app, "POST", &url, json!({ "nonce": nonce, "iat": now - 120 }))),
        ("not dpop+jwt", {
            let mut header = JwsHeader::new();
            header.set_token_type("JWT");
            header.set_claim("jwk", Some(Value::Object(key.public.clone()))).expect("jwk");
            let Value::Object(claims) =
                json!({ "jti": "x", "htm": "POST", "htu": url, "iat": now, "nonce": nonce })
            else {
                unreachable!()
            };
            let payload = JwtPayload::from_map(claims).expect("payload");
            jwt::encode_with_signer(&payload, &header, &ES256.signer_from_jwk(&key.private).expect("s"))
                .expect("sign")
        }),
    ];
    // A malformed body is refused, with a nonce all the same.
    let res =
        app.client.post(&url).header("content-type", "text/plain").body("x").send().await.expect("token");
    assert_eq!(res.status(), 400);
    assert!(res.headers().contains_key("dpop-nonce"), "every /token answer carries a nonce");
    for (what, proof) in cases {
        let res = token(&app, "native", &form, Some(&proof)).await;
        assert_eq!(res.status(), 400, "{what}");
        assert_eq!(res.json::<Value>().await.expect("json")["error"], "invalid_dpop_proof", "{what}");
    }
    // Two DPoP headers.
    let (a, b) = (
        key.proof(&app, "POST", &url, json!({ "nonce": nonce })),
        key.proof(&app, "POST", &url, json!({ "nonce": nonce })),
    );
    let res = app
        .client
        .post(&url)
        .header("DPoP", a)
        .header("DPoP", b)
        .form(&[form.as_slice(), &[("client_id", "native")]].concat())
        .send()
        .await
        .expect("token");
    assert_eq!(res.json::<Value>().await.expect("json")["error"], "invalid_dpop_proof");

    // A replayed proof: the first use redeems the code, the replay is refused
    // as a proof before the code is even looked at.
    let proof = key.proof(&app, "POST", &url, json!({ "nonce": nonce }));
    assert_eq!(
        token(&app, "native", &form, Some(&proof)).await.status(),
        200,
        "none of the refusals spent the code"
    );
    let res = token(&app, "native", &form, Some(&proof)).await;
    assert_eq!(res.json::<Value>().await.expect("json")["error"], "invalid_dpop_proof");
}

async fn a_stale_nonce_gets_a_fresh_one_then_succeeds(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let mut spec = ClientSpec::confidential("m2m", "https://m2m.example/cb");
    spec.grants = vec![GrantType::ClientCredentials];
    spec.scopes = "api".into();
    create_client(&app, spec).await;
    let key = Key::es256();
    let url = token_url(&app);
    let request = |proof: String| {
        app.client
            .post(&url)
            .basic_auth("m2m", Some(client_secret("m2m")))
            .header("DPoP", proof)
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let res = request(key.proof(&app, "POST", &url, json!({}))).await.expect("token");
    let old = res.headers()["dpop-nonce"].to_str().expect("ascii").to_owned();
    assert_eq!(res.json::<Value>().await.expect("json")["error"], "use_dpop_nonce");

    app.clock.advance(Duration::minutes(11));
    let res = request(key.proof(&app, "POST", &url, json!({ "nonce": old }))).await.expect("token");
    assert_eq!(res.status(), 400);
    let fresh = res.headers()["dpop-nonce"].to_str().expect("ascii").to_owned();
    assert_ne!(fresh, old, "the nonce rotated");
    assert_eq!(res.json::<Value>().await.expect("json")["error"], "use_dpop_nonce", "a stale nonce");

    let res = request(key.proof(&app, "POST", &url, json!({ "nonce": fresh }))).await.expect("token");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["token_type"], "DPoP", "client_credentials tokens are bound too");
    assert_eq!(claims_of(body["access_token"].as_str().expect("at"))["cnf"]["jkt"], key.jkt());
}

async fn a_client_requiring_dpop_is_refused_without_a_proof(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let mut spec = ClientSpec::confidential("strict", "https://strict.example/cb");
    spec.grants = vec![GrantType::ClientCredentials];
    spec.scopes = "api".into();
    spec.dpop_bound_access_tokens = true;
    create_client(&app, spec).await;
    let res = app
        .client
        .post(token_url(&app))
        .basic_auth("strict", Some(client_secret("strict")))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.expect("json")["error"], "invalid_dpop_proof");
}

async fn discovery_lists_the_verified_algorithms(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let doc: Value = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(doc["dpop_signing_alg_values_supported"], json!(["ES256", "EdDSA"]), "{path}");
    }
}

async fn the_setting_is_registered_through_the_console_and_the_admin_api(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    create_user(&app, "root", &["admin"]).await;
    let admin = crate::admin::console::admin_browser(&app, "root").await;
    let csrf = crate::admin::console::console_csrf(&admin).await;
    let html = admin.get("/admin/clients/new").await.text().await.expect("body");
    assert!(html.contains("name=\"dpop_bound_access_tokens\""), "the form asks for it");
    let form = [
        ("csrf_token", csrf.as_str()),
        ("client_id", "desktop"),
        ("auth_method", "none"),
        ("redirect_uris", "http://127.0.0.1/callback"),
        ("grant_authorization_code", "on"),
        ("grant_refresh_token", "on"),
        ("scopes", "openid offline_access"),
        ("access_token_ttl", "300"),
        ("dpop_bound_access_tokens", "on"),
    ];
    assert_eq!(admin.post("/admin/clients/new", &form).await.status(), 200);
    let stored = app.store.find_client("desktop").await.expect("find").expect("stored");
    assert!(stored.dpop_bound_access_tokens);
    let page = admin.get("/admin/clients/desktop").await.text().await.expect("body");
    assert!(page.contains("id=\"client-dpop\">required"), "the client page says so");

    create_client(&app, crate::admin::api::machine("ops-bot", true)).await;
    let bot = crate::admin::api::token(&app, "ops-bot", "admin").await;
    let auth = crate::admin::api::Auth::Bearer(&bot);
    let body = json!({ "client_id": "api-native", "token_endpoint_auth_method": "none",
        "redirect_uris": ["http://127.0.0.1/cb"], "dpop_bound_access_tokens": true });
    let (status, _, body, _) = crate::admin::api::call(&app, "POST", "/clients", auth, &[], Some(body)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["dpop_bound_access_tokens"], true);
    let (_, _, shown, _) = crate::admin::api::call(&app, "GET", "/clients/desktop", auth, &[], None).await;
    assert_eq!(shown["dpop_bound_access_tokens"], true);
}

/// `tokens.refresh_reuse_grace_secs`: a second tab replaying a bound refresh
/// token within the grace gets the same successor only with the same key.
async fn within_the_grace_a_bound_tokens_successor_goes_to_its_key_only(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend).await);
    let app = spawn_oidc_app_with(db, |s| s.tokens.refresh_reuse_grace_secs = 10).await;
    create_user(&app, "alice", &[]).await;
    create_client(&app, ClientSpec::public("native", REDIRECT)).await;
    let key = Key::es256();
    let (_, refresh) = dpop_tokens(&app, &key, "native", "alice").await;
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let nonce = nonce_challenge(&app, &key, &form, "native").await;
    let rotate = |key: &Key| key.proof(&app, "POST", &token_url(&app), json!({ "nonce": nonce }));

    let res = token(&app, "native", &form, Some(&rotate(&key))).await;
    assert_eq!(res.status(), 200);
    let successor = res.json::<Value>().await.expect("json")["refresh_token"].clone();

    app.clock.advance(Duration::seconds(5));
    // Another key, inside the grace: refused, and it learns nothing.
    let res = token(&app, "native", &form, Some(&rotate(&Key::es256()))).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.expect("json");
    assert_eq!((body["error"].as_str(), body.get("refresh_token")), (Some("invalid_grant"), None));
    // Without a proof: the same.
    let res = token(&app, "native", &form, None).await;
    assert_eq!(res.json::<Value>().await.expect("json")["error"], "invalid_grant");
    // The same key: the same successor, and a bound access token.
    let res = token(&app, "native", &form, Some(&rotate(&key))).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["refresh_token"], successor, "the same successor");
    assert_eq!(claims_of(body["access_token"].as_str().expect("at"))["cnf"]["jkt"], key.jkt());
}

both_backends!(
    the_setting_is_registered_through_the_console_and_the_admin_api,
    within_the_grace_a_bound_tokens_successor_goes_to_its_key_only,
    an_es256_key_gets_bound_tokens_after_the_nonce_challenge,
    an_eddsa_key_gets_bound_tokens_after_the_nonce_challenge,
    a_bound_refresh_token_is_useless_without_its_key,
    proofs_breaking_a_rule_are_refused_at_userinfo,
    proofs_breaking_a_rule_are_refused_at_the_token_endpoint,
    a_stale_nonce_gets_a_fresh_one_then_succeeds,
    a_client_requiring_dpop_is_refused_without_a_proof,
    discovery_lists_the_verified_algorithms,
);
