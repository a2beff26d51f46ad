//! What relying parties fetch to verify our tokens: the JWKS and the
//! discovery metadata (OpenID Connect Discovery 1.0, RFC 8414).

mod discovery;
mod jwks;

pub use discovery::{ENDPOINTS, Publication};
pub(crate) use discovery::{oauth_authorization_server, openid_configuration};
pub(crate) use jwks::jwks;

/// Where the JWKS is served (named in discovery as `jwks_uri`).
pub const JWKS_PATH: &str = "/jwks";
