//! Liveness and readiness for load balancers and orchestrators.

use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, web};
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::AppState;

/// The database as `/readyz` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseReadiness {
    /// It answers, and its schema is exactly this build's.
    Ready,
    /// It answers, but its schema is not this build's: why, without internals.
    SchemaNotCurrent(String),
    /// It does not answer: the error, for the log only.
    Unreachable(String),
    /// It answers, but Redis (configured) does not: the error, for the log.
    RedisUnreachable(String),
}

/// The database check behind `/readyz`. The server implements it over its
/// store (the web layer never calls the store itself).
pub trait ReadinessProbe: std::fmt::Debug + Send + Sync {
    /// Which database this is (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    /// Checks that it answers with this build's schema.
    fn check(&self) -> Pin<Box<dyn Future<Output = DatabaseReadiness> + Send + '_>>;
}

/// Whether this instance is draining: asked to stop (SIGTERM), it goes on
/// serving every request for `http.drain_secs`, but `/readyz` answers 503
/// so that the load balancer sends it no new traffic. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    /// From now on `/readyz` answers 503 (there is no way back: the
    /// instance is stopping).
    pub fn start(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`Draining::start`] was called.
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// How long readiness waits for the database before calling it unreachable.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

fn no_store(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /healthz`: the process is alive and serving HTTP. Touches nothing else,
/// so a slow database never gets a healthy instance restarted.
pub(crate) async fn healthz() -> HttpResponse {
    no_store(HttpResponse::Ok().json(json!({ "status": "ok" })))
}

/// `GET /readyz`: 200 when the database answers and its schema is exactly
/// this build's; 503 otherwise, with a reason that exposes no internals —
/// and 503 `draining` from SIGTERM on, while the instance still serves.
/// It asks the database every time, so it turns 200 again by itself once
/// the database is back.
pub(crate) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.readiness.backend();
    if state.draining.is_draining() {
        return no_store(
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "not_ready", "database": backend, "reason": "draining" })),
        );
    }
    let res = match tokio_timeout(state.readiness.check()).await {
        Some(DatabaseReadiness::Ready) => {
            HttpResponse::Ok().json(json!({ "status": "ready", "database": backend }))
        }
        Some(DatabaseReadiness::SchemaNotCurrent(reason)) => {
            tracing::warn!(%reason, "not ready: schema is not current");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "not_ready", "database": backend, "reason": reason }))
        }
        Some(DatabaseReadiness::Unreachable(error)) => {
            tracing::warn!(%error, "not ready: database error");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "not_ready", "database": backend, "reason": "database unreachable" }))
        }
        Some(DatabaseReadiness::RedisUnreachable(error)) => {
            tracing::warn!(%error, "not ready: redis error");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "not_ready", "database": backend, "reason": "redis unreachable" }))
        }
        None => {
            tracing::warn!("not ready: database did not answer in time");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "not_ready", "database": backend, "reason": "database timed out" }))
        }
    };
    no_store(res)
}

async fn tokio_timeout<F: std::future::Future>(fut: F) -> Option<F::Output> {
    actix_web::rt::time::timeout(READY_TIMEOUT, fut).await.ok()
}
