//! The HTTP face of Portcullis (actix-web).
//!
//! [`configure`] mounts every public route on a `ServiceConfig`, so tests can
//! drive handlers without a socket; [`telemetry`] is the middleware that gives
//! each request an id, a tracing span and its metrics; [`Metrics`] owns the
//! Prometheus registry served by [`metrics_endpoint`] on the separate metrics
//! listener. Handlers share an [`AppState`]; the sign-in pages also use
//! [`Auth`] (hasher, policies, session timeouts, [`AuthMetrics`]). Pages are
//! askama templates; [`security_headers`] guards every response and
//! [`body_read_deadline`] bounds the time a request body may take; sessions
//! live server-side behind the [`SESSION_COOKIE`]. The recovery pages
//! (`/recover`, `/verify-email`, `/account/email`, `/login/magic`) also use
//! [`Mail`].

mod auth;
mod body_deadline;
mod client;
mod csrf;
mod first_admin;
mod headers;
mod mail;
mod metrics;
mod middleware;
mod pages;
mod routes;
mod session;

pub use auth::{Auth, AuthMetrics};
pub use body_deadline::body_read_deadline;
pub use first_admin::{SETUP_LINK_LIFETIME, create_setup_link};
pub use headers::{CONTENT_SECURITY_POLICY, HeaderPolicy, STRICT_TRANSPORT_SECURITY, security_headers};
pub use mail::Mail;
pub use metrics::{Metrics, metrics_endpoint};
pub use middleware::{REQUEST_ID_HEADER, telemetry};
pub use pages::PageError;
pub use portcullis_authn::SessionPolicy;
pub use prometheus::Error as PrometheusError;
pub use routes::keys::{ENDPOINTS, JWKS_PATH, Publication};
pub use routes::oidc::token_form::{ClientFields, TokenForm, parse_token_form};
pub use session::SESSION_COOKIE;

use actix_web::web;
use portcullis_core::{Clock, Issuer};
use portcullis_store::Store;
use std::sync::Arc;

/// What every handler may use; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// Our issuer identifier.
    pub issuer: Issuer,
    /// The signing keys in effect (refreshed from the store by the server).
    pub keys: Arc<portcullis_keys::LiveKeys>,
    /// The discovery documents and JWKS caching, rendered at start.
    pub publication: Arc<Publication>,
    /// Protocol lifetimes and choices.
    pub protocol: Arc<portcullis_protocol::ProtocolConfig>,
    /// Clients recently loaded by the token-side endpoints.
    pub clients: Arc<portcullis_protocol::ClientCache>,
    /// The state of access tokens recently checked by userinfo and introspection.
    pub tokens: Arc<portcullis_protocol::TokenStateCache>,
    /// Failure counters of client authentication (hot: in this instance's memory).
    pub client_throttle: Arc<dyn portcullis_store::Throttle>,
}

/// Mounts the public routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    routes::configure(cfg);
}
