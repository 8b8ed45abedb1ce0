//! Group commit. The writes of the hot path (an allowed decision with its
//! nonce, a denial's audit entry) queue up, and one committer applies every
//! queued write in a single transaction: one fsync acknowledges many
//! decisions. Each caller is answered only after that commit, so an
//! acknowledged decision is always durable.
//!
//! The queue, the replies and the batch plan are here; each backend runs its
//! own committer (SQLite: the writer thread; PostgreSQL: a task) and its own
//! statements.

use std::sync::Arc;
use std::time::Instant;

use encnet_core::api::AuditRecord;
use tokio::sync::{mpsc, oneshot};

use super::claims::ClaimOutcome;
use super::error::StoreError;
use super::records::{AuditDraft, Decision, NonceClaim};
use crate::report::Chain;

/// Most writes committed together.
pub(super) const MAX_BATCH: usize = 256;
/// Writes waiting before submitters wait too.
pub(super) const QUEUE_DEPTH: usize = 4096;

/// One queued write.
pub(super) enum Write {
    /// Consume the nonce and record the allowed decision.
    Allowed(Decision),
    /// Record a denial.
    Denied(AuditDraft),
}

impl Write {
    fn decision(&self) -> Option<&Decision> {
        match self {
            Self::Allowed(decision) => Some(decision),
            Self::Denied(_) => None,
        }
    }
}

/// A write and the caller waiting for it.
pub(super) struct Pending {
    write: Write,
    reply: oneshot::Sender<Result<AuditRecord, StoreError>>,
}

/// The answer to every write of a batch.
pub(super) type Committed = Result<Vec<Result<AuditRecord, StoreError>>, StoreError>;

/// Queues `write` on `queue` (wrapped by `job`) and waits until it is
/// committed (or refused).
pub(super) async fn submit<J>(
    queue: &mpsc::Sender<J>,
    write: Write,
    job: impl FnOnce(Pending) -> J,
) -> Result<AuditRecord, StoreError> {
    let (reply, answer) = oneshot::channel();
    queue
        .send(job(Pending { write, reply }))
        .await
        .map_err(|_| StoreError::Closing)?;
    answer
        .await
        .map_err(|_| StoreError::Bug("a committer dropped a write"))?
}

/// Splits a batch into its writes and the callers to answer.
pub(super) fn open_batch(batch: Vec<Pending>) -> (Vec<Write>, Replies) {
    let (writes, senders): (Vec<Write>, Vec<_>) =
        batch.into_iter().map(|p| (p.write, p.reply)).unzip();
    metrics::counter!("encnet_group_commits_total").increment(1);
    metrics::counter!("encnet_group_commit_writes_total").increment(writes.len() as u64);
    let replies = Replies {
        senders,
        started: Instant::now(),
    };
    (writes, replies)
}

/// The callers waiting on one batch.
pub(super) struct Replies {
    senders: Vec<oneshot::Sender<Result<AuditRecord, StoreError>>>,
    started: Instant,
}

impl Replies {
    /// Answers each caller once the batch's transaction has ended.
    pub(super) fn deliver(self, committed: Committed) {
        metrics::histogram!("encnet_group_commit_seconds")
            .record(self.started.elapsed().as_secs_f64());
        match committed {
            Ok(results) => {
                for (reply, result) in self.senders.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(err) => {
                tracing::error!(error = %Chain(&err), writes = self.senders.len(), "group commit failed");
                let err = Arc::new(err);
                for reply in self.senders {
                    let _ = reply.send(Err(StoreError::Batch(err.clone())));
                }
            }
        }
    }
}

/// The nonce claims of a batch's allowed decisions, in order, and the
/// earliest `now` among them (a nonce is free once expired by then).
pub(super) fn claims(writes: &[Write]) -> (Vec<&NonceClaim>, i64) {
    let decisions = writes.iter().filter_map(Write::decision);
    let claims = decisions.clone().map(|d| &d.nonce).collect();
    let now = decisions.map(|d| d.now).min().unwrap_or_default();
    (claims, now)
}

/// Given each claim's outcome, the audit drafts to append (those of the
/// writes that proceed), and for every write whether it proceeds or why
/// not. A replayed nonce, or a claim citing a revoked delegation, refuses
/// only its own write: it changed nothing.
pub(super) fn drafts(
    writes: Vec<Write>,
    outcomes: Vec<ClaimOutcome>,
) -> (Vec<AuditDraft>, Vec<Result<(), StoreError>>) {
    let mut outcomes = outcomes.into_iter();
    let proceeds: Vec<Result<(), StoreError>> = writes
        .iter()
        .map(|write| match write {
            Write::Allowed(_) => outcomes.next().map_or(
                Err(StoreError::Bug("a claim without an outcome")),
                ClaimOutcome::into_result,
            ),
            Write::Denied(_) => Ok(()),
        })
        .collect();
    let drafts = writes
        .into_iter()
        .zip(&proceeds)
        .filter(|(_, proceeds)| proceeds.is_ok())
        .map(|(write, _)| match write {
            Write::Allowed(decision) => decision.audit,
            Write::Denied(draft) => draft,
        })
        .collect();
    (drafts, proceeds)
}

/// Each write's answer: its audit record, or why it was refused.
pub(super) fn results(
    proceeds: Vec<Result<(), StoreError>>,
    records: Vec<AuditRecord>,
) -> Committed {
    let mut records = records.into_iter();
    proceeds
        .into_iter()
        .map(|proceeds| match proceeds {
            Ok(()) => records
                .next()
                .map(Ok)
                .ok_or(StoreError::Bug("an appended write without its record")),
            Err(refused) => Ok(Err(refused)),
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::Arc;

    use super::super::{Location, NonceClaim, Store};
    use super::*;

    fn decision(issuer: &str, nonce: u8, expires_at: i64, now: i64) -> Decision {
        decision_with(issuer, vec![nonce; 16], expires_at, now)
    }

    /// An allowed decision citing one delegation, for the store's tests.
    pub(in crate::store) fn decision_with(
        issuer: &str,
        nonce: Vec<u8>,
        expires_at: i64,
        now: i64,
    ) -> Decision {
        Decision {
            nonce: NonceClaim {
                issuer: issuer.to_owned(),
                nonce,
                expires_at,
                cited: vec!["bafy-delegation".to_owned()],
                network: None,
            },
            audit: AuditDraft {
                requester: issuer.to_owned(),
                outcome: "allowed".to_owned(),
                ..AuditDraft::default()
            },
            now,
        }
    }

    /// A store in a new temporary directory.
    pub(in crate::store) async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let location = Location::Sqlite(dir.path().join("encnet.db"));
        let store = Store::open(&location).await.expect("store opens");
        (dir, store)
    }

    #[tokio::test]
    async fn concurrent_decisions_share_commits_and_replays_lose() {
        let (_dir, store) = store().await;
        let store = Arc::new(store);
        let now = 1_000;
        let mut tasks = Vec::new();
        // 50 distinct nonces, each submitted twice, all at once.
        for i in 0..100u8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .record_allowed(decision("did:key:a", i % 50, now + 60, now))
                    .await
            }));
        }
        let mut allowed = 0;
        let mut replays = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(_) => allowed += 1,
                Err(StoreError::Replay) => replays += 1,
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert_eq!((allowed, replays), (50, 50));
        let chain = store.audit_chain().await.expect("chain");
        assert_eq!(chain.len(), 50);
        let sequences: Vec<u64> = chain.iter().map(|r| r.entry.sequence).collect();
        assert_eq!(sequences, (1..=50).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_network_revoked_after_the_check_refuses_the_decision() {
        use encnet_core::api::NetworkState;
        use encnet_core::suite::Suite;
        use encnet_core::NetworkId;

        use super::super::{Change, NetworkRecord, NewKey, StateChange};

        let (_dir, store) = store().await;
        let now = 1_000;
        let id: NetworkId = "urn:tinycloud:encryption:did:key:z6Mkowner:n"
            .parse()
            .expect("id");
        let record = NetworkRecord::new_one_of_one(&id, Suite::V2, vec![9; 32], "t".into());
        let key = NewKey {
            key_version: 1,
            public_key: vec![9; 32],
            sealed_private_key: vec![1; 60],
        };
        let mut create = decision("did:key:owner", 1, now + 60, now);
        create.nonce.cited.clear();
        let change = Change::CreateNetwork {
            network: Box::new(record),
            key,
        };
        store.decide(create, change).await.expect("created");
        // A decrypt checked while active, then the revoke commits first.
        let mut decrypt = decision("did:key:holder", 2, now + 60, now);
        decrypt.nonce.cited.clear();
        decrypt.nonce.network = Some(id.to_string());
        let mut revoke = decision("did:key:owner", 3, now + 60, now);
        revoke.nonce.cited.clear();
        let change = StateChange {
            from: NetworkState::Active,
            to: NetworkState::Revoked,
        };
        let network = id.to_string();
        store
            .decide(revoke, Change::State { network, change })
            .await
            .expect("revoked");
        let refused = store.record_allowed(decrypt.clone()).await;
        assert!(
            matches!(
                refused,
                Err(StoreError::NetworkInactive(NetworkState::Revoked))
            ),
            "{refused:?}"
        );
        // Nothing of it remains: its nonce is still free once the network is back.
        let mut restore = decision("did:key:owner", 4, now + 60, now);
        restore.nonce.cited.clear();
        let change = StateChange {
            from: NetworkState::Revoked,
            to: NetworkState::Active,
        };
        let network = id.to_string();
        store
            .decide(restore, Change::State { network, change })
            .await
            .expect("restored");
        store
            .record_allowed(decrypt)
            .await
            .expect("allowed once active");
    }

    #[tokio::test]
    async fn a_revocation_committed_after_the_check_refuses_the_decision() {
        let (_dir, store) = store().await;
        let now = 1_000;
        let mut revocation = decision("did:key:owner", 9, now + 60, now);
        revocation.nonce.cited.clear();
        let change = super::super::Change::Revoke {
            key: "bafy-delegation".to_owned(),
            revoked_by: "did:key:owner".to_owned(),
            more_audit: Vec::new(),
        };
        store.decide(revocation, change).await.expect("revoked");
        // Cites the revoked delegation: refused, and its nonce stays free.
        let refused = store
            .record_allowed(decision("did:key:c", 1, now + 60, now))
            .await;
        assert!(matches!(refused, Err(StoreError::Revoked)), "{refused:?}");
        let sizes = store.table_sizes().await.expect("sizes");
        assert_eq!((sizes.nonces, sizes.audit), (1, 1));
        let mut unrelated = decision("did:key:c", 1, now + 60, now);
        unrelated.nonce.cited = vec!["bafy-other".to_owned()];
        store
            .record_allowed(unrelated)
            .await
            .expect("a chain without the revoked delegation is allowed");
    }

    #[tokio::test]
    async fn purge_drops_only_expired_nonces() {
        let (_dir, store) = store().await;
        let now = 1_000;
        for (nonce, expires_at) in [(1u8, now - 1), (2, now), (3, now + 1), (4, now + 300)] {
            store
                .record_allowed(decision("did:key:b", nonce, expires_at, now - 10))
                .await
                .expect("recorded");
        }
        assert_eq!(store.purge_nonces(now).await.expect("purge"), 1);
        let sizes = store.table_sizes().await.expect("sizes");
        assert_eq!((sizes.nonces, sizes.audit), (3, 4));
        // The unexpired nonces still refuse a second claim; the purged
        // (expired) one may be claimed again.
        for nonce in [2u8, 3, 4] {
            let again = store
                .record_allowed(decision("did:key:b", nonce, now + 300, now))
                .await;
            assert!(matches!(again, Err(StoreError::Replay)), "nonce {nonce}");
        }
        store
            .record_allowed(decision("did:key:b", 1, now + 300, now))
            .await
            .expect("an expired nonce is claimed again");
        let sizes = store.table_sizes().await.expect("sizes");
        assert_eq!((sizes.nonces, sizes.audit), (4, 5));
    }
}
