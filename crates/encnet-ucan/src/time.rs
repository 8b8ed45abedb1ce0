//! Timestamps: Unix seconds within the range every UCAN reader accepts.

use crate::error::UcanError;

/// Clock skew allowed on `nbf` (UCAN decision 6); `exp` is strict.
pub(crate) const NBF_SKEW_SECONDS: i64 = 30;

/// Largest magnitude of a timestamp: 2^53 − 1, what JavaScript readers hold.
const MAX_TIMESTAMP: i64 = (1 << 53) - 1;

/// Checks that `t` is inside ±(2^53 − 1).
pub(crate) fn check(field: &str, t: i64) -> Result<i64, UcanError> {
    if (-MAX_TIMESTAMP..=MAX_TIMESTAMP).contains(&t) {
        Ok(t)
    } else {
        Err(UcanError::malformed(format!("{field} out of range")))
    }
}

/// `exp` check: expired when `now` is strictly after `exp`.
pub(crate) fn check_exp(exp: Option<i64>, now: i64) -> Result<(), UcanError> {
    match exp {
        Some(exp) if now > exp => Err(UcanError::Expired),
        _ => Ok(()),
    }
}

/// `nbf` check, with [`NBF_SKEW_SECONDS`] of tolerance.
pub(crate) fn check_nbf(nbf: Option<i64>, now: i64) -> Result<(), UcanError> {
    match nbf {
        Some(nbf) if now.saturating_add(NBF_SKEW_SECONDS) < nbf => Err(UcanError::TooEarly),
        _ => Ok(()),
    }
}
