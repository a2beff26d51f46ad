//! Prometheus metrics: HTTP traffic by route and status, and build info.

use actix_web::{HttpResponse, http::header, web};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

/// Latency buckets in seconds: the hot endpoints answer well under a millisecond.
const LATENCY_BUCKETS: &[f64] =
    &[0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The registry and the metrics `web` itself records. Other parts of the
/// product register theirs in [`Metrics::registry`].
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    pub(crate) requests: IntCounterVec,
    pub(crate) latency: HistogramVec,
}

impl Metrics {
    /// Creates the registry with the HTTP metrics and `portcullis_build_info`.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered, by route, method and status"),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request, by route, method and status",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method", "status"],
        )?;
        let build = IntGauge::with_opts(
            Opts::new("portcullis_build_info", "Build information; the value is always 1")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )?;
        build.set(1);
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(build))?;
        Ok(Self { registry, requests, latency })
    }

    /// Where other components register their metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The text exposition of every registered metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 * 1024);
        // Encoding into a Vec cannot fail for the text format.
        let _ = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

/// `GET /metrics` on the metrics listener.
pub async fn metrics_endpoint(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, prometheus::TEXT_FORMAT))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(metrics.render())
}
