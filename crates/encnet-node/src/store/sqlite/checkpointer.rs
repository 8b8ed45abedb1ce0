//! Copies the WAL back into the database file off the writer's path.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that crosses its
//! threshold: every thousand frames, one commit (and every decision queued
//! behind it) waited while the pages were copied and the database file was
//! synced, a few milliseconds on a loaded node (docs/performance.md).
//!
//! Here a thread of its own copies the bulk with PASSIVE checkpoints, which
//! never block the writer. A PASSIVE checkpoint cannot copy the frames that
//! the writer commits meanwhile, so it then asks the writer to copy those few
//! between two transactions, preferably when nothing is queued
//! ([`WalProgress::catch_up_requested`]). The WAL is then wholly in the
//! database file, and the next transaction starts it over from its
//! beginning, which keeps it small.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use rusqlite::Connection;

use super::super::error::StoreError;
use super::conn::{self, Access, BUSY_TIMEOUT};
use super::join::JoinOnDrop;

/// How often the checkpointer looks for new commits. At peak load this is
/// a few hundred frames per checkpoint.
const INTERVAL: Duration = Duration::from_millis(50);

/// If the checkpointer ever stops keeping up, SQLite's own checkpoint takes
/// over on the writer once the WAL holds this many frames (about 40 MiB).
pub(super) const FALLBACK_FRAMES: i64 = 10_000;

/// A TRUNCATE checkpoint (after a destroy) is tried this many times while
/// readers keep it from finishing ...
const TRUNCATE_ATTEMPTS: u32 = 5;
/// ... each waiting this long for them (its busy timeout, instead of
/// [`BUSY_TIMEOUT`]: the writer thread waits meanwhile) ...
const TRUNCATE_WAIT: Duration = Duration::from_millis(100);
/// ... with this pause between attempts: at most about 0.6 s in all.
const TRUNCATE_PAUSE: Duration = Duration::from_millis(20);

/// What the writer and the checkpointer tell each other.
#[derive(Default)]
pub(super) struct WalProgress {
    commits: AtomicU64,
    catch_up: AtomicBool,
}

impl WalProgress {
    /// The writer committed a transaction.
    pub(super) fn committed(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the checkpointer has asked the writer to copy the last frames.
    pub(super) fn catch_up_requested(&self) -> bool {
        self.catch_up.load(Ordering::Acquire)
    }

    /// The writer is copying the last frames; a pass that ends meanwhile
    /// asks again.
    pub(super) fn start_catch_up(&self) {
        self.catch_up.store(false, Ordering::Release);
    }
}

/// Copies what is in the WAL into the database file, as far as it can
/// without waiting for anyone.
pub(super) fn checkpoint_passive(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)")
        .map_err(Into::into)
}

/// Copies the whole WAL into the database file and truncates the WAL to
/// zero bytes, so no old copy of a deleted row stays there. A reader still
/// using the WAL keeps the checkpoint from finishing (SQLite then reports
/// busy in its result row, not as an error): it is retried a few times,
/// briefly, and if it still cannot finish a warning is logged and the answer
/// is `false`; the copies go at a later checkpoint.
pub(super) fn checkpoint_truncate(conn: &Connection) -> Result<bool, StoreError> {
    conn.busy_timeout(TRUNCATE_WAIT)?;
    let attempts = truncate_attempts(conn);
    let restored = conn.busy_timeout(BUSY_TIMEOUT);
    let finished = attempts?;
    restored?;
    if !finished {
        tracing::warn!(
            attempts = TRUNCATE_ATTEMPTS,
            "WAL checkpoint (TRUNCATE) still blocked by readers: old copies of \
             deleted rows stay in the WAL until a later checkpoint"
        );
    }
    Ok(finished)
}

/// Up to [`TRUNCATE_ATTEMPTS`] TRUNCATE checkpoints; `true` once one
/// finished (its busy column is 0).
fn truncate_attempts(conn: &Connection) -> Result<bool, StoreError> {
    for attempt in 1..=TRUNCATE_ATTEMPTS {
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        if busy == 0 {
            return Ok(true);
        }
        if attempt < TRUNCATE_ATTEMPTS {
            std::thread::sleep(TRUNCATE_PAUSE);
        }
    }
    Ok(false)
}

/// The checkpointer thread; dropping it stops the thread and waits for it.
pub(super) struct Checkpointer {
    // Dropped first: the thread sees the channel close and ends.
    _stop: mpsc::Sender<()>,
    _thread: JoinOnDrop,
}

impl Checkpointer {
    /// Opens a connection of its own to `path` and starts the thread.
    pub(super) fn start(path: &Path, progress: Arc<WalProgress>) -> Result<Self, StoreError> {
        let conn = conn::open(path, Access::Write)?;
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("encnet-sqlite-checkpointer".to_owned())
            .spawn(move || run(&conn, &progress, &stopped))?;
        Ok(Self {
            _stop: stop,
            _thread: JoinOnDrop(Some(thread)),
        })
    }
}

/// Every [`INTERVAL`] in which something was committed: copy, then ask the
/// writer for the rest.
fn run(conn: &Connection, progress: &WalProgress, stopped: &mpsc::Receiver<()>) {
    let mut seen = 0;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        let commits = progress.commits.load(Ordering::Relaxed);
        if commits == seen {
            continue;
        }
        seen = commits;
        match checkpoint_passive(conn) {
            Ok(()) => progress.catch_up.store(true, Ordering::Release),
            Err(err) => tracing::warn!(%err, "WAL checkpoint failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::{AuditDraft, Location, Store};
    use super::*;

    /// Frames in the WAL of the database at `path`.
    fn wal_frames(path: &Path) -> i64 {
        let conn = Connection::open(path).expect("database opens");
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
            .expect("checkpoint answers")
    }

    #[tokio::test]
    async fn the_wal_is_copied_back_and_started_over_off_the_commit_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("encnet.db");
        let store = Store::open(&Location::Sqlite(path.clone()))
            .await
            .expect("store opens");
        let append = || async {
            let draft = AuditDraft {
                outcome: "denied".to_owned(),
                ..AuditDraft::default()
            };
            store.append_audit(draft).await.expect("entry appended");
        };
        // Several hundred frames: below SQLite's own threshold, which the
        // writer has raised to FALLBACK_FRAMES.
        for _ in 0..300 {
            append().await;
        }
        // The checkpointer copies them; the next transaction finds the WAL
        // wholly copied and starts it over.
        tokio::time::sleep(INTERVAL * 4).await;
        append().await;
        append().await;
        let frames = wal_frames(&path);
        assert!(frames < 50, "the WAL still holds {frames} frames");
    }
    /// A database in WAL mode with a table `t` and some rows; the writer's
    /// connection, as the store opens it.
    fn wal_database(dir: &Path) -> (std::path::PathBuf, Connection) {
        let path = dir.join("encnet.db");
        Connection::open(&path).expect("database created");
        let writer = conn::open(&path, Access::Write).expect("writer opens");
        writer
            .execute_batch("CREATE TABLE t(x BLOB); INSERT INTO t VALUES (zeroblob(4096));")
            .expect("rows written");
        (path, writer)
    }

    fn wal_len(path: &Path) -> u64 {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(wal).map_or(0, |m| m.len())
    }

    /// A reader inside a transaction keeps TRUNCATE from finishing: that is
    /// reported after a bounded wait, not taken for success.
    #[test]
    fn a_truncate_checkpoint_blocked_by_a_reader_is_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, writer) = wal_database(dir.path());
        let reader = Connection::open(&path).expect("reader opens");
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM t;")
            .expect("read transaction");
        let started = std::time::Instant::now();
        assert!(!checkpoint_truncate(&writer).expect("checkpoint runs"));
        assert!(started.elapsed() < Duration::from_secs(3), "bounded wait");
        assert!(wal_len(&path) > 0, "the WAL was not truncated");

        reader.execute_batch("COMMIT").expect("reader done");
        assert!(checkpoint_truncate(&writer).expect("checkpoint runs"));
        assert_eq!(wal_len(&path), 0, "the WAL is empty");
    }

    /// A reader that finishes within the attempts does not stop it.
    #[test]
    fn a_truncate_checkpoint_waits_out_a_short_reader() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, writer) = wal_database(dir.path());
        let reader = Connection::open(&path).expect("reader opens");
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM t;")
            .expect("read transaction");
        let done = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            reader.execute_batch("COMMIT").expect("reader done");
        });
        assert!(checkpoint_truncate(&writer).expect("checkpoint runs"));
        assert_eq!(wal_len(&path), 0, "the WAL is empty");
        done.join().expect("reader thread");
    }

    /// Every connection caps the WAL file it leaves at 64 MiB.
    #[test]
    fn every_connection_limits_the_wal_size() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_, writer) = wal_database(dir.path());
        let limit: i64 = writer
            .query_row("PRAGMA journal_size_limit", [], |row| row.get(0))
            .expect("pragma answers");
        assert_eq!(limit, 64 << 20);
    }
}
