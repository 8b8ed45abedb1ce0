//! The rows of the schema as stored, and their mapping to records. Each
//! backend decodes its driver's rows into these (PostgreSQL through
//! `sqlx::FromRow`, SQLite in `sqlite/rows.rs`); what a row means is
//! decided once, here.

use encnet_core::api::{AuditEntry, AuditRecord, KeyBackend, NetworkState, Threshold};
use encnet_core::audit::{CheckpointBody, SignedCheckpoint, CHECKPOINT_TYPE};

use super::error::StoreError;
use super::error::{to_u16, to_u64};
use super::records::{NetworkKey, NetworkRecord, SealedKey};

/// A `networks` row.
#[derive(sqlx::FromRow)]
pub(super) struct NetworkRow {
    pub(super) network_id: String,
    pub(super) owner_did: String,
    pub(super) name: String,
    pub(super) alg: String,
    pub(super) state: String,
    pub(super) key_version: i64,
    pub(super) min_decryption_version: i64,
    pub(super) key_backend: String,
    pub(super) threshold_n: i64,
    pub(super) threshold_t: i64,
    pub(super) public_key: Vec<u8>,
    pub(super) created_at: String,
    pub(super) updated_at: String,
}

/// A `networks` row with one version's key, if that version is stored.
#[derive(sqlx::FromRow)]
pub(super) struct NetworkKeyRow {
    #[sqlx(flatten)]
    pub(super) network: NetworkRow,
    pub(super) key_public_key: Option<Vec<u8>>,
    pub(super) key_sealed_private_key: Option<Vec<u8>>,
}

/// An `audit` row.
#[derive(sqlx::FromRow)]
pub(super) struct AuditRow {
    pub(super) seq: i64,
    pub(super) time: String,
    pub(super) network: String,
    pub(super) requester: String,
    pub(super) command: String,
    pub(super) invocation_cid: String,
    pub(super) outcome: String,
    pub(super) prev_hash: String,
    pub(super) entry_hash: String,
}

/// An `audit_checkpoints` row.
#[derive(sqlx::FromRow)]
pub(super) struct CheckpointRow {
    pub(super) seq: i64,
    pub(super) node_id: String,
    pub(super) head_hash: String,
    pub(super) time: String,
    pub(super) signature: String,
}

/// The columns of [`CheckpointRow`], in order.
pub(super) const CHECKPOINT_COLUMNS: &str = "seq, node_id, head_hash, time, signature";

impl NetworkKeyRow {
    /// The network and its key of `version`, which is `None` unless that
    /// version is stored and not newer than the network's own.
    pub(super) fn into_network_key(self, version: u64) -> Result<NetworkKey, StoreError> {
        let record = NetworkRecord::try_from(self.network)?;
        let sealed = match (self.key_public_key, self.key_sealed_private_key) {
            (Some(public_key), Some(sealed_private_key))
                if (1..=record.key_version).contains(&version) =>
            {
                Some(SealedKey {
                    public_key,
                    sealed_private_key,
                })
            }
            _ => None,
        };
        Ok(NetworkKey { record, sealed })
    }
}

/// A stored network state.
pub(super) fn network_state(state: &str) -> Result<NetworkState, StoreError> {
    NetworkState::parse(state)
        .ok_or_else(|| StoreError::Corrupt(format!("network state {state:?}")))
}

impl TryFrom<NetworkRow> for NetworkRecord {
    type Error = StoreError;

    fn try_from(row: NetworkRow) -> Result<Self, StoreError> {
        Ok(Self {
            state: network_state(&row.state)?,
            alg: row
                .alg
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("suite {:?}", row.alg)))?,
            key_version: to_u64(row.key_version)?,
            min_decryption_version: to_u64(row.min_decryption_version)?,
            key_backend: KeyBackend::parse(&row.key_backend)
                .ok_or_else(|| StoreError::Corrupt(format!("key backend {:?}", row.key_backend)))?,
            threshold: Threshold {
                n: to_u16(row.threshold_n)?,
                t: to_u16(row.threshold_t)?,
            },
            network_id: row.network_id,
            owner_did: row.owner_did,
            name: row.name,
            public_key: row.public_key,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, StoreError> {
        Ok(Self {
            entry: AuditEntry {
                sequence: to_u64(row.seq)?,
                time: row.time,
                network: row.network,
                requester: row.requester,
                command: row.command,
                invocation_cid: row.invocation_cid,
                outcome: row.outcome,
            },
            prev_hash: row.prev_hash,
            entry_hash: row.entry_hash,
        })
    }
}

impl TryFrom<CheckpointRow> for SignedCheckpoint {
    type Error = StoreError;

    fn try_from(row: CheckpointRow) -> Result<Self, StoreError> {
        Ok(Self {
            body: CheckpointBody {
                kind: CHECKPOINT_TYPE.to_owned(),
                node_id: row.node_id,
                sequence: to_u64(row.seq)?,
                head_hash: row.head_hash,
                time: row.time,
            },
            node_signature: row.signature,
        })
    }
}

/// `$first, …`: `count` numbered parameters (`?N` on SQLite, `$N` on
/// PostgreSQL: `mark`).
pub(super) fn params_list(mark: char, count: usize, first: usize) -> String {
    let params: Vec<String> = (first..first + count)
        .map(|n| format!("{mark}{n}"))
        .collect();
    params.join(", ")
}

/// `(…), (…), …`: `rows` tuples of `columns` numbered parameters.
pub(super) fn values_clause(mark: char, rows: usize, columns: usize, first: usize) -> String {
    let tuples: Vec<String> = (0..rows)
        .map(|row| format!("({})", params_list(mark, columns, first + row * columns)))
        .collect();
    tuples.join(", ")
}

/// Rows per multi-row statement (SQLite allows 32 766 parameters). Each
/// row count is its own prepared statement, cached by the connection.
pub(super) const MAX_ROWS: usize = 256;
