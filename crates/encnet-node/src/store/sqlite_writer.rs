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
use std::thread::JoinHandle;
use std::time::Duration;

use encnet_core::api::AuditRecord;
use rusqlite::{Connection, OpenFlags};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

use super::group_commit::{self, closing, Pending, Write, MAX_BATCH, QUEUE_DEPTH};
use super::memory::Memory;
use super::nonce_set::NonceSet;
use super::query::{ChainHead, Conn, Tx, Value};
use super::sqlite::PRAGMAS;
use super::sqlite_checkpointer::{self, Checkpointer, WalProgress, FALLBACK_FRAMES};
use super::{StoreError, TxFuture};
use crate::clock;

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

/// Statements the writer keeps prepared: the group commit uses one per
/// batch size.
const STATEMENT_CACHE: usize = 1024;

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
    _checkpointer: Option<Checkpointer>,
}

impl WriterHandle {
    /// Opens the writing connection on a new thread and loads what the
    /// writer remembers; answers the handle and that memory.
    pub(super) async fn start(
        path: &Path,
        read_only: bool,
    ) -> Result<(Self, Arc<Memory>), StoreError> {
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        let (ready, started) = oneshot::channel();
        let wal = (!read_only).then(Arc::<WalProgress>::default);
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
        let memory = started.await.map_err(|_| closing())??;
        let checkpointer = wal.map(|wal| Checkpointer::start(path, wal)).transpose()?;
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
        self.jobs.send(job).await.map_err(|_| closing())?;
        answer.await.map_err(|_| closing())?
    }
}

/// Waits for a store thread (the writer, the checkpointer) to finish its
/// last job and close its connection.
pub(super) struct JoinOnDrop(pub(super) Option<JoinHandle<()>>);

impl Drop for JoinOnDrop {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread's state.
pub(super) struct Writer {
    conn: Connection,
    /// Polls a transaction's future; nothing in it waits, since every
    /// statement on this connection runs to completion.
    runtime: Runtime,
    head: ChainHead,
    memory: Arc<Memory>,
    /// A COMMIT failed (or a transaction panicked), so it may or may not
    /// have happened: the next transaction first re-reads what it may have
    /// changed.
    stale: bool,
    /// Decisions in the last group commit.
    last_batch: usize,
    /// Shared with the checkpointer; `None` when read-only.
    wal: Option<Arc<WalProgress>>,
    /// Transactions run since the checkpointer asked for a catch-up.
    catch_up_deferred: u32,
}

impl Writer {
    fn open(path: &Path, wal: Option<Arc<WalProgress>>) -> Result<Self, StoreError> {
        let mut conn = open_connection(path, wal.is_none())?;
        if wal.is_some() {
            conn.pragma_update(None, "wal_autocheckpoint", FALLBACK_FRAMES)?;
        }
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let stored = read_state(&mut conn, &runtime)?;
        // A read-only store (offline tools) never claims a nonce.
        let claims = match wal {
            Some(_) => read_claims(&conn)?,
            None => NonceSet::default(),
        };
        Ok(Self {
            conn,
            runtime,
            head: stored.head,
            memory: Arc::new(Memory::new(stored.revoked, claims)),
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
        let Some(wal) = &self.wal else { return };
        if !wal.catch_up_requested() {
            return;
        }
        if !catch_up_due(idle, self.catch_up_deferred) {
            self.catch_up_deferred += 1;
            return;
        }
        self.catch_up_deferred = 0;
        wal.start_catch_up();
        if let Err(err) = sqlite_checkpointer::checkpoint_passive(&self.conn) {
            tracing::warn!(%err, "WAL checkpoint on the writer failed");
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
        let committed = self.transact(move |tx| Box::pin(group_commit::apply(tx, writes)));
        replies.deliver(committed);
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction; the cached chain head
    /// and the memory move only when it commits.
    pub(super) fn transact<T, F>(&mut self, f: F) -> Result<T, StoreError>
    where
        F: for<'a, 'c> FnOnce(&'a mut Tx<'c>) -> TxFuture<'a, T>,
    {
        if self.stale {
            self.recover()?;
        }
        super::sqlite_sync::execute(&self.conn, "BEGIN IMMEDIATE", &[])?;
        let mut tx = Tx::sole_writer(
            Conn::SqliteWriter(&mut self.conn),
            self.head,
            self.memory.as_ref(),
        );
        let result = self.runtime.block_on(f(&mut tx));
        let head = tx.appended_head();
        let effects = tx.take_effects();
        let finish = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let finished = super::sqlite_sync::execute(&self.conn, finish, &[]);
        match (result, finished) {
            (Ok(value), Ok(_)) => {
                if let Some(wal) = &self.wal {
                    wal.committed();
                }
                if let Some(head) = head {
                    self.head = head;
                }
                self.memory.committed(effects);
                Ok(value)
            }
            (Ok(_), Err(err)) => {
                // The commit may have happened: its revocations and claims
                // count until the next transaction re-reads them (failing
                // closed).
                self.memory.committed(effects);
                self.stale = true;
                Err(err)
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
        let stored = read_state(&mut self.conn, &self.runtime)?;
        self.head = stored.head;
        self.memory.reload(stored.revoked, read_claims(&self.conn)?);
        self.stale = false;
        Ok(())
    }

    /// Moves the WAL into the database file and truncates it, so no copy of
    /// deleted rows survives there (`secure_delete` zeroes the pages); while
    /// readers keep it from finishing it is retried briefly, then a warning
    /// is logged ([`sqlite_checkpointer::checkpoint_truncate`]).
    pub(super) fn checkpoint(&mut self) -> Result<(), StoreError> {
        sqlite_checkpointer::checkpoint_truncate(&self.conn).map(|_finished| ())
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

fn read_state(conn: &mut Connection, runtime: &Runtime) -> Result<StoredState, StoreError> {
    runtime.block_on(async {
        let mut conn = Conn::SqliteWriter(conn);
        let head = conn.chain_head().await?;
        let revoked: Vec<(String,)> = conn.fetch_all("SELECT cid FROM revocations", &[]).await?;
        Ok(StoredState {
            head,
            revoked: revoked.into_iter().map(|(cid,)| cid).collect(),
        })
    })
}

/// Every unexpired nonce claim, read row by row into the set: a million
/// claims read into a list first would leave the allocator holding several
/// times the set's size.
fn read_claims(conn: &Connection) -> Result<NonceSet, StoreError> {
    let claims = NonceSet::default();
    super::sqlite_sync::for_each(
        conn,
        "SELECT issuer, nonce, expires_at FROM nonces WHERE expires_at >= $1",
        &[Value::Int(clock::now_unix())],
        |(issuer, nonce, expires_at): (String, Vec<u8>, i64)| {
            claims.insert(&issuer, &nonce, expires_at);
        },
    )?;
    Ok(claims)
}

/// A connection for the writer or the checkpointer, with the settings
/// every connection has. The pool has already created and migrated the
/// file.
pub(super) fn open_connection(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let access = match read_only {
        true => OpenFlags::SQLITE_OPEN_READ_ONLY,
        false => OpenFlags::SQLITE_OPEN_READ_WRITE,
    };
    let conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(sqlite_checkpointer::BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if !read_only {
        for (name, value) in PRAGMAS {
            conn.pragma_update(None, name, value)?;
        }
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::super::group_commit::tests::{decision_with, store};
    use super::super::{AuditDraft, Location, Store};
    use super::*;

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
        let panicked: Result<(), _> = store
            .transact(move |tx| {
                Box::pin(async move {
                    tx.claim_nonce(&claim(2).nonce, now).await?;
                    panic!("a bug mid-transaction")
                })
            })
            .await;
        assert!(matches!(panicked, Err(StoreError::Batch(_))));
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
        let panicked: Result<(), _> = store
            .transact(|tx| {
                Box::pin(async move {
                    tx.append_audit(AuditDraft::default()).await?;
                    panic!("a bug mid-transaction")
                })
            })
            .await;
        assert!(matches!(panicked, Err(StoreError::Batch(_))));
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
