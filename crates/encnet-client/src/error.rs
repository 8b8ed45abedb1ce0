//! Client errors: the node's problem+json comes back as [`ClientError::Node`]
//! with its stable `code`.

use encnet_core::api::ErrorCode;
use encnet_core::error::{EnvelopeError, SuiteError};
use encnet_ucan::UcanError;

/// Everything a client call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The node could not be reached.
    #[error("node unreachable at {url}: {message}")]
    Unreachable {
        /// The node URL.
        url: String,
        /// The transport's message.
        message: String,
    },
    /// The node refused the request.
    #[error("node refused ({status} {code}){}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Node {
        /// HTTP status.
        status: u16,
        /// The node's stable error code, e.g. `policy_denied`.
        code: ErrorCode,
        /// The node's explanation.
        detail: Option<String>,
    },
    /// The node answered something that is not a valid answer.
    #[error("invalid answer from the node: {0}")]
    InvalidResponse(String),
    /// A signed answer failed verification: it is not used.
    #[error("node answer failed verification: {0}")]
    Verification(&'static str),
    /// A token could not be built or read.
    #[error("UCAN: {0}")]
    Ucan(#[from] UcanError),
    /// An envelope is invalid or does not open.
    #[error("envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// Key unwrapping failed.
    #[error("key: {0}")]
    Suite(#[from] SuiteError),
    /// Invalid input from the caller.
    #[error("{0}")]
    Usage(String),
    /// The network's key is not the one its owner attested.
    #[error("untrusted network key: {0}")]
    Attestation(encnet_core::attestation::AttestationError),
}

impl ClientError {
    /// The node's error code, when the node refused.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Node { code, .. } => Some(code),
            _ => None,
        }
    }
}
