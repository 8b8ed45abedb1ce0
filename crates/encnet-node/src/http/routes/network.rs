//! Network administration routes (DESIGN §4.7).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use encnet_core::api::{AuditPage, NetworkDescriptor};

use crate::http::extract::{Bearer, Path};
use crate::service::{Node, ServiceError, Transition};

pub(crate) fn router() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/networks", post(create))
        .route("/v1/networks/{id}/rotate", post(rotate))
        .route("/v1/networks/{id}/retire", post(retire))
        .route("/v1/networks/{id}/revoke", post(revoke))
        .route("/v1/networks/{id}/restore", post(restore))
        .route("/v1/networks/{id}/destroy", post(destroy))
        .route("/v1/networks/{id}/attest", post(attest))
        .route("/v1/networks/{id}/audit", get(audit))
}

type Answer = Result<Json<NetworkDescriptor>, ServiceError>;

async fn create(State(node): State<Arc<Node>>, bearer: Bearer) -> Answer {
    Ok(Json(node.create_network(bearer.as_deref()).await?))
}

async fn rotate(State(node): State<Arc<Node>>, Path(id): Path<String>, bearer: Bearer) -> Answer {
    Ok(Json(node.rotate_network(&id, bearer.as_deref()).await?))
}

async fn retire(State(node): State<Arc<Node>>, Path(id): Path<String>, bearer: Bearer) -> Answer {
    Ok(Json(node.retire_network(&id, bearer.as_deref()).await?))
}

async fn revoke(State(node): State<Arc<Node>>, Path(id): Path<String>, bearer: Bearer) -> Answer {
    transition(&node, &id, Transition::Revoke, &bearer).await
}

async fn restore(State(node): State<Arc<Node>>, Path(id): Path<String>, bearer: Bearer) -> Answer {
    transition(&node, &id, Transition::Restore, &bearer).await
}

async fn destroy(State(node): State<Arc<Node>>, Path(id): Path<String>, bearer: Bearer) -> Answer {
    transition(&node, &id, Transition::Destroy, &bearer).await
}

async fn attest(State(node): State<Arc<Node>>, Path(id): Path<String>, bearer: Bearer) -> Answer {
    Ok(Json(node.attest_network(&id, bearer.as_deref()).await?))
}

async fn transition(node: &Node, id: &str, transition: Transition, bearer: &Bearer) -> Answer {
    Ok(Json(
        node.transition_network(id, transition, bearer.as_deref())
            .await?,
    ))
}

async fn audit(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
    bearer: Bearer,
) -> Result<Json<AuditPage>, ServiceError> {
    Ok(Json(node.read_audit(&id, bearer.as_deref()).await?))
}
