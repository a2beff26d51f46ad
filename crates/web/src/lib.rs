//! The HTTP face of Portcullis (actix-web).
//!
//! [`configure`] mounts every public route on a `ServiceConfig`, so tests can
//! drive handlers without a socket; [`telemetry`] is the middleware that gives
//! each request an id, a tracing span and its metrics; [`Metrics`] owns the
//! Prometheus registry served by [`metrics_endpoint`] on the separate metrics
//! listener. Handlers share one [`AppState`], registered once: the store,
//! caches and keys, the sign-in settings ([`Auth`]: hasher, policies, session
//! timeouts, [`AuthMetrics`]), the mail settings ([`Mail`]) and the metrics.
//! Extractors hand handlers what they would otherwise re-derive: who is
//! asking, the browser's session, the signed-in user, a CSRF-checked form.
//! The token, UserInfo and revocation endpoints answer CORS requests from
//! the origins clients are allowed, discovery and the JWKS from any (the
//! `cors` middleware; the rule is `portcullis_protocol::cors`'s).
//! Pages are askama templates; [`security_headers`] guards every response and
//! [`body_read_deadline`] bounds the time a request body may take; sessions
//! live server-side behind the [`SESSION_COOKIE`].

mod auth;
mod body_deadline;
mod client;
mod cors;
mod csrf;
mod errors;
mod extract;
mod headers;
mod mail;
mod metrics;
mod middleware;
mod pages;
mod routes;
mod session;
mod state;

pub use auth::{Auth, AuthMetrics};
pub use body_deadline::body_read_deadline;
pub use errors::{AdminApiError, ApiError, Failure, PageError};
pub use headers::{CONTENT_SECURITY_POLICY, HeaderPolicy, STRICT_TRANSPORT_SECURITY, security_headers};
pub use mail::Mail;
pub use metrics::{Metrics, metrics_endpoint};
pub use middleware::{REQUEST_ID_HEADER, telemetry};
pub use portcullis_authn::SessionPolicy;
pub use prometheus::Error as PrometheusError;
pub use routes::admin::api::{document as admin_api_document, routes as admin_api_routes};
pub use routes::admin::routes as admin_routes;
pub use routes::health::{DatabaseReadiness, Draining, ReadinessProbe};
pub use routes::keys::{ENDPOINTS, JWKS_PATH, Publication};
pub use routes::oidc::token_form::{ClientFields, ParForm, TokenForm, parse_par_form, parse_token_form};
pub use session::SESSION_COOKIE;
pub use state::AppState;

use actix_web::web;

/// Mounts the public routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    routes::configure(cfg);
}
