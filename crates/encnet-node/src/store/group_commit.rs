//! Group commit. The writes of the hot path (an allowed decision with its
//! nonce, a denial's audit entry) queue here, and one task commits every
//! queued write in a single transaction: one fsync acknowledges many
//! decisions. Each caller is answered only after that commit, so an
//! acknowledged decision is always durable.

use std::sync::Arc;

use encnet_core::api::AuditRecord;
use tokio::sync::{mpsc, oneshot};

use super::query::Tx;
use super::{AuditDraft, Backend, Decision, StoreError};

/// Most writes committed together.
const MAX_BATCH: usize = 256;
/// Writes waiting before submitters wait too.
const QUEUE_DEPTH: usize = 4096;

/// One queued write.
pub(super) enum Write {
    /// Consume the nonce and record the allowed decision.
    Allowed(Decision),
    /// Record a denial.
    Denied(AuditDraft),
}

struct Pending {
    write: Write,
    reply: oneshot::Sender<Result<AuditRecord, StoreError>>,
}

/// The queue in front of the committing task.
pub(super) struct GroupCommit {
    queue: mpsc::Sender<Pending>,
}

impl GroupCommit {
    /// Starts the committing task on the current runtime.
    pub(super) fn start(backend: Arc<Backend>) -> Self {
        let (queue, pending) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(commit_batches(backend, pending));
        Self { queue }
    }

    /// Queues `write` and waits until it is committed (or refused).
    pub(super) async fn submit(&self, write: Write) -> Result<AuditRecord, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { write, reply })
            .await
            .map_err(|_| StoreError::Batch("the store is closing".to_owned()))?;
        answer
            .await
            .map_err(|_| StoreError::Batch("the store is closing".to_owned()))?
    }
}

async fn commit_batches(backend: Arc<Backend>, mut pending: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (writes, replies): (Vec<Write>, Vec<_>) =
            batch.drain(..).map(|p| (p.write, p.reply)).unzip();
        match backend
            .transact(move |tx| Box::pin(apply(tx, writes)))
            .await
        {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(err) => {
                tracing::error!(error = %err, writes = replies.len(), "group commit failed");
                let message = err.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Batch(message.clone())));
                }
            }
        }
    }
}

/// Applies `writes` in order. A replayed nonce refuses only its own write
/// (it changed nothing); any other error aborts the whole transaction.
async fn apply(
    tx: &mut Tx<'_>,
    writes: Vec<Write>,
) -> Result<Vec<Result<AuditRecord, StoreError>>, StoreError> {
    let mut results = Vec::with_capacity(writes.len());
    for write in writes {
        let result = match write {
            Write::Allowed(decision) => tx.commit_decision(decision).await,
            Write::Denied(draft) => tx.append_audit(draft).await,
        };
        match result {
            Err(StoreError::Replay) => results.push(Err(StoreError::Replay)),
            Err(other) => return Err(other),
            Ok(record) => results.push(Ok(record)),
        }
    }
    Ok(results)
}
