//! Wall-clock helpers: Unix seconds for checks, RFC 3339 for records.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The current time as RFC 3339 UTC, millisecond precision.
pub(crate) fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    let millis = now.replace_nanosecond(now.millisecond() as u32 * 1_000_000);
    // Formatting a valid UTC time as RFC 3339 cannot fail for years 0..=9999.
    millis
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}
