//! Bounds on the work one request, or all of them together, may take
//! (DESIGN §4.11): the in-flight limit with load shedding, the per-request
//! deadline, and the header and body read timeouts.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::service::ServiceError;

/// Most API requests handled at once; one more is shed with `503 overloaded`
/// at once. `/healthz` and `/metrics` are not counted.
pub(crate) const MAX_IN_FLIGHT: usize = 512;

/// Longest an API request may run, body read included, before it is
/// abandoned and answered `503 timeout`.
pub(crate) const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// Longest a connection may take to send a request's header block (and,
/// between requests, longest it may sit idle); then it is closed.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a client may take to send a whole request body; then it is
/// answered `408 body_timeout` and the connection is closed.
pub(crate) const BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest request header block (request line included); hyper answers a
/// larger one with a bodyless 431 and closes the connection. Room for the
/// largest `Authorization` header the service accepts, and the rest.
pub(crate) const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Longest any configured timeout may be; longer ones are cut to this, so
/// that adding one to a clock reading cannot overflow.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The HTTP server's limits (DESIGN §4.11). [`Default`] gives the named
/// constants of this module; tests (and, later, configuration) pass others
/// to `Server::serve_with_limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// API requests handled at once before shedding (default 512,
    /// `MAX_IN_FLIGHT`); 0 sheds every API request.
    pub max_in_flight: usize,
    /// Per-request deadline (default 10 s, `REQUEST_DEADLINE`).
    pub request_deadline: Duration,
    /// Header read (and keep-alive idle) timeout (default 10 s,
    /// `HEADER_READ_TIMEOUT`).
    pub header_read_timeout: Duration,
    /// Body read timeout (default 5 s, `BODY_READ_TIMEOUT`).
    pub body_read_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_in_flight: MAX_IN_FLIGHT,
            request_deadline: REQUEST_DEADLINE,
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
        }
    }
}

impl HttpLimits {
    /// The limits with every value in a range the server can use.
    pub(crate) fn normalized(self) -> Self {
        Self {
            max_in_flight: self.max_in_flight.min(Semaphore::MAX_PERMITS),
            request_deadline: self.request_deadline.min(MAX_TIMEOUT),
            header_read_timeout: self.header_read_timeout.min(MAX_TIMEOUT),
            body_read_timeout: self.body_read_timeout.min(MAX_TIMEOUT),
        }
    }
}

/// The shared state of [`shed`] and [`deadline`].
#[derive(Clone)]
pub(crate) struct Guard {
    in_flight: Arc<Semaphore>,
    deadline: Duration,
}

impl Guard {
    pub(crate) fn new(limits: &HttpLimits) -> Self {
        let limits = limits.normalized();
        Self {
            in_flight: Arc::new(Semaphore::new(limits.max_in_flight)),
            deadline: limits.request_deadline,
        }
    }
}

/// Load shedding: answers `503 overloaded` (with `Retry-After`) at once when
/// [`HttpLimits::max_in_flight`] requests are already being handled. A shed
/// request costs no store access and no log line; `count_requests` counts it.
pub(crate) async fn shed(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    match guard.in_flight.clone().try_acquire_owned() {
        Ok(permit) => {
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Err(_) => ServiceError::Overloaded.into_response(),
    }
}

/// The per-request deadline: a request still running after
/// [`HttpLimits::request_deadline`] is dropped and answered `503 timeout`.
/// The handler's future is dropped, as hyper drops it when a client
/// disconnects; a decrypt dropped late may have spent its nonce, so a client
/// retries with a new invocation, as after any lost answer.
pub(crate) async fn deadline(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(guard.deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ServiceError::DeadlineExceeded.into_response(),
    }
}
