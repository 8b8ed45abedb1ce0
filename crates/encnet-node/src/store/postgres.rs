//! PostgreSQL: a connection pool per process; several processes may share
//! one database.
//!
//! Every writing transaction that appends to the audit log first locks the
//! one row of `audit_head` (`SELECT … FOR UPDATE`), reads the head there,
//! appends, and moves the head before it commits. Appends therefore take
//! turns across every process, and the chain stays one linear hash chain.
//! Nonces are unique through the primary key of `nonces` and the same
//! `INSERT … ON CONFLICT … DO UPDATE … WHERE expired` as on SQLite.
//! `synchronous_commit` is left on: an acknowledged decision is durable.
//! Decisions are group-committed by a task of their own.

use std::str::FromStr;
use std::time::Duration;

use encnet_core::api::AuditRecord;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::mpsc;

use super::group_commit::{self, Pending, Write, MAX_BATCH, QUEUE_DEPTH};
use super::query::{Conn, Tx, Value};
use super::{StoreError, TxFuture};

/// Connections per process: writers wait for the chain head, so a few more
/// than cores lets reads proceed meanwhile.
const MAX_CONNECTIONS: u32 = 16;

/// A pooled connection idle for longer than this is pinged before use.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The PostgreSQL-backed store.
pub(super) struct PgStore {
    pool: PgPool,
    decisions: mpsc::Sender<Pending>,
}

impl PgStore {
    /// Connects to `url` and applies migrations (sqlx holds an advisory lock
    /// while it migrates, so processes starting together do not race).
    pub(super) async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?
            // An acknowledged decision must survive a crash of the server.
            .options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // sqlx pings every connection when it is released, and by
            // default again when it is acquired: a round trip per use. A
            // connection back in use within a second was just tested; one
            // idle for longer may have missed a server restart.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self::with_pool(pool))
    }

    /// Connects read-only, without migrating.
    pub(super) async fn open_read_only(url: &str) -> Result<Self, StoreError> {
        let options =
            PgConnectOptions::from_str(url)?.options([("default_transaction_read_only", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Self::with_pool(pool))
    }

    /// Starts the group-commit task on the current runtime.
    fn with_pool(pool: PgPool) -> Self {
        let (decisions, queue) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(commit_batches(pool.clone(), queue));
        Self { pool, decisions }
    }

    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs `f` in one transaction.
    pub(super) async fn transact<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: for<'a, 'c> FnOnce(&'a mut Tx<'c>) -> TxFuture<'a, T>,
    {
        transact(&self.pool, f).await
    }

    /// Queues a decision for the next group commit.
    pub(super) async fn submit(&self, write: Write) -> Result<AuditRecord, StoreError> {
        group_commit::submit(&self.decisions, write, |pending| pending).await
    }

    /// Reclaims the dead versions of `network_keys` rows, so the overwritten
    /// and deleted sealed keys are no longer kept for old snapshots. Runs
    /// outside any transaction (VACUUM cannot run inside one).
    pub(super) async fn vacuum_keys(&self) -> Result<(), StoreError> {
        sqlx::query("VACUUM network_keys")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Runs `f` in one transaction. The chain head is read (and locked) on the
/// first append, and written back before the commit.
async fn transact<T, F>(pool: &PgPool, f: F) -> Result<T, StoreError>
where
    F: for<'a, 'c> FnOnce(&'a mut Tx<'c>) -> TxFuture<'a, T>,
{
    let mut transaction = pool.begin().await?;
    let mut tx = Tx::shared(Conn::Postgres(&mut transaction));
    let result = f(&mut tx).await;
    let head = tx.appended_head();
    let value = match result {
        Ok(value) => value,
        Err(err) => {
            transaction.rollback().await?;
            return Err(err);
        }
    };
    if let Some(head) = head {
        let seq = super::query::to_i64(head.seq)?;
        let hash = hex::encode(head.hash);
        Conn::Postgres(&mut transaction)
            .execute(
                "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
                &[Value::Int(seq), Value::Text(&hash)],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(value)
}

/// Commits the queued decisions, as many as are waiting, one transaction at
/// a time, until the store is dropped.
async fn commit_batches(pool: PgPool, mut queue: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (writes, replies) = group_commit::open_batch(std::mem::take(&mut batch));
        let committed = transact(&pool, move |tx| Box::pin(group_commit::apply(tx, writes))).await;
        replies.deliver(committed);
    }
}

#[cfg(test)]
mod tests {
    use super::super::group_commit::tests::decision_with;
    use super::super::query::SHARED_CLOCK_MARGIN_SECS;
    use super::super::{Location, Store, StoreError};

    /// A store on a fresh schema of `ENCNET_TEST_DATABASE_URL`.
    async fn store() -> Store {
        let url = std::env::var("ENCNET_TEST_DATABASE_URL").expect("ENCNET_TEST_DATABASE_URL");
        let schema = format!("encnet_unit_{}", hex::encode(rand::random::<[u8; 8]>()));
        let admin = sqlx::PgPool::connect(&url).await.expect("connect");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .expect("schema");
        admin.close().await;
        let separator = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{separator}options=-csearch_path%3D{schema}");
        Store::open(&Location::Postgres(url)).await.expect("opens")
    }

    /// Processes' clocks may differ: a nonce that expired by this clock is
    /// neither purged nor reusable until the margin has passed too.
    #[tokio::test]
    #[ignore = "not run: needs PostgreSQL (set ENCNET_TEST_DATABASE_URL, pass --ignored)"]
    async fn postgres_nonces_outlive_their_expiry_by_the_clock_margin() {
        let store = store().await;
        let expired_at = 10_000;
        let claim = || decision_with("did:key:a", vec![7; 16], expired_at, expired_at - 60);
        store.record_allowed(claim()).await.expect("claimed");
        let soon_after = expired_at + SHARED_CLOCK_MARGIN_SECS / 2;
        assert_eq!(store.purge_nonces(soon_after).await.expect("purge"), 0);
        let mut again = claim();
        again.now = soon_after;
        assert!(matches!(
            store.record_allowed(again.clone()).await,
            Err(StoreError::Replay)
        ));
        let later = expired_at + SHARED_CLOCK_MARGIN_SECS + 1;
        again.now = later;
        store
            .record_allowed(again)
            .await
            .expect("reusable after the margin");
        assert_eq!(store.purge_nonces(later + 1000).await.expect("purge"), 1);
    }
}
