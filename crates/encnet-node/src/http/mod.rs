//! HTTP API (axum). Routes parse requests and call the service; errors turn
//! into problem+json in `error`.

mod error;
mod extract;
pub(crate) mod metrics;
mod routes;

use std::sync::Arc;

use axum::middleware;
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::service::Node;

/// The whole API.
pub(crate) fn router(node: Arc<Node>) -> Router {
    Router::new()
        .merge(routes::public::router())
        .merge(routes::network::router())
        .merge(routes::decrypt::router())
        .route_layer(middleware::from_fn_with_state(
            node.clone(),
            extract::limit_body,
        ))
        .route_layer(middleware::from_fn(metrics::count_requests))
        .layer(TraceLayer::new_for_http())
        .with_state(node)
}
