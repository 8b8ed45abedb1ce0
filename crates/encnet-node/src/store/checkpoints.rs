//! Signed checkpoints of the audit chain (DESIGN §4.10), and the paged
//! reads a verifier streams: the chain a page at a time (so ten million
//! entries never sit in memory at once) and the checkpoints of each page's
//! range.

use std::sync::atomic::{AtomicU64, Ordering};

use encnet_core::api::AuditRecord;
use encnet_core::audit::{CheckpointBody, SignedCheckpoint};
use sqlx::FromRow;
use tokio::sync::Notify;

use super::query::{self, AuditRow, Value};
use super::sqlite_sync::{self, FromSyncRow};
use super::sqlite_writer::open_connection;
use super::{Backend, Store, StoreError};

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

/// An `audit_checkpoints` row as stored.
#[derive(FromRow)]
struct CheckpointRow {
    seq: i64,
    node_id: String,
    head_hash: String,
    time: String,
    signature: String,
}

impl FromSyncRow for CheckpointRow {
    fn from_sync_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            seq: row.get("seq")?,
            node_id: row.get("node_id")?,
            head_hash: row.get("head_hash")?,
            time: row.get("time")?,
            signature: row.get("signature")?,
        })
    }
}

impl TryFrom<CheckpointRow> for SignedCheckpoint {
    type Error = StoreError;

    fn try_from(row: CheckpointRow) -> Result<Self, StoreError> {
        let sequence = u64::try_from(row.seq)
            .map_err(|_| StoreError::Corrupt(format!("checkpoint sequence {}", row.seq)))?;
        Ok(Self {
            body: CheckpointBody {
                kind: encnet_core::audit::CHECKPOINT_TYPE.to_owned(),
                node_id: row.node_id,
                sequence,
                head_hash: row.head_hash,
                time: row.time,
            },
            node_signature: row.signature,
        })
    }
}

const CHECKPOINT_COLUMNS: &str = "seq, node_id, head_hash, time, signature";
const AUDIT_AFTER: &str = "SELECT * FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2";

impl Store {
    /// What wakes the checkpoint task.
    pub(crate) fn checkpoint_due(&self) -> std::sync::Arc<CheckpointDue> {
        self.due.clone()
    }

    /// Stores a signed checkpoint; one already stored for its sequence is
    /// kept (both state the same hash).
    pub(crate) async fn insert_checkpoint(
        &self,
        checkpoint: SignedCheckpoint,
    ) -> Result<(), StoreError> {
        self.transact(move |tx| {
            Box::pin(async move {
                let body = &checkpoint.body;
                tx.conn
                    .execute(
                        "INSERT INTO audit_checkpoints (seq, node_id, head_hash, time, signature) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
                        &[
                            Value::Int(query::to_i64(body.sequence)?),
                            Value::Text(&body.node_id),
                            Value::Text(&body.head_hash),
                            Value::Text(&body.time),
                            Value::Text(&checkpoint.node_signature),
                        ],
                    )
                    .await
                    .map(drop)
            })
        })
        .await
    }

    /// The checkpoint of highest sequence, if any.
    pub(crate) async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        let sql =
            format!("SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq DESC LIMIT 1");
        let mut reader = self.reader().await?;
        let row: Option<CheckpointRow> = reader.conn().fetch_optional(&sql, &[]).await?;
        row.map(SignedCheckpoint::try_from).transpose()
    }

    /// The checkpoints of entries `first..=last`, in sequence order.
    pub(crate) async fn checkpoints_between(
        &self,
        first: u64,
        last: u64,
    ) -> Result<Vec<SignedCheckpoint>, StoreError> {
        let sql = format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints \
             WHERE seq >= $1 AND seq <= $2 ORDER BY seq"
        );
        let params = [
            Value::Int(query::to_i64(first)?),
            Value::Int(query::to_i64(last)?),
        ];
        let mut reader = self.reader().await?;
        let rows: Vec<CheckpointRow> = reader.conn().fetch_all(&sql, &params).await?;
        rows.into_iter().map(SignedCheckpoint::try_from).collect()
    }

    /// Up to `limit` entries of the whole chain after sequence `after`, in
    /// sequence order: one page of a streaming read.
    ///
    /// SQLite reads it on a blocking thread through a connection of its
    /// own (`rusqlite`): sqlx hands each row from its worker thread to the
    /// runtime, which cost more than verifying the row (53 000 entries/s).
    pub(crate) async fn audit_after(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let after = query::to_i64(after)?;
        let rows: Vec<AuditRow> = match &self.backend {
            Backend::Sqlite(store) => {
                let path = store.pool().connect_options().get_filename().to_owned();
                tokio::task::spawn_blocking(move || {
                    let conn = open_connection(&path, true)?;
                    let params = [Value::Int(after), Value::Int(i64::from(limit))];
                    sqlite_sync::fetch_all(&conn, AUDIT_AFTER, &params)
                })
                .await
                .map_err(|err| StoreError::Io(std::io::Error::other(err)))??
            }
            Backend::Postgres(_) => {
                let params = [Value::Int(after), Value::Int(i64::from(limit))];
                let mut reader = self.reader().await?;
                reader.conn().fetch_all(AUDIT_AFTER, &params).await?
            }
        };
        rows.into_iter().map(AuditRecord::try_from).collect()
    }

    /// The entry at `sequence`, if stored.
    pub(crate) async fn audit_entry(
        &self,
        sequence: u64,
    ) -> Result<Option<AuditRecord>, StoreError> {
        let mut reader = self.reader().await?;
        let row: Option<AuditRow> = reader
            .conn()
            .fetch_optional(
                "SELECT * FROM audit WHERE seq = $1",
                &[Value::Int(query::to_i64(sequence)?)],
            )
            .await?;
        row.map(AuditRecord::try_from).transpose()
    }

    /// The last committed entry of the chain, if any.
    pub(crate) async fn audit_head(&self) -> Result<Option<AuditRecord>, StoreError> {
        let mut reader = self.reader().await?;
        let row: Option<AuditRow> = reader
            .conn()
            .fetch_optional("SELECT * FROM audit ORDER BY seq DESC LIMIT 1", &[])
            .await?;
        row.map(AuditRecord::try_from).transpose()
    }
}
