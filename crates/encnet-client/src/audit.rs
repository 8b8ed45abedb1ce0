//! Checks on an audit page served by a node (DESIGN §4.10).
//!
//! The node's chain runs over every network; a page holds one network's
//! entries, so links to entries of other networks cannot be checked here.
//! [`verify_page`] checks what one page can prove: each entry's hash over
//! its own `prevHash` and contents, increasing sequence numbers, and the
//! link between entries with consecutive sequence numbers.

use std::fmt;

use encnet_core::api::AuditRecord;

/// The first entry of a page that does not hold, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBreak {
    /// Sequence number of the entry.
    pub sequence: u64,
    /// What does not hold.
    pub reason: &'static str,
}

impl fmt::Display for AuditBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "audit entry {} is broken: {}",
            self.sequence, self.reason
        )
    }
}

impl std::error::Error for AuditBreak {}

/// Verifies every entry of `records` (in the order served); answers the
/// number of entries checked.
pub fn verify_page(records: &[AuditRecord]) -> Result<usize, AuditBreak> {
    let mut previous: Option<&AuditRecord> = None;
    for record in records {
        let sequence = record.entry.sequence;
        let fail = |reason| AuditBreak { sequence, reason };
        let prev_hash = from_hex(&record.prev_hash).ok_or(fail("prevHash is not 32 hex bytes"))?;
        if sequence == 1 && prev_hash != [0; 32] {
            return Err(fail("the first entry does not start from zero"));
        }
        let hash = record
            .entry
            .chain_hash(&prev_hash)
            .map_err(|_| fail("the entry is not canonical JSON"))?;
        if record.entry_hash != to_hex(&hash) {
            return Err(fail("entryHash does not match the entry's contents"));
        }
        if let Some(prev) = previous {
            if sequence <= prev.entry.sequence {
                return Err(fail("sequence numbers do not increase"));
            }
            if sequence == prev.entry.sequence + 1 && record.prev_hash != prev.entry_hash {
                return Err(fail("prevHash does not match the previous entry"));
            }
        }
        previous = Some(record);
    }
    Ok(records.len())
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}
