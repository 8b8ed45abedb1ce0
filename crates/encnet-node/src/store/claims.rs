//! Deciding a batch of nonce claims, once each backend has read what it
//! needs: pure, so SQLite and PostgreSQL refuse exactly the same claims.
//!
//! A claim is refused if it cites a revoked delegation, or names a network
//! that is no longer active; otherwise it is tried (the first occurrence of
//! each `(issuer, nonce)` in the batch), and it is consumed if the backend
//! found its nonce free, a replay if not.

use std::collections::{BTreeSet, HashMap, HashSet};

use encnet_core::api::NetworkState;

use super::error::StoreError;
use super::records::NonceClaim;

/// What became of one nonce claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClaimOutcome {
    Consumed,
    /// An unexpired invocation holds the nonce.
    Replay,
    /// The invocation cites a revoked delegation.
    Revoked,
    /// The decision's network is no longer active.
    Inactive(NetworkState),
}

impl ClaimOutcome {
    pub(super) fn into_result(self) -> Result<(), StoreError> {
        match self {
            Self::Consumed => Ok(()),
            Self::Replay => Err(StoreError::Replay),
            Self::Revoked => Err(StoreError::Revoked),
            Self::Inactive(state) => Err(StoreError::NetworkInactive(state)),
        }
    }
}

/// An `(issuer, nonce)` pair.
pub(super) type NonceKey = (String, Vec<u8>);

/// The delegations `claims` cite, each once, in order.
pub(super) fn cited<'a>(claims: &[&'a NonceClaim]) -> Vec<&'a str> {
    let cited: BTreeSet<&str> = claims
        .iter()
        .flat_map(|claim| claim.cited.iter().map(String::as_str))
        .collect();
    cited.into_iter().collect()
}

/// The networks `claims` need active, each once, in order.
pub(super) fn named_networks<'a>(claims: &[&'a NonceClaim]) -> Vec<&'a str> {
    let named: BTreeSet<&str> = claims.iter().filter_map(|c| c.network.as_deref()).collect();
    named.into_iter().collect()
}

/// A batch's claims with the refusals decided from what was read.
pub(super) struct ClaimPlan<'a> {
    claims: Vec<&'a NonceClaim>,
    refusals: Vec<Option<ClaimOutcome>>,
}

impl<'a> ClaimPlan<'a> {
    /// Decides which claims are refused outright: `revoked` holds the cited
    /// delegations that are revoked, `inactive` the named networks that are
    /// not active.
    pub(super) fn new(
        claims: &[&'a NonceClaim],
        revoked: &HashSet<String>,
        inactive: &HashMap<String, NetworkState>,
    ) -> Self {
        let refusals = claims
            .iter()
            .map(|claim| {
                if claim.cited.iter().any(|c| revoked.contains(c)) {
                    return Some(ClaimOutcome::Revoked);
                }
                let network = claim.network.as_ref()?;
                inactive.get(network).map(|s| ClaimOutcome::Inactive(*s))
            })
            .collect();
        Self {
            claims: claims.to_vec(),
            refusals,
        }
    }

    /// The claims whose nonces the backend must try: not refused, and the
    /// first of their `(issuer, nonce)` in the batch.
    pub(super) fn to_try(&self) -> Vec<&'a NonceClaim> {
        let mut first = HashSet::new();
        self.claims
            .iter()
            .zip(&self.refusals)
            .filter(|(_, refusal)| refusal.is_none())
            .map(|(claim, _)| *claim)
            .filter(|c| first.insert((c.issuer.as_str(), c.nonce.as_slice())))
            .collect()
    }

    /// Each claim's outcome, given the nonces the backend consumed.
    pub(super) fn outcomes(self, mut consumed: HashSet<NonceKey>) -> Vec<ClaimOutcome> {
        self.claims
            .iter()
            .zip(self.refusals)
            .map(|(claim, refusal)| match refusal {
                Some(outcome) => outcome,
                None if consumed.remove(&(claim.issuer.clone(), claim.nonce.clone())) => {
                    ClaimOutcome::Consumed
                }
                None => ClaimOutcome::Replay,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(nonce: u8, cited: &[&str], network: Option<&str>) -> NonceClaim {
        NonceClaim {
            issuer: "did:key:a".to_owned(),
            nonce: vec![nonce; 16],
            expires_at: 100,
            cited: cited.iter().map(|c| (*c).to_owned()).collect(),
            network: network.map(str::to_owned),
        }
    }

    #[test]
    fn refusals_come_first_and_a_repeated_nonce_loses_to_its_first() {
        let claims = [
            claim(1, &["bafy-revoked"], None),
            claim(2, &[], Some("net-revoked")),
            claim(3, &[], None),
            claim(3, &[], None),
            claim(4, &[], None),
        ];
        let refs: Vec<&NonceClaim> = claims.iter().collect();
        let revoked = HashSet::from(["bafy-revoked".to_owned()]);
        let inactive = HashMap::from([("net-revoked".to_owned(), NetworkState::Revoked)]);
        let plan = ClaimPlan::new(&refs, &revoked, &inactive);
        let tried: Vec<u8> = plan.to_try().iter().map(|c| c.nonce[0]).collect();
        assert_eq!(tried, [3, 4]);
        // The backend found nonce 3 free and nonce 4 held.
        let consumed = HashSet::from([("did:key:a".to_owned(), vec![3; 16])]);
        assert_eq!(
            plan.outcomes(consumed),
            [
                ClaimOutcome::Revoked,
                ClaimOutcome::Inactive(NetworkState::Revoked),
                ClaimOutcome::Consumed,
                ClaimOutcome::Replay,
                ClaimOutcome::Replay,
            ]
        );
    }

    #[test]
    fn cited_and_named_are_listed_once_in_order() {
        let claims = [
            claim(1, &["b", "a"], Some("n2")),
            claim(2, &["a"], Some("n1")),
        ];
        let refs: Vec<&NonceClaim> = claims.iter().collect();
        assert_eq!(cited(&refs), ["a", "b"]);
        assert_eq!(named_networks(&refs), ["n1", "n2"]);
    }
}
