//! Offline verification of the hash-chained audit log (DESIGN §4.10).

use std::path::Path;

use encnet_core::api::AuditRecord;

use crate::store::Store;
use crate::NodeError;

/// A chain that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditReport {
    /// Number of entries checked.
    pub entries: u64,
}

/// The first entry where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {sequence}: {reason}")]
pub struct ChainBreak {
    /// Sequence number of the first broken entry.
    pub sequence: u64,
    /// What does not hold there.
    pub reason: String,
}

/// Recomputes every link of `records` (in sequence order, from the first).
pub fn verify_audit_chain(records: &[AuditRecord]) -> Result<AuditReport, ChainBreak> {
    let mut prev = [0u8; 32];
    for (index, record) in records.iter().enumerate() {
        let sequence = record.entry.sequence;
        let fail = |reason: &str| ChainBreak {
            sequence,
            reason: reason.to_owned(),
        };
        if sequence != index as u64 + 1 {
            return Err(fail("sequence is not consecutive"));
        }
        if record.prev_hash != hex::encode(prev) {
            return Err(fail("prev_hash does not match the previous entry"));
        }
        let hash = record
            .entry
            .chain_hash(&prev)
            .map_err(|err| fail(&err.to_string()))?;
        if record.entry_hash != hex::encode(hash) {
            return Err(fail("entry_hash does not match the entry's contents"));
        }
        prev = hash;
    }
    Ok(AuditReport {
        entries: records.len() as u64,
    })
}

/// Verifies the audit chain of the node database in `data_dir`, read-only.
pub async fn verify_data_dir(
    data_dir: &Path,
) -> Result<Result<AuditReport, ChainBreak>, NodeError> {
    verify_database(None, data_dir).await
}

/// Verifies the audit chain of the database at `database_url`
/// (`sqlite://PATH` or `postgres://…`; default: SQLite in `data_dir`),
/// read-only.
pub async fn verify_database(
    database_url: Option<&str>,
    data_dir: &Path,
) -> Result<Result<AuditReport, ChainBreak>, NodeError> {
    let store = Store::open_read_only(&crate::store_location(database_url, data_dir)?).await?;
    let records = store.audit_chain().await?;
    Ok(verify_audit_chain(&records))
}
