//! What every target runs against: a fixed instant, our issuer, one signing
//! key of ours and the clients of a small deployment.
//!
//! The private keys in `fixtures/*.jwk.json` were generated for fuzzing and
//! are fixed so that signed inputs in the committed corpus stay valid across
//! runs; nothing trusts them.

use std::sync::OnceLock;

use josekit::jwk::Jwk;
use josekit::jws::{ES256, JwsSigner, RS256};
use portcullis_core::Issuer;
use portcullis_keys::{Kek, KeySet};
use portcullis_protocol::{
    Client, ClientId, ClientSecretHash, GrantType, IdTokenAlg, RedirectUri, ScopeSet, TokenEndpointAuthMethod,
};
use portcullis_store::{SigningKeyRow, SigningKeyState};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Our issuer.
pub const ISSUER: &str = "https://id.example.com";
/// "Now" for every check: 2026-01-01T00:00:00Z.
pub const NOW_UNIX: i64 = 1_767_225_600;

/// The confidential web client (`client_secret_post`).
pub const WEB: &str = "web-app";
/// Its secret.
pub const WEB_SECRET: &str = "web-app-secret-4f1c2a9e7b";
/// Its registered redirect URI.
pub const WEB_REDIRECT: &str = "https://app.example.com/callback";
/// The public native client (loopback redirects on any port).
pub const NATIVE: &str = "native-app";
/// The `private_key_jwt` service client (code and client credentials).
pub const SERVICE: &str = "service";
/// Its registered redirect URI.
pub const SERVICE_REDIRECT: &str = "https://service.example.com/cb";
/// A `client_secret_basic` machine client (client credentials only).
pub const BATCH: &str = "batch";

/// The RFC 7636 appendix B verifier, and its S256 challenge: the challenge
/// of the code the token target's `authorization_code` forms redeem.
pub const CODE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// See [`CODE_VERIFIER`].
pub const CODE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The scopes of the grant the token target's refresh tokens belong to.
pub const REFRESH_GRANT_SCOPES: &str = "openid profile offline_access";

/// Our access-token header (ES256, our kid, `at+jwt`).
pub const ACCESS_HEADER: &str = r#"{"alg":"ES256","kid":"fuzz-server-es256","typ":"at+jwt"}"#;
/// The service client's ES256 assertion header.
pub const ASSERTION_ES256_HEADER: &str = r#"{"alg":"ES256","kid":"fuzz-client-es256","typ":"JWT"}"#;
/// The service client's RS256 assertion header.
pub const ASSERTION_RS256_HEADER: &str = r#"{"alg":"RS256","kid":"fuzz-client-rs256"}"#;

const SERVER_ES256: &str = include_str!("fixtures/server-es256.jwk.json");
const CLIENT_ES256: &str = include_str!("fixtures/client-es256.jwk.json");
const CLIENT_RS256: &str = include_str!("fixtures/client-rs256.jwk.json");

/// "Now".
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW_UNIX).expect("a valid instant")
}

/// Everything built once per process.
#[derive(Debug)]
pub struct Fixtures {
    /// Our issuer.
    pub issuer: Issuer,
    /// Our key set: one active ES256 key, built as the server builds it from
    /// a stored row (sealed with a key-encryption key, then opened).
    pub keys: KeySet,
    /// Signs with our key (for inputs that must pass the signature check).
    pub server_signer: Box<dyn JwsSigner>,
    /// Signs with the service client's ES256 key.
    pub client_es256_signer: Box<dyn JwsSigner>,
    /// Signs with the service client's RS256 key.
    pub client_rs256_signer: Box<dyn JwsSigner>,
    /// The service client's JWKS (public halves of both its keys).
    pub client_jwks: String,
    /// The registered clients.
    pub clients: Vec<Client>,
}

impl Fixtures {
    /// The registered client with this id.
    pub fn client(&self, id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.client_id.as_str() == id)
    }
}

/// The fixtures (built at the first call).
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(build)
}

fn jwk(text: &str) -> Jwk {
    Jwk::from_bytes(text.as_bytes()).expect("a fixture JWK")
}

/// The public half of a private JWK (what a JWKS publishes).
fn public(text: &str) -> Map<String, Value> {
    let Value::Object(mut map) = serde_json::from_str(text).expect("a fixture JWK") else {
        unreachable!("fixture JWKs are objects")
    };
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        map.remove(private);
    }
    map
}

fn build() -> Fixtures {
    let kek = Kek::generate();
    let server = jwk(SERVER_ES256);
    let kid = server.key_id().expect("a kid").to_owned();
    let row = SigningKeyRow {
        kid: kid.clone(),
        alg: "ES256".into(),
        state: SigningKeyState::Active,
        created_at: now() - time::Duration::days(1),
        activates_at: now() - time::Duration::days(1),
        retired_at: None,
        public_jwk: Value::Object(public(SERVER_ES256)).to_string(),
        sealed_private_key: kek.seal(&kid, SERVER_ES256.as_bytes()).expect("seal"),
    };
    let keys = KeySet::build(&[row], &kek, None).expect("the fixture key set");
    let client_jwks = serde_json::json!({ "keys": [public(CLIENT_ES256), public(CLIENT_RS256)] }).to_string();
    let clients = vec![
        client(
            WEB,
            TokenEndpointAuthMethod::ClientSecretPost,
            Some(WEB_SECRET),
            &[WEB_REDIRECT],
            &[GrantType::AuthorizationCode, GrantType::RefreshToken],
            "openid profile email offline_access",
            None,
        ),
        client(
            NATIVE,
            TokenEndpointAuthMethod::None,
            None,
            &["http://127.0.0.1/callback", "http://[::1]/callback", "com.example.app:/oauth2redirect"],
            &[GrantType::AuthorizationCode, GrantType::RefreshToken],
            "openid profile offline_access",
            None,
        ),
        client(
            SERVICE,
            TokenEndpointAuthMethod::PrivateKeyJwt,
            None,
            &[SERVICE_REDIRECT],
            &[GrantType::AuthorizationCode, GrantType::ClientCredentials],
            "openid api.read api.write",
            Some(client_jwks.clone()),
        ),
        client(
            BATCH,
            TokenEndpointAuthMethod::ClientSecretBasic,
            Some("batch-secret-81d0c3"),
            &[],
            &[GrantType::ClientCredentials],
            "reports.read",
            None,
        ),
    ];
    Fixtures {
        issuer: Issuer::parse(ISSUER).expect("the fixture issuer"),
        keys,
        server_signer: Box::new(ES256.signer_from_jwk(&server).expect("ES256 signer")),
        client_es256_signer: Box::new(ES256.signer_from_jwk(&jwk(CLIENT_ES256)).expect("ES256 signer")),
        client_rs256_signer: Box::new(RS256.signer_from_jwk(&jwk(CLIENT_RS256)).expect("RS256 signer")),
        client_jwks,
        clients,
    }
}

fn client(
    id: &str,
    method: TokenEndpointAuthMethod,
    secret: Option<&str>,
    redirect_uris: &[&str],
    grant_types: &[GrantType],
    scopes: &str,
    jwks: Option<String>,
) -> Client {
    let client = Client {
        client_id: ClientId::parse(id).expect("a fixture client id"),
        name: id.to_owned(),
        client_secret_sha256: secret.map(ClientSecretHash::of),
        redirect_uris: redirect_uris.iter().map(|u| RedirectUri::parse(u).expect("a fixture URI")).collect(),
        post_logout_redirect_uris: Vec::new(),
        grant_types: grant_types.to_vec(),
        token_endpoint_auth_method: method,
        scopes: ScopeSet::parse(scopes).expect("fixture scopes"),
        require_consent: true,
        backchannel_logout_uri: None,
        id_token_signed_response_alg: IdTokenAlg::Rs256,
        jwks,
        access_token_ttl_secs: Client::DEFAULT_ACCESS_TOKEN_TTL_SECS,
        from_config: true,
        previous_secret: None,
        disabled: false,
        admin_api: false,
        allowed_origins: Vec::new(),
        dpop_bound_access_tokens: false,
        require_pushed_authorization_requests: false,
        resources: vec![],
    };
    client.validate().expect("a consistent fixture client");
    client
}

/// A compact JWS of `header` and `payload` (taken as bytes, not re-encoded)
/// signed by `signer`.
pub fn sign(signer: &dyn JwsSigner, header: &[u8], payload: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut jws = format!("{}.{}", b64.encode(header), b64.encode(payload));
    let signature = signer.sign(jws.as_bytes()).expect("signing never fails with a fixture key");
    jws.push('.');
    jws.push_str(&b64.encode(signature));
    jws
}
