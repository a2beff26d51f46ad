//! Helpers for protocol tests: an app whose issuer is its real address (so
//! relying-party libraries accept discovery), users and clients created in
//! its store, and a cookie-keeping [`Browser`] that signs in and consents
//! through the real pages.

use base64::Engine;
use portcullis_core::Clock;
use portcullis_protocol::{
    Client, ClientId, ClientSecretHash, GrantType, IdTokenAlg, Origin, RedirectUri, ResourceId, ScopeSet,
    TokenEndpointAuthMethod,
};
use portcullis_store::{NewUser, User};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

use crate::{Backend, TestApp, TestDatabase, spawn_app_with};

/// The password of every user made by [`create_user`].
pub const PASSWORD: &str = "correct horse battery";

pub use crate::net::free_port;

/// An app on `backend` whose issuer is `http://127.0.0.1:PORT`, its own
/// address, and whose (manual) clock starts at the real time, because
/// relying-party libraries check token expiry against the system clock.
pub async fn spawn_oidc_app(backend: Backend) -> TestApp {
    spawn_oidc_app_with(Arc::new(TestDatabase::new(backend).await), |_| {}).await
}

/// [`spawn_oidc_app`] on `db`, after `customise`.
pub async fn spawn_oidc_app_with(
    db: Arc<TestDatabase>,
    customise: impl FnOnce(&mut portcullis_server::Settings),
) -> TestApp {
    let port = free_port();
    let app = spawn_app_with(db, move |s| {
        s.listen = format!("127.0.0.1:{port}").parse().expect("addr");
        s.issuer = portcullis_core::Issuer::parse(&format!("http://127.0.0.1:{port}")).expect("issuer");
        customise(s);
    })
    .await;
    #[allow(clippy::disallowed_methods)] // the real time is the point here
    app.clock.set(time::OffsetDateTime::now_utc().replace_nanosecond(0).expect("valid"));
    app
}

/// A user with [`PASSWORD`], email `<username>@example.com`, and `roles`.
pub async fn create_user(app: &TestApp, username: &str, roles: &[&str]) -> User {
    let cost = portcullis_authn::Argon2Cost {
        memory_kib: app.settings.auth.argon2_memory_kib,
        iterations: app.settings.auth.argon2_iterations,
        parallelism: app.settings.auth.argon2_parallelism,
    };
    let hasher = portcullis_authn::PasswordHasher::new(cost).expect("hasher");
    let hash = hasher.hash(&portcullis_authn::Password::new(PASSWORD)).expect("hash");
    app.store
        .create_user(&NewUser {
            id: uuid::Uuid::new_v4(),
            username: username.to_owned(),
            email: format!("{username}@example.com"),
            email_verified: true,
            display_name: Some(format!("{username} Example")),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            password_hash: Some(hash),
            created_at: app.clock.now(),
        })
        .await
        .expect("create user")
}

/// What [`create_client`] registers.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// The client id.
    pub id: String,
    /// Public (auth method `none`) or confidential (`client_secret_basic`).
    pub public: bool,
    /// The auth method of a confidential client.
    pub auth_method: TokenEndpointAuthMethod,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types.
    pub grants: Vec<GrantType>,
    /// Scopes the client may ask for.
    pub scopes: String,
    /// Whether users must consent.
    pub require_consent: bool,
    /// Back-channel logout URI.
    pub backchannel_logout_uri: Option<String>,
    /// ID token algorithm.
    pub id_token_alg: IdTokenAlg,
    /// JWKS for `private_key_jwt`.
    pub jwks: Option<String>,
    /// May be granted the `admin` scope (client_credentials).
    pub admin_api: bool,
    /// Web origins allowed to call the token side (CORS).
    pub allowed_origins: Vec<String>,
    /// Every access token must be DPoP-bound.
    pub dpop_bound_access_tokens: bool,
    /// Must push its authorization requests (PAR).
    pub require_pushed_authorization_requests: bool,
    /// Resource servers (RFC 8707) it may ask tokens for.
    pub resources: Vec<String>,
}

impl ClientSpec {
    /// A confidential code + refresh client at `redirect_uri`, no consent.
    pub fn confidential(id: &str, redirect_uri: &str) -> Self {
        Self {
            id: id.to_owned(),
            public: false,
            auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            redirect_uris: vec![redirect_uri.to_owned()],
            post_logout_redirect_uris: vec![],
            grants: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: "openid profile email roles offline_access api".into(),
            require_consent: false,
            backchannel_logout_uri: None,
            id_token_alg: IdTokenAlg::Rs256,
            jwks: None,
            admin_api: false,
            allowed_origins: vec![],
            dpop_bound_access_tokens: false,
            require_pushed_authorization_requests: false,
            resources: vec![],
        }
    }

    /// A public (native) client.
    pub fn public(id: &str, redirect_uri: &str) -> Self {
        Self {
            public: true,
            auth_method: TokenEndpointAuthMethod::None,
            ..Self::confidential(id, redirect_uri)
        }
    }
}

/// The secret every confidential test client gets.
pub fn client_secret(id: &str) -> String {
    format!("secret-of-{id}-0123456789abcdef0123456789")
}

/// `POST /token` with `form`, authenticated as the confidential client
/// `client_id` (its secret from [`client_secret`]).
pub async fn token_request(app: &TestApp, client_id: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}/token", app.address))
        .basic_auth(client_id, Some(client_secret(client_id)))
        .form(form)
        .send()
        .await
        .expect("token request")
}

/// Redeems an authorization `code` with its PKCE `verifier` as `client_id`.
pub async fn redeem_code(
    app: &TestApp,
    client_id: &str,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    token_request(app, client_id, &form).await
}

/// Registers a client in the app's store; returns its secret (if confidential).
pub async fn create_client(app: &TestApp, spec: ClientSpec) -> Option<String> {
    let secret = (!spec.public && spec.auth_method != TokenEndpointAuthMethod::PrivateKeyJwt)
        .then(|| client_secret(&spec.id));
    let uris = |v: &[String]| v.iter().map(|u| RedirectUri::parse(u).expect("uri")).collect();
    let client = Client {
        client_id: ClientId::parse(&spec.id).expect("id"),
        name: format!("{} app", spec.id),
        client_secret_sha256: secret.as_deref().map(ClientSecretHash::of),
        redirect_uris: uris(&spec.redirect_uris),
        post_logout_redirect_uris: uris(&spec.post_logout_redirect_uris),
        grant_types: spec.grants,
        token_endpoint_auth_method: spec.auth_method,
        scopes: ScopeSet::parse(&spec.scopes).expect("scopes"),
        require_consent: spec.require_consent,
        backchannel_logout_uri: spec.backchannel_logout_uri.map(|u| url::Url::parse(&u).expect("url")),
        id_token_signed_response_alg: spec.id_token_alg,
        jwks: spec.jwks,
        access_token_ttl_secs: Client::DEFAULT_ACCESS_TOKEN_TTL_SECS,
        from_config: false,
        previous_secret: None,
        disabled: false,
        admin_api: spec.admin_api,
        allowed_origins: spec.allowed_origins.iter().map(|o| Origin::parse(o).expect("origin")).collect(),
        dpop_bound_access_tokens: spec.dpop_bound_access_tokens,
        require_pushed_authorization_requests: spec.require_pushed_authorization_requests,
        resources: spec.resources.iter().map(|r| ResourceId::parse(r).expect("resource")).collect(),
    };
    client.validate().expect("valid test client");
    app.store.create_client(&client.to_record(app.clock.now())).await.expect("create client");
    secret
}

/// A PKCE pair: (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(portcullis_core::random::bytes::<32>());
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The value of a hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// A browser: keeps the session cookie, never follows redirects by itself.
#[derive(Debug)]
pub struct Browser {
    base: String,
    http: reqwest::Client,
    cookie: Mutex<Option<String>>,
}

/// How a [`Browser::authorize`] run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Redirected off the server (to the client): the full URL.
    Redirect(url::Url),
    /// Stopped on a page of the server: status and body.
    Page(u16, String),
}

impl Outcome {
    /// The redirect URL, or panics with the page.
    pub fn redirect(self) -> url::Url {
        match self {
            Outcome::Redirect(u) => u,
            Outcome::Page(status, body) => panic!("expected a redirect to the client, got {status}: {body}"),
        }
    }

    /// A query parameter of the redirect.
    pub fn param(url: &url::Url, name: &str) -> Option<String> {
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

/// Whether the server may ask for a sign-in or consent along the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interact {
    /// Sign in with this user's password and allow consent.
    As(&'static str),
    /// Allow consent only (already signed in).
    ConsentOnly,
    /// Deny consent.
    Deny,
}

impl Browser {
    /// A browser for the app at `app.address`.
    pub fn new(app: &TestApp) -> Self {
        let http =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self { base: app.address.clone(), http, cookie: Mutex::new(None) }
    }

    /// A browser at `base` (a proxy in front of several instances) that
    /// opens a new connection for every request, so a round-robin proxy
    /// sends its requests to the instances in turn.
    pub fn at(base: &str) -> Self {
        Self { base: base.to_owned(), http: crate::cluster::fresh_connections(), cookie: Mutex::new(None) }
    }

    /// The current session cookie value.
    pub fn session_cookie(&self) -> Option<String> {
        self.cookie.lock().expect("lock").clone()
    }

    fn absolute(&self, location: &str) -> String {
        if location.starts_with('/') { format!("{}{location}", self.base) } else { location.to_owned() }
    }

    fn remember(&self, res: &reqwest::Response) {
        for line in res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
            if let Some(rest) = line.strip_prefix("__Host-portcullis_session=") {
                let value = rest.split(';').next().unwrap_or_default().to_owned();
                let removed = line.contains("Max-Age=0") || value.is_empty();
                *self.cookie.lock().expect("lock") = (!removed).then_some(value);
            }
        }
    }

    /// `GET url` with the cookie.
    pub async fn get(&self, url: &str) -> reqwest::Response {
        let mut req = self.http.get(self.absolute(url));
        if let Some(c) = self.session_cookie() {
            req = req.header("cookie", format!("__Host-portcullis_session={c}"));
        }
        let res = req.send().await.expect("request");
        self.remember(&res);
        res
    }

    /// `POST url` with a form and the cookie.
    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.http.post(self.absolute(url)).form(form);
        if let Some(c) = self.session_cookie() {
            req = req.header("cookie", format!("__Host-portcullis_session={c}"));
        }
        let res = req.send().await.expect("request");
        self.remember(&res);
        res
    }

    /// Follows `url` through the server's redirects and pages — signing in
    /// and consenting as `interact` says — until it leaves for the client.
    pub async fn authorize(&self, url: &str, interact: Interact) -> Outcome {
        let mut res = self.get(url).await;
        for _ in 0..12 {
            let status = res.status().as_u16();
            if (300..400).contains(&status) {
                let location = res.headers()["location"].to_str().expect("ascii").to_owned();
                if !location.starts_with('/') && !location.starts_with(&self.base) {
                    return Outcome::Redirect(url::Url::parse(&location).expect("redirect URL"));
                }
                res = self.get(&location).await;
                continue;
            }
            let body = res.text().await.expect("body");
            let csrf = hidden(&body, "csrf_token");
            let request = hidden(&body, "request").unwrap_or_default();
            match (interact, csrf) {
                (Interact::As(user), Some(csrf)) if body.contains("action=\"/login\"") => {
                    res = self
                        .post(
                            "/login",
                            &[
                                ("csrf_token", &csrf),
                                ("username", user),
                                ("password", PASSWORD),
                                ("request", &request),
                            ],
                        )
                        .await;
                }
                (Interact::Deny, Some(csrf)) if body.contains("action=\"/consent\"") => {
                    res = self
                        .post(
                            "/consent",
                            &[("csrf_token", &csrf), ("request", &request), ("decision", "deny")],
                        )
                        .await;
                }
                (_, Some(csrf)) if body.contains("action=\"/consent\"") => {
                    res = self
                        .post(
                            "/consent",
                            &[("csrf_token", &csrf), ("request", &request), ("decision", "allow")],
                        )
                        .await;
                }
                _ => return Outcome::Page(status, body),
            }
        }
        panic!("too many redirects from {url}");
    }
}

/// The folder of the Node browser scripts (`tests/browser`).
pub fn browser_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Fails (never skips) when Chromium or the browser scripts' node modules
/// are missing; returns the Chromium path.
pub fn require_chromium() -> String {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: run scripts/test, which installs chromium"
    );
    assert!(
        browser_dir().join("node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: run scripts/test (npm ci in tests/browser)"
    );
    chromium
}

/// A client's callback endpoint on a free loopback port, answering
/// "callback reached"; returns its URL. Needs a tokio runtime.
pub fn callback_server() -> String {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = HttpServer::new(|| {
        App::new()
            .route("/cb", web::get().to(|| async { HttpResponse::Ok().body("callback reached") }))
            // The browser asks for /favicon.ico; a 404 would show as a console error.
            .default_service(web::to(|| async { HttpResponse::NoContent().finish() }))
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}/cb")
}

/// The claims of a JWT, unverified (the tests check what was issued).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// A relying party's back-channel logout endpoint on a free port; every
/// `logout_token` it receives goes to the channel.
pub fn backchannel_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = actix_web::HttpServer::new(move || {
        let tx = tx.clone();
        actix_web::App::new().route(
            "/backchannel",
            actix_web::web::post().to(
                move |form: actix_web::web::Form<std::collections::HashMap<String, String>>| {
                    let tx = tx.clone();
                    async move {
                        if let Some(token) = form.get("logout_token") {
                            let _ = tx.send(token.clone());
                        }
                        actix_web::HttpResponse::Ok().finish()
                    }
                },
            ),
        )
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/backchannel"), rx)
}
