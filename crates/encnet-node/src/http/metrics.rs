//! Prometheus metrics: requests by route and outcome, decrypt latency, and
//! the sizes of the nonce and audit tables (read at scrape time).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::service::{Node, ServiceError};

const DECRYPT_SECONDS: &str = "encnet_decrypt_seconds";

/// The process-wide recorder (a process may run several nodes in tests).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0,
            ];
            let builder = PrometheusBuilder::new().set_buckets(&buckets).ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(err) => {
                    tracing::warn!(error = %err, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Installs the recorder; called once at start-up.
pub(crate) fn install() {
    let _ = handle();
}

/// Counts every request by matched route, method and status.
pub(crate) async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("encnet_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("encnet_http_request_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Records one decrypt's latency and outcome.
pub(crate) fn observe_decrypt(elapsed: Duration, allowed: bool) {
    let outcome = if allowed { "allowed" } else { "denied" };
    metrics::histogram!(DECRYPT_SECONDS, "outcome" => outcome).record(elapsed.as_secs_f64());
}

/// `GET /metrics`.
pub(crate) async fn render(State(node): State<Arc<Node>>) -> Result<Response, ServiceError> {
    let sizes = node.store().gauges().await?;
    metrics::gauge!("encnet_nonces_rows").set(sizes.nonces as f64);
    metrics::gauge!("encnet_audit_rows").set(sizes.audit as f64);
    let text = handle().map(PrometheusHandle::render).unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}
