//! SQLite: WAL, `synchronous=FULL`, one writer.
//!
//! Every write runs on the writer thread ([`sqlite_writer`]), and the WAL
//! is copied back into the database file on a thread of its own
//! ([`sqlite_checkpointer`]). Reads use a separate pool (WAL readers do not
//! block the writer). What the writer committed is also remembered
//! ([`Memory`]), so the capability check reads nothing, and the memory of
//! every unexpired nonce claim decides new claims: the nonce table is an
//! append-only log. All of this needs one writing process per file, which a
//! lock file enforces ([`lock_sole_writer`]).
//!
//! [`sqlite_writer`]: super::sqlite_writer
//! [`sqlite_checkpointer`]: super::sqlite_checkpointer

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use encnet_core::api::AuditRecord;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use super::group_commit::Write;
use super::memory::Memory;
use super::query::{Conn, Tx, Value};
use super::sqlite_writer::WriterHandle;
use super::{StoreError, TxFuture};

/// Every connection's settings.
pub(super) const PRAGMAS: [(&str, &str); 6] = [
    ("journal_mode", "WAL"),
    ("synchronous", "FULL"),
    ("foreign_keys", "ON"),
    // Deleted content is overwritten with zeros (crypto-shredding).
    ("secure_delete", "ON"),
    // When the WAL starts over after a full checkpoint, a file grown past
    // 64 MiB is truncated back, so it does not keep old page copies
    // (deleted keys included) in its unused tail.
    ("journal_size_limit", "67108864"),
    // Statement journals (a multi-row upsert needs one) stay in memory
    // instead of a temporary file opened, written and unlinked per
    // statement.
    ("temp_store", "MEMORY"),
];

/// Nonce-log rows deleted per transaction when expired claims are purged:
/// about 50 pages, a few milliseconds on the writer.
const PURGE_CHUNK: i64 = 2048;

/// The SQLite-backed store.
pub(super) struct SqliteStore {
    pool: SqlitePool,
    writer: WriterHandle,
    memory: Arc<Memory>,
    /// Held while the store is open for writing (see [`lock_sole_writer`]).
    _sole_writer: Option<File>,
}

impl SqliteStore {
    /// Opens (creating if needed) `path` and applies migrations.
    pub(super) async fn open(path: &Path) -> Result<Self, StoreError> {
        let sole_writer = lock_sole_writer(path)?;
        let options = PRAGMAS
            .iter()
            .fold(SqliteConnectOptions::new(), |options, (name, value)| {
                options.pragma(*name, *value)
            })
            .filename(path)
            .busy_timeout(Duration::from_secs(10))
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A local file does not drop connections; a ping per acquire
            // would cost a thread round trip on every read.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        let (writer, memory) = WriterHandle::start(path, false).await?;
        Ok(Self {
            pool,
            writer,
            memory,
            _sole_writer: Some(sole_writer),
        })
    }

    /// Opens an existing database read-only, without migrating.
    pub(super) async fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let (writer, memory) = WriterHandle::start(path, true).await?;
        Ok(Self {
            pool,
            writer,
            memory,
            _sole_writer: None,
        })
    }

    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(super) fn memory(&self) -> &Memory {
        &self.memory
    }

    /// Runs `f` in one transaction on the writer thread.
    pub(super) async fn transact<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: for<'a, 'c> FnOnce(&'a mut Tx<'c>) -> TxFuture<'a, T> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.run(move |writer| writer.transact(f)).await
    }

    /// Queues a decision for the writer's next group commit.
    pub(super) async fn submit(&self, write: Write) -> Result<AuditRecord, StoreError> {
        self.writer.submit(write).await
    }

    /// Deletes the expired rows at the start of the nonce log, the run
    /// before its first unexpired row: rows are appended as claims commit,
    /// so each purge finds the rows that expired since the last one there,
    /// and a row behind a longer-lived one waits for it (at most one
    /// maximum invocation lifetime). The run is found on a reader and
    /// deleted [`PURGE_CHUNK`] rows per transaction, so decisions commit in
    /// between. Then the writer's memory forgets the expired claims.
    pub(super) async fn purge_nonces(&self, now: i64) -> Result<u64, StoreError> {
        let (mut start, end) = self.expired_run(now).await?;
        let mut purged = 0;
        while start < end {
            start = start.saturating_add(PURGE_CHUNK).min(end);
            purged += self
                .transact(move |tx| {
                    Box::pin(async move {
                        // `expires_at` too: a row is never deleted unexpired,
                        // whatever sequence number it was given.
                        tx.conn
                            .execute(
                                "DELETE FROM nonces WHERE seq < $1 AND expires_at < $2",
                                &[Value::Int(start), Value::Int(now)],
                            )
                            .await
                    })
                })
                .await?;
        }
        let held = self.memory.drop_expired(now);
        metrics::gauge!("encnet_nonce_claims_held").set(held as f64);
        Ok(purged)
    }

    /// The sequence numbers `[start, end)` of the nonce log's expired
    /// start.
    async fn expired_run(&self, now: i64) -> Result<(i64, i64), StoreError> {
        let mut reader = self.pool.acquire().await?;
        let (start, end): (Option<i64>, Option<i64>) = Conn::Sqlite(&mut reader)
            .fetch_optional(
                "SELECT (SELECT MIN(seq) FROM nonces), COALESCE(\
                 (SELECT seq FROM nonces WHERE expires_at >= $1 ORDER BY seq LIMIT 1), \
                 (SELECT MAX(seq) + 1 FROM nonces))",
                &[Value::Int(now)],
            )
            .await?
            .unwrap_or_default();
        Ok((start.unwrap_or_default(), end.unwrap_or_default()))
    }

    /// Moves the WAL into the database file and truncates it.
    pub(super) async fn checkpoint(&self) -> Result<(), StoreError> {
        self.writer.run(|writer| writer.checkpoint()).await
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
    use super::super::{Decision, Location, Store};
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
        let first = dir.path().join("first");
        std::fs::create_dir(&first).expect("dir");
        std::fs::write(
            first.join("0001_create_tables.sql"),
            include_str!("../../migrations/sqlite/0001_create_tables.sql"),
        )
        .expect("migration copied");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = SqlitePool::connect_with(options).await.expect("pool");
        let migrator = sqlx::migrate::Migrator::new(first.as_path())
            .await
            .expect("migrator");
        migrator.run(&pool).await.expect("first migration");
        let now = clock::now_unix();
        sqlx::query("INSERT INTO nonces (issuer, nonce, expires_at) VALUES ($1, $2, $3)")
            .bind(ISSUER)
            .bind(vec![7u8; 16])
            .bind(now + 300)
            .execute(&pool)
            .await
            .expect("claim stored the old way");
        pool.close().await;

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
}
