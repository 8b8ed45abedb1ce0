//! HTTP API (axum on hyper). Routes parse requests and call the service;
//! errors turn into problem+json in `error`, unknown routes and methods
//! included; `limits` bounds the work of each request and of all together;
//! `server` accepts connections.

mod error;
mod extract;
mod limits;
pub(crate) mod metrics;
mod routes;
mod server;

use std::sync::Arc;

use axum::middleware;
use axum::Router;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

use crate::service::{Node, ServiceError};

pub use limits::HttpLimits;
pub(crate) use server::serve;

/// The whole API. Per API request, outermost first: counted, shed if too
/// many are in flight, bounded by the deadline, body buffered (bounded in
/// size and time), handled. `/healthz` and `/metrics` are only counted.
pub(crate) fn router(node: Arc<Node>, limits: &HttpLimits) -> Router {
    let guard = limits::Guard::new(limits);
    let body = extract::BodyLimit {
        node: node.clone(),
        read_timeout: limits.normalized().body_read_timeout,
    };
    let api = Router::new()
        .merge(routes::public::router())
        .merge(routes::network::router())
        .merge(routes::decrypt::router())
        .route_layer(middleware::from_fn_with_state(body, extract::limit_body))
        .route_layer(middleware::from_fn_with_state(
            guard.clone(),
            limits::deadline,
        ))
        .route_layer(middleware::from_fn_with_state(guard, limits::shed));
    Router::new()
        .merge(routes::public::operations())
        .merge(api)
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn(metrics::count_requests))
        .fallback(not_found)
        .layer(
            // 5xx answers are logged where they are made (`error`); one more
            // line per shed request would let a flood flood the log.
            TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        .with_state(node)
}

/// No route has this path.
async fn not_found() -> ServiceError {
    ServiceError::RouteNotFound
}

/// The path's route does not answer this method (axum adds `Allow`).
async fn method_not_allowed() -> ServiceError {
    ServiceError::MethodNotAllowed
}
