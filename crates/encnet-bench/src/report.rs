//! What every command's report shares.

use std::time::Duration;

use serde::Serialize;

/// Whole microseconds, at least 1 (the histograms' lowest value).
pub(crate) fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// A report as pretty JSON on standard output (`--json`).
pub(crate) fn print_json(report: &impl Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(report).unwrap_or_default()
    );
}
