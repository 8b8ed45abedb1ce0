//! Key custody. A backend turns a network's stored key material into a data
//! key re-wrapped for a receiver; the service never touches private keys.

mod local;

pub(crate) use local::{LocalBackend, Rewrap};

/// Why custody could not answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BackendError {
    /// A public key is low-order or yields an all-zero shared secret.
    #[error("low-order public key")]
    LowOrderPoint,
    /// A key or wrapped key has the wrong length or form.
    #[error("{0}")]
    BadKey(String),
    /// The wrapped key does not open under the network key.
    #[error("wrapped key does not open")]
    UnwrapFailed,
    /// The sealed private key does not open: wrong root key or edited row.
    #[error("sealed key does not open: {0}")]
    Sealed(String),
}

impl From<encnet_core::error::SuiteError> for BackendError {
    fn from(err: encnet_core::error::SuiteError) -> Self {
        use encnet_core::error::SuiteError;
        match err {
            SuiteError::LowOrderPoint => Self::LowOrderPoint,
            SuiteError::UnwrapFailed => Self::UnwrapFailed,
            other => Self::BadKey(other.to_string()),
        }
    }
}
