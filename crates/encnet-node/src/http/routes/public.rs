//! Unauthenticated routes: health, metrics, node info, descriptors, discovery.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use encnet_core::api::{DiscoveryRecord, NetworkDescriptor, NodeInfo};
use encnet_core::network_id::NetworkId;
use serde::Deserialize;

use crate::http::extract::{Path, Query};
use crate::http::metrics;
use crate::service::{Node, ServiceError};

/// Health and metrics: outside the in-flight limit, so that they answer
/// while the API sheds load.
pub(crate) fn operations() -> Router<Arc<Node>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
}

pub(crate) fn router() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/info", get(info))
        .route("/v1/networks/{id}", get(descriptor))
        .route("/.well-known/encryption/network/{name}", get(discover))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn info(State(node): State<Arc<Node>>) -> Json<NodeInfo> {
    Json(node.info())
}

async fn descriptor(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
) -> Result<Json<NetworkDescriptor>, ServiceError> {
    Ok(Json(node.descriptor(&id).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiscoverQuery {
    owner_did: Option<String>,
}

async fn discover(
    State(node): State<Arc<Node>>,
    Path(name): Path<String>,
    Query(query): Query<DiscoverQuery>,
) -> Result<Json<DiscoveryRecord>, ServiceError> {
    let owner = query
        .owner_did
        .ok_or_else(|| ServiceError::BadRequest("ownerDid query parameter is required".into()))?;
    let id = NetworkId::new(&owner, &name)
        .map_err(|err| ServiceError::BadRequest(err.to_string()))?
        .to_string();
    let d = node.descriptor(&id).await?;
    Ok(Json(DiscoveryRecord {
        descriptor: format!("/v1/networks/{}", d.network_id),
        network_id: d.network_id,
        public_encryption_key: d.public_encryption_key,
        alg: d.alg,
        key_version: d.key_version,
        state: d.state,
    }))
}
