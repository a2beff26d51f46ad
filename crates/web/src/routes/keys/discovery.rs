//! Discovery metadata: the documents `portcullis_protocol::discovery`
//! assembles once at start, served as bytes. A new endpoint adds its path
//! to [`ENDPOINTS`].

use actix_web::http::header::HeaderValue;
use actix_web::{HttpResponse, web};
use portcullis_core::Issuer;
use portcullis_keys::Algorithm;
use portcullis_protocol::client_auth::Endpoint;
use portcullis_protocol::discovery::Metadata;

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
    ("pushed_authorization_request_endpoint", oidc::PAR_PATH),
    ("device_authorization_endpoint", oidc::DEVICE_AUTHORIZATION_PATH),
];

/// The documents we publish for relying parties, rendered once.
#[derive(Debug, Clone)]
pub struct Publication {
    openid: web::Bytes,
    oauth: web::Bytes,
    jwks_cache_control: HeaderValue,
    /// The back channel's absolute URLs (a client assertion's `aud` names
    /// one of them), made once rather than on every request.
    token_url: String,
    introspection_url: String,
    revocation_url: String,
    userinfo_url: String,
    par_url: String,
    device_authorization_url: String,
}

impl Publication {
    /// Renders the metadata for `issuer`, signing with `algorithms`, with
    /// the JWKS cacheable for `jwks_max_age_secs`.
    pub fn new(issuer: &Issuer, algorithms: &[Algorithm], jwks_max_age_secs: u64) -> Self {
        let metadata = Metadata::new(issuer, algorithms, ENDPOINTS);
        let cache_control = format!("public, max-age={jwks_max_age_secs}");
        Self {
            openid: web::Bytes::from(metadata.openid_configuration),
            oauth: web::Bytes::from(metadata.oauth_authorization_server),
            jwks_cache_control: HeaderValue::from_str(&cache_control)
                .unwrap_or_else(|_| HeaderValue::from_static("public, max-age=3600")),
            token_url: issuer.endpoint(oidc::TOKEN_PATH),
            introspection_url: issuer.endpoint(oidc::INTROSPECT_PATH),
            revocation_url: issuer.endpoint(oidc::REVOKE_PATH),
            userinfo_url: issuer.endpoint(oidc::USERINFO_PATH),
            par_url: issuer.endpoint(oidc::PAR_PATH),
            device_authorization_url: issuer.endpoint(oidc::DEVICE_AUTHORIZATION_PATH),
        }
    }

    /// Client authentication at the token endpoint.
    pub(crate) fn token_endpoint(&self) -> Endpoint<'_> {
        Endpoint { token: &self.token_url, called: &self.token_url }
    }

    /// Client authentication at the introspection endpoint.
    pub(crate) fn introspection_endpoint(&self) -> Endpoint<'_> {
        Endpoint { token: &self.token_url, called: &self.introspection_url }
    }

    /// Client authentication at the revocation endpoint.
    pub(crate) fn revocation_endpoint(&self) -> Endpoint<'_> {
        Endpoint { token: &self.token_url, called: &self.revocation_url }
    }

    /// The token endpoint's URL (a DPoP proof's `htu` there).
    pub(crate) fn token_url(&self) -> &str {
        &self.token_url
    }

    /// The UserInfo endpoint's URL (a DPoP proof's `htu` there).
    pub(crate) fn userinfo_url(&self) -> &str {
        &self.userinfo_url
    }

    /// Client authentication at the pushed authorization request endpoint
    /// (RFC 9126 §2: an assertion may name it, the issuer or the token endpoint).
    pub(crate) fn par_endpoint(&self) -> Endpoint<'_> {
        Endpoint { token: &self.token_url, called: &self.par_url }
    }

    /// Client authentication at the device authorization endpoint.
    pub(crate) fn device_authorization_endpoint(&self) -> Endpoint<'_> {
        Endpoint { token: &self.token_url, called: &self.device_authorization_url }
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
