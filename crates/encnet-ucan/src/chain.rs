//! Chain validation, in the order of UCAN.md §3.

use std::collections::HashMap;
use std::sync::Mutex;

use cid::Cid;

use crate::delegation::Delegation;
use crate::did::Did;
use crate::envelope::Signed;
use crate::error::UcanError;
use crate::invocation::Invocation;
use crate::policy::EvalBudget;
use crate::revocation::RevocationLookup;
use crate::time;

/// Delegation bytes by CID. The store hashes what it is given, so a proof
/// found under a CID always has that CID.
#[derive(Debug, Clone, Default)]
pub struct ProofStore {
    tokens: HashMap<Cid, Vec<u8>>,
}

impl ProofStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `tokens`.
    pub fn from_tokens<I: IntoIterator<Item = Vec<u8>>>(tokens: I) -> Self {
        let mut store = Self::new();
        for token in tokens {
            store.insert(token);
        }
        store
    }

    /// Adds a token's bytes and returns its CID.
    pub fn insert(&mut self, bytes: Vec<u8>) -> Cid {
        let cid = crate::cbor::cid_of(&bytes);
        self.insert_hashed(cid, bytes);
        cid
    }

    /// Stores `bytes` under `cid`, which the caller computed from them.
    pub(crate) fn insert_hashed(&mut self, cid: Cid, bytes: Vec<u8>) {
        self.tokens.insert(cid, bytes);
    }

    /// The bytes stored under `cid`.
    pub fn get(&self, cid: &Cid) -> Option<&[u8]> {
        self.tokens.get(cid).map(Vec::as_slice)
    }

    /// How many tokens the store holds.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// Delegations whose signature already verified, by CID. A CID is the hash
/// of the exact bytes, so a delegation found here verified as those bytes;
/// its time window and revocation are still checked on every use. Bounded:
/// when full it is emptied, which costs only re-verification.
#[derive(Debug)]
pub struct DelegationCache {
    capacity: usize,
    verified: Mutex<HashMap<Cid, Signed<Delegation>>>,
}

impl DelegationCache {
    /// A cache of at most `capacity` delegations.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the delegation with this CID has verified before, so using
    /// it again costs no signature check.
    pub fn contains(&self, cid: &Cid) -> bool {
        self.verified.lock().is_ok_and(|map| map.contains_key(cid))
    }

    /// Decodes and verifies `bytes` (known to hash to `cid`), or returns the
    /// delegation verified earlier under `cid`.
    fn decode(&self, cid: &Cid, bytes: &[u8]) -> Result<Signed<Delegation>, UcanError> {
        if let Some(hit) = self.verified.lock().ok().and_then(|m| m.get(cid).cloned()) {
            return Ok(hit);
        }
        let delegation = Signed::<Delegation>::from_bytes(bytes)?;
        if self.capacity == 0 {
            return Ok(delegation);
        }
        if let Ok(mut map) = self.verified.lock() {
            if map.len() >= self.capacity {
                map.clear();
            }
            map.insert(*cid, delegation.clone());
        }
        Ok(delegation)
    }
}

/// The order `prf` was given in (UCAN decision 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofOrder {
    /// Root first: the spec fixtures, iso-ucan, rs-ucan and encnet.
    RootFirst,
    /// Leaf first: go-ucan.
    LeafFirst,
}

/// A chain that validated: its delegations root first.
#[derive(Debug, Clone)]
pub struct ValidatedChain {
    delegations: Vec<Signed<Delegation>>,
    order: ProofOrder,
}

impl ValidatedChain {
    /// The delegations, root first (empty for a self-issued invocation).
    pub fn delegations(&self) -> &[Signed<Delegation>] {
        &self.delegations
    }

    /// The delegations' CIDs, root first.
    pub fn cids(&self) -> Vec<Cid> {
        self.delegations.iter().map(|d| d.cid).collect()
    }

    /// The order `prf` was given in.
    pub fn order(&self) -> ProofOrder {
        self.order
    }
}

/// The whole §3 algorithm for an invocation already decoded and verified
/// (step 1): its `exp` (step 2), [`validate_proofs`] (steps 3–9), then that
/// it is addressed to `executor` (step 10).
pub fn validate(
    inv: &Signed<Invocation>,
    proofs: &ProofStore,
    now: i64,
    executor: &Did,
    revocations: &dyn RevocationLookup,
) -> Result<ValidatedChain, UcanError> {
    time::check_exp(inv.payload.exp, now)?;
    let chain = validate_proofs(inv, proofs, now, revocations)?;
    if !inv.payload.executor().same_principal(executor) {
        return Err(UcanError::InvalidAudience);
    }
    Ok(chain)
}

/// [`validate`] from the invocation's bytes.
pub fn validate_bytes(
    inv: &[u8],
    proofs: &ProofStore,
    now: i64,
    executor: &Did,
    revocations: &dyn RevocationLookup,
) -> Result<(Signed<Invocation>, ValidatedChain), UcanError> {
    let inv = Signed::<Invocation>::from_bytes(inv)?;
    let chain = validate(&inv, proofs, now, executor, revocations)?;
    Ok((inv, chain))
}

/// Steps 3–9 of UCAN.md §3: the proofs of `inv` establish its authority at
/// `now`. It checks neither the invocation's own `exp` nor its audience, so
/// the node can order those checks itself (DESIGN §4.6).
pub fn validate_proofs(
    inv: &Signed<Invocation>,
    proofs: &ProofStore,
    now: i64,
    revocations: &dyn RevocationLookup,
) -> Result<ValidatedChain, UcanError> {
    validate_proofs_cached(inv, proofs, now, revocations, &DelegationCache::new(0))
}

/// [`validate_proofs`], reusing signature verifications from `cache`. The
/// chain's policies share one [`EvalBudget`] of [`EVAL_BUDGET`] steps.
///
/// [`EVAL_BUDGET`]: crate::policy::EVAL_BUDGET
pub fn validate_proofs_cached(
    inv: &Signed<Invocation>,
    proofs: &ProofStore,
    now: i64,
    revocations: &dyn RevocationLookup,
    cache: &DelegationCache,
) -> Result<ValidatedChain, UcanError> {
    let budget = &mut EvalBudget::default();
    validate_proofs_within(inv, proofs, now, revocations, cache, budget)
}

/// [`validate_proofs_cached`], evaluating every policy of the chain from
/// the one `budget` ([`UcanError::PolicyBudgetExceeded`] when it runs out).
pub fn validate_proofs_within(
    inv: &Signed<Invocation>,
    proofs: &ProofStore,
    now: i64,
    revocations: &dyn RevocationLookup,
    cache: &DelegationCache,
    budget: &mut EvalBudget,
) -> Result<ValidatedChain, UcanError> {
    let inv = &inv.payload;
    // Step 3: without proofs only the subject itself may invoke.
    if inv.prf.is_empty() {
        if inv.iss.same_principal(&inv.sub) {
            return Ok(ValidatedChain {
                delegations: Vec::new(),
                order: ProofOrder::RootFirst,
            });
        }
        return Err(UcanError::InvalidClaim(
            "no proofs and the issuer is not the subject",
        ));
    }
    // Step 4: every proof resolves, verifies, is in its time window and is
    // not revoked.
    let mut delegations = Vec::with_capacity(inv.prf.len());
    for cid in &inv.prf {
        let bytes = proofs.get(cid).ok_or(UcanError::UnavailableProof(*cid))?;
        let delegation = cache.decode(cid, bytes)?;
        if delegation.cid != *cid {
            return Err(UcanError::UnavailableProof(*cid));
        }
        time::check_nbf(delegation.payload.nbf, now)?;
        time::check_exp(delegation.payload.exp, now)?;
        if revocations.is_revoked(cid) {
            return Err(UcanError::Revoked(*cid));
        }
        delegations.push(delegation);
    }
    // Decision 4: the root is at the front (root first) or the back.
    let order = match (delegations.first(), delegations.last()) {
        (Some(first), _) if first.payload.is_root() => ProofOrder::RootFirst,
        (_, Some(last)) if last.payload.is_root() => ProofOrder::LeafFirst,
        _ => {
            return Err(UcanError::InvalidClaim(
                "no root delegation at either end of prf",
            ))
        }
    };
    if order == ProofOrder::LeafFirst {
        delegations.reverse();
    }
    check_chain(inv, &delegations, budget)?;
    Ok(ValidatedChain { delegations, order })
}

/// Steps 5–9 over delegations in root-first order.
fn check_chain(
    inv: &Invocation,
    chain: &[Signed<Delegation>],
    budget: &mut EvalBudget,
) -> Result<(), UcanError> {
    let Some(root) = chain.first() else {
        return Err(UcanError::InvalidClaim("empty chain"));
    };
    // Step 5: the root is self-issued (so never powerline), for inv.sub.
    if !root.payload.is_root() {
        return Err(UcanError::InvalidClaim("the root is not self-issued"));
    }
    if !root.payload.iss.same_principal(&inv.sub) {
        return Err(UcanError::InvalidSubject);
    }
    // Step 6: each audience is the next issuer; the last is the invoker.
    let issuers = chain
        .iter()
        .skip(1)
        .map(|d| &d.payload.iss)
        .chain([&inv.iss]);
    if !chain
        .iter()
        .zip(issuers)
        .all(|(d, next)| d.payload.aud.same_principal(next))
    {
        return Err(UcanError::InvalidAudience);
    }
    // Step 7: every subject is the invocation's, or null (powerline).
    if !chain.iter().all(|d| {
        d.payload
            .sub
            .as_ref()
            .is_none_or(|s| s.same_principal(&inv.sub))
    }) {
        return Err(UcanError::InvalidSubject);
    }
    // Step 8 (decision 8): commands narrow segment-wise along the chain.
    let commands = chain
        .iter()
        .skip(1)
        .map(|d| &d.payload.cmd)
        .chain([&inv.cmd]);
    if !chain
        .iter()
        .zip(commands)
        .all(|(d, next)| d.payload.cmd.is_prefix_of(next))
    {
        return Err(UcanError::CommandMismatch);
    }
    // Step 9: every policy holds on the arguments, all from one budget.
    let args = inv.args_ipld();
    for delegation in chain {
        if !delegation.payload.pol.eval_within(&args, budget)? {
            return Err(UcanError::MatchError);
        }
    }
    Ok(())
}
