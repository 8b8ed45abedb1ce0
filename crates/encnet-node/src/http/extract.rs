//! Request plumbing shared by the routes: the bearer token, and the body
//! limit (a rejected body is answered and audited like any other denial).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::service::{Node, ServiceError};

/// Largest request body accepted.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// The `Authorization: Bearer …` value, if any. Size and form are checked by
/// the service, so that every rejection is audited in one place.
pub(crate) struct Bearer(pub(crate) Option<String>);

impl Bearer {
    pub(crate) fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get(header::AUTHORIZATION).map(|v| {
            let text = String::from_utf8_lossy(v.as_bytes());
            match text.strip_prefix("Bearer ") {
                Some(token) => token.trim().to_owned(),
                // Not a bearer token: handed on so it fails as malformed.
                None => text.into_owned(),
            }
        });
        Ok(Self(value))
    }
}

/// Rejects bodies over [`MAX_BODY_BYTES`] with `body_too_large`, recording the
/// denial. Bodies within the limit are buffered and passed on.
pub(crate) async fn limit_body(
    State(node): State<Arc<Node>>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = declared.is_some_and(|len| len > MAX_BODY_BYTES as u64);
    let route = route_name(&request);
    let (parts, body) = request.into_parts();
    let bytes = if too_large {
        None
    } else {
        axum::body::to_bytes(body, MAX_BODY_BYTES).await.ok()
    };
    match bytes {
        Some(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        None => {
            let err = ServiceError::BodyTooLarge(MAX_BODY_BYTES);
            node.record_rejection(&route, &err).await;
            err.into_response()
        }
    }
}

fn route_name(request: &Request) -> String {
    let path = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    if request.method() == Method::GET {
        format!("GET {path}")
    } else {
        format!("{} {path}", request.method())
    }
}
