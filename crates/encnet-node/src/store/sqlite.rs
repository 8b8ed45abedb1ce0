//! SQLite: WAL, `synchronous=FULL`, one writer connection.
//!
//! Every write runs in a `BEGIN IMMEDIATE` transaction on the single writer
//! connection, which also caches the head of the audit chain (valid because
//! one process owns the file), so entries are appended in one linear order.
//! Reads use a separate pool (WAL readers do not block the writer). What the
//! writer committed is also remembered ([`Memory`]), so the capability check
//! reads nothing.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::ConnectOptions;
use tokio::sync::Mutex;

use super::memory::Memory;
use super::query::{ChainHead, Conn, Effects, Tx};
use super::{StoreError, TxFuture};

/// The SQLite-backed store.
pub(super) struct SqliteStore {
    pool: SqlitePool,
    writer: Mutex<Writer>,
    memory: Memory,
}

struct Writer {
    conn: SqliteConnection,
    head: ChainHead,
    /// A transaction was begun and not finished (its future was dropped).
    open: bool,
}

impl SqliteStore {
    /// Opens (creating if needed) `path` and applies migrations.
    pub(super) async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = connect_options(path).create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A local file does not drop connections; a ping per acquire
            // would cost a thread round trip on every read.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Self::with_writer(pool, options).await
    }

    /// Opens an existing database read-only, without migrating.
    pub(super) async fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        Self::with_writer(pool, options).await
    }

    async fn with_writer(
        pool: SqlitePool,
        options: SqliteConnectOptions,
    ) -> Result<Self, StoreError> {
        // The group commit prepares one statement per batch size.
        let mut conn = options.statement_cache_capacity(1024).connect().await?;
        let head = Conn::Sqlite(&mut conn).chain_head().await?;
        let revoked = load_revocations(&mut conn).await?;
        Ok(Self {
            memory: Memory::new(revoked),
            pool,
            writer: Mutex::new(Writer {
                conn,
                head,
                open: false,
            }),
        })
    }

    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(super) fn memory(&self) -> &Memory {
        &self.memory
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer; the
    /// cached chain head moves only when the transaction commits.
    pub(super) async fn transact<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: for<'a, 'c> FnOnce(&'a mut Tx<'c>) -> TxFuture<'a, T>,
    {
        let mut guard = self.writer.lock().await;
        let writer = &mut *guard;
        if writer.open {
            // The last caller went away mid-transaction, or its COMMIT
            // failed: finish it and re-read what that commit may have
            // changed (the head, the revocations).
            let _ = sqlx::query("ROLLBACK").execute(&mut writer.conn).await;
            writer.head = Conn::Sqlite(&mut writer.conn).chain_head().await?;
            self.memory
                .reload_revocations(load_revocations(&mut writer.conn).await?);
            writer.open = false;
        }
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut writer.conn)
            .await?;
        writer.open = true;
        let mut tx = Tx::new(Conn::Sqlite(&mut writer.conn), Some(writer.head));
        let result = f(&mut tx).await;
        let head = tx.appended_head();
        let effects = tx.take_effects();
        let finish = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let finished = sqlx::query(finish).execute(&mut writer.conn).await;
        match (result, finished) {
            (Ok(value), Ok(_)) => {
                writer.open = false;
                if let Some(head) = head {
                    writer.head = head;
                }
                self.memory.committed(effects);
                Ok(value)
            }
            (Ok(_), Err(err)) => {
                // The commit may have happened. Its revocations count until
                // the next transaction re-reads them (failing closed); `open`
                // stays set so that transaction rolls back and re-reads.
                self.memory.committed(Effects {
                    claimed: Vec::new(),
                    revoked: effects.revoked,
                });
                Err(err.into())
            }
            (Err(err), finished) => {
                writer.open = finished.is_err();
                Err(err)
            }
        }
    }

    /// Moves the WAL into the database file and truncates it, so no copy of
    /// deleted rows survives there (`secure_delete` zeroes the pages).
    pub(super) async fn checkpoint(&self) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut writer.conn)
            .await?;
        Ok(())
    }
}

/// Every revoked delegation's CID.
async fn load_revocations(conn: &mut SqliteConnection) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = Conn::Sqlite(conn)
        .fetch_all("SELECT cid FROM revocations", &[])
        .await?;
    Ok(rows.into_iter().map(|(cid,)| cid).collect())
}

fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        // Deleted content is overwritten with zeros (crypto-shredding).
        .pragma("secure_delete", "ON")
        // Statement journals (a multi-row upsert needs one) stay in memory
        // instead of a temporary file opened, written and unlinked per
        // statement.
        .pragma("temp_store", "MEMORY")
}
