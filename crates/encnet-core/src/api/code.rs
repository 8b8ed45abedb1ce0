//! The stable `code` of every refusal: in problem+json bodies, in
//! `denied:<code>` audit outcomes, and in the SDK's and CLI's errors. Written
//! once here so node, client and CLI cannot drift apart.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares the codes and their wire names in one table.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal,)*) => {
        /// A problem's stable machine-readable code (snake_case on the
        /// wire). Codes a newer node sends and this version does not know
        /// read as [`ErrorCode::Other`], so an SDK never fails on them.
        #[non_exhaustive]
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// A code this version does not know.
            Other(String),
        }

        impl ErrorCode {
            /// Every code this version knows, in declaration order.
            pub const KNOWN: &'static [Self] = &[$(Self::$variant,)*];

            /// The wire name.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Other(code) => code,
                }
            }

            /// The code a wire name names; unknown names are `Other`.
            pub fn from_wire(code: &str) -> Self {
                match code {
                    $($wire => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    /// No `Authorization` header.
    MissingAuthorization = "missing_authorization",
    /// The `Authorization` header is over its limit.
    HeaderTooLarge = "header_too_large",
    /// The request body is over its limit.
    BodyTooLarge = "body_too_large",
    /// The body did not arrive in time.
    BodyTimeout = "body_timeout",
    /// Too many requests in flight; retry after `Retry-After`.
    Overloaded = "overloaded",
    /// The request passed its deadline.
    Timeout = "timeout",
    /// No such route.
    NotFound = "not_found",
    /// The route exists, not with this method.
    MethodNotAllowed = "method_not_allowed",
    /// The container holds more tokens than allowed.
    TooManyTokens = "too_many_tokens",
    /// The delegation chain is longer than allowed.
    ChainTooLong = "chain_too_long",
    /// The container does not decode.
    MalformedContainer = "malformed_container",
    /// A token does not decode.
    MalformedToken = "malformed_token",
    /// A signature does not verify.
    InvalidSignature = "invalid_signature",
    /// A signature algorithm the node does not support.
    UnsupportedAlgorithm = "unsupported_algorithm",
    /// The invocation is addressed to another executor.
    AudienceMismatch = "audience_mismatch",
    /// The invocation's command is not the route's.
    CommandMismatch = "command_mismatch",
    /// The invocation's subject is not the network owner.
    SubjectMismatch = "subject_mismatch",
    /// The args name another network than the path.
    NetworkMismatch = "network_mismatch",
    /// A missing or mistyped argument, or another malformed request.
    BadRequest = "bad_request",
    /// The delegations do not link up.
    BrokenChain = "broken_chain",
    /// A proof named in `prf` is not in the container.
    UnavailableProof = "unavailable_proof",
    /// A token has expired.
    Expired = "expired",
    /// A token is not valid yet.
    NotYetValid = "not_yet_valid",
    /// A delegation widens its parent's command.
    CommandWidened = "command_widened",
    /// A delegation's policy does not hold on the args.
    PolicyDenied = "policy_denied",
    /// A delegation of the chain was revoked.
    DelegationRevoked = "delegation_revoked",
    /// The invocation lives longer than the node allows.
    TtlExceeded = "ttl_exceeded",
    /// The invocation was already used.
    Replay = "replay",
    /// No such network.
    NetworkNotFound = "network_not_found",
    /// The network already exists.
    NetworkExists = "network_exists",
    /// The network is revoked.
    NetworkRevoked = "network_revoked",
    /// The network is destroyed.
    NetworkDestroyed = "network_destroyed",
    /// The network's state does not allow the command.
    InvalidState = "invalid_state",
    /// `alg` is not the network's suite.
    AlgMismatch = "alg_mismatch",
    /// No such key version.
    UnknownKeyVersion = "unknown_key_version",
    /// The key version is retired.
    KeyVersionRetired = "key_version_retired",
    /// `keyHash` is not the hash of `wrappedKey`.
    HashMismatch = "hash_mismatch",
    /// A key of low order.
    LowOrderPoint = "low_order_point",
    /// A malformed key.
    BadKey = "bad_key",
    /// The wrapped key does not open.
    UnwrapFailed = "unwrap_failed",
    /// The revoker may not revoke this delegation.
    NotRevoker = "not_revoker",
    /// The delegation is already revoked.
    AlreadyRevoked = "already_revoked",
    /// Only the network owner may do this.
    OwnerOnly = "owner_only",
    /// An owner attestation does not verify.
    InvalidAttestation = "invalid_attestation",
    /// A request over a complexity bound (policy steps, decoded size).
    TooComplex = "too_complex",
    /// Checking the request took too long.
    CheckTimeout = "check_timeout",
    /// The store does not support the operation.
    UnsupportedBackend = "unsupported_backend",
    /// A concurrent change won; retry.
    Conflict = "conflict",
    /// The node failed; details are in its log only.
    Internal = "internal",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::from_wire(s))
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::from_wire(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_round_trips_and_is_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::KNOWN {
            let wire = code.as_str();
            assert!(seen.insert(wire), "{wire} listed twice");
            assert!(wire.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert_eq!(&ErrorCode::from_wire(wire), code);
            let json = serde_json::to_string(code).expect("serialises");
            assert_eq!(json, format!("\"{wire}\""));
            assert_eq!(
                &serde_json::from_str::<ErrorCode>(&json).expect("parses"),
                code
            );
        }
    }

    #[test]
    fn an_unknown_code_is_kept_not_refused() {
        let code: ErrorCode = serde_json::from_str("\"from_the_future\"").expect("parses");
        assert_eq!(code, ErrorCode::Other("from_the_future".to_owned()));
        assert_eq!(code.as_str(), "from_the_future");
    }
}
