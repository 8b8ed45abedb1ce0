//! The accept loop: HTTP/1.1 connections served by hyper with the header
//! read timeout and header size limit of [`HttpLimits`], and a graceful
//! shutdown that lets the requests in flight finish.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use super::limits::{HttpLimits, MAX_HEADER_BYTES};

/// Pause after an accept error that is not about one connection (such as
/// running out of file descriptors), so the loop does not spin on it.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_secs(1);

/// After the request deadline and the header timeout, how much longer a
/// shutdown waits for connections to finish (e.g. a client that does not
/// read its answer) before it stops waiting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` resolves; then stops
/// accepting, lets each connection finish its request in flight (idle ones
/// close at once) and returns when all have closed, or after a bound.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let limits = limits.normalized();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_HEADER_BYTES);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, _peer)) => {
                let service = TowerToHyperService::new(app.clone());
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(err) = connection.await {
                        tracing::debug!(error = %err, "connection ended with an error");
                    }
                });
            }
            Err(err) if is_connection_error(&err) => {}
            Err(err) => {
                tracing::warn!(error = %err, "accept failed");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_ERROR_BACKOFF) => {}
                    () = &mut shutdown => break,
                }
            }
        }
    }
    drop(listener);
    let bound = limits
        .request_deadline
        .max(limits.header_read_timeout)
        .saturating_add(SHUTDOWN_GRACE);
    if tokio::time::timeout(bound, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            waited = ?bound,
            "connections still open at shutdown; not waiting for them"
        );
    }
    Ok(())
}

/// Errors about one incoming connection, which the next accept does not
/// repeat.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
