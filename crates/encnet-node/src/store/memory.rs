//! What a sole writer (SQLite: one process owns the file) remembers of its
//! own commits, so the capability check reads no row on the hot path.
//!
//! - Revocations: every one is made by this process, so the set loaded at
//!   start-up plus those committed since is exact. A commit whose outcome
//!   is unknown counts its revocations (failing closed) until the writer
//!   re-reads the table.
//! - Nonces: the most recent claims only, so a replay is usually refused
//!   before any work is done. This is a filter, not the authority: a claim
//!   it has forgotten (or one from before a restart) is refused when the
//!   nonce is consumed, in the transaction that would record the decision.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, RwLock};

use super::query::Effects;
use super::{Freshness, NonceClaim};

/// Claims remembered per generation; at most twice this many are kept.
const GENERATION: usize = 32_768;

/// The sole writer's memory of its commits.
pub(super) struct Memory {
    revoked: RwLock<HashSet<String>>,
    claims: Mutex<RecentClaims>,
}

impl Memory {
    /// `revoked`: every revocation in the database.
    pub(super) fn new(revoked: impl IntoIterator<Item = String>) -> Self {
        Self {
            revoked: RwLock::new(revoked.into_iter().collect()),
            claims: Mutex::new(RecentClaims::default()),
        }
    }

    /// What the capability check needs, as far as this process knows.
    pub(super) fn freshness(
        &self,
        issuer: &str,
        nonce: &[u8],
        now: i64,
        cids: &[String],
    ) -> Freshness {
        let revoked = match self.revoked.read() {
            Ok(set) => cids.iter().filter(|c| set.contains(*c)).cloned().collect(),
            Err(_) => HashSet::new(),
        };
        let nonce_used = self
            .claims
            .lock()
            .map(|claims| claims.holds(issuer, nonce, now))
            .unwrap_or(false);
        Freshness {
            nonce_used,
            revoked,
        }
    }

    /// Replaces the revocations with the database's, after a commit whose
    /// outcome was unknown.
    pub(super) fn reload_revocations(&self, revoked: Vec<String>) {
        if let Ok(mut set) = self.revoked.write() {
            *set = revoked.into_iter().collect();
        }
    }

    /// Records what a transaction changed, once it has committed.
    pub(super) fn committed(&self, effects: Effects) {
        if !effects.revoked.is_empty() {
            if let Ok(mut set) = self.revoked.write() {
                set.extend(effects.revoked);
            }
        }
        if !effects.claimed.is_empty() {
            if let Ok(mut claims) = self.claims.lock() {
                for claim in effects.claimed {
                    claims.insert(claim);
                }
            }
        }
    }
}

/// Two generations of claims: when the current one fills, it becomes the
/// previous one and the oldest is dropped.
#[derive(Default)]
struct RecentClaims {
    current: HashMap<(String, Vec<u8>), i64>,
    previous: HashMap<(String, Vec<u8>), i64>,
}

impl RecentClaims {
    fn insert(&mut self, claim: NonceClaim) {
        if self.current.len() >= GENERATION {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current
            .insert((claim.issuer, claim.nonce), claim.expires_at);
    }

    /// Whether a remembered, unexpired claim holds `(issuer, nonce)`.
    fn holds(&self, issuer: &str, nonce: &[u8], now: i64) -> bool {
        let key = (issuer.to_owned(), nonce.to_vec());
        [&self.current, &self.previous]
            .iter()
            .any(|generation| generation.get(&key).is_some_and(|exp| *exp >= now))
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
        }
    }

    #[test]
    fn remembers_unexpired_claims_and_revocations() {
        let memory = Memory::new(["bafy-old".to_owned()]);
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
        // Expired before `now`: the row may be reused.
        assert!(!memory.freshness("did:key:a", &[2; 16], 60, &[]).nonce_used);
        assert!(!memory.freshness("did:key:b", &[1; 16], 60, &[]).nonce_used);
    }

    #[test]
    fn reloading_replaces_the_revocations() {
        let memory = Memory::new(["bafy-assumed".to_owned()]);
        memory.reload_revocations(vec!["bafy-stored".to_owned()]);
        let cids = ["bafy-assumed".to_owned(), "bafy-stored".to_owned()];
        let fresh = memory.freshness("did:key:a", &[1; 16], 0, &cids);
        assert_eq!(
            fresh.revoked.into_iter().collect::<Vec<_>>(),
            ["bafy-stored"]
        );
    }

    #[test]
    fn keeps_at_most_two_generations() {
        let mut claims = RecentClaims::default();
        for i in 0..(2 * GENERATION + 1) {
            claims.insert(NonceClaim {
                issuer: "did:key:a".to_owned(),
                nonce: (i as u64).to_be_bytes().to_vec(),
                expires_at: 10,
                cited: Vec::new(),
            });
        }
        assert!(claims.current.len() + claims.previous.len() <= 2 * GENERATION);
        let newest = ((2 * GENERATION) as u64).to_be_bytes();
        assert!(claims.holds("did:key:a", &newest, 0));
        assert!(!claims.holds("did:key:a", &0u64.to_be_bytes(), 0));
    }
}
