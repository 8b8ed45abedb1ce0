//! The one error type of the service layer. Every variant has a stable
//! `code`, used in problem+json responses and in `denied:<code>` audit
//! outcomes; `http::error` maps each to an HTTP status.

use encnet_core::api::ErrorCode;

use crate::store::StoreError;

/// Why a request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServiceError {
    /// No `Authorization: Bearer` header.
    #[error("missing Authorization: Bearer <UCAN container>")]
    MissingAuthorization,
    /// The `Authorization` header exceeds its limit.
    #[error("Authorization header larger than {0} bytes")]
    HeaderTooLarge(usize),
    /// The request body exceeds its limit.
    #[error("request body larger than {0} bytes")]
    BodyTooLarge(usize),
    /// The request body did not arrive within the body read timeout.
    #[error("request body not received in time")]
    BodyTimeout,
    /// Too many requests in flight: this one is shed unread.
    #[error("the node is overloaded; retry later")]
    Overloaded,
    /// The request ran past the per-request deadline and was abandoned.
    #[error("the request took too long; retry later")]
    DeadlineExceeded,
    /// No route has this path.
    #[error("no such resource")]
    RouteNotFound,
    /// The route does not answer this method.
    #[error("method not allowed on this resource")]
    MethodNotAllowed,
    /// The container holds more tokens than allowed.
    #[error("container holds more than {0} tokens")]
    TooManyTokens(usize),
    /// The proof chain is longer than allowed.
    #[error("proof chain longer than {0} delegations")]
    ChainTooLong(usize),
    /// The container does not decode or holds no single invocation.
    #[error("malformed UCAN container: {0}")]
    MalformedContainer(String),
    /// A token does not decode.
    #[error("malformed UCAN token: {0}")]
    MalformedToken(String),
    /// A token's signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// A key or signature algorithm encnet does not support.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// The invocation's `aud` is not this node.
    #[error("invocation is addressed to another node")]
    AudienceMismatch,
    /// The invocation's `cmd` is not this route's command.
    #[error("command {0} does not match this route")]
    CommandMismatch(String),
    /// `sub` is not the network owner.
    #[error("invocation subject is not the network owner")]
    SubjectMismatch,
    /// `args.network` differs from the network in the path.
    #[error("args.network does not match the network in the path")]
    NetworkMismatch,
    /// Invalid arguments.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The delegation chain is not a chain from the owner to the invoker.
    #[error("broken delegation chain: {0}")]
    BrokenChain(String),
    /// A cited proof is not in the container.
    #[error("a proof cited by the invocation is missing from the container")]
    UnavailableProof,
    /// The invocation or a delegation has expired.
    #[error("expired")]
    Expired,
    /// A delegation is not valid yet.
    #[error("a delegation is not valid yet")]
    NotYetValid,
    /// A delegation widens the command of its parent.
    #[error("a delegation widens the command it was given")]
    CommandWidened,
    /// A delegation's policy does not hold on the arguments.
    #[error("a delegation policy does not allow these arguments")]
    PolicyDenied,
    /// A delegation in the chain is revoked.
    #[error("a delegation in the chain is revoked")]
    DelegationRevoked,
    /// `exp` is missing or further away than the node allows.
    #[error("invocation lifetime exceeds {0} s")]
    TtlExceeded(i64),
    /// The nonce was used by an unexpired invocation of this issuer.
    #[error("nonce already used")]
    Replay,
    /// No such network.
    #[error("network not found")]
    NetworkNotFound,
    /// The owner already has a network of this name.
    #[error("network already exists")]
    NetworkExists,
    /// The network is revoked.
    #[error("network is revoked")]
    NetworkRevoked,
    /// The network is destroyed.
    #[error("network is destroyed")]
    NetworkDestroyed,
    /// The operation is not allowed in the network's current state.
    #[error("not allowed while the network is {0}")]
    InvalidState(&'static str),
    /// `alg` differs from the network's suite.
    #[error("alg does not match the network's suite")]
    AlgMismatch,
    /// `keyVersion` does not exist.
    #[error("unknown key version")]
    UnknownKeyVersion,
    /// `keyVersion` is below `minDecryptionVersion`.
    #[error("key version is retired")]
    KeyVersionRetired,
    /// `keyHash` is not the hash of `wrappedKey`.
    #[error("keyHash does not match wrappedKey")]
    HashMismatch,
    /// A public key is low-order or yields an all-zero shared secret.
    #[error("low-order public key")]
    LowOrderPoint,
    /// A key has the wrong length or form.
    #[error("malformed key: {0}")]
    BadKey(String),
    /// The wrapped key does not open under the network key.
    #[error("wrapped key does not open")]
    UnwrapFailed,
    /// The revoker issued no delegation on the path to the target.
    #[error("issuer may not revoke this delegation")]
    NotRevoker,
    /// The delegation is already revoked.
    #[error("delegation already revoked")]
    AlreadyRevoked,
    /// A container, policy or argument map over the node's work limits
    /// (DESIGN §4.11): decompressed size, statements, depth, evaluation
    /// budget, args size.
    #[error("request too complex: {0}")]
    TooComplex(String),
    /// An owner attestation that is not the owner's or not of the stored key.
    #[error("attestation refused: {0}")]
    InvalidAttestation(String),
    /// Restore and destroy must be invoked by the owner itself, unproved.
    #[error("only the network owner itself may invoke this (iss = sub, no proofs)")]
    OwnerOnly,
    /// Chain validation did not finish within its deadline.
    #[error("the capability check took too long")]
    CheckTimeout,
    /// A key backend this node does not offer.
    #[error("unsupported key backend: {0}")]
    UnsupportedBackend(String),
    /// A concurrent change won.
    #[error("conflicting concurrent change; retry")]
    Conflict,
    /// Anything else: details go to the log, never to the client.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ServiceError {
    /// The stable machine-readable code.
    pub(crate) fn code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            Self::MissingAuthorization => C::MissingAuthorization,
            Self::HeaderTooLarge(_) => C::HeaderTooLarge,
            Self::BodyTooLarge(_) => C::BodyTooLarge,
            Self::BodyTimeout => C::BodyTimeout,
            Self::Overloaded => C::Overloaded,
            Self::DeadlineExceeded => C::Timeout,
            Self::RouteNotFound => C::NotFound,
            Self::MethodNotAllowed => C::MethodNotAllowed,
            Self::TooManyTokens(_) => C::TooManyTokens,
            Self::ChainTooLong(_) => C::ChainTooLong,
            Self::MalformedContainer(_) => C::MalformedContainer,
            Self::MalformedToken(_) => C::MalformedToken,
            Self::InvalidSignature => C::InvalidSignature,
            Self::UnsupportedAlgorithm => C::UnsupportedAlgorithm,
            Self::AudienceMismatch => C::AudienceMismatch,
            Self::CommandMismatch(_) => C::CommandMismatch,
            Self::SubjectMismatch => C::SubjectMismatch,
            Self::NetworkMismatch => C::NetworkMismatch,
            Self::BadRequest(_) => C::BadRequest,
            Self::BrokenChain(_) => C::BrokenChain,
            Self::UnavailableProof => C::UnavailableProof,
            Self::Expired => C::Expired,
            Self::NotYetValid => C::NotYetValid,
            Self::CommandWidened => C::CommandWidened,
            Self::PolicyDenied => C::PolicyDenied,
            Self::DelegationRevoked => C::DelegationRevoked,
            Self::TtlExceeded(_) => C::TtlExceeded,
            Self::Replay => C::Replay,
            Self::NetworkNotFound => C::NetworkNotFound,
            Self::NetworkExists => C::NetworkExists,
            Self::NetworkRevoked => C::NetworkRevoked,
            Self::NetworkDestroyed => C::NetworkDestroyed,
            Self::InvalidState(_) => C::InvalidState,
            Self::AlgMismatch => C::AlgMismatch,
            Self::UnknownKeyVersion => C::UnknownKeyVersion,
            Self::KeyVersionRetired => C::KeyVersionRetired,
            Self::HashMismatch => C::HashMismatch,
            Self::LowOrderPoint => C::LowOrderPoint,
            Self::BadKey(_) => C::BadKey,
            Self::UnwrapFailed => C::UnwrapFailed,
            Self::NotRevoker => C::NotRevoker,
            Self::AlreadyRevoked => C::AlreadyRevoked,
            Self::OwnerOnly => C::OwnerOnly,
            Self::InvalidAttestation(_) => C::InvalidAttestation,
            Self::TooComplex(_) => C::TooComplex,
            Self::CheckTimeout => C::CheckTimeout,
            Self::UnsupportedBackend(_) => C::UnsupportedBackend,
            Self::Conflict => C::Conflict,
            Self::Internal(_) => C::Internal,
        }
    }
}

impl From<encnet_core::api::ArgsError> for ServiceError {
    fn from(err: encnet_core::api::ArgsError) -> Self {
        Self::BadRequest(err.to_string())
    }
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Replay => Self::Replay,
            StoreError::Revoked => Self::DelegationRevoked,
            StoreError::NetworkExists => Self::NetworkExists,
            StoreError::Conflict => Self::Conflict,
            StoreError::AlreadyRevoked => Self::AlreadyRevoked,
            StoreError::NetworkInactive(state) => match state {
                encnet_core::api::NetworkState::Revoked => Self::NetworkRevoked,
                encnet_core::api::NetworkState::Destroyed => Self::NetworkDestroyed,
                other => Self::InvalidState(other.as_str()),
            },
            other => Self::Internal(Box::new(other)),
        }
    }
}
