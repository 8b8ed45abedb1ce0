//! When to sign the next checkpoint of the audit chain (DESIGN §4.10).

use std::sync::atomic::{AtomicU64, Ordering};

use encnet_core::api::AuditRecord;
use tokio::sync::Notify;

/// Tells the checkpoint task when the chain has grown to the entry it asked
/// to hear about: each commit costs one atomic load, and the task wakes
/// once however many commits pass that mark before it runs.
#[derive(Debug)]
pub(crate) struct CheckpointDue {
    /// The sequence number that wakes the task (`u64::MAX`: none).
    at: AtomicU64,
    wake: Notify,
}

impl Default for CheckpointDue {
    fn default() -> Self {
        Self {
            at: AtomicU64::new(u64::MAX),
            wake: Notify::new(),
        }
    }
}

impl CheckpointDue {
    /// Wakes [`CheckpointDue::wait`] once entry `sequence` is committed.
    pub(crate) fn arm(&self, sequence: u64) {
        self.at.store(sequence, Ordering::Relaxed);
    }

    /// Waits until an entry at or past the armed sequence commits (at once
    /// if one did since the last wait).
    pub(crate) async fn wait(&self) {
        self.wake.notified().await;
    }

    /// Called with each entry a commit returns to its caller.
    pub(super) fn observe(&self, record: &AuditRecord) {
        if record.entry.sequence >= self.at.load(Ordering::Relaxed) {
            self.wake.notify_one();
        }
    }
}
