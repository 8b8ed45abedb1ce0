//! Request plumbing shared by the routes: the bearer token, the path and
//! query extractors (whose rejections are problem+json), and the body limit
//! (a rejected body is answered and recorded like any other denial).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

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
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| bearer_token(&String::from_utf8_lossy(v.as_bytes())));
        Ok(Self(value))
    }
}

/// The token of a `Bearer` credential; the scheme is case-insensitive (RFC
/// 9110 §11.1). Any other value is handed on whole, to fail as malformed.
fn bearer_token(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim().to_owned(),
        _ => value.to_owned(),
    }
}

/// `axum::extract::Path`, rejecting with problem+json `bad_request` (e.g. a
/// segment that is not UTF-8 once percent-decoded).
pub(crate) struct Path<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejected(rejection.status(), rejection.body_text())),
        }
    }
}

/// `axum::extract::Query`, rejecting with problem+json `bad_request` (e.g. a
/// duplicate parameter).
pub(crate) struct Query<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejected(rejection.status(), rejection.body_text())),
        }
    }
}

/// An extractor's rejection as a service error: the client's fault unless
/// axum itself calls it a server error (a route that cannot be extracted).
fn rejected(status: axum::http::StatusCode, text: String) -> ServiceError {
    if status.is_server_error() {
        ServiceError::Internal(text.into())
    } else {
        ServiceError::BadRequest(text)
    }
}

/// State of [`limit_body`].
#[derive(Clone)]
pub(crate) struct BodyLimit {
    pub(crate) node: Arc<Node>,
    /// Longest the whole body may take to arrive (`HttpLimits`).
    pub(crate) read_timeout: Duration,
}

/// Why a body was not read.
enum BodyError {
    /// Over [`MAX_BODY_BYTES`].
    TooLarge,
    /// The connection failed or ended before the body did.
    Incomplete,
}

/// Buffers the body, at most [`MAX_BODY_BYTES`] of it and within the body
/// read timeout. A body over the limit is `413 body_too_large`; one that
/// stops arriving is `408 body_timeout`; one cut off by the client (or the
/// connection) is `400 bad_request`. Each refusal is recorded.
pub(crate) async fn limit_body(
    State(limit): State<BodyLimit>,
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
    let read = if too_large {
        Err(ServiceError::BodyTooLarge(MAX_BODY_BYTES))
    } else {
        match tokio::time::timeout(limit.read_timeout, read_body(body)).await {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(BodyError::TooLarge)) => Err(ServiceError::BodyTooLarge(MAX_BODY_BYTES)),
            Ok(Err(BodyError::Incomplete)) => {
                Err(ServiceError::BadRequest("request body incomplete".into()))
            }
            Err(_) => Err(ServiceError::BodyTimeout),
        }
    };
    match read {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(err) => {
            limit.node.record_rejection(&route, &err).await;
            err.into_response()
        }
    }
}

/// The body's bytes, refusing more than [`MAX_BODY_BYTES`]. Trailers are
/// ignored.
async fn read_body(body: Body) -> Result<Vec<u8>, BodyError> {
    let mut body = std::pin::pin!(body);
    let mut bytes = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|_| BodyError::Incomplete)?;
        if let Ok(data) = frame.into_data() {
            if bytes.len().saturating_add(data.len()) > MAX_BODY_BYTES {
                return Err(BodyError::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
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

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR   abc "] {
            assert_eq!(bearer_token(value), "abc", "{value:?}");
        }
        for value in ["Basic abc", "Bearerabc", "abc", "Bearer"] {
            assert_eq!(bearer_token(value), value, "{value:?}");
        }
    }
}
