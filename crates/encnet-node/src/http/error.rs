//! The one place where errors become HTTP: an exhaustive status mapping and
//! an `application/problem+json` body (RFC 9457) carrying the stable `code`.
//! Details of 5xx errors go to the log, never to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use encnet_core::api::Problem;

use crate::service::ServiceError;

/// Seconds a client is asked to wait (`Retry-After`) before retrying a
/// request answered 503 (shed, past its deadline, or a check that timed out).
const RETRY_AFTER_SECS: u64 = 1;

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let status = status(&self);
        let detail = if matches!(self, Self::Overloaded | Self::DeadlineExceeded) {
            // Counted by `count_requests`; one log line each would let a
            // flood of requests flood the log too.
            tracing::debug!(code = %self.code(), "request shed");
            Some(self.to_string())
        } else if status.is_server_error() {
            tracing::error!(error = %crate::report::Chain(&self), code = %self.code(), "request failed");
            None
        } else {
            Some(self.to_string())
        };
        let problem = Problem {
            kind: format!("urn:encnet:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            code: self.code(),
            detail,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response
    }
}

fn status(err: &ServiceError) -> StatusCode {
    use ServiceError as E;
    match err {
        E::BadRequest(_)
        | E::InvalidAttestation(_)
        | E::TooComplex(_)
        | E::MalformedContainer(_)
        | E::MalformedToken(_)
        | E::TooManyTokens(_)
        | E::ChainTooLong(_)
        | E::LowOrderPoint
        | E::BadKey(_)
        | E::HashMismatch
        | E::AlgMismatch
        | E::UnknownKeyVersion
        | E::UnwrapFailed => StatusCode::BAD_REQUEST,
        E::MissingAuthorization | E::InvalidSignature | E::UnsupportedAlgorithm => {
            StatusCode::UNAUTHORIZED
        }
        E::AudienceMismatch
        | E::CommandMismatch(_)
        | E::SubjectMismatch
        | E::NetworkMismatch
        | E::BrokenChain(_)
        | E::UnavailableProof
        | E::Expired
        | E::NotYetValid
        | E::CommandWidened
        | E::PolicyDenied
        | E::DelegationRevoked
        | E::TtlExceeded(_)
        | E::NetworkRevoked
        | E::KeyVersionRetired
        | E::NotRevoker
        | E::OwnerOnly => StatusCode::FORBIDDEN,
        E::NetworkNotFound => StatusCode::NOT_FOUND,
        E::Replay | E::NetworkExists | E::InvalidState(_) | E::Conflict | E::AlreadyRevoked => {
            StatusCode::CONFLICT
        }
        E::NetworkDestroyed => StatusCode::GONE,
        E::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        E::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
        E::Overloaded | E::DeadlineExceeded => StatusCode::SERVICE_UNAVAILABLE,
        E::RouteNotFound => StatusCode::NOT_FOUND,
        E::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        E::HeaderTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        E::UnsupportedBackend(_) => StatusCode::NOT_IMPLEMENTED,
        E::CheckTimeout => StatusCode::SERVICE_UNAVAILABLE,
        E::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
