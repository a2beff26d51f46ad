//! The OpenID Connect / OAuth endpoints: thin handlers over
//! `portcullis_protocol`. Each extracts, calls one protocol operation, and
//! maps the result; protocol errors become HTTP here and nowhere else.

pub(crate) mod authorize;
pub(crate) mod consent;
pub(crate) mod end_session;
pub(crate) mod token;
pub(crate) mod token_form;
pub(crate) mod userinfo;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use portcullis_keys::KeySet;
use portcullis_protocol::client_auth::{ClientAuthError, ClientCredentials};
use portcullis_protocol::{Ctx, OAuthError, ProtocolError};
use serde_json::json;
use std::sync::Arc;

use crate::AppState;

/// Paths of the protocol endpoints (named in discovery).
pub(crate) const AUTHORIZE_PATH: &str = "/authorize";
pub(crate) const TOKEN_PATH: &str = "/token";
pub(crate) const USERINFO_PATH: &str = "/userinfo";
pub(crate) const INTROSPECT_PATH: &str = "/introspect";
pub(crate) const REVOKE_PATH: &str = "/revoke";
pub(crate) const END_SESSION_PATH: &str = "/end_session";

/// The keys in effect for one request (a cheap `Arc` clone).
pub(crate) fn keys(state: &AppState) -> Arc<KeySet> {
    state.keys.current()
}

/// The protocol context of one request.
pub(crate) fn ctx<'a>(state: &'a AppState, keys: &'a KeySet) -> Ctx<'a> {
    Ctx {
        store: state.store.as_ref(),
        keys,
        issuer: &state.issuer,
        config: &state.protocol,
        clients: &state.clients,
        tokens: &state.tokens,
        throttle: state.client_throttle.as_ref(),
        now: state.clock.now(),
    }
}

/// A JSON error body (RFC 6749 §5.2) with its status, never cached.
pub(crate) fn json_error(error: OAuthError, description: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": error.code(), "error_description": description }))
}

/// Maps a protocol error to its JSON answer; internal failures are logged
/// and answered `server_error` without detail.
pub(crate) fn protocol_error(e: &ProtocolError) -> HttpResponse {
    if !matches!(e, ProtocolError::Rejected { .. }) {
        tracing::error!(error = %e, "protocol operation failed");
    }
    json_error(e.oauth(), e.description())
}

/// A client-authentication failure: 401 `invalid_client`, with
/// `WWW-Authenticate: Basic` when the client tried Basic (RFC 6749 §5.2).
pub(crate) fn client_auth_error(e: &ClientAuthError, now: time::OffsetDateTime) -> HttpResponse {
    if let Some(until) = e.refused_until {
        // Backing off: nothing was checked. 429 (RFC 6585) with the wait.
        let wait = (until - now).whole_seconds().max(1);
        return HttpResponse::TooManyRequests()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::RETRY_AFTER, wait.to_string()))
            .json(json!({ "error": e.error.oauth().code(), "error_description": e.error.description() }));
    }
    let mut res = protocol_error(&e.error);
    if e.error.oauth() == OAuthError::InvalidClient && e.used_basic {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"portcullis\", charset=\"UTF-8\""),
        );
    }
    res
}

/// The client credentials of a request: HTTP Basic (form-decoded, RFC 6749
/// §2.3.1) plus the body's fields. A malformed Basic header counts as a
/// failed Basic authentication.
pub(crate) fn client_credentials(
    req: &HttpRequest,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
) -> ClientCredentials {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(portcullis_protocol::client_auth::basic_credentials);
    ClientCredentials { basic, client_id, client_secret, client_assertion_type, client_assertion }
}
