//! SQLite: WAL, `synchronous=FULL`, one writer, `rusqlite` only.
//!
//! Every write runs on the writer thread ([`writer`]), and the WAL is
//! copied back into the database file on a thread of its own
//! ([`checkpointer`]). Reads use a few read-only connections on blocking
//! threads ([`readers`]); WAL readers never block the writer. What the
//! writer committed is also remembered ([`Memory`]), so the capability check
//! reads nothing, and the memory of every unexpired nonce claim decides new
//! claims: the nonce table is an append-only log. Network rows are cached
//! for the decrypt path ([`cache`]). All of this needs one writing process
//! per file, which a lock file enforces ([`lock_sole_writer`]).

mod cache;
mod checkpointer;
mod conn;
mod join;
mod memory;
mod migrate;
mod nonce_set;
mod readers;
mod tx;
mod writer;

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::sync::Arc;

use encnet_core::api::AuditRecord;
use encnet_core::audit::SignedCheckpoint;
use rusqlite::{params, OptionalExtension};

use super::error::to_i64;
use super::error::StoreError;
use super::group_commit::Write;
use super::records::{
    AuditDraft, Change, Decision, Freshness, NetworkKey, NetworkRecord, NewKey, TableSizes,
};
use super::rows::{AuditRow, CheckpointRow, NetworkKeyRow, NetworkRow, CHECKPOINT_COLUMNS};
use cache::NetworkCache;
use conn::{fetch_all, fetch_optional};
use memory::Memory;
use readers::Readers;
use writer::WriterHandle;

/// Nonce-log rows deleted per transaction when expired claims are purged:
/// about 50 pages, a few milliseconds on the writer.
const PURGE_CHUNK: i64 = 2048;

/// The SQLite-backed store.
pub(super) struct SqliteStore {
    readers: Readers,
    /// `None` when opened read-only (offline tools).
    writing: Option<Writing>,
}

/// What a writing store has beside its readers.
struct Writing {
    writer: WriterHandle,
    memory: Arc<Memory>,
    cache: NetworkCache,
    /// Held while the store is open (see [`lock_sole_writer`]).
    _sole_writer: File,
}

impl SqliteStore {
    /// Opens (creating if needed) `path` and applies migrations.
    pub(super) async fn open(path: &Path) -> Result<Self, StoreError> {
        let sole_writer = lock_sole_writer(path)?;
        let (writer, memory) = WriterHandle::start(path).await?;
        Ok(Self {
            readers: Readers::new(path.to_owned()),
            writing: Some(Writing {
                writer,
                memory,
                cache: NetworkCache::default(),
                _sole_writer: sole_writer,
            }),
        })
    }

    /// Opens an existing database read-only, without migrating: no writer,
    /// no lock.
    pub(super) async fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let readers = Readers::new(path.to_owned());
        // Fails now, not at the first read, if the file cannot be read.
        readers
            .read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await?;
        Ok(Self {
            readers,
            writing: None,
        })
    }

    fn writing(&self) -> Result<&Writing, StoreError> {
        self.writing.as_ref().ok_or(StoreError::ReadOnly)
    }

    /// The network with this id, if any.
    pub(super) async fn network(&self, id: &str) -> Result<Option<NetworkRecord>, StoreError> {
        let id = id.to_owned();
        self.readers
            .read(move |conn| {
                fetch_optional::<NetworkRow, _>(
                    conn,
                    "SELECT * FROM networks WHERE network_id = ?1",
                    [id],
                )
            })
            .await
    }

    /// The network with this id and its key version `version`, from the
    /// cache when it holds them.
    pub(super) async fn network_key(
        &self,
        id: &str,
        version: u64,
    ) -> Result<Option<Arc<NetworkKey>>, StoreError> {
        let Some(writing) = &self.writing else {
            return self.read_network_key(id, version).await;
        };
        writing
            .cache
            .lookup(id, version, || self.read_network_key(id, version))
            .await
    }

    async fn read_network_key(
        &self,
        id: &str,
        version: u64,
    ) -> Result<Option<Arc<NetworkKey>>, StoreError> {
        // A version beyond i64 is stored nowhere; MAX matches no row.
        let wanted = version;
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        let id = id.to_owned();
        let row = self
            .readers
            .read(move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT n.*, k.public_key AS key_public_key, \
                     k.sealed_private_key AS key_sealed_private_key \
                     FROM networks n LEFT JOIN network_keys k \
                     ON k.network_id = n.network_id AND k.key_version = ?2 \
                     WHERE n.network_id = ?1",
                )?;
                let row = statement
                    .query_row(params![id, version], |row| {
                        <NetworkKeyRow as conn::FromSqliteRow>::from_sqlite_row(row)
                    })
                    .optional()?;
                Ok(row)
            })
            .await?;
        row.map(|row| row.into_network_key(wanted).map(Arc::new))
            .transpose()
    }

    /// The owner's attestations of the network's key versions, oldest first.
    pub(super) async fn attestations(&self, id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let id = id.to_owned();
        self.readers
            .read(move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT statement, signature FROM attestations \
                     WHERE network_id = ?1 ORDER BY key_version",
                )?;
                let rows = statement.query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
    }

    /// The ids of the networks `owner` owns, in id order.
    pub(super) async fn networks_of(&self, owner: &str) -> Result<Vec<String>, StoreError> {
        let owner = owner.to_owned();
        self.readers
            .read(move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT network_id FROM networks WHERE owner_did = ?1 ORDER BY network_id",
                )?;
                let rows = statement.query_map([owner], |row| row.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
    }

    /// One page of a network's audit records after sequence `after`.
    pub(super) async fn audit_page(
        &self,
        network: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let (network, after) = (network.to_owned(), to_i64(after)?);
        self.readers
            .read(move |conn| {
                fetch_all::<AuditRow, _>(
                    conn,
                    "SELECT * FROM audit WHERE network = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                    params![network, after, limit],
                )
            })
            .await
    }

    /// Up to `limit` entries of the whole chain after sequence `after`.
    pub(super) async fn audit_after(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let after = to_i64(after)?;
        self.readers
            .read(move |conn| {
                fetch_all::<AuditRow, _>(
                    conn,
                    "SELECT * FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                    params![after, limit],
                )
            })
            .await
    }

    /// The entry at `sequence`, if stored.
    pub(super) async fn audit_entry(
        &self,
        sequence: u64,
    ) -> Result<Option<AuditRecord>, StoreError> {
        let sequence = to_i64(sequence)?;
        self.readers
            .read(move |conn| {
                fetch_optional::<AuditRow, _>(
                    conn,
                    "SELECT * FROM audit WHERE seq = ?1",
                    [sequence],
                )
            })
            .await
    }

    /// The last committed entry of the chain, if any.
    pub(super) async fn audit_head(&self) -> Result<Option<AuditRecord>, StoreError> {
        self.readers
            .read(|conn| {
                fetch_optional::<AuditRow, _>(
                    conn,
                    "SELECT * FROM audit ORDER BY seq DESC LIMIT 1",
                    [],
                )
            })
            .await
    }

    /// The checkpoint of highest sequence, if any.
    pub(super) async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        self.readers
            .read(|conn| {
                let sql = format!(
                    "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq DESC LIMIT 1"
                );
                fetch_optional::<CheckpointRow, _>(conn, &sql, [])
            })
            .await
    }

    /// The checkpoints of entries `first..=last`, in sequence order.
    pub(super) async fn checkpoints_between(
        &self,
        first: u64,
        last: u64,
    ) -> Result<Vec<SignedCheckpoint>, StoreError> {
        let (first, last) = (to_i64(first)?, to_i64(last)?);
        self.readers
            .read(move |conn| {
                let sql = format!(
                    "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints \
                     WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq"
                );
                fetch_all::<CheckpointRow, _>(conn, &sql, [first, last])
            })
            .await
    }

    /// What the writer's memory tells of an invocation: exact, since every
    /// claim and revocation is committed by it. A read-only store knows
    /// nothing (it decides nothing either).
    pub(super) fn freshness(
        &self,
        issuer: &str,
        nonce: &[u8],
        now: i64,
        cids: &[String],
    ) -> Freshness {
        match &self.writing {
            Some(writing) => writing.memory.freshness(issuer, nonce, now, cids),
            None => Freshness::default(),
        }
    }

    /// The chain head's sequence, and the nonce claims held in memory.
    pub(super) async fn gauges(&self) -> Result<TableSizes, StoreError> {
        let audit = self
            .readers
            .read(|conn| {
                Ok(
                    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |row| {
                        row.get(0)
                    })?,
                )
            })
            .await?;
        let held = self.writing.as_ref().map_or(0, |w| w.memory.held());
        Ok(TableSizes {
            nonces: i64::try_from(held).unwrap_or(i64::MAX),
            audit,
        })
    }

    /// Row counts of the nonce and audit tables (a scan each).
    #[cfg(test)]
    pub(super) async fn table_sizes(&self) -> Result<TableSizes, StoreError> {
        self.readers
            .read(|conn| {
                Ok(conn.query_row(
                    "SELECT (SELECT COUNT(*) FROM nonces), (SELECT COUNT(*) FROM audit)",
                    [],
                    |row| {
                        Ok(TableSizes {
                            nonces: row.get(0)?,
                            audit: row.get(1)?,
                        })
                    },
                )?)
            })
            .await
    }

    /// Queues a decision for the writer's next group commit.
    pub(super) async fn submit(&self, write: Write) -> Result<AuditRecord, StoreError> {
        self.writing()?.writer.submit(write).await
    }

    /// Commits an allowed change with its decision. A cached row of the
    /// network it changes is dropped once it has committed, before the
    /// caller hears of it; a destroy is followed by a WAL checkpoint, so no
    /// copy of the shredded keys stays there.
    pub(super) async fn decide(
        &self,
        decision: Decision,
        change: Change,
    ) -> Result<AuditRecord, StoreError> {
        let writing = self.writing()?;
        let network = change.rewrites_network().map(str::to_owned);
        let destroy = matches!(change, Change::Destroy { .. });
        let result = writing
            .writer
            .run(move |writer| writer.transact(|tx| tx.decide(decision, change)))
            .await;
        if let Some(network) = network {
            writing.cache.invalidate(&network);
        }
        let record = result?;
        if destroy {
            // The decision is committed: a failure here is logged, not reported.
            if let Err(err) = writing.writer.run(|writer| writer.checkpoint()).await {
                tracing::warn!(
                    error = %crate::report::Chain(&err),
                    "could not checkpoint the WAL after destroy"
                );
            }
        }
        Ok(record)
    }

    /// Stores a signed checkpoint (keeping one already stored).
    pub(super) async fn insert_checkpoint(
        &self,
        checkpoint: SignedCheckpoint,
    ) -> Result<(), StoreError> {
        self.writing()?
            .writer
            .run(move |writer| writer.transact(|tx| tx.insert_checkpoint(&checkpoint)))
            .await
    }

    /// Bulk load (`encnet-bench seed`): networks with their first key, then audit
    /// entries chained as usual, in one transaction.
    pub(super) async fn seed_batch(
        &self,
        networks: Vec<(NetworkRecord, NewKey)>,
        audit: Vec<AuditDraft>,
    ) -> Result<(), StoreError> {
        self.writing()?
            .writer
            .run(move |writer| {
                writer.transact(|tx| {
                    for (network, key) in &networks {
                        if tx.insert_network(network)? {
                            tx.insert_key(&network.network_id, key, &network.created_at)?;
                        }
                    }
                    tx.append_audits(audit).map(drop)
                })
            })
            .await
    }

    /// Deletes the expired rows at the start of the nonce log, the run
    /// before its first unexpired row: rows are appended as claims commit,
    /// so each purge finds the rows that expired since the last one there,
    /// and a row behind a longer-lived one waits for it (at most one
    /// maximum invocation lifetime). The run is found on a reader and
    /// deleted [`PURGE_CHUNK`] rows per transaction, so decisions commit in
    /// between. Then the writer's memory forgets the expired claims.
    pub(super) async fn purge_nonces(&self, now: i64) -> Result<u64, StoreError> {
        let writing = self.writing()?;
        let (mut start, end) = self.expired_run(now).await?;
        let mut purged = 0;
        while start < end {
            start = start.saturating_add(PURGE_CHUNK).min(end);
            let before = start;
            purged += writing
                .writer
                .run(move |writer| writer.transact(|tx| tx.delete_expired_nonces(before, now)))
                .await?;
        }
        let held = writing.memory.drop_expired(now);
        metrics::gauge!("encnet_nonce_claims_held").set(held as f64);
        Ok(purged)
    }

    /// The sequence numbers `[start, end)` of the nonce log's expired start.
    async fn expired_run(&self, now: i64) -> Result<(i64, i64), StoreError> {
        self.readers
            .read(move |conn| {
                let (start, end): (Option<i64>, Option<i64>) = conn.query_row(
                    "SELECT (SELECT MIN(seq) FROM nonces), COALESCE(\
                     (SELECT seq FROM nonces WHERE expires_at >= ?1 ORDER BY seq LIMIT 1), \
                     (SELECT MAX(seq) + 1 FROM nonces))",
                    [now],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?;
                Ok((start.unwrap_or_default(), end.unwrap_or_default()))
            })
            .await
    }
}

/// Locks `<path>.lock` for as long as the returned file is open. The store
/// relies on being the database's only writer: it keeps the chain head and
/// every unexpired nonce claim in memory, so a second node on the same file
/// would fork the chain and could accept a replay. The lock is advisory,
/// released by the kernel when the process ends however it ends.
fn lock_sole_writer(path: &Path) -> Result<File, StoreError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::InUse(path.to_owned())),
        Err(TryLockError::Error(err)) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::group_commit::tests::{decision_with, store};
    use super::super::{Backend, Decision, Location, Store};
    use super::*;
    use crate::clock;

    const ISSUER: &str = "did:key:a";

    /// A decision claiming nonce `[nonce; 16]` of [`ISSUER`].
    fn claim(nonce: u8, expires_at: i64, now: i64) -> Decision {
        decision_with(ISSUER, vec![nonce; 16], expires_at, now)
    }

    #[tokio::test]
    async fn a_nonce_claimed_before_a_restart_is_refused_after_it() {
        let (dir, store) = store().await;
        let now = clock::now_unix();
        store
            .record_allowed(claim(1, now + 300, now))
            .await
            .expect("claimed");
        drop(store);
        let store = Store::open(&Location::Sqlite(dir.path().join("encnet.db")))
            .await
            .expect("store reopens");
        let again = store.record_allowed(claim(1, now + 300, now)).await;
        assert!(matches!(again, Err(StoreError::Replay)), "{again:?}");
    }

    #[tokio::test]
    async fn an_expired_row_behind_an_unexpired_one_waits_but_frees_its_nonce() {
        let (_dir, store) = store().await;
        let now = 1_000;
        for (nonce, expires_at) in [(1u8, now + 300), (2, now - 1)] {
            store
                .record_allowed(claim(nonce, expires_at, now - 10))
                .await
                .expect("claimed");
        }
        assert_eq!(store.purge_nonces(now).await.expect("purge"), 0);
        store
            .record_allowed(claim(2, now + 300, now))
            .await
            .expect("the expired nonce is claimed again");
        let again = store.record_allowed(claim(1, now + 300, now)).await;
        assert!(matches!(again, Err(StoreError::Replay)), "{again:?}");
    }

    #[tokio::test]
    async fn a_long_expired_run_is_purged_in_chunks_up_to_the_first_live_row() {
        let (_dir, store) = store().await;
        let store = Arc::new(store);
        let now = 1_000;
        let expired = PURGE_CHUNK as u32 * 2 + 5;
        // Submitted together, so they commit in a few large batches.
        let claims = (0..expired).map(|i| (i, now - 1)).chain([(expired, now)]);
        let tasks: Vec<_> = claims
            .map(|(i, expires_at)| {
                let store = store.clone();
                let decision =
                    decision_with(ISSUER, i.to_be_bytes().to_vec(), expires_at, now - 10);
                tokio::spawn(async move { store.record_allowed(decision).await })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("claimed");
        }
        let purged = store.purge_nonces(now).await.expect("purge");
        assert_eq!(purged, u64::from(expired));
        assert_eq!(store.table_sizes().await.expect("sizes").nonces, 1);
    }

    #[tokio::test]
    async fn a_second_store_on_the_same_file_is_refused_until_the_first_closes() {
        let (dir, store) = store().await;
        let location = Location::Sqlite(dir.path().join("encnet.db"));
        let second = Store::open(&location).await;
        assert!(
            matches!(second, Err(StoreError::InUse(_))),
            "{:?}",
            second.err()
        );
        Store::open_read_only(&location)
            .await
            .expect("readers are not locked out");
        drop(store);
        Store::open(&location)
            .await
            .expect("opens once the first is closed");
    }

    #[tokio::test]
    async fn the_nonce_log_migration_keeps_every_claim() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("encnet.db");
        let mut conn = conn::open(&path, conn::Access::Write).expect("created");
        migrate::run_up_to(&mut conn, 1).expect("first migration");
        let now = clock::now_unix();
        conn.execute(
            "INSERT INTO nonces (issuer, nonce, expires_at) VALUES (?1, ?2, ?3)",
            params![ISSUER, vec![7u8; 16], now + 300],
        )
        .expect("claim stored the old way");
        drop(conn);

        let store = Store::open(&Location::Sqlite(path))
            .await
            .expect("migrated");
        let again = store.record_allowed(claim(7, now + 300, now)).await;
        assert!(matches!(again, Err(StoreError::Replay)), "{again:?}");
        store
            .record_allowed(claim(8, now + 300, now))
            .await
            .expect("a new nonce is claimed");
        assert_eq!(store.table_sizes().await.expect("sizes").nonces, 2);
    }

    #[tokio::test]
    async fn a_read_only_store_reads_but_runs_no_writer_and_refuses_writes() {
        let (dir, store) = store().await;
        let now = clock::now_unix();
        store
            .record_allowed(claim(1, now + 300, now))
            .await
            .expect("claimed");
        let location = Location::Sqlite(dir.path().join("encnet.db"));
        let reader = Store::open_read_only(&location).await.expect("opens");
        assert_eq!(reader.audit_chain().await.expect("chain").len(), 1);
        let Backend::Sqlite(sqlite) = &reader.backend else {
            panic!("an SQLite store")
        };
        assert!(sqlite.writing.is_none(), "no writer thread, no lock");
        let write = reader.record_allowed(claim(2, now + 300, now)).await;
        assert!(matches!(write, Err(StoreError::ReadOnly)), "{write:?}");
    }
}
