//! The one error type of the crate, named after the UCAN fixture errors.

use cid::Cid;

/// Why a token, container, policy or chain was rejected.
///
/// The first eight variants carry the names the UCAN conformance fixtures
/// expect; the rest are encnet's own. [`UcanError::name`] gives a stable
/// name for each, used by the CLI and by the node's HTTP `code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UcanError {
    /// A signature does not verify against its issuer's key, or the varsig
    /// header names an algorithm the issuer's key cannot sign with.
    #[error("invalid signature")]
    InvalidSignature,
    /// The proofs establish no authority (no proofs for a delegated
    /// invocation, a root that is not self-issued, or a powerline root).
    #[error("invalid claim: {0}")]
    InvalidClaim(&'static str),
    /// A proof cited in `prf` is not in the proof store.
    #[error("unavailable proof {0}")]
    UnavailableProof(Cid),
    /// A token's `exp` is in the past.
    #[error("expired")]
    Expired,
    /// A delegation's `nbf` is in the future (beyond the allowed skew).
    #[error("not valid yet")]
    TooEarly,
    /// Principals are misaligned: a delegation's `aud` is not the next
    /// issuer, or the invocation is not addressed to this executor.
    #[error("invalid audience")]
    InvalidAudience,
    /// A delegation's subject is not the invocation's subject.
    #[error("invalid subject")]
    InvalidSubject,
    /// A policy statement of the chain does not hold on the invocation's
    /// arguments.
    #[error("policy does not match the arguments")]
    MatchError,
    /// A delegation of the chain has been revoked.
    #[error("revoked delegation {0}")]
    Revoked(Cid),
    /// A command widens along the chain instead of narrowing.
    #[error("command not covered by its proof")]
    CommandMismatch,
    /// The principal may not revoke the target delegation.
    #[error("revocation not allowed: {0}")]
    RevocationDenied(&'static str),
    /// Input does not have the expected structure or field types.
    #[error("malformed: {0}")]
    Malformed(String),
    /// Input is not in its one canonical encoding: CBOR that would not
    /// re-encode to the same bytes, or a `did:key` whose multicodec varint
    /// is not minimal.
    #[error("non-canonical encoding")]
    NonCanonical,
    /// The type tag is neither a delegation nor an invocation tag of a
    /// supported version.
    #[error("unknown tag {0:?}")]
    UnknownTag(String),
    /// A key type or signature algorithm that encnet does not implement.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// A policy is not a well-formed statement list.
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    /// A policy holds more than [`crate::policy::MAX_POLICY_STATEMENTS`]
    /// statements, nested ones included.
    #[error("policy holds more than {max} statements")]
    PolicyTooLarge {
        /// The limit.
        max: usize,
    },
    /// A policy nests statements deeper than
    /// [`crate::policy::MAX_POLICY_DEPTH`].
    #[error("policy nested deeper than {max}")]
    PolicyTooDeep {
        /// The limit.
        max: usize,
    },
    /// Evaluating a chain's policies took more than its budget of steps
    /// ([`crate::policy::EVAL_BUDGET`] by default).
    #[error("policy evaluation exceeded its budget of {budget} steps")]
    PolicyBudgetExceeded {
        /// The budget that ran out.
        budget: u64,
    },
    /// A container is not readable.
    #[error("invalid container: {0}")]
    InvalidContainer(String),
    /// A container holds more tokens than the caller allows.
    #[error("container holds more than {max} tokens")]
    TooManyTokens {
        /// The caller's limit.
        max: usize,
    },
    /// A container decodes (or inflates) to more bytes than the caller
    /// allows.
    #[error("container larger than {max} bytes once decoded")]
    ContainerTooLarge {
        /// The caller's limit.
        max: usize,
    },
    /// A DID is longer than [`crate::did::MAX_DID_LEN`].
    #[error("DID longer than {max} bytes")]
    DidTooLong {
        /// The limit.
        max: usize,
    },
    /// An invocation's `args` encode to more than
    /// [`crate::invocation::MAX_ARGS_BYTES`].
    #[error("args larger than {max} bytes")]
    ArgsTooLarge {
        /// The limit.
        max: usize,
    },
}

impl UcanError {
    /// The variant's stable name (`"Expired"`, `"MatchError"`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Self::InvalidSignature => "InvalidSignature",
            Self::InvalidClaim(_) => "InvalidClaim",
            Self::UnavailableProof(_) => "UnavailableProof",
            Self::Expired => "Expired",
            Self::TooEarly => "TooEarly",
            Self::InvalidAudience => "InvalidAudience",
            Self::InvalidSubject => "InvalidSubject",
            Self::MatchError => "MatchError",
            Self::Revoked(_) => "Revoked",
            Self::CommandMismatch => "CommandMismatch",
            Self::RevocationDenied(_) => "RevocationDenied",
            Self::Malformed(_) => "Malformed",
            Self::NonCanonical => "NonCanonical",
            Self::UnknownTag(_) => "UnknownTag",
            Self::UnsupportedAlgorithm(_) => "UnsupportedAlgorithm",
            Self::InvalidPolicy(_) => "InvalidPolicy",
            Self::PolicyTooLarge { .. } => "PolicyTooLarge",
            Self::PolicyTooDeep { .. } => "PolicyTooDeep",
            Self::PolicyBudgetExceeded { .. } => "PolicyBudgetExceeded",
            Self::InvalidContainer(_) => "InvalidContainer",
            Self::TooManyTokens { .. } => "TooManyTokens",
            Self::ContainerTooLarge { .. } => "ContainerTooLarge",
            Self::DidTooLong { .. } => "DidTooLong",
            Self::ArgsTooLarge { .. } => "ArgsTooLarge",
        }
    }

    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        Self::Malformed(msg.into())
    }
}
