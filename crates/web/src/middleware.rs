//! Per-request telemetry: request id, tracing span, access log and metrics.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tracing::Instrument;

use crate::AppState;

/// The header carrying the request id, in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Route label for requests that matched no route (keeps label cardinality bounded).
const UNMATCHED: &str = "<unmatched>";

/// Accepts a caller's request id (from a proxy) only when short and plain;
/// anything else could forge log lines, so a fresh one replaces it.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(fresh_request_id, str::to_owned)
}

/// A new request id: 64 random bits drawn once per process, then a counter
/// (unique, and no system call per request; ids are labels, not secrets).
fn fresh_request_id() -> String {
    static PREFIX: LazyLock<u64> =
        LazyLock::new(|| u64::from_ne_bytes(portcullis_core::random::bytes::<8>()));
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{:016x}{:016x}", *PREFIX, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Middleware: every request gets an id (echoed in `X-Request-Id`), runs in a
/// span carrying it (so every log line names it), and is counted and timed by
/// route pattern, method and status.
pub async fn telemetry(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().clone();
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %req.path());

    let result = next.call(req).instrument(span.clone()).await;
    let (status, route) = match &result {
        Ok(res) => (res.status(), res.request().match_pattern()),
        Err(err) => (err.as_response_error().status_code(), None),
    };
    let route = route.unwrap_or_else(|| UNMATCHED.to_owned());
    let elapsed = started.elapsed();
    if let Some(metrics) = state.as_ref().map(|s| &s.metrics) {
        let labels = [route.as_str(), method.as_str(), status.as_str()];
        metrics.requests.with_label_values(&labels).inc();
        metrics.latency.with_label_values(&labels).observe(elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(status = status.as_u16(), route = %route, micros = elapsed.as_micros() as u64, "answered");
    });

    let mut res = result?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(res)
}
