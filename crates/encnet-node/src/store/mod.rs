//! Persistence behind one interface. Handlers and services see only
//! [`Store`] and the plain records of [`records`]; driver errors become
//! [`StoreError`] at this boundary.
//!
//! Each database has one driver and owns its SQL: [`sqlite`] (`rusqlite`, a
//! writer thread that is the file's only writer) and [`postgres`] (`sqlx`,
//! several processes). What both share is pure: the records, the rows'
//! meaning ([`rows`]), how a batch of nonce claims is decided ([`claims`]),
//! how audit entries are linked ([`chain`]) and the group-commit queue
//! ([`group_commit`]). [`Store`] only forwards to the backend it opened.

mod chain;
mod checkpoint_due;
mod claims;
mod error;
mod group_commit;
mod postgres;
mod records;
mod rows;
mod sqlite;

use std::sync::Arc;

use encnet_core::api::AuditRecord;
use encnet_core::audit::SignedCheckpoint;

use group_commit::Write;
use postgres::PgStore;
use sqlite::SqliteStore;

pub(crate) use checkpoint_due::CheckpointDue;
pub(crate) use error::StoreError;
pub(crate) use records::{
    AuditDraft, Change, Decision, Freshness, Location, NetworkKey, NetworkRecord, NewKey,
    NonceClaim, SealedKey, StateChange, TableSizes,
};

/// The node's database: SQLite or PostgreSQL, with the same behaviour.
pub(crate) struct Store {
    backend: Backend,
    /// Woken as the chain grows (see [`CheckpointDue`]).
    due: Arc<CheckpointDue>,
}

// One per process: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Calls the same method on whichever backend the store has.
macro_rules! forward {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Sqlite(store) => store.$method($($arg),*).await,
            Backend::Postgres(store) => store.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens (creating an SQLite file if needed) and applies migrations.
    pub(crate) async fn open(location: &Location) -> Result<Self, StoreError> {
        let backend = match location {
            Location::Sqlite(path) => Backend::Sqlite(SqliteStore::open(path).await?),
            Location::Postgres(url) => Backend::Postgres(PgStore::open(url).await?),
        };
        Ok(Self::with(backend))
    }

    /// Opens an existing database read-only, without migrating (offline
    /// tools): no writer runs, and every write is refused.
    pub(crate) async fn open_read_only(location: &Location) -> Result<Self, StoreError> {
        let backend = match location {
            Location::Sqlite(path) => Backend::Sqlite(SqliteStore::open_read_only(path).await?),
            Location::Postgres(url) => Backend::Postgres(PgStore::open_read_only(url).await?),
        };
        Ok(Self::with(backend))
    }

    fn with(backend: Backend) -> Self {
        Self {
            backend,
            due: Arc::default(),
        }
    }

    /// What wakes the checkpoint task.
    pub(crate) fn checkpoint_due(&self) -> Arc<CheckpointDue> {
        self.due.clone()
    }

    /// The network with this id, if any.
    pub(crate) async fn network(&self, id: &str) -> Result<Option<NetworkRecord>, StoreError> {
        forward!(self.network(id))
    }

    /// The network with this id, if any, and its key version `version` if
    /// that is stored, not shredded and not newer than the network's.
    pub(crate) async fn network_key(
        &self,
        id: &str,
        version: u64,
    ) -> Result<Option<Arc<NetworkKey>>, StoreError> {
        forward!(self.network_key(id, version))
    }

    /// The owner's attestations of the network's key versions, oldest
    /// version first: each statement's canonical JSON and its signature.
    pub(crate) async fn attestations(&self, id: &str) -> Result<Vec<(String, String)>, StoreError> {
        forward!(self.attestations(id))
    }

    /// The ids of the networks `owner` owns, in id order.
    pub(crate) async fn networks_of(&self, owner: &str) -> Result<Vec<String>, StoreError> {
        forward!(self.networks_of(owner))
    }

    /// One page of a network's audit records after sequence `after`.
    pub(crate) async fn audit_page(
        &self,
        network: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        forward!(self.audit_page(network, after, limit))
    }

    /// Up to `limit` entries of the whole chain after sequence `after`, in
    /// sequence order: one page of a verifier's streaming read.
    pub(crate) async fn audit_after(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        forward!(self.audit_after(after, limit))
    }

    /// The entry at `sequence`, if stored.
    pub(crate) async fn audit_entry(
        &self,
        sequence: u64,
    ) -> Result<Option<AuditRecord>, StoreError> {
        forward!(self.audit_entry(sequence))
    }

    /// The last committed entry of the chain, if any.
    pub(crate) async fn audit_head(&self) -> Result<Option<AuditRecord>, StoreError> {
        forward!(self.audit_head())
    }

    /// The checkpoint of highest sequence, if any.
    pub(crate) async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        forward!(self.latest_checkpoint())
    }

    /// The checkpoints of entries `first..=last`, in sequence order.
    pub(crate) async fn checkpoints_between(
        &self,
        first: u64,
        last: u64,
    ) -> Result<Vec<SignedCheckpoint>, StoreError> {
        forward!(self.checkpoints_between(first, last))
    }

    /// What the store can tell of an invocation before any cryptography,
    /// without I/O: whether `(issuer, nonce)` is held by an unexpired
    /// invocation, and which of `cids` are revoked. A hint that lets most
    /// replays be refused early; the commit decides both anyway. (SQLite
    /// knows exactly, from its writer's memory; PostgreSQL, which other
    /// processes write too, knows nothing without a read that would cost
    /// more than the cryptography it could save.)
    pub(crate) fn freshness(
        &self,
        issuer: &str,
        nonce: &[u8],
        now: i64,
        cids: &[String],
    ) -> Freshness {
        match &self.backend {
            Backend::Sqlite(store) => store.freshness(issuer, nonce, now, cids),
            Backend::Postgres(_) => Freshness::default(),
        }
    }

    /// The sizes `/metrics` reports, from what is cheap to know (no scan
    /// per scrape).
    pub(crate) async fn gauges(&self) -> Result<TableSizes, StoreError> {
        forward!(self.gauges())
    }

    /// Row counts of the nonce and audit tables (a scan each: tests only).
    #[cfg(test)]
    pub(crate) async fn table_sizes(&self) -> Result<TableSizes, StoreError> {
        forward!(self.table_sizes())
    }

    /// Every audit record in sequence order, at once (tests only).
    #[cfg(test)]
    pub(crate) async fn audit_chain(&self) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit_after(0, u32::MAX).await
    }

    /// Appends one audit entry (a denial), group-committed.
    pub(crate) async fn append_audit(&self, draft: AuditDraft) -> Result<AuditRecord, StoreError> {
        draft.check_bounds()?;
        let record = forward!(self.submit(Write::Denied(draft)));
        record.inspect(|r| self.due.observe(r))
    }

    /// Consumes the nonce and records the allowed decision, atomically and
    /// group-committed: the one entry point of every allowed decrypt.
    pub(crate) async fn record_allowed(
        &self,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        decision.audit.check_bounds()?;
        let record = forward!(self.submit(Write::Allowed(decision)));
        record.inspect(|r| self.due.observe(r))
    }

    /// Commits the change an allowed invocation authorizes, in one
    /// transaction that first consumes its nonce (so a replay is refused as
    /// such, before the change is tried) and then appends its audit entry.
    pub(crate) async fn decide(
        &self,
        decision: Decision,
        change: Change,
    ) -> Result<AuditRecord, StoreError> {
        decision.audit.check_bounds()?;
        if let Change::Revoke { more_audit, .. } = &change {
            more_audit.iter().try_for_each(AuditDraft::check_bounds)?;
        }
        let record = forward!(self.decide(decision, change));
        record.inspect(|r| self.due.observe(r))
    }

    /// Stores a signed checkpoint; one already stored for its sequence is
    /// kept (both state the same hash).
    pub(crate) async fn insert_checkpoint(
        &self,
        checkpoint: SignedCheckpoint,
    ) -> Result<(), StoreError> {
        forward!(self.insert_checkpoint(checkpoint))
    }

    /// Bulk load for growth tests (`encnet-bench seed`): networks with their first
    /// key, then audit entries chained as usual, in one transaction.
    pub(crate) async fn seed_batch(
        &self,
        networks: Vec<(NetworkRecord, NewKey)>,
        audit: Vec<AuditDraft>,
    ) -> Result<(), StoreError> {
        forward!(self.seed_batch(networks, audit))
    }

    /// Deletes nonces that expired before `now`; answers how many. Never an
    /// unexpired one.
    pub(crate) async fn purge_nonces(&self, now: i64) -> Result<u64, StoreError> {
        forward!(self.purge_nonces(now))
    }
}
