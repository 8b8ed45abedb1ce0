//! `POST /v1/networks/{id}/decrypt` and `POST /v1/revocations`: the
//! capability-gated key operations.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use encnet_core::api::{DecryptResult, RevocationReceipt};

use crate::http::extract::{Bearer, Path};
use crate::http::metrics;
use crate::service::{Node, ServiceError};

pub(crate) fn router() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/networks/{id}/decrypt", post(decrypt))
        .route("/v1/revocations", post(revoke_delegation))
}

async fn decrypt(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
    bearer: Bearer,
) -> Result<Json<DecryptResult>, ServiceError> {
    let started = Instant::now();
    let result = node.decrypt(&id, bearer.as_deref()).await;
    metrics::observe_decrypt(started.elapsed(), result.is_ok());
    Ok(Json(result?))
}

async fn revoke_delegation(
    State(node): State<Arc<Node>>,
    bearer: Bearer,
) -> Result<Json<RevocationReceipt>, ServiceError> {
    Ok(Json(node.revoke_delegation(bearer.as_deref()).await?))
}
