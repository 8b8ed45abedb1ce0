//! Linking audit entries into the hash chain (DESIGN §4.10): pure, so both
//! backends append exactly the same entries.

use encnet_core::api::{AuditEntry, AuditRecord};

use super::error::StoreError;
use super::records::AuditDraft;

/// `prev_hash` of the first audit entry.
pub(super) const GENESIS_HASH: [u8; 32] = [0; 32];

/// The last entry of the audit chain: the next entry links to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ChainHead {
    pub(super) seq: u64,
    pub(super) hash: [u8; 32],
}

impl ChainHead {
    /// The head of an empty chain.
    pub(super) const GENESIS: Self = Self {
        seq: 0,
        hash: GENESIS_HASH,
    };

    /// A stored head: its sequence and hex hash.
    pub(super) fn stored(seq: i64, hex_hash: &str) -> Result<Self, StoreError> {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(hex_hash, &mut hash)
            .map_err(|_| StoreError::Corrupt(format!("audit hash {hex_hash:?}")))?;
        Ok(Self {
            seq: super::error::to_u64(seq)?,
            hash,
        })
    }
}

/// `drafts` linked, in order, after `head`, all stamped `time`; and the new
/// head.
pub(super) fn link(
    mut head: ChainHead,
    drafts: Vec<AuditDraft>,
    time: &str,
) -> Result<(Vec<AuditRecord>, ChainHead), StoreError> {
    let mut records = Vec::with_capacity(drafts.len());
    for draft in drafts {
        let entry = AuditEntry {
            sequence: head.seq + 1,
            time: time.to_owned(),
            network: draft.network,
            requester: draft.requester,
            command: draft.command,
            invocation_cid: draft.invocation_cid,
            outcome: draft.outcome,
        };
        let hash = entry.chain_hash(&head.hash)?;
        records.push(AuditRecord {
            prev_hash: hex::encode(head.hash),
            entry_hash: hex::encode(hash),
            entry,
        });
        head = ChainHead {
            seq: head.seq + 1,
            hash,
        };
    }
    Ok((records, head))
}
