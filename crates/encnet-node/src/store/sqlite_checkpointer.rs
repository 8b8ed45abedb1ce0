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

use super::sqlite_writer::{open_connection, JoinOnDrop};
use super::StoreError;

/// How often the checkpointer looks for new commits. At peak load this is
/// a few hundred frames per checkpoint.
const INTERVAL: Duration = Duration::from_millis(50);

/// If the checkpointer ever stops keeping up, SQLite's own checkpoint takes
/// over on the writer once the WAL holds this many frames (about 40 MiB).
pub(super) const FALLBACK_FRAMES: i64 = 10_000;

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

/// The checkpointer thread; dropping it stops the thread and waits for it.
pub(super) struct Checkpointer {
    // Dropped first: the thread sees the channel close and ends.
    _stop: mpsc::Sender<()>,
    _thread: JoinOnDrop,
}

impl Checkpointer {
    /// Opens a connection of its own to `path` and starts the thread.
    pub(super) fn start(path: &Path, progress: Arc<WalProgress>) -> Result<Self, StoreError> {
        let conn = open_connection(path, false)?;
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
    use super::super::{AuditDraft, Location, Store};
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
}
