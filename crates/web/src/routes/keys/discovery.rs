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

/// The mounted endpoints that metadata names: (metadata member, path).
pub const ENDPOINTS: &[(&str, &str)] = &[("jwks_uri", super::JWKS_PATH)];

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
        let mut openid = common.clone();
        openid.insert("id_token_signing_alg_values_supported".into(), json!(algs));
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
