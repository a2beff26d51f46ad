//! Realistic inputs to start each corpus from (`fuzz/seeds/<target>/`): a
//! file named `ok-…` must be [`Accepted`](crate::Outcome::Accepted) and one
//! named `no-…` rejected, so the regression test also proves that each
//! harness reaches the end of the happy path.

use serde_json::json;

use crate::fixtures::{
    ACCESS_HEADER, ASSERTION_ES256_HEADER, ASSERTION_RS256_HEADER, CODE_CHALLENGE, CODE_VERIFIER, ISSUER,
    NOW_UNIX, SERVICE, SERVICE_REDIRECT, WEB, WEB_REDIRECT, WEB_SECRET, fixtures, sign,
};

/// A seed: its target, file name and contents.
pub type Seed = (&'static str, String, Vec<u8>);

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish().into_bytes()
}

/// Claims of an access token of ours, valid at "now".
fn access_claims() -> serde_json::Value {
    json!({
        "iss": ISSUER,
        "sub": "6f9619ff-8b86-d011-b42d-00cf4fc964ff",
        "aud": ISSUER,
        "client_id": WEB,
        "scope": "openid profile",
        "iat": NOW_UNIX - 60,
        "exp": NOW_UNIX + 240,
        "jti": "8d1f0c2e9a7b4c3d",
        "gid": "4b825dc642cb6eb9a060e54bf8d69288",
        "sid": "f2b1c3d4",
        "auth_time": NOW_UNIX - 600,
        "acr": "urn:portcullis:acr:sfa",
        "amr": ["pwd"],
    })
}

/// Claims of the service client's assertion, valid at "now".
fn assertion_claims(jti: &str) -> serde_json::Value {
    json!({
        "iss": SERVICE,
        "sub": SERVICE,
        "aud": format!("{ISSUER}/token"),
        "iat": NOW_UNIX - 5,
        "exp": NOW_UNIX + 120,
        "jti": jti,
    })
}

/// An access token of ours, valid at "now".
pub fn access_token() -> String {
    sign(fixtures().server_signer.as_ref(), ACCESS_HEADER.as_bytes(), access_claims().to_string().as_bytes())
}

/// The service client's ES256 assertion, valid at "now".
pub fn assertion_es256() -> String {
    let claims = assertion_claims("a1").to_string();
    sign(fixtures().client_es256_signer.as_ref(), ASSERTION_ES256_HEADER.as_bytes(), claims.as_bytes())
}

/// The service client's RS256 assertion, valid at "now".
pub fn assertion_rs256() -> String {
    let claims = assertion_claims("a2").to_string();
    sign(fixtures().client_rs256_signer.as_ref(), ASSERTION_RS256_HEADER.as_bytes(), claims.as_bytes())
}

/// Every seed.
pub fn all() -> Vec<Seed> {
    let mut seeds = Vec::new();
    authorize(&mut seeds);
    token(&mut seeds);
    jwt(&mut seeds);
    config(&mut seeds);
    seeds
}

fn authorize(seeds: &mut Vec<Seed>) {
    let mut add =
        |name: &str, query: String| seeds.push(("authorize_query", name.to_owned(), query.into_bytes()));
    let pkce = format!("code_challenge={CODE_CHALLENGE}&code_challenge_method=S256");
    add(
        "ok-web-code-flow",
        format!(
            "response_type=code&client_id={WEB}&redirect_uri={}&scope=openid%20profile%20email&state=af0ifjsldkj&nonce=n-0S6_WzA2Mj&{pkce}",
            enc(WEB_REDIRECT)
        ),
    );
    add(
        "ok-native-loopback-port",
        format!(
            "client_id=native-app&redirect_uri={}&response_type=code&scope=openid+offline_access&{pkce}&prompt=login+consent&max_age=300&ui_locales=en-GB+fr",
            enc("http://127.0.0.1:51004/callback")
        ),
    );
    add(
        "ok-service-hints",
        format!(
            "client_id={SERVICE}&redirect_uri={}&response_type=code&scope=api.read&{pkce}&prompt=none&login_hint=alice%40example.com&acr_values=urn%3Aportcullis%3Aacr%3Amfa",
            enc(SERVICE_REDIRECT)
        ),
    );
    add(
        "no-plain-pkce",
        format!(
            "client_id={WEB}&redirect_uri={}&response_type=code&scope=openid&state=s&code_challenge={CODE_VERIFIER}&code_challenge_method=plain",
            enc(WEB_REDIRECT)
        ),
    );
    add(
        "no-unregistered-redirect",
        format!(
            "client_id={WEB}&redirect_uri={}&response_type=code&scope=openid&{pkce}",
            enc("https://evil.example/cb")
        ),
    );
    add(
        "no-request-object",
        format!(
            "client_id={WEB}&redirect_uri={}&response_type=code&scope=openid&{pkce}&request=eyJhbGciOiJub25lIn0.e30.",
            enc(WEB_REDIRECT)
        ),
    );
}

fn token(seeds: &mut Vec<Seed>) {
    let mut add = |name: &str, body: Vec<u8>| seeds.push(("token_form", name.to_owned(), body));
    add(
        "ok-authorization-code",
        form(&[
            ("grant_type", "authorization_code"),
            ("code", "SplxlOBeZQQYbYS6WxSbIA"),
            ("redirect_uri", WEB_REDIRECT),
            ("code_verifier", CODE_VERIFIER),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
        ]),
    );
    add(
        "ok-refresh-token",
        form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "tGzv3JOkF0XG5Qx2TlKWIA"),
            ("scope", "openid profile"),
            ("client_id", "native-app"),
        ]),
    );
    add(
        "ok-client-credentials-assertion",
        form(&[
            ("grant_type", "client_credentials"),
            ("scope", "api.read api.write"),
            ("client_assertion_type", portcullis_protocol::client_auth::JWT_BEARER),
            ("client_assertion", &assertion_es256()),
        ]),
    );
    add(
        "ok-code-assertion-rs256",
        form(&[
            ("grant_type", "authorization_code"),
            ("code", "SplxlOBeZQQYbYS6WxSbIA"),
            ("redirect_uri", SERVICE_REDIRECT),
            ("code_verifier", CODE_VERIFIER),
            ("client_id", SERVICE),
            ("client_assertion_type", portcullis_protocol::client_auth::JWT_BEARER),
            ("client_assertion", &assertion_rs256()),
        ]),
    );
    add(
        "no-repeated-parameter",
        b"grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id=native-app".to_vec(),
    );
    add(
        "no-widened-scope",
        form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "tGzv3JOkF0XG5Qx2TlKWIA"),
            ("scope", "openid email"),
            ("client_id", "native-app"),
        ]),
    );
}

fn jwt(seeds: &mut Vec<Seed>) {
    let mut add = |name: &str, mode: u8, body: &[u8]| {
        let mut bytes = vec![mode];
        bytes.extend_from_slice(body);
        seeds.push(("jwt", name.to_owned(), bytes));
    };
    let access = access_token();
    add("ok-access-token", 0, access.as_bytes());
    add("ok-assertion-es256", 0, assertion_es256().as_bytes());
    add("ok-assertion-rs256", 0, assertion_rs256().as_bytes());
    // The access token's parts, decoded: re-encoded they are the same token.
    let mut parts = Vec::new();
    for (i, part) in access.split('.').enumerate() {
        if i > 0 {
            parts.push(b'\n');
        }
        use base64::Engine;
        parts.extend(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url"));
    }
    add("ok-access-token-parts", 1, &parts);
    let claims = access_claims().to_string();
    add("ok-signed-header-and-payload", 2, format!("{ACCESS_HEADER}\n{claims}").as_bytes());
    add("ok-signed-access-payload", 3, claims.as_bytes());
    add("ok-signed-assertion-es256", 4, assertion_claims("a3").to_string().as_bytes());
    add("ok-signed-assertion-rs256", 5, assertion_claims("a4").to_string().as_bytes());
    add("ok-client-jwks", 6, fixtures().client_jwks.as_bytes());
    add("no-unsecured", 0, b"eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tIn0.");
    let mut expired = access_claims();
    expired["exp"] = json!(NOW_UNIX);
    add("no-expired-access-token", 3, expired.to_string().as_bytes());
}

fn config(seeds: &mut Vec<Seed>) {
    let mut add =
        |name: &str, text: &str| seeds.push(("config_toml", name.to_owned(), text.as_bytes().to_vec()));
    add("ok-defaults", "");
    // The example of docs/configuration.md and the deployment example.
    add(
        "ok-docs-example",
        "listen = \"0.0.0.0:8080\"\nmetrics_listen = \"127.0.0.1:9464\"\nissuer = \"https://id.example.com\"\ndata_dir = \"/var/lib/portcullis\"\n\n[database]\nurl = \"postgres://portcullis@db.internal:5432/portcullis\"\nmax_connections = 20\n\n[log]\nformat = \"json\"\n",
    );
    add("ok-deploy-example", include_str!("../../../deploy/portcullis.example.toml"));
    let jwks = fixtures().client_jwks.replace('\'', "");
    add(
        "ok-everything",
        &format!(
            r#"issuer = "https://login.example.org"
dev_mode = true

[database]
url = "sqlite:///var/lib/portcullis/portcullis.db"
connect_timeout_secs = 3

[log]
level = "portcullis_web=debug,info"

[http]
workers = 4
shutdown_timeout_secs = 10

[keys]
encryption_key = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA"
algorithms = ["RS256", "ES256", "EdDSA"]
rotation_period_secs = 604800
jwks_max_age_secs = 600

[auth]
password_min_length = 12
trusted_proxies = ["10.0.0.1", "::1"]
admins_require_mfa = true

[smtp]
host = "smtp.example.org"
port = 465
tls = "tls"
username = "portcullis"
password = "hunter22"

[mail]
product_name = "Example Login"

[recovery]
magic_link = true

[[clients]]
client_id = "web-app"
client_secret = "web-app-secret-4f1c2a9e7b-0123456789abcdef"
redirect_uris = ["https://app.example.org/callback"]
post_logout_redirect_uris = ["https://app.example.org/"]
backchannel_logout_uri = "https://app.example.org/logout"

[[clients]]
client_id = "native-app"
token_endpoint_auth_method = "none"
redirect_uris = ["http://127.0.0.1/callback", "com.example.app:/cb"]
scopes = ["openid", "profile", "offline_access"]
require_consent = false

[[clients]]
client_id = "service"
token_endpoint_auth_method = "private_key_jwt"
grant_types = ["client_credentials"]
scopes = ["api.read"]
id_token_signed_response_alg = "ES256"
access_token_ttl = 600
jwks = '{jwks}'
"#
        ),
    );
    add(
        "ok-environment",
        "issuer = \"https://id.example.com\"\n\0PORTCULLIS__DATABASE__MAX_CONNECTIONS=7\nPORTCULLIS__SMTP__HOST=smtp.example.com\nPORTCULLIS__SMTP__USERNAME=portcullis\nPORTCULLIS__SMTP__PASSWORD=12345678\nPATH=/usr/bin\n",
    );
    add("no-unknown-key", "listen = \"127.0.0.1:8080\"\nlisten_port = 8080\n");
    add("no-bad-environment", "\0PORTCULLIS__AUTH__LOCKOUT_BASE_SECS=soon\n");
}
