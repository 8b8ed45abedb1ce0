//! SQLite: WAL, `synchronous=FULL`, one writer.
//!
//! Every write runs on the writer thread ([`sqlite_writer`]), and the WAL
//! is copied back into the database file on a thread of its own
//! ([`sqlite_checkpointer`]). Reads use a separate pool (WAL readers do not
//! block the writer). What the writer committed is also remembered
//! ([`Memory`]), so the capability check reads nothing.
//!
//! [`sqlite_writer`]: super::sqlite_writer
//! [`sqlite_checkpointer`]: super::sqlite_checkpointer

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use encnet_core::api::AuditRecord;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use super::group_commit::Write;
use super::memory::Memory;
use super::query::Tx;
use super::sqlite_writer::WriterHandle;
use super::{StoreError, TxFuture};

/// Every connection's settings.
pub(super) const PRAGMAS: [(&str, &str); 5] = [
    ("journal_mode", "WAL"),
    ("synchronous", "FULL"),
    ("foreign_keys", "ON"),
    // Deleted content is overwritten with zeros (crypto-shredding).
    ("secure_delete", "ON"),
    // Statement journals (a multi-row upsert needs one) stay in memory
    // instead of a temporary file opened, written and unlinked per
    // statement.
    ("temp_store", "MEMORY"),
];

/// The SQLite-backed store.
pub(super) struct SqliteStore {
    pool: SqlitePool,
    writer: WriterHandle,
    memory: Arc<Memory>,
}

impl SqliteStore {
    /// Opens (creating if needed) `path` and applies migrations.
    pub(super) async fn open(path: &Path) -> Result<Self, StoreError> {
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

    /// Moves the WAL into the database file and truncates it.
    pub(super) async fn checkpoint(&self) -> Result<(), StoreError> {
        self.writer.run(|writer| writer.checkpoint()).await
    }
}
