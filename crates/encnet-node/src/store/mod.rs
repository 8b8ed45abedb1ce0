//! Persistence behind one interface. Handlers and services see only [`Store`]
//! and the plain records below; `sqlx` errors are mapped to [`StoreError`] at
//! this boundary.
//!
//! Every operation is written once, here, over [`query::Tx`]; the backends
//! ([`sqlite`], [`postgres`]) only open connections and run transactions.

mod checkpoints;
mod group_commit;
mod memory;
mod nonce_set;
mod postgres;
mod query;
mod sqlite;
mod sqlite_checkpointer;
mod sqlite_sync;
mod sqlite_writer;

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use encnet_core::api::{AuditRecord, KeyBackend, NetworkState, Threshold};
use encnet_core::suite::Suite;
use encnet_core::NetworkId;

use crate::clock;
use group_commit::Write;
use postgres::PgStore;
use query::{AuditRow, Conn, NetworkKeyRow, NetworkRow, Tx, Value};
use sqlite::SqliteStore;

pub(crate) use checkpoints::CheckpointDue;

/// What can go wrong below the service layer.
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
    /// The group commit failed, or the store is closing.
    #[error("group commit failed: {0}")]
    Batch(String),
    /// A stored value does not parse: the database was edited or is corrupt.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The SQLite writer's connection failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The writer thread could not start.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
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
            alg: alg.as_str().to_owned(),
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
    fn check_bounds(&self) -> Result<(), StoreError> {
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

/// Table sizes reported on `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TableSizes {
    pub(crate) nonces: i64,
    pub(crate) audit: i64,
}

/// Every record of the audit chain (tests; verifiers stream it instead,
/// see [`Store::audit_after`]).
#[cfg(test)]
pub(crate) type AuditChain = Vec<AuditRecord>;

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

/// A pooled connection for reads.
enum Reader {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl Reader {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(c) => Conn::Sqlite(c),
            Self::Postgres(c) => Conn::Postgres(c),
        }
    }
}

type TxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

#[cfg(test)]
const AUDIT_SELECT_ALL: &str = "SELECT * FROM audit ORDER BY seq";
const AUDIT_SELECT_PAGE: &str =
    "SELECT * FROM audit WHERE network = $1 AND seq > $2 ORDER BY seq LIMIT $3";

impl Store {
    /// Opens (creating an SQLite file if needed) and applies migrations.
    pub(crate) async fn open(location: &Location) -> Result<Self, StoreError> {
        let backend = match location {
            Location::Sqlite(path) => Backend::Sqlite(SqliteStore::open(path).await?),
            Location::Postgres(url) => Backend::Postgres(PgStore::open(url).await?),
        };
        Ok(Self {
            backend,
            due: Arc::default(),
        })
    }

    /// Opens an existing database read-only, without migrating (offline tools).
    pub(crate) async fn open_read_only(location: &Location) -> Result<Self, StoreError> {
        let backend = match location {
            Location::Sqlite(path) => Backend::Sqlite(SqliteStore::open_read_only(path).await?),
            Location::Postgres(url) => Backend::Postgres(PgStore::open_read_only(url).await?),
        };
        Ok(Self {
            backend,
            due: Arc::default(),
        })
    }

    /// Every audit record in sequence order, at once (tests only).
    #[cfg(test)]
    pub(crate) async fn audit_chain(&self) -> Result<AuditChain, StoreError> {
        let mut reader = self.reader().await?;
        let rows: Vec<AuditRow> = reader.conn().fetch_all(AUDIT_SELECT_ALL, &[]).await?;
        rows.into_iter().map(AuditRecord::try_from).collect()
    }

    /// One page of a network's audit records after sequence `after`.
    pub(crate) async fn audit_page(
        &self,
        network: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let params = [
            Value::Text(network),
            Value::Int(query::to_i64(after)?),
            Value::Int(i64::from(limit)),
        ];
        let mut reader = self.reader().await?;
        let rows: Vec<AuditRow> = reader.conn().fetch_all(AUDIT_SELECT_PAGE, &params).await?;
        rows.into_iter().map(AuditRecord::try_from).collect()
    }

    /// The network with this id, if any.
    pub(crate) async fn network(&self, id: &str) -> Result<Option<NetworkRecord>, StoreError> {
        let mut reader = self.reader().await?;
        let row: Option<NetworkRow> = reader
            .conn()
            .fetch_optional(
                "SELECT * FROM networks WHERE network_id = $1",
                &[Value::Text(id)],
            )
            .await?;
        row.map(NetworkRecord::try_from).transpose()
    }

    /// The owner's attestations of the network's key versions, oldest
    /// version first: each statement's canonical JSON and its signature.
    pub(crate) async fn attestations(&self, id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut reader = self.reader().await?;
        reader
            .conn()
            .fetch_all(
                "SELECT statement, signature FROM attestations \
                 WHERE network_id = $1 ORDER BY key_version",
                &[Value::Text(id)],
            )
            .await
    }

    /// Stores the owner's attestation of key version `version` (replacing an
    /// earlier one of the same version).
    pub(crate) async fn attest(
        &self,
        id: &str,
        version: u64,
        statement: String,
        signature: String,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        let id = id.to_owned();
        self.transact_decision(decision, move |tx| {
            Box::pin(async move {
                tx.conn
                    .execute(
                        "INSERT INTO attestations \
                         (network_id, key_version, statement, signature, created_at) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (network_id, key_version) DO UPDATE \
                         SET statement = excluded.statement, signature = excluded.signature",
                        &[
                            Value::Text(&id),
                            Value::Int(query::to_i64(version)?),
                            Value::Text(&statement),
                            Value::Text(&signature),
                            Value::Text(&clock::now_rfc3339()),
                        ],
                    )
                    .await
                    .map(drop)
            })
        })
        .await
    }

    /// The ids of the networks `owner` owns, in id order.
    pub(crate) async fn networks_of(&self, owner: &str) -> Result<Vec<String>, StoreError> {
        let mut reader = self.reader().await?;
        let rows: Vec<(String,)> = reader
            .conn()
            .fetch_all(
                "SELECT network_id FROM networks WHERE owner_did = $1 ORDER BY network_id",
                &[Value::Text(owner)],
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The network with this id, if any, and its key version `version`
    /// (public key and sealed private key) if that exists and is not
    /// shredded: one statement, so one snapshot and one round trip.
    pub(crate) async fn network_key(
        &self,
        id: &str,
        version: u64,
    ) -> Result<Option<(NetworkRecord, Option<SealedKey>)>, StoreError> {
        // A version beyond i64 is stored nowhere; MAX matches no row.
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        let mut reader = self.reader().await?;
        let row: Option<NetworkKeyRow> = reader
            .conn()
            .fetch_optional(
                "SELECT n.*, k.public_key AS key_public_key, \
                 k.sealed_private_key AS key_sealed_private_key \
                 FROM networks n LEFT JOIN network_keys k \
                 ON k.network_id = n.network_id AND k.key_version = $2 \
                 WHERE n.network_id = $1",
                &[Value::Text(id), Value::Int(version)],
            )
            .await?;
        row.map(NetworkKeyRow::into_parts).transpose()
    }

    /// What the capability check knows before any cryptography: whether
    /// `(issuer, nonce)` is held by an unexpired invocation, and which of
    /// `cids` are revoked. SQLite answers from the writer's memory (see
    /// [`memory`]), so most replays are refused before any work is done.
    /// PostgreSQL, which other processes write too, answers that nothing is
    /// known: a read here would cost more than the cryptography it could
    /// save, and both are decided anyway when the decision commits (the
    /// nonce claim and a read of the revocations, in that transaction).
    pub(crate) fn freshness(
        &self,
        issuer: &str,
        nonce: &[u8],
        now: i64,
        cids: &[String],
    ) -> Freshness {
        match &self.backend {
            Backend::Sqlite(store) => store.memory().freshness(issuer, nonce, now, cids),
            Backend::Postgres(_) => Freshness::default(),
        }
    }

    /// The sizes `/metrics` reports, from what is cheap to know: the chain
    /// head's sequence, and the nonces held in memory (SQLite) or the
    /// planner's estimate (PostgreSQL). No scan per scrape.
    pub(crate) async fn gauges(&self) -> Result<TableSizes, StoreError> {
        let mut reader = self.reader().await?;
        let mut conn = reader.conn();
        let (sql, memory) = match &self.backend {
            Backend::Sqlite(store) => (
                "SELECT COALESCE(MAX(seq), 0), 0 FROM audit",
                Some(store.memory()),
            ),
            Backend::Postgres(_) => (
                "SELECT (SELECT seq FROM audit_head WHERE id = 1), \
                 (SELECT GREATEST(reltuples, 0)::BIGINT FROM pg_class \
                  WHERE oid = 'nonces'::regclass)",
                None,
            ),
        };
        let (audit, nonces): (i64, i64) = conn
            .fetch_optional(sql, &[])
            .await?
            .ok_or_else(|| StoreError::Corrupt("no row for the gauges".to_owned()))?;
        let nonces = memory.map_or(nonces, |m| i64::try_from(m.held()).unwrap_or(i64::MAX));
        Ok(TableSizes { nonces, audit })
    }

    /// Row counts of the nonce and audit tables (a scan each: for tests,
    /// not for every scrape).
    #[cfg(test)]
    pub(crate) async fn table_sizes(&self) -> Result<TableSizes, StoreError> {
        let mut reader = self.reader().await?;
        let mut conn = reader.conn();
        let count = "SELECT (SELECT COUNT(*) FROM nonces), (SELECT COUNT(*) FROM audit)";
        let (nonces, audit): (i64, i64) = conn
            .fetch_optional(count, &[])
            .await?
            .ok_or_else(|| StoreError::Corrupt("no row from COUNT".to_owned()))?;
        Ok(TableSizes { nonces, audit })
    }

    /// Appends one audit entry (a denial), group-committed.
    pub(crate) async fn append_audit(&self, draft: AuditDraft) -> Result<AuditRecord, StoreError> {
        draft.check_bounds()?;
        let record = self.backend.submit(Write::Denied(draft)).await;
        record.inspect(|r| self.due.observe(r))
    }

    /// Consumes the nonce and records the allowed decision, atomically: the
    /// one entry point of every allowed decrypt.
    pub(crate) async fn record_allowed(
        &self,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        decision.audit.check_bounds()?;
        let record = self.backend.submit(Write::Allowed(decision)).await;
        record.inspect(|r| self.due.observe(r))
    }

    /// Deletes nonces that expired before `now` (SQLite: those at the
    /// start of its log; see [`SqliteStore::purge_nonces`]); returns how
    /// many. Never an unexpired one.
    pub(crate) async fn purge_nonces(&self, now: i64) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.purge_nonces(now).await,
            Backend::Postgres(_) => {
                self.transact(move |tx| {
                    Box::pin(async move {
                        tx.conn
                            .execute(
                                "DELETE FROM nonces WHERE expires_at < $1",
                                &[Value::Int(
                                    now.saturating_sub(query::SHARED_CLOCK_MARGIN_SECS),
                                )],
                            )
                            .await
                    })
                })
                .await
            }
        }
    }

    /// Bulk load for growth tests (`encnet seed`): networks with their first
    /// key, then audit entries chained as usual, in one transaction.
    pub(crate) async fn seed_batch(
        &self,
        networks: Vec<(NetworkRecord, NewKey)>,
        audit: Vec<AuditDraft>,
    ) -> Result<(), StoreError> {
        self.transact(move |tx| {
            Box::pin(async move {
                for (network, key) in &networks {
                    if tx.insert_network(network).await? {
                        tx.insert_key(&network.network_id, key, &network.created_at)
                            .await?;
                    }
                }
                tx.append_audits(audit).await?;
                Ok(())
            })
        })
        .await
    }

    /// Inserts a network with its first key version.
    pub(crate) async fn create_network(
        &self,
        network: NetworkRecord,
        key: NewKey,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        self.transact_decision(decision, move |tx| {
            Box::pin(async move {
                if !tx.insert_network(&network).await? {
                    return Err(StoreError::NetworkExists);
                }
                tx.insert_key(&network.network_id, &key, &network.created_at)
                    .await
            })
        })
        .await
    }

    /// Moves a network from `change.from` to `change.to`.
    pub(crate) async fn change_state(
        &self,
        id: &str,
        change: StateChange,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        let id = id.to_owned();
        self.transact_decision(decision, move |tx| {
            Box::pin(async move {
                let now = clock::now_rfc3339();
                tx.update_network(
                    "UPDATE networks SET state = $1, updated_at = $2 \
                         WHERE network_id = $3 AND state = $4",
                    &[
                        Value::Text(change.to.as_str()),
                        Value::Text(&now),
                        Value::Text(&id),
                        Value::Text(change.from.as_str()),
                    ],
                )
                .await
            })
        })
        .await
    }

    /// Adds key version `key.key_version`, if the newest is still `key_version - 1`.
    pub(crate) async fn rotate(
        &self,
        id: &str,
        key: NewKey,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        let id = id.to_owned();
        self.transact_decision(decision, move |tx| {
            Box::pin(async move {
                let now = clock::now_rfc3339();
                tx.update_network(
                    "UPDATE networks SET key_version = $1, public_key = $2, updated_at = $3 \
                         WHERE network_id = $4 AND key_version = $5 AND state = 'active'",
                    &[
                        Value::Int(query::to_i64(key.key_version)?),
                        Value::Bytes(&key.public_key),
                        Value::Text(&now),
                        Value::Text(&id),
                        Value::Int(query::to_i64(key.key_version.saturating_sub(1))?),
                    ],
                )
                .await?;
                tx.insert_key(&id, &key, &now).await
            })
        })
        .await
    }

    /// Raises `min_decryption_version` (never lowers it).
    pub(crate) async fn retire(
        &self,
        id: &str,
        min_version: u64,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        let id = id.to_owned();
        self.transact_decision(decision, move |tx| {
            Box::pin(async move {
                let now = clock::now_rfc3339();
                let min = query::to_i64(min_version)?;
                tx.update_network(
                    "UPDATE networks SET min_decryption_version = $1, updated_at = $2 \
                         WHERE network_id = $3 AND min_decryption_version <= $1 \
                         AND key_version >= $1 AND state = 'active'",
                    &[Value::Int(min), Value::Text(&now), Value::Text(&id)],
                )
                .await
            })
        })
        .await
    }

    /// Crypto-shredding: overwrites then deletes every sealed key of the
    /// network and marks it destroyed; then asks the backend to drop old
    /// copies of the rows (SQLite: WAL checkpoint; PostgreSQL: `VACUUM`).
    pub(crate) async fn destroy(
        &self,
        id: &str,
        from: NetworkState,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        let id = id.to_owned();
        let record = self
            .transact_decision(decision, move |tx| {
                Box::pin(async move {
                    let now = clock::now_rfc3339();
                    tx.update_network(
                            "UPDATE networks SET state = 'destroyed', updated_at = $1 \
                             WHERE network_id = $2 AND state = $3",
                            &[Value::Text(&now), Value::Text(&id), Value::Text(from.as_str())],
                        ).await?;
                    let overwrite = tx.conn.pick(
                        "UPDATE network_keys \
                         SET sealed_private_key = zeroblob(length(sealed_private_key)) \
                         WHERE network_id = $1",
                        "UPDATE network_keys \
                         SET sealed_private_key = decode(repeat('00', length(sealed_private_key)), 'hex') \
                         WHERE network_id = $1",
                    );
                    tx.conn.execute(overwrite, &[Value::Text(&id)]).await?;
                    tx.conn
                        .execute(
                            "DELETE FROM network_keys WHERE network_id = $1",
                            &[Value::Text(&id)],
                        )
                        .await?;
                    Ok(())
                })
            })
            .await?;
        // The decision is committed: a failure here is logged, not reported.
        let compacted = match &self.backend {
            Backend::Sqlite(store) => store.checkpoint().await,
            Backend::Postgres(store) => store.vacuum_keys().await,
        };
        if let Err(err) = compacted {
            tracing::warn!(error = %err, "could not compact the database after destroy");
        }
        Ok(record)
    }

    /// Records a revocation under `key` (a CID, or a CID and the subject
    /// it is revoked for), with `more_audit` entries beside the decision's
    /// own (the same decision on the subject's other networks).
    pub(crate) async fn revoke(
        &self,
        key: &str,
        revoked_by: &str,
        decision: Decision,
        more_audit: Vec<AuditDraft>,
    ) -> Result<AuditRecord, StoreError> {
        let (key, revoked_by) = (key.to_owned(), revoked_by.to_owned());
        let invocation_cid = decision.audit.invocation_cid.clone();
        self.transact_decision(decision, move |tx| {
            Box::pin(async move {
                if !tx
                    .insert_revocation(&key, &revoked_by, &invocation_cid)
                    .await?
                {
                    return Err(StoreError::AlreadyRevoked);
                }
                tx.append_audits(more_audit).await.map(drop)
            })
        })
        .await
    }

    /// Whether this process is the database's only writer (SQLite), so it
    /// sees every change and may cache what it reads.
    pub(crate) fn is_sole_writer(&self) -> bool {
        matches!(self.backend, Backend::Sqlite(_))
    }

    async fn reader(&self) -> Result<Reader, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(store) => Reader::Sqlite(store.pool().acquire().await?),
            Backend::Postgres(store) => Reader::Postgres(store.pool().acquire().await?),
        })
    }

    /// Runs `f` in one writing transaction; on error nothing of it remains.
    async fn transact<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: for<'a, 'c> FnOnce(&'a mut Tx<'c>) -> TxFuture<'a, T> + Send + 'static,
        T: Send + 'static,
    {
        self.backend.transact(f).await
    }

    /// Runs the change an allowed invocation authorizes, in one transaction
    /// that first consumes its nonce (so a replay is refused as such, before
    /// the change is tried) and then appends its audit entry.
    async fn transact_decision<F>(
        &self,
        decision: Decision,
        change: F,
    ) -> Result<AuditRecord, StoreError>
    where
        F: for<'a, 'c> FnOnce(&'a mut Tx<'c>) -> TxFuture<'a, ()> + Send + 'static,
    {
        decision.audit.check_bounds()?;
        let record = self
            .transact(move |tx| {
                Box::pin(async move {
                    tx.claim_nonce(&decision.nonce, decision.now).await?;
                    change(tx).await?;
                    tx.append_audit(decision.audit).await
                })
            })
            .await;
        record.inspect(|r| self.due.observe(r))
    }
}

impl Backend {
    /// Runs `f` in one writing transaction; on error nothing of it remains.
    async fn transact<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: for<'a, 'c> FnOnce(&'a mut Tx<'c>) -> TxFuture<'a, T> + Send + 'static,
        T: Send + 'static,
    {
        match self {
            Self::Sqlite(store) => store.transact(f).await,
            Self::Postgres(store) => store.transact(f).await,
        }
    }

    /// Queues a hot-path write for the next group commit.
    async fn submit(&self, write: Write) -> Result<AuditRecord, StoreError> {
        match self {
            Self::Sqlite(store) => store.submit(write).await,
            Self::Postgres(store) => store.submit(write).await,
        }
    }
}
