//! The plain records the store takes and gives: what a handler or service
//! sees of the database, whichever database it is.

use std::collections::HashSet;
use std::path::PathBuf;

use encnet_core::api::{KeyBackend, NetworkState, Threshold};
use encnet_core::suite::Suite;
use encnet_core::NetworkId;

use super::error::StoreError;

/// A network row.
#[derive(Debug, Clone)]
pub(crate) struct NetworkRecord {
    pub(crate) network_id: String,
    pub(crate) owner_did: String,
    pub(crate) name: String,
    pub(crate) alg: Suite,
    pub(crate) state: NetworkState,
    pub(crate) key_version: u64,
    pub(crate) min_decryption_version: u64,
    pub(crate) key_backend: KeyBackend,
    pub(crate) threshold: Threshold,
    pub(crate) public_key: Vec<u8>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

/// A new key version to store with a network.
#[derive(Debug, Clone)]
pub(crate) struct NewKey {
    pub(crate) key_version: u64,
    pub(crate) public_key: Vec<u8>,
    pub(crate) sealed_private_key: Vec<u8>,
}

impl NetworkRecord {
    /// A new, active one-of-one network at key version 1.
    pub(crate) fn new_one_of_one(
        id: &NetworkId,
        alg: Suite,
        public_key: Vec<u8>,
        now: String,
    ) -> Self {
        Self {
            network_id: id.to_string(),
            owner_did: id.owner_did().to_owned(),
            name: id.name().to_owned(),
            alg,
            state: NetworkState::Active,
            key_version: 1,
            min_decryption_version: 1,
            key_backend: KeyBackend::LocalOneOfOne,
            threshold: Threshold { n: 1, t: 1 },
            public_key,
            created_at: now.clone(),
            updated_at: now,
        }
    }
}

/// A stored key version: the public key and the sealed private key.
#[derive(Debug, Clone)]
pub(crate) struct SealedKey {
    pub(crate) public_key: Vec<u8>,
    pub(crate) sealed_private_key: Vec<u8>,
}

/// A network and the sealed private key of one of its versions: what the
/// decrypt path reads.
#[derive(Debug)]
pub(crate) struct NetworkKey {
    pub(crate) record: NetworkRecord,
    /// `None` when the version does not exist or was shredded.
    pub(crate) sealed: Option<SealedKey>,
}

/// An audit entry before it is given a place in the chain.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditDraft {
    pub(crate) network: String,
    pub(crate) requester: String,
    pub(crate) command: String,
    pub(crate) invocation_cid: String,
    pub(crate) outcome: String,
}

impl AuditDraft {
    /// Longest value of any field: a network id is at most 346 characters,
    /// a DID 256 (the UCAN crate's limit), a CID 59.
    const MAX_FIELD: usize = 512;

    /// Refuses an entry with an oversized field before it joins a batch,
    /// so one request can never fail the group commit of others (a
    /// PostgreSQL btree entry must fit in a third of a page).
    pub(super) fn check_bounds(&self) -> Result<(), StoreError> {
        let fields = [
            &self.network,
            &self.requester,
            &self.command,
            &self.invocation_cid,
            &self.outcome,
        ];
        match fields.iter().all(|f| f.len() <= Self::MAX_FIELD) {
            true => Ok(()),
            false => Err(StoreError::Oversized(Self::MAX_FIELD)),
        }
    }
}

/// A nonce to consume: unique per issuer until `expires_at` (Unix seconds),
/// and only while none of the delegations the invocation cites is revoked.
#[derive(Debug, Clone)]
pub(crate) struct NonceClaim {
    pub(crate) issuer: String,
    pub(crate) nonce: Vec<u8>,
    pub(crate) expires_at: i64,
    /// The revocation keys of the delegations the invocation cites.
    pub(crate) cited: Vec<String>,
    /// A network that must still be active when the claim commits (a
    /// decrypt's), so a revoke that lands after the check still refuses it.
    pub(crate) network: Option<String>,
}

/// An allowed invocation: its nonce is consumed and its audit entry written
/// in the same transaction as the change it authorizes.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    pub(crate) nonce: NonceClaim,
    pub(crate) audit: AuditDraft,
    /// Unix seconds; a nonce row that expired before this may be reused.
    pub(crate) now: i64,
}

/// A change to a network's state, applied only if the state is still `from`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StateChange {
    pub(crate) from: NetworkState,
    pub(crate) to: NetworkState,
}

/// The stored state an invocation's check depends on.
#[derive(Debug, Default)]
pub(crate) struct Freshness {
    /// `(issuer, nonce)` is held by an unexpired invocation.
    pub(crate) nonce_used: bool,
    /// The cited delegations (by CID text) that are revoked.
    pub(crate) revoked: HashSet<String>,
}

/// The change an allowed invocation authorizes, committed in the
/// transaction that consumes its nonce and appends its audit entry.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// Insert a network with its first key version.
    CreateNetwork {
        network: Box<NetworkRecord>,
        key: NewKey,
    },
    /// Move a network between states, if it is still in `change.from`.
    State {
        network: String,
        change: StateChange,
    },
    /// Add key version `key.key_version`, if the newest is still the one
    /// before it.
    Rotate { network: String, key: NewKey },
    /// Raise `min_decryption_version` (never lower it).
    Retire { network: String, min_version: u64 },
    /// Crypto-shred every sealed key and mark the network destroyed.
    Destroy { network: String, from: NetworkState },
    /// Record a revocation under `key`, with `more_audit` entries (the
    /// same decision on the subject's other networks).
    Revoke {
        key: String,
        revoked_by: String,
        more_audit: Vec<AuditDraft>,
    },
    /// Store the owner's attestation of a key version (replacing an
    /// earlier one of that version).
    Attest {
        network: String,
        version: u64,
        statement: String,
        signature: String,
    },
}

impl Change {
    /// The network whose row the change rewrites, if any: a cache of that
    /// row is stale once the change commits.
    pub(super) fn rewrites_network(&self) -> Option<&str> {
        match self {
            Self::CreateNetwork { network, .. } => Some(&network.network_id),
            Self::State { network, .. }
            | Self::Rotate { network, .. }
            | Self::Retire { network, .. }
            | Self::Destroy { network, .. } => Some(network),
            Self::Revoke { .. } | Self::Attest { .. } => None,
        }
    }
}

/// Table sizes reported on `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TableSizes {
    pub(crate) nonces: i64,
    pub(crate) audit: i64,
}

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// An SQLite file (embedded, one process).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (several processes may share it).
    Postgres(String),
}

impl Location {
    /// `sqlite://PATH`, `sqlite:PATH`, `postgres://…` or `postgresql://…`.
    pub(crate) fn parse(url: &str) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Some(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        (!path.is_empty()).then(|| Self::Sqlite(PathBuf::from(path)))
    }
}
