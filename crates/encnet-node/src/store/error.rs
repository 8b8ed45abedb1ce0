//! What can go wrong below the service layer. Driver errors keep their
//! source, so the log shows the whole chain.

use std::path::PathBuf;
use std::sync::Arc;

use encnet_core::api::NetworkState;

/// A store failure, or a refusal decided where the decision commits.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// `(issuer, nonce)` was already used by an unexpired invocation.
    #[error("nonce already used")]
    Replay,
    /// A delegation the invocation cites was revoked before it committed.
    #[error("a cited delegation is revoked")]
    Revoked,
    /// The decision's network left `active` before the decision committed.
    #[error("the network is {}", .0.as_str())]
    NetworkInactive(NetworkState),
    /// An audit field is longer than any valid one.
    #[error("audit field longer than {0} bytes")]
    Oversized(usize),
    /// A network with this owner and name exists.
    #[error("network already exists")]
    NetworkExists,
    /// A concurrent change won; the caller may retry.
    #[error("conflicting concurrent change")]
    Conflict,
    /// The delegation is already revoked.
    #[error("already revoked")]
    AlreadyRevoked,
    /// Another store (in this or another process) has the SQLite file open
    /// for writing.
    #[error("{} is in use by another encnet process", .0.display())]
    InUse(PathBuf),
    /// A write on a store opened read-only.
    #[error("the store is open read-only")]
    ReadOnly,
    /// The store is closing; nothing was written.
    #[error("the store is closing")]
    Closing,
    /// The group commit carrying this write failed as a whole.
    #[error("group commit failed")]
    Batch(#[source] Arc<Self>),
    /// A stored value does not parse: the database was edited or is corrupt.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// An applied migration differs from the one this build carries.
    #[error("migration {0} was changed after it was applied")]
    MigrationChanged(i64),
    /// An invariant of this code does not hold: a bug, not bad input.
    #[error("internal invariant broken: {0}")]
    Bug(&'static str),
    /// PostgreSQL failed.
    #[error("database")]
    Postgres(#[from] sqlx::Error),
    /// SQLite failed.
    #[error("database")]
    Sqlite(#[from] rusqlite::Error),
    /// A file, thread or lock could not be had.
    #[error("I/O")]
    Io(#[from] std::io::Error),
    /// PostgreSQL migrations failed.
    #[error("migration")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// An audit entry could not be hashed.
    #[error("audit hashing")]
    Canonical(#[from] encnet_core::error::CanonicalError),
}

/// `v` as a database integer.
pub(super) fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("integer {v} out of range")))
}

/// A stored integer that must not be negative.
pub(super) fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative integer {v}")))
}

/// A stored integer that must fit 16 bits.
pub(super) fn to_u16(v: i64) -> Result<u16, StoreError> {
    u16::try_from(v).map_err(|_| StoreError::Corrupt(format!("integer {v} out of range")))
}
