//! The HTTP face of Portcullis (actix-web).
//!
//! [`configure`] mounts every public route on a `ServiceConfig`, so tests can
//! drive handlers without a socket; [`telemetry`] is the middleware that gives
//! each request an id, a tracing span and its metrics; [`Metrics`] owns the
//! Prometheus registry served by [`metrics_endpoint`] on the separate metrics
//! listener. Handlers share an [`AppState`].

mod metrics;
mod middleware;
mod routes;

pub use metrics::{Metrics, metrics_endpoint};
pub use middleware::{REQUEST_ID_HEADER, telemetry};
pub use prometheus::Error as PrometheusError;

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
}

/// Mounts the public routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    routes::configure(cfg);
}
