//! The ID-token checks of the upstream client, against ID tokens a real
//! provider would not issue (wrong audience, issuer, nonce, expiry, key,
//! algorithm): a stand-in upstream on loopback serves discovery, its JWKS
//! and a token endpoint that answers with the ID token each case forges.
//! (The real upstream, another Portcullis, is in `client.rs`.)

use actix_web::{App, HttpResponse, HttpServer, web};
use josekit::jws::{ES256, JwsHeader};
use josekit::jwt::{self, JwtPayload};
use portcullis_authn::upstream::client::{Callback, Pending, UpstreamClient, UpstreamConfig, UpstreamError};
use portcullis_core::{Clock, SystemClock};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(super) struct Stand {
    pub(super) base: String,
    /// The ID token the token endpoint answers with next.
    pub(super) id_token: Arc<Mutex<String>>,
    pub(super) key: josekit::jwk::Jwk,
    pub(super) stranger: josekit::jwk::Jwk,
    /// What the userinfo endpoint answers (JSON).
    pub(super) userinfo: Arc<Mutex<Value>>,
}

fn key_pair(kid: &str) -> (josekit::jwk::Jwk, Value) {
    let pair = ES256.generate_key_pair().expect("key pair");
    let mut private = pair.to_jwk_private_key();
    private.set_key_id(kid);
    let mut public = pair.to_jwk_public_key();
    public.set_key_id(kid);
    (private, serde_json::to_value(public.as_ref()).expect("jwk"))
}

pub(super) fn stand_in() -> Stand {
    stand_in_as(None)
}

/// A stand-in; with `tenants_at` (a path like `/organizations/v2.0`), a
/// multi-tenant one in the manner of Microsoft Entra ID: its discovery
/// document, under that path, names the issuer `{base}/{tenantid}/v2.0`,
/// and it has no userinfo endpoint.
fn stand_in_as(tenants_at: Option<&'static str>) -> Stand {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
    let document = format!("{}/.well-known/openid-configuration", tenants_at.unwrap_or_default());
    let (key, public) = key_pair("k1");
    let (stranger, _) = key_pair("k2");
    let id_token = Arc::new(Mutex::new(String::new()));
    let userinfo = Arc::new(Mutex::new(json!({ "sub": "user-7" })));
    let discovery = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "authorization_response_iss_parameter_supported": true,
    });
    let mut discovery = discovery;
    if tenants_at.is_some() {
        discovery["issuer"] = json!(format!("{base}/{{tenantid}}/v2.0"));
        let object = discovery.as_object_mut().expect("object");
        object.remove("userinfo_endpoint");
        object.remove("authorization_response_iss_parameter_supported");
    }
    let jwks = json!({ "keys": [public] });
    let (answer, about) = (id_token.clone(), userinfo.clone());
    let server = HttpServer::new(move || {
        let (discovery, jwks, answer, about) = (discovery.clone(), jwks.clone(), answer.clone(), about.clone());
        let document = document.clone();
        App::new()
            .route(
                "/userinfo",
                web::get().to(move || {
                    let body = about.lock().expect("lock").clone();
                    async move { HttpResponse::Ok().json(body) }
                }),
            )
            .route(
                &document,
                web::get().to(move || {
                    let body = discovery.clone();
                    async move { HttpResponse::Ok().json(body) }
                }),
            )
            .route(
                "/jwks",
                web::get().to(move || {
                    let body = jwks.clone();
                    async move { HttpResponse::Ok().json(body) }
                }),
            )
            .route(
                "/token",
                web::post().to(move || {
                    let id_token = answer.lock().expect("lock").clone();
                    async move {
                        HttpResponse::Ok().json(json!({
                            "access_token": "opaque", "token_type": "Bearer", "expires_in": 60, "id_token": id_token,
                        }))
                    }
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    Stand { base, id_token, key, stranger, userinfo }
}

const NONCE: &str = "the-nonce-of-this-request";

fn claims(stand: &Stand) -> Value {
    let now = SystemClock.now().unix_timestamp();
    json!({
        "iss": stand.base, "sub": "user-7", "aud": "rp", "nonce": NONCE,
        "iat": now, "exp": now + 300, "email": "ada@corp.example", "groups": ["staff"],
    })
}

pub(super) fn sign(claims: &Value, key: &josekit::jwk::Jwk) -> String {
    let map = claims.as_object().expect("object").clone();
    let payload = JwtPayload::from_map(map).expect("payload");
    let mut header = JwsHeader::new();
    header.set_key_id(key.key_id().expect("kid"));
    jwt::encode_with_signer(&payload, &header, &ES256.signer_from_jwk(key).expect("signer")).expect("sign")
}

/// Discovers the stand-in, has it answer `id_token`, and finishes a callback.
async fn finish(stand: &Stand, id_token: String) -> Result<Value, UpstreamError> {
    *stand.id_token.lock().expect("lock") = id_token;
    let client = UpstreamClient::discover(UpstreamConfig {
        id: "corp".into(),
        issuer: stand.base.clone(),
        client_id: "rp".into(),
        client_secret: "a-secret-of-the-rp-at-corp-0123456789".into(),
        scopes: vec!["email".into()],
        redirect_uri: "http://127.0.0.1:9/login/upstream/corp/callback".into(),
        timeout: Duration::from_secs(5),
        tenants: vec![],
    })
    .await
    .expect("discovery");
    let pending = Pending {
        upstream_id: "corp".into(),
        state: "the-state".into(),
        nonce: NONCE.into(),
        pkce_verifier: "a".repeat(43),
    };
    let callback =
        Callback { state: Some("the-state"), code: Some("a-code"), iss: Some(&stand.base), error: None };
    client.finish(&pending, callback).await.map(|v| v.claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_valid_id_token_of_this_upstream_for_this_client_and_request_passes() {
    let stand = stand_in();
    let good = claims(&stand);
    let verified = finish(&stand, sign(&good, &stand.key)).await.expect("the well-formed token passes");
    assert_eq!(verified["groups"], json!(["staff"]), "every claim comes back for the rules");
    // Userinfo adds what the ID token leaves out, never replaces what it says.
    *stand.userinfo.lock().expect("lock") =
        json!({ "sub": "user-7", "email": "mallory@evil.example", "department": "ops" });
    let verified = finish(&stand, sign(&good, &stand.key)).await.expect("with userinfo");
    assert_eq!(
        (verified["email"].as_str(), verified["department"].as_str()),
        (Some("ada@corp.example"), Some("ops"))
    );
    // Userinfo about someone else: refused (OIDC Core §5.3.2).
    *stand.userinfo.lock().expect("lock") = json!({ "sub": "user-8", "department": "ops" });
    let err = finish(&stand, sign(&good, &stand.key)).await.expect_err("another subject");
    assert!(matches!(err, UpstreamError::IdToken(_)), "{err:?}");
    *stand.userinfo.lock().expect("lock") = json!({ "sub": "user-7" });

    let now = SystemClock.now().unix_timestamp();
    let with = |changes: Value| {
        let mut c = good.clone();
        for (k, v) in changes.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    };
    let forged = [
        ("another client's audience", sign(&with(json!({ "aud": "another-rp" })), &stand.key)),
        ("another issuer", sign(&with(json!({ "iss": "https://evil.example" })), &stand.key)),
        ("another request's nonce", sign(&with(json!({ "nonce": "replayed-nonce" })), &stand.key)),
        ("expired", sign(&with(json!({ "iat": now - 3600, "exp": now - 1800 })), &stand.key)),
        (
            "several audiences, azp another client",
            sign(&with(json!({ "aud": ["rp", "x"], "azp": "x" })), &stand.key),
        ),
        ("a key the upstream does not publish", sign(&good, &stand.stranger)),
    ];
    for (case, id_token) in forged {
        let err = finish(&stand, id_token).await.expect_err(case);
        assert!(matches!(err, UpstreamError::IdToken(_)), "{case}: {err:?}");
    }
    // Unsigned (`alg: none`).
    let payload = data_encoding::BASE64URL_NOPAD.encode(good.to_string().as_bytes());
    let header = data_encoding::BASE64URL_NOPAD.encode(br#"{"alg":"none"}"#);
    let err = finish(&stand, format!("{header}.{payload}.")).await.expect_err("alg none");
    assert!(matches!(err, UpstreamError::IdToken(_) | UpstreamError::Exchange(_)), "{err:?}");
}

/// Discovers the multi-tenant stand-in at `issuer`, allowing `tenants`.
async fn discover_tenants(issuer: String, tenants: &[&str]) -> Result<UpstreamClient, UpstreamError> {
    UpstreamClient::discover(UpstreamConfig {
        id: "entra".into(),
        issuer,
        client_id: "rp".into(),
        client_secret: "a-secret-of-the-rp-at-entra-0123456789".into(),
        scopes: vec!["email".into()],
        redirect_uri: "http://127.0.0.1:9/login/upstream/entra/callback".into(),
        timeout: Duration::from_secs(5),
        tenants: tenants.iter().map(|t| (*t).to_owned()).collect(),
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_tenant_issuer_admits_only_the_listed_tenants_own_issuers() {
    let stand = stand_in_as(Some("/organizations/v2.0"));
    let issuer = format!("{}/organizations/v2.0", stand.base);
    // The template is refused unless tenants are listed; a template for
    // another configured issuer is refused too.
    let err = discover_tenants(issuer.clone(), &[]).await.expect_err("no tenants listed");
    assert!(matches!(&err, UpstreamError::Discovery(e) if e.contains("another issuer")), "{err:?}");
    let client = discover_tenants(issuer, &["t1", "t3"]).await.expect("discovery");

    let now = SystemClock.now().unix_timestamp();
    let token = |iss: String, tid: &str| {
        let claims = json!({
            "iss": iss, "tid": tid, "sub": "user-7", "aud": "rp", "nonce": NONCE, "iat": now, "exp": now + 300,
        });
        sign(&claims, &stand.key)
    };
    let pending = Pending {
        upstream_id: "entra".into(),
        state: "the-state".into(),
        nonce: NONCE.into(),
        pkce_verifier: "a".repeat(43),
    };
    let callback = Callback { state: Some("the-state"), code: Some("a-code"), iss: None, error: None };
    let base = stand.base.clone();
    let tenant = |t: &str| format!("{base}/{t}/v2.0");

    *stand.id_token.lock().expect("lock") = token(tenant("t1"), "t1");
    let verified = client.finish(&pending, callback).await.expect("a listed tenant");
    assert_eq!(verified.identity.issuer, tenant("t1"), "the identity is the tenant's");
    assert_eq!(verified.identity.subject, "user-7");

    for (case, id_token) in [
        ("a tenant not listed", token(tenant("t2"), "t2")),
        ("another tenant's issuer", token(tenant("t3"), "t1")),
        ("no tid", token(tenant("t1"), "")),
        ("the template itself", token(format!("{base}/{{tenantid}}/v2.0"), "t1")),
        ("another host", token("https://login.evil.example/t1/v2.0".into(), "t1")),
    ] {
        *stand.id_token.lock().expect("lock") = id_token;
        let err = client.finish(&pending, callback).await.expect_err(case);
        assert!(matches!(err, UpstreamError::IdToken(_)), "{case}: {err:?}");
    }
    // RFC 9207: an `iss` parameter must name a listed tenant.
    *stand.id_token.lock().expect("lock") = token(tenant("t1"), "t1");
    let t2 = tenant("t2");
    let wrong = Callback { iss: Some(&t2), ..callback };
    assert!(matches!(client.finish(&pending, wrong).await, Err(UpstreamError::Issuer)));
    let t3 = tenant("t3");
    let listed = Callback { iss: Some(&t3), ..callback };
    client.finish(&pending, listed).await.expect("a listed tenant's iss");
}
