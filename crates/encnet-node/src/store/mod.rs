//! Persistence behind one interface. Handlers and services see only [`Store`]
//! and the plain records below; `sqlx` errors are mapped to [`StoreError`] at
//! this boundary.

mod sqlite;

pub(crate) use sqlite::SqliteStore as Store;

use encnet_core::api::{AuditRecord, KeyBackend, NetworkState, Threshold};

/// What can go wrong below the service layer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// `(issuer, nonce)` was already used by an unexpired invocation.
    #[error("nonce already used")]
    Replay,
    /// A network with this owner and name exists.
    #[error("network already exists")]
    NetworkExists,
    /// A concurrent change won; the caller may retry.
    #[error("conflicting concurrent change")]
    Conflict,
    /// The delegation is already revoked.
    #[error("already revoked")]
    AlreadyRevoked,
    /// A stored value does not parse: the database was edited or is corrupt.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// An audit entry could not be hashed.
    #[error("audit hashing: {0}")]
    Canonical(#[from] encnet_core::error::CanonicalError),
}

/// A network row.
#[derive(Debug, Clone)]
pub(crate) struct NetworkRecord {
    pub(crate) network_id: String,
    pub(crate) owner_did: String,
    pub(crate) name: String,
    pub(crate) alg: String,
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

/// An audit entry before it is given a place in the chain.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditDraft {
    pub(crate) network: String,
    pub(crate) requester: String,
    pub(crate) command: String,
    pub(crate) invocation_cid: String,
    pub(crate) outcome: String,
}

/// A nonce to consume: unique per issuer until `expires_at` (Unix seconds).
#[derive(Debug, Clone)]
pub(crate) struct NonceClaim {
    pub(crate) issuer: String,
    pub(crate) nonce: Vec<u8>,
    pub(crate) expires_at: i64,
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

/// Table sizes reported on `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TableSizes {
    pub(crate) nonces: i64,
    pub(crate) audit: i64,
}

/// The records of the audit chain, for offline verification.
pub(crate) type AuditChain = Vec<AuditRecord>;
