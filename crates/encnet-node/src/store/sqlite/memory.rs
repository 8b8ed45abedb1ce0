//! What a sole writer (SQLite: one process owns the file) knows of its own
//! commits, so the capability check reads no row on the hot path.
//!
//! - Revocations: every one is made by this process, so the set loaded at
//!   start-up plus those committed since is exact.
//! - Nonces: every unexpired claim ([`NonceSet`]). The writer decides each
//!   claim against this set when it commits; the capability check reads it
//!   too, so a replay is refused before any cryptography.
//!
//! Both move only when a transaction commits. A commit whose outcome is
//! unknown counts its revocations and claims (failing closed) until the
//! writer re-reads both from the database.

use std::collections::HashSet;
use std::sync::{PoisonError, RwLock};

use super::super::records::{Freshness, NonceClaim};
use super::nonce_set::NonceSet;

/// What a transaction changed that the writer remembers once it commits.
#[derive(Debug, Default)]
pub(super) struct Effects {
    /// Nonces consumed (their claims without `cited`).
    pub(super) claimed: Vec<NonceClaim>,
    /// Delegations revoked (revocation keys).
    pub(super) revoked: Vec<String>,
}

/// The sole writer's memory of its commits.
pub(super) struct Memory {
    revoked: RwLock<HashSet<String>>,
    nonces: NonceSet,
}

impl Memory {
    /// `revoked`: every revocation in the database; `claims`: every
    /// unexpired nonce claim.
    pub(super) fn new(revoked: Vec<String>, claims: NonceSet) -> Self {
        Self {
            revoked: RwLock::new(revoked.into_iter().collect()),
            nonces: claims,
        }
    }

    /// What the capability check needs.
    pub(super) fn freshness(
        &self,
        issuer: &str,
        nonce: &[u8],
        now: i64,
        cids: &[String],
    ) -> Freshness {
        let revoked = self.revoked.read().unwrap_or_else(PoisonError::into_inner);
        Freshness {
            nonce_used: self.holds(issuer, nonce, now),
            revoked: cids
                .iter()
                .filter(|c| revoked.contains(*c))
                .cloned()
                .collect(),
        }
    }

    /// The keys among `cited` that are revoked: exact, since every
    /// revocation is committed by this writer.
    pub(super) fn revoked_among(&self, cited: &[&str]) -> HashSet<String> {
        let revoked = self.revoked.read().unwrap_or_else(PoisonError::into_inner);
        cited
            .iter()
            .filter(|c| revoked.contains(**c))
            .map(|c| (*c).to_owned())
            .collect()
    }

    /// Whether an unexpired, committed claim holds `(issuer, nonce)`.
    pub(super) fn holds(&self, issuer: &str, nonce: &[u8], now: i64) -> bool {
        self.nonces.holds(issuer, nonce, now)
    }

    /// Replaces what is remembered with the database's contents, at
    /// start-up and after a commit whose outcome was unknown.
    pub(super) fn reload(&self, revoked: Vec<String>, claims: NonceSet) {
        self.nonces.replace(claims);
        *self.revoked.write().unwrap_or_else(PoisonError::into_inner) =
            revoked.into_iter().collect();
    }

    /// Records what a transaction changed, once it has committed (or may
    /// have).
    pub(super) fn committed(&self, effects: Effects) {
        if !effects.revoked.is_empty() {
            self.revoked
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(effects.revoked);
        }
        for claim in &effects.claimed {
            self.nonces
                .insert(&claim.issuer, &claim.nonce, claim.expires_at);
        }
    }

    /// How many claims are held.
    pub(super) fn held(&self) -> usize {
        self.nonces.len()
    }

    /// Forgets the claims that expired before `now`; answers how many
    /// claims are still held.
    pub(super) fn drop_expired(&self, now: i64) -> usize {
        self.nonces.drop_expired(now);
        self.nonces.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(nonce: u8, expires_at: i64) -> NonceClaim {
        NonceClaim {
            issuer: "did:key:a".to_owned(),
            nonce: vec![nonce; 16],
            expires_at,
            cited: Vec::new(),
            network: None,
        }
    }

    #[test]
    fn remembers_unexpired_claims_and_revocations() {
        let memory = Memory::new(vec!["bafy-old".to_owned()], NonceSet::default());
        memory.committed(Effects {
            claimed: vec![claim(1, 100), claim(2, 50)],
            revoked: vec!["bafy-new".to_owned()],
        });
        let cids = [
            "bafy-old".to_owned(),
            "bafy-new".to_owned(),
            "bafy-ok".to_owned(),
        ];
        let fresh = memory.freshness("did:key:a", &[1; 16], 60, &cids);
        assert!(fresh.nonce_used);
        assert_eq!(fresh.revoked.len(), 2);
        assert!(!fresh.revoked.contains("bafy-ok"));
        // Expired before `now`: the nonce may be claimed again.
        assert!(!memory.freshness("did:key:a", &[2; 16], 60, &[]).nonce_used);
        assert!(!memory.freshness("did:key:b", &[1; 16], 60, &[]).nonce_used);
    }

    #[test]
    fn reloading_replaces_claims_and_revocations() {
        let memory = Memory::new(vec!["bafy-assumed".to_owned()], NonceSet::default());
        memory.committed(Effects {
            claimed: vec![claim(1, 100)],
            revoked: Vec::new(),
        });
        let stored = NonceSet::default();
        stored.insert("did:key:a", &[2; 16], 100);
        memory.reload(vec!["bafy-stored".to_owned()], stored);
        let cids = ["bafy-assumed".to_owned(), "bafy-stored".to_owned()];
        let fresh = memory.freshness("did:key:a", &[1; 16], 0, &cids);
        assert_eq!(
            fresh.revoked.into_iter().collect::<Vec<_>>(),
            ["bafy-stored"]
        );
        assert!(!fresh.nonce_used);
        assert!(memory.holds("did:key:a", &[2; 16], 0));
    }

    #[test]
    fn dropping_expired_claims_keeps_the_unexpired() {
        let memory = Memory::new(Vec::new(), NonceSet::default());
        memory.committed(Effects {
            claimed: vec![claim(1, 10), claim(2, 1_000)],
            revoked: Vec::new(),
        });
        assert_eq!(memory.drop_expired(500), 1);
        assert!(memory.holds("did:key:a", &[2; 16], 500));
    }
}
