//! Every unexpired nonce claim, in memory. On SQLite this set, not the
//! table, decides whether a nonce is free: the node is the file's only
//! writer, so the claims loaded at start-up plus those committed since are
//! all there are, and the table is an append-only log that makes each claim
//! durable and refills the set after a restart (docs/decisions.md).
//!
//! The writer inserts while every request looks up, so the set is split
//! into shards by key, each behind its own lock: a thread that holds one
//! (and is preempted, or grows a map) delays only the lookups of that
//! shard, not every request (docs/performance.md, session 8).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use sha2::{Digest, Sha256};

/// Claims are grouped by when they expire, so an expired group is dropped
/// whole instead of claim by claim. A lookup visits every live group of its
/// shard: at the default 300 s lifetime, about ten.
const GROUP_SECS: i64 = 32;

/// Shards, chosen by a key's first byte.
const SHARDS: usize = 256;

/// A claim's key: 16 bytes of SHA-256 over the issuer and the nonce. A
/// fixed-size key keeps a claim to about 40 bytes of memory. A collision
/// could only refuse a fresh nonce as a replay, never accept a replay, and
/// needs about 2^64 claims.
type Key = [u8; KEY_BYTES];

const KEY_BYTES: usize = 16;

/// The unexpired claims.
pub(super) struct NonceSet {
    shards: Box<[Mutex<Shard>; SHARDS]>,
}

impl Default for NonceSet {
    fn default() -> Self {
        Self {
            shards: Box::new(std::array::from_fn(|_| Mutex::default())),
        }
    }
}

impl NonceSet {
    /// Whether an unexpired claim holds `(issuer, nonce)`: one that expires
    /// at `now` or later.
    pub(super) fn holds(&self, issuer: &str, nonce: &[u8], now: i64) -> bool {
        let key = key(issuer, nonce);
        self.shard(&key).holds(&key, now)
    }

    /// Records a claim until `expires_at` (or later, if the same group
    /// already holds it longer).
    pub(super) fn insert(&self, issuer: &str, nonce: &[u8], expires_at: i64) {
        let key = key(issuer, nonce);
        self.shard(&key).insert(key, expires_at);
    }

    /// Drops every group whose claims all expired before `now`.
    pub(super) fn drop_expired(&self, now: i64) {
        for shard in self.shards.iter() {
            lock(shard).drop_expired(now);
        }
    }

    /// How many claims are held, expired ones not yet dropped included.
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    /// Takes on `other`'s claims in place of its own. Shard by shard: a
    /// lookup meanwhile sees one shard, old or new, never a mix.
    pub(super) fn replace(&self, other: Self) {
        for (mine, theirs) in self.shards.iter().zip(*other.shards) {
            *lock(mine) = theirs.into_inner().unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn shard(&self, key: &Key) -> MutexGuard<'_, Shard> {
        lock(&self.shards[usize::from(key[0])])
    }
}

// A panic while a shard was locked cannot leave it half-changed in a way
// that matters (an insert either happened or not), so a poisoned lock is
// used as is rather than failing every later request.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One shard's claims, grouped by expiry.
#[derive(Default)]
struct Shard {
    /// Group `g` holds the claims expiring in `[g, g + 1) × GROUP_SECS`,
    /// each with its own expiry.
    groups: BTreeMap<i64, HashMap<Key, i64>>,
}

impl Shard {
    fn holds(&self, key: &Key, now: i64) -> bool {
        self.groups
            .range(group(now)..)
            .any(|(_, claims)| claims.get(key).is_some_and(|exp| *exp >= now))
    }

    fn insert(&mut self, key: Key, expires_at: i64) {
        self.groups
            .entry(group(expires_at))
            .or_default()
            .entry(key)
            .and_modify(|exp| *exp = (*exp).max(expires_at))
            .or_insert(expires_at);
    }

    fn drop_expired(&mut self, now: i64) {
        self.groups = self.groups.split_off(&group(now));
    }

    fn len(&self) -> usize {
        self.groups.values().map(HashMap::len).sum()
    }
}

fn group(expires_at: i64) -> i64 {
    expires_at.div_euclid(GROUP_SECS)
}

fn key(issuer: &str, nonce: &[u8]) -> Key {
    // The issuer's length first, so no (issuer, nonce) split of the same
    // bytes gives the same key.
    let digest = Sha256::new()
        .chain_update((issuer.len() as u64).to_be_bytes())
        .chain_update(issuer.as_bytes())
        .chain_update(nonce)
        .finalize();
    let mut key = Key::default();
    key.copy_from_slice(&digest[..KEY_BYTES]);
    key
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn holds_a_claim_until_it_expires() {
        let set = NonceSet::default();
        set.insert("did:key:a", b"n1", 100);
        assert!(set.holds("did:key:a", b"n1", 99));
        assert!(set.holds("did:key:a", b"n1", 100));
        assert!(!set.holds("did:key:a", b"n1", 101));
        assert!(!set.holds("did:key:b", b"n1", 99));
        assert!(!set.holds("did:key:a", b"n2", 99));
        // The same bytes split differently are another claim.
        assert!(!set.holds("did:key:an", b"1", 99));
    }

    #[test]
    fn a_reclaimed_nonce_holds_until_its_new_expiry() {
        let set = NonceSet::default();
        set.insert("did:key:a", b"n", 10);
        set.insert("did:key:a", b"n", 500);
        assert!(set.holds("did:key:a", b"n", 400));
        set.drop_expired(400);
        assert!(set.holds("did:key:a", b"n", 400));
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn dropping_keeps_every_claim_that_can_still_hold() {
        let set = NonceSet::default();
        for exp in 0..200i64 {
            set.insert("did:key:a", &exp.to_be_bytes(), exp);
        }
        set.drop_expired(100);
        for exp in 100..200i64 {
            assert!(set.holds("did:key:a", &exp.to_be_bytes(), 100), "{exp}");
        }
        // Only whole groups go: what is left of the group of 100 stays.
        assert_eq!(set.len(), 200 - 96);
    }

    #[test]
    fn spreads_claims_over_the_shards() {
        let set = NonceSet::default();
        for n in 0..25_600u32 {
            set.insert("did:key:a", &n.to_be_bytes(), 100);
        }
        let largest = set.shards.iter().map(|shard| lock(shard).len()).max();
        // 100 per shard on average; none holds a large share.
        assert!(largest.is_some_and(|len| len < 200), "{largest:?}");
        assert_eq!(set.len(), 25_600);
    }

    #[test]
    fn replacing_takes_the_other_sets_claims() {
        let set = NonceSet::default();
        set.insert("did:key:a", b"old", 100);
        let other = NonceSet::default();
        other.insert("did:key:a", b"new", 100);
        set.replace(other);
        assert!(!set.holds("did:key:a", b"old", 0));
        assert!(set.holds("did:key:a", b"new", 0));
        assert_eq!(set.len(), 1);
    }

    proptest! {
        #[test]
        fn matches_a_plain_map(
            claims in prop::collection::vec((0u8..8, -50i64..50), 0..64),
            now in -60i64..60,
        ) {
            let set = NonceSet::default();
            let mut plain = HashMap::new();
            for (nonce, exp) in &claims {
                set.insert("did:key:a", &[*nonce], *exp);
                let held = plain.entry(*nonce).or_insert(*exp);
                *held = (*held).max(*exp);
            }
            set.drop_expired(now);
            for nonce in 0u8..8 {
                let expected = plain.get(&nonce).is_some_and(|exp| *exp >= now);
                prop_assert_eq!(set.holds("did:key:a", &[nonce], now), expected);
            }
        }
    }
}
