//! The OpenID Connect / OAuth endpoints: thin handlers over
//! `portcullis_protocol`. Each extracts, calls one protocol operation, and
//! maps the result; protocol errors become HTTP in `crate::errors`
//! ([`crate::errors::OAuthFailure`]) and nowhere else.

pub(crate) mod authorize;
pub(crate) mod consent;
pub(crate) mod device;
pub(crate) mod end_session;
pub(crate) mod token;
pub(crate) mod token_form;
pub(crate) mod userinfo;

use actix_web::HttpRequest;
use actix_web::http::header;
use portcullis_protocol::client_auth::ClientCredentials;

/// Paths of the protocol endpoints (named in discovery).
pub(crate) const AUTHORIZE_PATH: &str = "/authorize";
pub(crate) const TOKEN_PATH: &str = "/token";
pub(crate) const PAR_PATH: &str = "/par";
pub(crate) const USERINFO_PATH: &str = "/userinfo";
pub(crate) const INTROSPECT_PATH: &str = "/introspect";
pub(crate) const REVOKE_PATH: &str = "/revoke";
pub(crate) const END_SESSION_PATH: &str = "/end_session";
pub(crate) const DEVICE_AUTHORIZATION_PATH: &str = "/device_authorization";

/// The header carrying a DPoP proof (RFC 9449 §4.1).
pub(crate) const DPOP_HEADER: &str = "DPoP";
/// The header carrying a server nonce (RFC 9449 §8.1).
pub(crate) const DPOP_NONCE_HEADER: &str = "DPoP-Nonce";

/// Every `DPoP` header value of a request, as received (a value that is
/// not text becomes an empty proof, which is refused).
pub(crate) fn dpop_proofs(req: &HttpRequest) -> Vec<String> {
    req.headers().get_all(DPOP_HEADER).map(|v| v.to_str().unwrap_or_default().to_owned()).collect()
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
