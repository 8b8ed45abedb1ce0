//! Capability check shared by every UCAN-gated route (DESIGN §4.6 order):
//! container and signatures; `aud`; `cmd`; `sub` against the network; proof
//! chain; `exp` within the TTL; nonce unused. The caller consumes the nonce
//! when it records its decision.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use encnet_core::network_id::NetworkId;
use encnet_ucan::{
    chain, Cid, Container, ContainerLimits, DelegationCache, Did, EvalBudget, Invocation, Ipld,
    Signed, UcanError,
};

use super::crypto_pool::CryptoPool;
use super::{revocation, ServiceError};
use crate::store::{AuditDraft, Store};

/// Limits on untrusted input (issue 4, item 7).
pub(crate) const MAX_AUTHORIZATION_BYTES: usize = 32 * 1024;
/// Tokens per container.
pub(crate) const MAX_TOKENS: usize = 16;
/// A container's size once base64 and gzip are undone: twice the header
/// limit, so a compressed header cannot make the node hold much more than a
/// plain one (a gzip bomb stops here).
const MAX_DECODED_CONTAINER_BYTES: usize = 2 * MAX_AUTHORIZATION_BYTES;
/// Delegations per chain.
pub(crate) const MAX_CHAIN: usize = 8;
/// Verified delegations kept in memory (a delegation's bytes never change).
const DELEGATION_CACHE: usize = 4096;
/// Shortest nonce accepted (UCAN.md decision 9).
const MIN_NONCE_BYTES: usize = 12;
/// Longest nonce accepted (UCAN.md decision 9): refused before anything is stored.
const MAX_NONCE_BYTES: usize = 64;
/// Longest a proof chain's validation may take before the request is
/// refused (`check_timeout`).
const CHECK_DEADLINE: Duration = Duration::from_secs(2);
/// Policy evaluation steps a chain may take on an async worker before it is
/// sent to the crypto pool instead (a few µs; the full budget is 100 000).
const INLINE_BUDGET: u64 = 1_000;
/// Clock skew allowed between a client and the node (DESIGN §4.6), as for `nbf`.
const CLOCK_SKEW_SECS: i64 = 30;

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
    /// The revocation keys of the delegations the invocation cites
    /// (`revocation::cited_keys`), checked again when its decision commits.
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
    delegations: Arc<DelegationCache>,
    pool: CryptoPool,
}

impl Authorizer {
    pub(crate) fn new(node_did: Did, max_ttl_secs: i64, pool: CryptoPool) -> Self {
        Self {
            node_did,
            max_ttl_secs,
            delegations: Arc::new(DelegationCache::new(DELEGATION_CACHE)),
            pool,
        }
    }

    /// Runs every check. Once the invocation's signature verifies, `audit`
    /// is filled with what is known of the requester, so a denial is
    /// recorded; before that it stays `None` and nothing will be written.
    pub(crate) async fn authorize(
        &self,
        store: &Store,
        bearer: Option<&str>,
        expect: &Expectation<'_>,
        now: i64,
        audit: &mut Option<AuditDraft>,
    ) -> Result<Authorized, ServiceError> {
        let container = decode_container(bearer)?;
        let (invocation, proofs) = split_container(container, &self.delegations)?;
        let draft = audit.insert(AuditDraft {
            network: expect
                .network
                .filter(|path| path.parse::<NetworkId>().is_ok())
                .unwrap_or_default()
                .to_owned(),
            requester: invocation.payload.iss.to_string(),
            command: expect.command.to_owned(),
            invocation_cid: invocation.cid.to_string(),
            outcome: String::new(),
        });
        self.check_addressing(&invocation, expect)?;
        let network = check_network(&invocation, expect.network)?;
        if let Some(network) = &network {
            draft.network = network.to_string();
        }
        check_nonce_length(&invocation)?;
        if invocation.payload.prf.len() > MAX_CHAIN {
            return Err(ServiceError::ChainTooLong(MAX_CHAIN));
        }
        let sub = invocation.payload.sub.clone();
        let cited = revocation::cited_keys(&invocation.payload.prf, &sub);
        let stored = store.freshness(
            invocation.payload.iss.as_str(),
            &invocation.payload.nonce,
            now,
            &cited,
        );
        let revoked = revocation::revoked_cids(&invocation.payload.prf, &sub, &stored.revoked);
        let (invocation, proofs) = self.check_chain(invocation, proofs, now, revoked).await?;
        self.check_lifetime(&invocation, now)?;
        if stored.nonce_used {
            return Err(ServiceError::Replay);
        }
        let cid_bytes = invocation.cid.to_bytes();
        Ok(Authorized {
            invocation,
            cid_bytes,
            proofs,
            cited,
        })
    }

    /// `aud` is this node and `cmd` the route's.
    fn check_addressing(
        &self,
        invocation: &Signed<Invocation>,
        expect: &Expectation<'_>,
    ) -> Result<(), ServiceError> {
        let payload = &invocation.payload;
        if payload.aud.as_ref().unwrap_or(&payload.sub) != &self.node_did {
            return Err(ServiceError::AudienceMismatch);
        }
        if payload.cmd.as_str() != expect.command {
            return Err(ServiceError::CommandMismatch(payload.cmd.to_string()));
        }
        Ok(())
    }

    /// The proof chain. A self-issued invocation has none to walk, and a
    /// chain of already verified delegations within [`INLINE_BUDGET`] is
    /// cheap; any other is validated off the async workers, on the crypto
    /// pool within [`CHECK_DEADLINE`] (its policies are bounded by the UCAN
    /// crate's evaluation budget, so an abandoned check ends soon after).
    async fn check_chain(
        &self,
        invocation: Signed<Invocation>,
        proofs: chain::ProofStore,
        now: i64,
        revoked: HashSet<Cid>,
    ) -> Result<(Signed<Invocation>, chain::ProofStore), ServiceError> {
        if invocation.payload.prf.is_empty() {
            chain::validate_proofs(&invocation, &proofs, now, &revoked).map_err(chain_error)?;
            return Ok((invocation, proofs));
        }
        // A chain of delegations verified before, whose policies fit a small
        // budget, is checked where it is (a few µs: no hand-off); any other
        // goes to the pool with the full budget.
        if invocation
            .payload
            .prf
            .iter()
            .all(|cid| self.delegations.contains(cid))
        {
            let mut budget = EvalBudget::new(INLINE_BUDGET);
            match chain::validate_proofs_within(
                &invocation,
                &proofs,
                now,
                &revoked,
                &self.delegations,
                &mut budget,
            ) {
                Err(UcanError::PolicyBudgetExceeded { .. }) => {}
                checked => {
                    checked.map_err(chain_error)?;
                    return Ok((invocation, proofs));
                }
            }
        }
        let cache = Arc::clone(&self.delegations);
        let job = self.pool.run(move || {
            let checked =
                chain::validate_proofs_cached(&invocation, &proofs, now, &revoked, &cache);
            (invocation, proofs, checked.map(drop))
        });
        let (invocation, proofs, checked) = tokio::time::timeout(CHECK_DEADLINE, job)
            .await
            .map_err(|_| ServiceError::CheckTimeout)??;
        checked.map_err(chain_error)?;
        Ok((invocation, proofs))
    }

    fn check_lifetime(
        &self,
        invocation: &Signed<Invocation>,
        now: i64,
    ) -> Result<(), ServiceError> {
        match invocation.payload.exp {
            None => Err(ServiceError::TtlExceeded(self.max_ttl_secs)),
            Some(exp) if exp < now => Err(ServiceError::Expired),
            Some(exp) if exp > now.saturating_add(self.max_ttl_secs + CLOCK_SKEW_SECS) => {
                Err(ServiceError::TtlExceeded(self.max_ttl_secs))
            }
            Some(_) => Ok(()),
        }
    }
}

pub(crate) fn decode_container(bearer: Option<&str>) -> Result<Container, ServiceError> {
    let header = bearer.ok_or(ServiceError::MissingAuthorization)?;
    if header.len() > MAX_AUTHORIZATION_BYTES {
        return Err(ServiceError::HeaderTooLarge(MAX_AUTHORIZATION_BYTES));
    }
    let limits = ContainerLimits {
        max_tokens: MAX_TOKENS,
        max_decoded_bytes: MAX_DECODED_CONTAINER_BYTES,
    };
    Container::from_header_limited(header, limits).map_err(|err| match err {
        UcanError::TooManyTokens { .. } => ServiceError::TooManyTokens(MAX_TOKENS),
        UcanError::ContainerTooLarge { .. } => ServiceError::TooComplex(err.to_string()),
        other => ServiceError::MalformedContainer(other.to_string()),
    })
}

/// Decodes every token once (none that `known` verified before); exactly
/// one must be an invocation.
pub(crate) fn split_container(
    container: Container,
    known: &DelegationCache,
) -> Result<(Signed<Invocation>, chain::ProofStore), ServiceError> {
    container
        .into_invocation_known(known)
        .map_err(|err| match err {
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

/// The nonce's length, before it is looked up or stored.
fn check_nonce_length(invocation: &Signed<Invocation>) -> Result<(), ServiceError> {
    let len = invocation.payload.nonce.len();
    if (MIN_NONCE_BYTES..=MAX_NONCE_BYTES).contains(&len) {
        Ok(())
    } else {
        Err(ServiceError::BadRequest(format!(
            "nonce must be {MIN_NONCE_BYTES} to {MAX_NONCE_BYTES} bytes"
        )))
    }
}

/// Maps a token decoding error.
fn token_error(err: UcanError) -> ServiceError {
    match err {
        UcanError::InvalidSignature => ServiceError::InvalidSignature,
        UcanError::UnsupportedAlgorithm(..) => ServiceError::UnsupportedAlgorithm,
        UcanError::PolicyTooLarge { .. }
        | UcanError::PolicyTooDeep { .. }
        | UcanError::PolicyBudgetExceeded { .. }
        | UcanError::ArgsTooLarge { .. } => ServiceError::TooComplex(err.to_string()),
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
