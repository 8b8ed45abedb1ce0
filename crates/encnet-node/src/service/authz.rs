//! Capability check shared by every UCAN-gated route (DESIGN §4.6 order):
//! container and signatures; `aud`; `cmd`; `sub` against the network; proof
//! chain; `exp` within the TTL; nonce unused. The caller consumes the nonce
//! when it records its decision.

use std::collections::HashSet;

use encnet_core::network_id::NetworkId;
use encnet_ucan::{
    chain, Cid, Container, DelegationCache, Did, Invocation, Ipld, Signed, UcanError,
};

use super::ServiceError;
use crate::store::{AuditDraft, Store};

/// Limits on untrusted input (issue 4, item 7).
pub(crate) const MAX_AUTHORIZATION_BYTES: usize = 32 * 1024;
/// Tokens per container.
pub(crate) const MAX_TOKENS: usize = 16;
/// Delegations per chain.
pub(crate) const MAX_CHAIN: usize = 8;
/// Verified delegations kept in memory (a delegation's bytes never change).
const DELEGATION_CACHE: usize = 4096;
/// Shortest nonce accepted (UCAN.md decision 9).
const MIN_NONCE_BYTES: usize = 12;

/// What a route expects of the invocation.
pub(crate) struct Expectation<'a> {
    /// The route's command.
    pub(crate) command: &'static str,
    /// The network named in the path, if the route has one.
    pub(crate) network: Option<&'a str>,
}

/// An invocation that passed every capability check.
pub(crate) struct Authorized {
    pub(crate) invocation: Signed<Invocation>,
    /// Binary CID of the invocation.
    pub(crate) cid_bytes: Vec<u8>,
    /// The container's tokens other than the invocation, by CID.
    pub(crate) proofs: chain::ProofStore,
    /// The CIDs (text) of the delegations the invocation cites, checked
    /// again for revocation when its decision commits.
    pub(crate) cited: Vec<String>,
}

impl Authorized {
    pub(crate) fn issuer(&self) -> &Did {
        &self.invocation.payload.iss
    }

    pub(crate) fn args(&self) -> &std::collections::BTreeMap<String, Ipld> {
        &self.invocation.payload.args
    }

    pub(crate) fn exp(&self) -> i64 {
        self.invocation.payload.exp.unwrap_or_default()
    }
}

/// The capability checker of one node.
pub(crate) struct Authorizer {
    node_did: Did,
    max_ttl_secs: i64,
    delegations: DelegationCache,
}

impl Authorizer {
    pub(crate) fn new(node_did: Did, max_ttl_secs: i64) -> Self {
        Self {
            node_did,
            max_ttl_secs,
            delegations: DelegationCache::new(DELEGATION_CACHE),
        }
    }

    /// Runs every check; fills `audit` with what it learns on the way, so a
    /// denial is recorded with as much of the requester as could be read.
    pub(crate) async fn authorize(
        &self,
        store: &Store,
        bearer: Option<&str>,
        expect: &Expectation<'_>,
        now: i64,
        audit: &mut AuditDraft,
    ) -> Result<Authorized, ServiceError> {
        let container = decode_container(bearer)?;
        let (invocation, proofs) = split_container(container)?;
        audit.requester = invocation.payload.iss.to_string();
        audit.invocation_cid = invocation.cid.to_string();
        audit.command = invocation.payload.cmd.to_string();

        if invocation
            .payload
            .aud
            .as_ref()
            .unwrap_or(&invocation.payload.sub)
            != &self.node_did
        {
            return Err(ServiceError::AudienceMismatch);
        }
        if invocation.payload.cmd.as_str() != expect.command {
            return Err(ServiceError::CommandMismatch(
                invocation.payload.cmd.to_string(),
            ));
        }
        let network = check_network(&invocation, expect.network)?;
        if let Some(network) = &network {
            audit.network = network.to_string();
        }
        if invocation.payload.prf.len() > MAX_CHAIN {
            return Err(ServiceError::ChainTooLong(MAX_CHAIN));
        }
        let cited: Vec<String> = invocation.payload.prf.iter().map(Cid::to_string).collect();
        let stored = store.freshness(
            invocation.payload.iss.as_str(),
            &invocation.payload.nonce,
            now,
            &cited,
        );
        self.check_chain(&invocation, &proofs, now, &stored.revoked)?;
        self.check_lifetime(&invocation, now)?;
        check_nonce(&invocation, stored.nonce_used)?;

        let cid_bytes = invocation.cid.to_bytes();
        Ok(Authorized {
            invocation,
            cid_bytes,
            proofs,
            cited,
        })
    }

    fn check_chain(
        &self,
        invocation: &Signed<Invocation>,
        proofs: &chain::ProofStore,
        now: i64,
        revoked: &HashSet<String>,
    ) -> Result<(), ServiceError> {
        let revoked: HashSet<Cid> = revoked
            .iter()
            .filter_map(|text| Cid::try_from(text.as_str()).ok())
            .collect();
        chain::validate_proofs_cached(invocation, proofs, now, &revoked, &self.delegations)
            .map(|_| ())
            .map_err(chain_error)
    }

    fn check_lifetime(
        &self,
        invocation: &Signed<Invocation>,
        now: i64,
    ) -> Result<(), ServiceError> {
        match invocation.payload.exp {
            None => Err(ServiceError::TtlExceeded(self.max_ttl_secs)),
            Some(exp) if exp < now => Err(ServiceError::Expired),
            Some(exp) if exp > now.saturating_add(self.max_ttl_secs) => {
                Err(ServiceError::TtlExceeded(self.max_ttl_secs))
            }
            Some(_) => Ok(()),
        }
    }
}

fn decode_container(bearer: Option<&str>) -> Result<Container, ServiceError> {
    let header = bearer.ok_or(ServiceError::MissingAuthorization)?;
    if header.len() > MAX_AUTHORIZATION_BYTES {
        return Err(ServiceError::HeaderTooLarge(MAX_AUTHORIZATION_BYTES));
    }
    Container::from_header(header, MAX_TOKENS).map_err(|err| match err {
        UcanError::TooManyTokens { .. } => ServiceError::TooManyTokens(MAX_TOKENS),
        other => ServiceError::MalformedContainer(other.to_string()),
    })
}

/// Decodes every token; exactly one must be an invocation.
fn split_container(
    container: Container,
) -> Result<(Signed<Invocation>, chain::ProofStore), ServiceError> {
    container.into_invocation().map_err(|err| match err {
        UcanError::InvalidContainer(msg) => ServiceError::MalformedContainer(msg),
        other => token_error(other),
    })
}

/// `sub` is the owner embedded in `args.network`, which equals the path.
fn check_network(
    invocation: &Signed<Invocation>,
    path: Option<&str>,
) -> Result<Option<NetworkId>, ServiceError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let arg = match invocation.payload.args.get("network") {
        Some(Ipld::String(text)) => text,
        _ => {
            return Err(ServiceError::BadRequest(
                "args.network must be a string".into(),
            ))
        }
    };
    let network: NetworkId = arg
        .parse()
        .map_err(|err| ServiceError::BadRequest(format!("args.network: {err}")))?;
    if network.owner_did() != invocation.payload.sub.as_str() {
        return Err(ServiceError::SubjectMismatch);
    }
    if arg != path {
        return Err(ServiceError::NetworkMismatch);
    }
    Ok(Some(network))
}

fn check_nonce(invocation: &Signed<Invocation>, used: bool) -> Result<(), ServiceError> {
    let nonce = &invocation.payload.nonce;
    if nonce.len() < MIN_NONCE_BYTES {
        return Err(ServiceError::BadRequest(format!(
            "nonce shorter than {MIN_NONCE_BYTES} bytes"
        )));
    }
    if used {
        return Err(ServiceError::Replay);
    }
    Ok(())
}

/// Maps a token decoding error.
fn token_error(err: UcanError) -> ServiceError {
    match err {
        UcanError::InvalidSignature => ServiceError::InvalidSignature,
        UcanError::UnsupportedAlgorithm(..) => ServiceError::UnsupportedAlgorithm,
        other => ServiceError::MalformedToken(other.to_string()),
    }
}

/// Maps a chain validation error to the node's codes.
fn chain_error(err: UcanError) -> ServiceError {
    match err {
        UcanError::InvalidSignature => ServiceError::InvalidSignature,
        UcanError::UnavailableProof(_) => ServiceError::UnavailableProof,
        UcanError::Expired => ServiceError::Expired,
        UcanError::TooEarly => ServiceError::NotYetValid,
        UcanError::InvalidSubject => ServiceError::SubjectMismatch,
        UcanError::CommandMismatch => ServiceError::CommandWidened,
        UcanError::MatchError => ServiceError::PolicyDenied,
        UcanError::Revoked(_) => ServiceError::DelegationRevoked,
        UcanError::InvalidClaim(_) | UcanError::InvalidAudience => {
            ServiceError::BrokenChain(err.to_string())
        }
        other => token_error(other),
    }
}
