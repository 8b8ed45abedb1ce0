//! Requests refused before their invocation's signature verified: counted in
//! `encnet_denied_total{code}` and logged at a bounded rate, never written
//! to the audit log (DESIGN §4.10), so strangers cannot grow the database
//! or the log files.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::ServiceError;

/// The second of the last log line (at most one a second), and the
/// refusals not logged since.
static LAST_LOGGED: AtomicU64 = AtomicU64::new(0);
static UNLOGGED: AtomicU64 = AtomicU64::new(0);

/// Counts one refusal on `route` and logs it if the rate allows.
pub(super) fn count(route: &str, err: &ServiceError) {
    metrics::counter!("encnet_denied_total", "code" => err.code().to_string()).increment(1);
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST_LOGGED.load(Ordering::Relaxed);
    if second > last
        && LAST_LOGGED
            .compare_exchange(last, second, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        let suppressed = UNLOGGED.swap(0, Ordering::Relaxed);
        tracing::info!(
            route,
            code = %err.code(),
            suppressed,
            "refused an unauthenticated request"
        );
    } else {
        UNLOGGED.fetch_add(1, Ordering::Relaxed);
    }
}
