//! Discovery metadata, built once at start from what is configured and
//! mounted. Only implemented endpoints and features are advertised: later
//! features add their endpoint to [`ENDPOINTS`] and their fields to
//! [`Publication::new`].

use actix_web::http::header::HeaderValue;
use actix_web::{HttpResponse, web};
use portcullis_core::Issuer;
use portcullis_keys::Algorithm;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::routes::oidc;

/// The mounted endpoints that metadata names: (metadata member, path).
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("authorization_endpoint", oidc::AUTHORIZE_PATH),
    ("token_endpoint", oidc::TOKEN_PATH),
    ("userinfo_endpoint", oidc::USERINFO_PATH),
    ("jwks_uri", super::JWKS_PATH),
    ("introspection_endpoint", oidc::INTROSPECT_PATH),
    ("revocation_endpoint", oidc::REVOKE_PATH),
    ("end_session_endpoint", oidc::END_SESSION_PATH),
];

/// Client authentication methods at the token, introspection and revocation endpoints.
const CLIENT_AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "private_key_jwt"];

/// Claims we may release (OIDC Discovery `claims_supported`).
const CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    "azp",
    "at_hash",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
    "roles",
];

/// The documents we publish for relying parties, rendered once.
#[derive(Debug, Clone)]
pub struct Publication {
    openid: web::Bytes,
    oauth: web::Bytes,
    jwks_cache_control: HeaderValue,
}

impl Publication {
    /// Renders the metadata for `issuer`, signing with `algorithms`, with
    /// the JWKS cacheable for `jwks_max_age_secs`.
    pub fn new(issuer: &Issuer, algorithms: &[Algorithm], jwks_max_age_secs: u64) -> Self {
        let mut common = Map::new();
        common.insert("issuer".into(), json!(issuer.as_str()));
        for (member, path) in ENDPOINTS {
            common.insert((*member).into(), json!(issuer.endpoint(path)));
        }
        let algs: Vec<&str> = algorithms.iter().map(|a| a.as_str()).collect();
        let mut with_none = CLIENT_AUTH_METHODS.to_vec();
        with_none.push("none");
        for (member, value) in [
            ("response_types_supported", json!(["code"])),
            ("response_modes_supported", json!(["query"])),
            ("grant_types_supported", json!(["authorization_code", "refresh_token", "client_credentials"])),
            ("code_challenge_methods_supported", json!(["S256"])),
            ("scopes_supported", json!(["openid", "profile", "email", "roles", "offline_access"])),
            ("token_endpoint_auth_methods_supported", json!(with_none)),
            ("token_endpoint_auth_signing_alg_values_supported", json!(["RS256", "ES256", "EdDSA"])),
            ("introspection_endpoint_auth_methods_supported", json!(CLIENT_AUTH_METHODS)),
            ("revocation_endpoint_auth_methods_supported", json!(with_none)),
            ("authorization_response_iss_parameter_supported", json!(true)),
        ] {
            common.insert(member.into(), value);
        }
        let mut openid = common.clone();
        for (member, value) in [
            ("id_token_signing_alg_values_supported", json!(algs)),
            ("subject_types_supported", json!(["public"])),
            ("claims_supported", json!(CLAIMS)),
            ("acr_values_supported", json!(portcullis_protocol::acr::SUPPORTED)),
            ("prompt_values_supported", json!(["none", "login", "consent", "select_account"])),
            ("claims_parameter_supported", json!(false)),
            ("request_parameter_supported", json!(false)),
            ("request_uri_parameter_supported", json!(false)),
            ("backchannel_logout_supported", json!(true)),
            ("backchannel_logout_session_supported", json!(true)),
        ] {
            openid.insert(member.into(), value);
        }
        let render = |m: Map<String, Value>| web::Bytes::from(Value::Object(m).to_string());
        let cache_control = format!("public, max-age={jwks_max_age_secs}");
        Self {
            openid: render(openid),
            oauth: render(common),
            jwks_cache_control: HeaderValue::from_str(&cache_control)
                .unwrap_or_else(|_| HeaderValue::from_static("public, max-age=3600")),
        }
    }

    /// `Cache-Control` of the JWKS.
    pub(crate) fn jwks_cache_control(&self) -> HeaderValue {
        self.jwks_cache_control.clone()
    }
}

fn document(bytes: &web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(bytes.clone())
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0).
pub(crate) async fn openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    document(&state.publication.openid)
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub(crate) async fn oauth_authorization_server(state: web::Data<AppState>) -> HttpResponse {
    document(&state.publication.oauth)
}
