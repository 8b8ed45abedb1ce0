//! The SQLite writer: one thread owns the only writing connection and runs
//! every writing transaction, one after another.
//!
//! Queued decisions (the hot path) are committed together, as many as are
//! waiting, in one transaction. The thread takes them off the queue itself
//! and runs the whole transaction, fsync included, without handing control
//! to another thread: a commit never waits for an async worker that is busy
//! with cryptography. The connection also caches the head of the audit chain
//! (one process owns the file), so entries are appended in one linear order.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use encnet_core::api::AuditRecord;
use rusqlite::{Connection, OptionalExtension};
use tokio::sync::{mpsc, oneshot};

use super::super::chain::ChainHead;
use super::super::error::StoreError;
use super::super::group_commit::{self, Pending, Write, MAX_BATCH, QUEUE_DEPTH};
use super::checkpointer::{self, Checkpointer, WalProgress, FALLBACK_FRAMES};
use super::conn::{self, Access};
use super::join::JoinOnDrop;
use super::memory::Memory;
use super::migrate;
use super::nonce_set::NonceSet;
use super::tx::SqliteTx;
use crate::clock;
use crate::report::Chain;

/// Under concurrent load, a small batch waits this long for more decisions
/// before it commits. Each commit costs about 90 µs of CPU whatever its
/// size (WAL frames and fdatasync), which the cryptography on the same
/// cores would otherwise lose, and each wakes the writer thread. Nothing is
/// delayed when requests come one by one. 0.6 ms against 0.3 ms: less CPU
/// per decrypt and a shorter tail near peak, 0.5 ms more median at half of
/// peak (docs/performance.md).
const LINGER: Duration = Duration::from_micros(600);
/// A batch at least this large commits at once.
const LINGER_BELOW: usize = 8;
/// The catch-up copy of the WAL syncs the database file, and every decision
/// queued meanwhile waits for it, so it waits for a moment when nothing is
/// queued; after this many transactions it runs anyway, so the WAL keeps
/// starting over.
const CATCH_UP_PATIENCE: u32 = 32;

/// Work for the writer thread. Decisions travel unboxed: one allocation per
/// decrypt would cost more than the queue's slots being sized for them.
#[allow(clippy::large_enum_variant)]
enum Job {
    /// A decision to group-commit.
    Write(Pending),
    /// Anything else, run alone.
    Run(Box<dyn FnOnce(&mut Writer) + Send>),
}

/// The async side's handle on the writer thread.
pub(super) struct WriterHandle {
    // Dropped first: the thread sees the queue close and ends.
    jobs: mpsc::Sender<Job>,
    _thread: JoinOnDrop,
    _checkpointer: Checkpointer,
}

impl WriterHandle {
    /// Opens the writing connection on a new thread and loads what the
    /// writer remembers; answers the handle and that memory.
    pub(super) async fn start(path: &Path) -> Result<(Self, Arc<Memory>), StoreError> {
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        let (ready, started) = oneshot::channel();
        let wal = Arc::<WalProgress>::default();
        let writer_wal = wal.clone();
        let writer_path: PathBuf = path.to_owned();
        let thread = std::thread::Builder::new()
            .name("encnet-sqlite-writer".to_owned())
            .spawn(move || match Writer::open(&writer_path, writer_wal) {
                Ok(writer) => {
                    let _ = ready.send(Ok(writer.memory.clone()));
                    writer.serve(queue);
                }
                Err(err) => {
                    let _ = ready.send(Err(err));
                }
            })?;
        let thread = JoinOnDrop(Some(thread));
        let memory = started.await.map_err(|_| StoreError::Closing)??;
        let checkpointer = Checkpointer::start(path, wal)?;
        Ok((
            Self {
                jobs,
                _thread: thread,
                _checkpointer: checkpointer,
            },
            memory,
        ))
    }

    /// Queues a decision and waits until it is committed (or refused).
    pub(super) async fn submit(&self, write: Write) -> Result<AuditRecord, StoreError> {
        group_commit::submit(&self.jobs, write, Job::Write).await
    }

    /// Runs `f` on the writer thread.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Writer) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Job::Run(Box::new(move |writer| {
            let _ = reply.send(f(writer));
        }));
        self.jobs.send(job).await.map_err(|_| StoreError::Closing)?;
        answer
            .await
            .map_err(|_| StoreError::Bug("the writer dropped a job (it panicked)"))?
    }
}

/// The writer thread's state.
pub(super) struct Writer {
    conn: Connection,
    head: ChainHead,
    memory: Arc<Memory>,
    /// A COMMIT failed (or a transaction panicked), so it may or may not
    /// have happened: the next transaction first re-reads what it may have
    /// changed.
    stale: bool,
    /// Decisions in the last group commit.
    last_batch: usize,
    /// Shared with the checkpointer.
    wal: Arc<WalProgress>,
    /// Transactions run since the checkpointer asked for a catch-up.
    catch_up_deferred: u32,
}

impl Writer {
    /// Opens (creating if needed) and migrates the file, and loads what
    /// the writer remembers.
    fn open(path: &Path, wal: Arc<WalProgress>) -> Result<Self, StoreError> {
        let mut conn = conn::open(path, Access::Write)?;
        conn.pragma_update(None, "wal_autocheckpoint", FALLBACK_FRAMES)?;
        migrate::run(&mut conn)?;
        let stored = read_state(&conn)?;
        Ok(Self {
            memory: Arc::new(Memory::new(stored.revoked, read_claims(&conn)?)),
            conn,
            head: stored.head,
            stale: false,
            last_batch: 0,
            wal,
            catch_up_deferred: 0,
        })
    }

    /// Runs jobs until every handle is gone. Decisions queued together are
    /// committed together, in queue order.
    fn serve(mut self, mut queue: mpsc::Receiver<Job>) {
        let mut next = None;
        while let Some(job) = next.take().or_else(|| queue.blocking_recv()) {
            // A bug that panics fails its own callers (their replies are
            // dropped), not the store: the next transaction starts clean.
            let done = panic::catch_unwind(AssertUnwindSafe(|| match job {
                Job::Run(run) => run(&mut self),
                Job::Write(first) => {
                    let batch = self.batch(first, &mut queue, &mut next);
                    self.commit(batch)
                }
            }));
            if done.is_err() {
                tracing::error!("a transaction on the SQLite writer panicked");
                self.stale = true;
            }
            let idle = next.is_none() && queue.is_empty();
            self.catch_up_wal(idle);
        }
    }

    /// Copies the frames committed since the checkpointer's last pass, when
    /// it asks: between two transactions, so the next one restarts the WAL.
    fn catch_up_wal(&mut self, idle: bool) {
        if !self.wal.catch_up_requested() {
            return;
        }
        if !catch_up_due(idle, self.catch_up_deferred) {
            self.catch_up_deferred += 1;
            return;
        }
        self.catch_up_deferred = 0;
        self.wal.start_catch_up();
        if let Err(err) = checkpointer::checkpoint_passive(&self.conn) {
            tracing::warn!(error = %Chain(&err), "WAL checkpoint on the writer failed");
        }
    }

    /// `first` and the decisions queued behind it, up to the first other job
    /// (kept in `next`). Under concurrent load (the last commit carried more
    /// than one decision) a small batch lingers for more.
    fn batch(
        &self,
        first: Pending,
        queue: &mut mpsc::Receiver<Job>,
        next: &mut Option<Job>,
    ) -> Vec<Pending> {
        let batch = gather(vec![first], queue, next);
        if next.is_some() || self.last_batch < 2 || batch.len() >= LINGER_BELOW {
            return batch;
        }
        std::thread::sleep(LINGER);
        gather(batch, queue, next)
    }

    fn commit(&mut self, batch: Vec<Pending>) {
        self.last_batch = batch.len();
        let (writes, replies) = group_commit::open_batch(batch);
        let committed = self.transact(move |tx| {
            let (claims, now) = group_commit::claims(&writes);
            let outcomes = tx.claim_nonces(&claims, now)?;
            let (drafts, proceeds) = group_commit::drafts(writes, outcomes);
            let records = tx.append_audits(drafts)?;
            group_commit::results(proceeds, records)
        });
        replies.deliver(committed);
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction; the cached chain head
    /// and the memory move only when it commits.
    pub(super) fn transact<T>(
        &mut self,
        f: impl FnOnce(&mut SqliteTx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.stale {
            self.recover()?;
        }
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut tx = SqliteTx::new(&self.conn, self.head, &self.memory);
        let result = f(&mut tx);
        let (head, effects) = tx.finish();
        let finish = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let finished = self.conn.execute_batch(finish);
        match (result, finished) {
            (Ok(value), Ok(())) => {
                self.wal.committed();
                self.head = head;
                self.memory.committed(effects);
                Ok(value)
            }
            (Ok(_), Err(err)) => {
                // The commit may have happened: its revocations and claims
                // count until the next transaction re-reads them (failing
                // closed).
                self.memory.committed(effects);
                self.stale = true;
                Err(err.into())
            }
            (Err(err), finished) => {
                self.stale = finished.is_err();
                Err(err)
            }
        }
    }

    /// Ends whatever transaction a failed COMMIT left open and re-reads the
    /// chain head, the revocations and the unexpired nonce claims.
    fn recover(&mut self) -> Result<(), StoreError> {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let stored = read_state(&self.conn)?;
        self.head = stored.head;
        self.memory.reload(stored.revoked, read_claims(&self.conn)?);
        self.stale = false;
        Ok(())
    }

    /// Moves the WAL into the database file and truncates it, so no copy of
    /// deleted rows survives there (`secure_delete` zeroes the pages); while
    /// readers keep it from finishing it is retried briefly, then a warning
    /// is logged ([`checkpointer::checkpoint_truncate`]).
    pub(super) fn checkpoint(&mut self) -> Result<(), StoreError> {
        checkpointer::checkpoint_truncate(&self.conn).map(|_finished| ())
    }
}

/// Whether a requested catch-up runs now: when nothing is queued, or once
/// it has waited [`CATCH_UP_PATIENCE`] transactions.
fn catch_up_due(idle: bool, deferred: u32) -> bool {
    idle || deferred >= CATCH_UP_PATIENCE
}

/// `batch` and the decisions queued now, up to the first other job (kept in
/// `next`).
fn gather(
    mut batch: Vec<Pending>,
    queue: &mut mpsc::Receiver<Job>,
    next: &mut Option<Job>,
) -> Vec<Pending> {
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(Job::Write(pending)) => batch.push(pending),
            Ok(other) => {
                *next = Some(other);
                break;
            }
            Err(_) => break,
        }
    }
    batch
}

/// The chain head and the revocations, as the writer keeps them.
struct StoredState {
    head: ChainHead,
    /// Every revoked delegation's CID.
    revoked: Vec<String>,
}

fn read_state(conn: &Connection) -> Result<StoredState, StoreError> {
    let head = conn
        .query_row(
            "SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
        )
        .optional()?;
    let head = match head {
        Some((seq, hash)) => ChainHead::stored(seq, &hash)?,
        None => ChainHead::GENESIS,
    };
    let mut statement = conn.prepare("SELECT cid FROM revocations")?;
    let revoked = statement
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(StoredState { head, revoked })
}

/// Every unexpired nonce claim, read row by row into the set: a million
/// claims read into a list first would leave the allocator holding several
/// times the set's size.
fn read_claims(conn: &Connection) -> Result<NonceSet, StoreError> {
    let claims = NonceSet::default();
    let mut statement =
        conn.prepare("SELECT issuer, nonce, expires_at FROM nonces WHERE expires_at >= ?1")?;
    let mut rows = statement.query([clock::now_unix()])?;
    while let Some(row) = rows.next()? {
        let issuer: String = row.get(0)?;
        let nonce: Vec<u8> = row.get(1)?;
        claims.insert(&issuer, &nonce, row.get(2)?);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::super::super::group_commit::tests::{decision_with, store};
    use super::super::super::{AuditDraft, Backend, Location, Store};
    use super::*;

    /// Runs `f` in one transaction on the store's writer thread.
    async fn transact<T: Send + 'static>(
        store: &Store,
        f: impl FnOnce(&mut SqliteTx<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let Backend::Sqlite(sqlite) = &store.backend else {
            panic!("an SQLite store")
        };
        sqlite.writing()?.writer.run(move |w| w.transact(f)).await
    }

    #[test]
    fn a_catch_up_waits_for_an_empty_queue_but_not_forever() {
        assert!(catch_up_due(true, 0));
        assert!(!catch_up_due(false, 0));
        assert!(!catch_up_due(false, CATCH_UP_PATIENCE - 1));
        assert!(catch_up_due(false, CATCH_UP_PATIENCE));
    }

    #[tokio::test]
    async fn after_a_failed_transaction_the_claims_are_reread_from_the_database() {
        let (_dir, store) = store().await;
        let now = clock::now_unix();
        let claim = move |nonce: u8| decision_with("did:key:a", vec![nonce; 16], now + 300, now);
        store.record_allowed(claim(1)).await.expect("claimed");
        let panicked: Result<(), _> = transact(&store, move |tx| {
            tx.claim_nonce(&claim(2).nonce, now)?;
            panic!("a bug mid-transaction")
        })
        .await;
        assert!(matches!(panicked, Err(StoreError::Bug(_))));
        // The next transaction re-reads the claims: the committed one still
        // holds, the rolled-back one is free.
        let again = store.record_allowed(claim(1)).await;
        assert!(matches!(again, Err(StoreError::Replay)), "{again:?}");
        store
            .record_allowed(claim(2))
            .await
            .expect("the rolled-back claim is free");
    }

    #[tokio::test]
    async fn a_panicking_transaction_fails_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&Location::Sqlite(dir.path().join("encnet.db")))
            .await
            .expect("store opens");
        let draft = || AuditDraft {
            outcome: "denied".to_owned(),
            ..AuditDraft::default()
        };
        store.append_audit(draft()).await.expect("first entry");
        let panicked: Result<(), _> = transact(&store, |tx| {
            tx.append_audit(AuditDraft::default())?;
            panic!("a bug mid-transaction")
        })
        .await;
        assert!(matches!(panicked, Err(StoreError::Bug(_))));
        // The half-done transaction was rolled back; the chain goes on.
        store.append_audit(draft()).await.expect("next entry");
        let sequences: Vec<u64> = store
            .audit_chain()
            .await
            .expect("chain")
            .iter()
            .map(|r| r.entry.sequence)
            .collect();
        assert_eq!(sequences, [1, 2]);
    }
}
