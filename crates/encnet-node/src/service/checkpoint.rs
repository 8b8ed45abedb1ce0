//! The node's signed audit checkpoints (DESIGN §4.10). The node signs
//! `{type, nodeId, sequence, headHash, time}` with its node key and stores
//! it: on every audit read (covering the read's own entry, which the page
//! that reaches the end of the network's log ends with), and in the
//! background whenever the chain has grown by [`CheckpointPolicy`]'s number
//! of entries, or its interval has passed with new entries.

use std::sync::{Arc, Weak};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use encnet_core::api::AuditRecord;
use encnet_core::audit::{CheckpointBody, SignedCheckpoint};
use encnet_ucan::Signer;
use tokio::time::Instant;

use super::{Node, ServiceError};
use crate::clock;
use crate::config::AuditConfig;
use crate::store::CheckpointDue;

/// After a checkpoint failed, the next attempt waits this long.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// How often the background task signs the chain head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckpointPolicy {
    /// Entries after the last checkpoint that call for the next.
    every_entries: u64,
    /// Time after which a head with new entries is signed anyway.
    every: Duration,
}

impl From<&AuditConfig> for CheckpointPolicy {
    fn from(config: &AuditConfig) -> Self {
        Self {
            every_entries: config.checkpoint_every_entries.max(1),
            every: Duration::from_secs(config.checkpoint_every_secs.max(1)),
        }
    }
}

impl Node {
    /// Signs a checkpoint covering `record` (and every entry before it)
    /// and stores it.
    pub(crate) async fn checkpoint(
        &self,
        record: &AuditRecord,
    ) -> Result<SignedCheckpoint, ServiceError> {
        let body =
            CheckpointBody::covering(record, self.node_did.to_string(), clock::now_rfc3339());
        let bytes = body
            .signing_bytes()
            .map_err(|err| ServiceError::Internal(Box::new(err)))?;
        let signed = SignedCheckpoint {
            node_signature: BASE64.encode(self.signer.sign(&bytes)),
            body,
        };
        self.store.insert_checkpoint(signed.clone()).await?;
        Ok(signed)
    }

    /// Checkpoints the chain head if its sequence is at least `needed`;
    /// answers the sequence then covered.
    async fn checkpoint_head(&self, needed: u64) -> Result<Option<u64>, ServiceError> {
        match self.store.audit_head().await? {
            Some(head) if head.entry.sequence >= needed => {
                Ok(Some(self.checkpoint(&head).await?.body.sequence))
            }
            _ => Ok(None),
        }
    }
}

/// Starts the background checkpoints of `node` under `config`; the task
/// ends once the node is dropped.
pub(crate) fn start_checkpoints(node: &Arc<Node>, config: &AuditConfig) {
    let due = node.store().checkpoint_due();
    tokio::spawn(run_checkpoints(
        Arc::downgrade(node),
        due,
        CheckpointPolicy::from(config),
    ));
}

/// Signs the head at start (so entries written since the last checkpoint
/// are covered from now on), then whenever the chain has grown by
/// `every_entries` or `every` has passed with new entries. A wake-up is
/// only a hint: the head is read and the rule applied each time. Holds the
/// node only while signing, so a node that stops is dropped (and its
/// database closed) without waiting for this task.
async fn run_checkpoints(node: Weak<Node>, due: Arc<CheckpointDue>, policy: CheckpointPolicy) {
    let mut last: u64 = 0;
    let mut deadline = Instant::now();
    loop {
        let timed_out = Instant::now() >= deadline;
        let needed = match timed_out {
            true => last.saturating_add(1),
            false => last.saturating_add(policy.every_entries),
        };
        let Some(strong) = node.upgrade() else {
            return;
        };
        let made = strong.checkpoint_head(needed).await;
        drop(strong);
        match made {
            Ok(Some(sequence)) => {
                last = sequence;
                deadline = Instant::now() + policy.every;
            }
            Ok(None) if timed_out => deadline = Instant::now() + policy.every,
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %crate::report::Chain(&err), "could not sign an audit checkpoint");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
        due.arm(last.saturating_add(policy.every_entries));
        tokio::select! {
            () = due.wait() => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}
