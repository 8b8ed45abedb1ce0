//! The audit chain's one verifier, and the node's signed checkpoints of it
//! (DESIGN §4.10).
//!
//! [`ChainVerifier`] takes records one at a time, so the offline check of a
//! node's database streams its rows and a client follows page after page,
//! both in constant memory, with the same rules and the same error. It runs
//! in one of two modes:
//!
//! - [`ChainVerifier::whole_chain`]: every entry from sequence 1, each the
//!   successor of the one before (a node's database);
//! - [`ChainVerifier::one_network`]: one network's entries as a node serves
//!   them. The chain runs over every network, so sequence numbers skip the
//!   other networks' entries: they must increase, and an entry whose
//!   sequence follows the previous one's directly must link to it.
//!
//! In both, each entry's `entryHash` is recomputed over its `prevHash` and
//! contents, and the first entry starts from the zero hash. A checkpoint
//! [`pin`](ChainVerifier::pin)ned on the verifier must meet the entry of its
//! sequence with its `headHash` (else the log was rewritten); one the
//! entries never reach is reported by [`ChainVerifier::finish`] (the log was
//! truncated, or its tail withheld).
//!
//! Checking a checkpoint's signature needs the node DID's key, which this
//! crate cannot resolve: [`SignedCheckpoint::check_signature`] does every
//! other step and takes the key check as a closure.

use std::collections::VecDeque;
use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::api::AuditRecord;
use crate::canonical;
use crate::error::CanonicalError;

/// The `type` of an audit checkpoint.
pub const CHECKPOINT_TYPE: &str = "encnet.audit-checkpoint/v1";

/// `prevHash` of the first entry.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// What a checkpoint states: the chain's entry `sequence` has hash
/// `headHash`, as `nodeId` saw it at `time`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointBody {
    /// Always [`CHECKPOINT_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// DID of the node that signed it.
    pub node_id: String,
    /// Sequence number of the entry it covers (with every entry before).
    pub sequence: u64,
    /// `entryHash` of that entry, lowercase hex.
    pub head_hash: String,
    /// When it was signed, RFC 3339.
    pub time: String,
}

impl CheckpointBody {
    /// A checkpoint by `node_id` at `time` of `record`, the chain's entry
    /// it covers with every entry before it.
    pub fn covering(record: &AuditRecord, node_id: String, time: String) -> Self {
        Self {
            kind: CHECKPOINT_TYPE.to_owned(),
            node_id,
            sequence: record.entry.sequence,
            head_hash: record.entry_hash.clone(),
            time,
        }
    }

    /// The bytes the node signs: RFC 8785 JSON of this body.
    pub fn signing_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        canonical::to_canonical_vec(self)
    }

    fn fault(&self, fault: AuditFault) -> AuditError {
        AuditError {
            sequence: self.sequence,
            fault,
        }
    }
}

/// A checkpoint and the node's signature, as stored, served and exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedCheckpoint {
    /// The signed fields.
    #[serde(flatten)]
    pub body: CheckpointBody,
    /// Ed25519 by the node key over [`CheckpointBody::signing_bytes`],
    /// standard base64.
    pub node_signature: String,
}

impl SignedCheckpoint {
    /// Checks the type, that `expected_node` signed it (when given; else
    /// the checkpoint's own `nodeId`), and the signature:
    /// `verify(node_did, message, signature)` answers whether `signature`
    /// over `message` verifies under `node_did`'s key.
    pub fn check_signature(
        &self,
        expected_node: Option<&str>,
        verify: impl FnOnce(&str, &[u8], &[u8]) -> bool,
    ) -> Result<(), AuditError> {
        let body = &self.body;
        if body.kind != CHECKPOINT_TYPE {
            return Err(body.fault(AuditFault::BadCheckpoint(
                "its type is not an audit checkpoint",
            )));
        }
        if expected_node.is_some_and(|node| node != body.node_id) {
            return Err(body.fault(AuditFault::ForeignCheckpoint {
                node_id: body.node_id.clone(),
            }));
        }
        let signature = BASE64
            .decode(&self.node_signature)
            .map_err(|_| body.fault(AuditFault::BadCheckpoint("nodeSignature is not base64")))?;
        let message = body
            .signing_bytes()
            .map_err(|_| body.fault(AuditFault::BadCheckpoint("it is not canonical JSON")))?;
        match verify(&body.node_id, &message, &signature) {
            true => Ok(()),
            false => Err(body.fault(AuditFault::BadCheckpoint("nodeSignature does not verify"))),
        }
    }
}

/// The first place where an audit log does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditError {
    /// The sequence number concerned: the first bad entry, the first
    /// missing one, or the checkpoint's.
    pub sequence: u64,
    /// What does not hold there.
    pub fault: AuditFault,
}

/// What does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditFault {
    /// `prevHash` or `entryHash` is not 32 bytes of lowercase hex.
    Malformed(&'static str),
    /// Entry 1 does not start from the zero hash.
    NotFromGenesis,
    /// `entryHash` is not `SHA-256(prevHash || JCS(entry))`.
    HashMismatch,
    /// `prevHash` is not the previous entry's `entryHash`.
    LinkMismatch,
    /// The whole chain skips, repeats or reorders entries here.
    NotConsecutive {
        /// The sequence number that should have come.
        expected: u64,
    },
    /// A network's entries do not come in increasing order.
    NotIncreasing {
        /// The previous entry's sequence number.
        previous: u64,
    },
    /// The entry at a checkpoint's sequence has another hash: it, or an
    /// entry before it, was changed after the checkpoint was signed.
    Rewritten {
        /// When the checkpoint was signed.
        checkpoint_time: String,
    },
    /// The chain ends before a checkpoint: entries `sequence..=last` are
    /// missing.
    Truncated {
        /// The checkpoint's sequence, the last missing entry.
        last: u64,
        /// When the checkpoint was signed.
        checkpoint_time: String,
    },
    /// A network's entries, as served, skip or stop before the entry of a
    /// checkpoint the node signed for this read.
    Withheld {
        /// When the checkpoint was signed.
        checkpoint_time: String,
    },
    /// No checkpoint covers the entries checked.
    NoCheckpoint,
    /// A checkpoint is malformed or its signature does not verify.
    BadCheckpoint(&'static str),
    /// A checkpoint is signed by another node than the one expected.
    ForeignCheckpoint {
        /// The DID it names.
        node_id: String,
    },
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.sequence;
        let broken = |f: &mut fmt::Formatter<'_>, why: &str| {
            write!(f, "audit chain broken at entry {seq}: {why}")
        };
        match &self.fault {
            AuditFault::Malformed(what) => broken(f, what),
            AuditFault::NotFromGenesis => broken(f, "the first entry does not start from zero"),
            AuditFault::HashMismatch => broken(f, "entryHash does not match the entry's contents"),
            AuditFault::LinkMismatch => broken(f, "prevHash does not match the previous entry"),
            AuditFault::NotConsecutive { expected } => broken(
                f,
                &format!("sequence is not consecutive (expected entry {expected})"),
            ),
            AuditFault::NotIncreasing { previous } => broken(
                f,
                &format!("sequence numbers do not increase (after entry {previous})"),
            ),
            AuditFault::Rewritten { checkpoint_time } => write!(
                f,
                "audit log rewritten: entry {seq} no longer has the hash of the checkpoint \
                 (sequence {seq}, {checkpoint_time}); it or an entry before it was changed"
            ),
            AuditFault::Truncated {
                last,
                checkpoint_time,
            } => {
                let missing = match seq == *last {
                    true => format!("entry {last} is missing"),
                    false => format!("entries {seq}\u{2013}{last} are missing"),
                };
                write!(
                    f,
                    "audit log truncated: {missing}; the checkpoint (sequence {last}, \
                     {checkpoint_time}) covers them"
                )
            }
            AuditFault::Withheld { checkpoint_time } => write!(
                f,
                "audit log withheld or truncated: entry {seq}, covered by the node's checkpoint \
                 ({checkpoint_time}), was not served"
            ),
            AuditFault::NoCheckpoint => write!(
                f,
                "no signed checkpoint covers the audit log up to entry {seq}"
            ),
            AuditFault::BadCheckpoint(what) => {
                write!(f, "audit checkpoint of entry {seq} is invalid: {what}")
            }
            AuditFault::ForeignCheckpoint { node_id } => write!(
                f,
                "audit checkpoint of entry {seq} is signed by {node_id}, not by the node expected"
            ),
        }
    }
}

impl std::error::Error for AuditError {}

/// The last entry checked: the next one links to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Its sequence number.
    pub sequence: u64,
    /// Its `entryHash`.
    pub hash: [u8; 32],
}

/// A checkpoint whose entry was met with its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetCheckpoint {
    /// The entry's sequence number.
    pub sequence: u64,
    /// When the checkpoint was signed.
    pub time: String,
}

/// What a verification checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    /// Entries checked.
    pub checked: u64,
    /// The last entry checked, if any.
    pub head: Option<ChainHead>,
    /// The checkpoint of highest sequence that was met, if any.
    pub checkpoint: Option<MetCheckpoint>,
}

/// A checkpoint waiting for the entry of its sequence.
#[derive(Debug, Clone)]
struct Pin {
    sequence: u64,
    hash: [u8; 32],
    time: String,
}

/// Checks audit records one at a time (see the module documentation).
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    whole: bool,
    head: Option<ChainHead>,
    checked: u64,
    /// In sequence order.
    pins: VecDeque<Pin>,
    met: Option<MetCheckpoint>,
}

impl ChainVerifier {
    /// A verifier of the whole chain, from entry 1.
    pub fn whole_chain() -> Self {
        Self::new(true)
    }

    /// A verifier of one network's entries, as a node serves them.
    pub fn one_network() -> Self {
        Self::new(false)
    }

    fn new(whole: bool) -> Self {
        Self {
            whole,
            head: None,
            checked: 0,
            pins: VecDeque::new(),
            met: None,
        }
    }

    /// Entries checked so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// The last entry checked.
    pub fn head(&self) -> Option<ChainHead> {
        self.head
    }

    /// Expects the entry at `checkpoint.sequence` to have its `headHash`.
    /// Its signature is the caller's to check first. A checkpoint of an
    /// entry already checked cannot be compared any more, and is refused.
    pub fn pin(&mut self, checkpoint: &CheckpointBody) -> Result<(), AuditError> {
        let hash = parse_hash(&checkpoint.head_hash).ok_or_else(|| {
            checkpoint.fault(AuditFault::BadCheckpoint("headHash is not 32 bytes of hex"))
        })?;
        if checkpoint.sequence == 0 {
            return Err(checkpoint.fault(AuditFault::BadCheckpoint("sequence 0 covers no entry")));
        }
        if self
            .head
            .is_some_and(|head| checkpoint.sequence <= head.sequence)
        {
            return Err(checkpoint.fault(AuditFault::BadCheckpoint(
                "it came after the entry it covers was checked",
            )));
        }
        let pin = Pin {
            sequence: checkpoint.sequence,
            hash,
            time: checkpoint.time.clone(),
        };
        let at = self.pins.partition_point(|p| p.sequence <= pin.sequence);
        self.pins.insert(at, pin);
        Ok(())
    }

    /// Forgets the checkpoints not met yet (superseded by a newer one).
    pub fn clear_pins(&mut self) {
        self.pins.clear();
    }

    /// Whether a pinned checkpoint is still waiting for its entry.
    pub fn awaits_checkpoint(&self) -> bool {
        !self.pins.is_empty()
    }

    /// Checks the next record.
    pub fn push(&mut self, record: &AuditRecord) -> Result<(), AuditError> {
        let sequence = record.entry.sequence;
        let fail = |fault| AuditError { sequence, fault };
        let prev = parse_hash(&record.prev_hash)
            .ok_or_else(|| fail(AuditFault::Malformed("prevHash is not 32 bytes of hex")))?;
        let stated = parse_hash(&record.entry_hash)
            .ok_or_else(|| fail(AuditFault::Malformed("entryHash is not 32 bytes of hex")))?;
        self.check_place(sequence, &prev).map_err(fail)?;
        let hash = record
            .entry
            .chain_hash(&prev)
            .map_err(|_| fail(AuditFault::Malformed("the entry is not canonical JSON")))?;
        if hash != stated {
            return Err(fail(AuditFault::HashMismatch));
        }
        self.meet_pins(sequence, &hash)?;
        self.head = Some(ChainHead { sequence, hash });
        self.checked += 1;
        Ok(())
    }

    /// Ends the check: a pinned checkpoint the entries never reached means
    /// the log was truncated (whole chain) or its tail withheld (a
    /// network's entries).
    pub fn finish(self) -> Result<ChainSummary, AuditError> {
        if let Some(last) = self.pins.back() {
            let fault = match self.whole {
                true => AuditFault::Truncated {
                    last: last.sequence,
                    checkpoint_time: last.time.clone(),
                },
                false => AuditFault::Withheld {
                    checkpoint_time: last.time.clone(),
                },
            };
            let sequence = match self.whole {
                true => self.head.map_or(1, |head| head.sequence + 1),
                false => last.sequence,
            };
            return Err(AuditError { sequence, fault });
        }
        Ok(ChainSummary {
            checked: self.checked,
            head: self.head,
            checkpoint: self.met,
        })
    }

    /// Where `sequence` may stand after the head, and whether `prev` links
    /// to it.
    fn check_place(&self, sequence: u64, prev: &[u8; 32]) -> Result<(), AuditFault> {
        if sequence == 0 {
            return Err(AuditFault::Malformed("sequence numbers start at 1"));
        }
        let follows_head = match self.head {
            None => false,
            Some(head) if !self.whole && sequence <= head.sequence => {
                return Err(AuditFault::NotIncreasing {
                    previous: head.sequence,
                })
            }
            Some(head) => head.sequence.checked_add(1) == Some(sequence),
        };
        if self.whole && !follows_head && (self.head.is_some() || sequence != 1) {
            let expected = self.head.map_or(1, |h| h.sequence.saturating_add(1));
            return Err(AuditFault::NotConsecutive { expected });
        }
        if sequence == 1 && *prev != GENESIS_HASH {
            return Err(AuditFault::NotFromGenesis);
        }
        match self.head {
            Some(head) if follows_head && *prev != head.hash => Err(AuditFault::LinkMismatch),
            _ => Ok(()),
        }
    }

    /// Compares the checkpoints pinned at `sequence` with its `hash`; one
    /// pinned at a sequence skipped (a network's entries) was withheld.
    fn meet_pins(&mut self, sequence: u64, hash: &[u8; 32]) -> Result<(), AuditError> {
        while self
            .pins
            .front()
            .is_some_and(|pin| pin.sequence <= sequence)
        {
            let Some(pin) = self.pins.pop_front() else {
                break;
            };
            let fault = match (pin.sequence == sequence, pin.hash == *hash) {
                (true, true) => None,
                (true, false) => Some(AuditFault::Rewritten {
                    checkpoint_time: pin.time.clone(),
                }),
                (false, _) => Some(AuditFault::Withheld {
                    checkpoint_time: pin.time.clone(),
                }),
            };
            if let Some(fault) = fault {
                return Err(AuditError {
                    sequence: pin.sequence,
                    fault,
                });
            }
            self.met = Some(MetCheckpoint {
                sequence: pin.sequence,
                time: pin.time,
            });
        }
        Ok(())
    }
}

/// 32 bytes from 64 lowercase hex digits, as the node writes them.
fn parse_hash(text: &str) -> Option<[u8; 32]> {
    if !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AuditEntry;

    /// Records 1..=n of a well-formed chain, alternating two networks.
    fn chain(n: u64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH;
        (1..=n)
            .map(|sequence| {
                let entry = AuditEntry {
                    sequence,
                    time: "2026-11-26T00:00:00Z".into(),
                    network: format!("net-{}", sequence % 2),
                    requester: "did:key:z6Mk".into(),
                    command: "/encryption/decrypt".into(),
                    invocation_cid: String::new(),
                    outcome: "allowed".into(),
                };
                let hash = entry.chain_hash(&prev).expect("hash");
                let record = AuditRecord {
                    entry,
                    prev_hash: hex::encode(prev),
                    entry_hash: hex::encode(hash),
                };
                prev = hash;
                record
            })
            .collect()
    }

    /// Re-links every record after an edit, as someone rewriting the table would.
    fn relink(records: &mut [AuditRecord]) {
        let mut prev = GENESIS_HASH;
        for record in records {
            record.prev_hash = hex::encode(prev);
            prev = record.entry.chain_hash(&prev).expect("hash");
            record.entry_hash = hex::encode(prev);
        }
    }

    fn checkpoint_of(record: &AuditRecord) -> CheckpointBody {
        CheckpointBody::covering(record, "did:key:node".into(), "2026-11-26T01:00:00Z".into())
    }

    fn run(
        mut verifier: ChainVerifier,
        records: &[AuditRecord],
    ) -> Result<ChainSummary, AuditError> {
        for record in records {
            verifier.push(record)?;
        }
        verifier.finish()
    }

    fn whole(records: &[AuditRecord]) -> Result<ChainSummary, AuditError> {
        run(ChainVerifier::whole_chain(), records)
    }

    fn failing_at(result: Result<ChainSummary, AuditError>) -> (u64, AuditFault) {
        let err = result.expect_err("fails");
        (err.sequence, err.fault)
    }

    #[test]
    fn a_whole_chain_verifies() {
        let summary = whole(&chain(5)).expect("verifies");
        assert_eq!(summary.checked, 5);
        assert_eq!(summary.head.map(|h| h.sequence), Some(5));
        assert_eq!(summary.checkpoint, None);
    }

    #[test]
    fn an_edited_entry_is_a_bad_hash_at_its_sequence() {
        let mut records = chain(5);
        records[2].entry.outcome = "denied:policy_denied".into();
        assert_eq!(failing_at(whole(&records)), (3, AuditFault::HashMismatch));
    }

    #[test]
    fn a_relinked_entry_is_a_bad_link_at_its_sequence() {
        let mut records = chain(5);
        records[3].prev_hash = records[1].entry_hash.clone();
        // Its own hash recomputed, so only the link is wrong.
        let prev = parse_hash(&records[3].prev_hash).expect("hex");
        records[3].entry_hash = hex::encode(records[3].entry.chain_hash(&prev).expect("hash"));
        assert_eq!(failing_at(whole(&records)), (4, AuditFault::LinkMismatch));
    }

    #[test]
    fn a_gap_or_a_repeat_is_not_consecutive_in_the_whole_chain() {
        let mut records = chain(5);
        records.remove(2);
        assert_eq!(
            failing_at(whole(&records)),
            (4, AuditFault::NotConsecutive { expected: 3 })
        );
        let mut records = chain(3);
        records.insert(2, records[1].clone());
        assert_eq!(
            failing_at(whole(&records)),
            (2, AuditFault::NotConsecutive { expected: 3 })
        );
    }

    #[test]
    fn the_first_entry_starts_from_zero() {
        let mut records = chain(2);
        records[0].prev_hash = "11".repeat(32);
        relink_from(&mut records, 0);
        assert_eq!(failing_at(whole(&records)), (1, AuditFault::NotFromGenesis));
    }

    /// Recomputes hashes from `index` on, keeping that record's prevHash.
    fn relink_from(records: &mut [AuditRecord], index: usize) {
        let mut prev = parse_hash(&records[index].prev_hash).expect("hex");
        for record in &mut records[index..] {
            record.prev_hash = hex::encode(prev);
            prev = record.entry.chain_hash(&prev).expect("hash");
            record.entry_hash = hex::encode(prev);
        }
    }

    #[test]
    fn malformed_hashes_are_named() {
        let mut records = chain(2);
        records[1].entry_hash = records[1].entry_hash.to_uppercase();
        assert!(matches!(
            failing_at(whole(&records)),
            (2, AuditFault::Malformed(_))
        ));
        let mut records = chain(1);
        records[0].prev_hash = "zz".into();
        assert!(matches!(
            failing_at(whole(&records)),
            (1, AuditFault::Malformed(_))
        ));
    }

    #[test]
    fn one_networks_entries_skip_others_but_link_where_consecutive() {
        let records = chain(8);
        let view: Vec<_> = [0, 1, 2, 4, 7].map(|i| records[i].clone()).into();
        let summary = run(ChainVerifier::one_network(), &view).expect("verifies");
        assert_eq!(summary.checked, 5);

        let mut bad = view.clone();
        bad[2].prev_hash = bad[0].entry_hash.clone();
        relink_from(&mut bad, 2);
        assert_eq!(
            failing_at(run(ChainVerifier::one_network(), &bad)),
            (3, AuditFault::LinkMismatch)
        );

        let mut swapped = view;
        swapped.swap(3, 4);
        assert_eq!(
            failing_at(run(ChainVerifier::one_network(), &swapped)),
            (5, AuditFault::NotIncreasing { previous: 8 })
        );
    }

    #[test]
    fn links_are_checked_across_pages() {
        let records = chain(6);
        let mut verifier = ChainVerifier::one_network();
        for record in &records[..3] {
            verifier.push(record).expect("first page");
        }
        let mut next = records[3].clone();
        next.prev_hash = records[1].entry_hash.clone();
        let prev = parse_hash(&next.prev_hash).expect("hex");
        next.entry_hash = hex::encode(next.entry.chain_hash(&prev).expect("hash"));
        let err = verifier.push(&next).expect_err("second page");
        assert_eq!((err.sequence, err.fault), (4, AuditFault::LinkMismatch));
    }

    #[test]
    fn a_chain_shorter_than_its_checkpoint_is_truncated() {
        let records = chain(12);
        let mut verifier = ChainVerifier::whole_chain();
        verifier.pin(&checkpoint_of(&records[11])).expect("pinned");
        let err = run(verifier, &records[..9]).expect_err("truncated");
        assert_eq!(err.sequence, 10);
        assert_eq!(
            err.fault,
            AuditFault::Truncated {
                last: 12,
                checkpoint_time: "2026-11-26T01:00:00Z".into()
            }
        );
        let text = err.to_string();
        assert!(text.contains("entries 10\u{2013}12 are missing"), "{text}");
        assert!(
            text.contains("checkpoint (sequence 12, 2026-11-26T01:00:00Z)"),
            "{text}"
        );
    }

    #[test]
    fn a_checkpoint_met_with_its_hash_is_reported() {
        let records = chain(5);
        let mut verifier = ChainVerifier::whole_chain();
        verifier.pin(&checkpoint_of(&records[2])).expect("pinned");
        verifier.pin(&checkpoint_of(&records[4])).expect("pinned");
        let summary = run(verifier, &records).expect("verifies");
        assert_eq!(summary.checkpoint.map(|c| c.sequence), Some(5));
    }

    #[test]
    fn a_chain_rewritten_before_a_checkpoint_and_relinked_is_caught_by_it() {
        let mut records = chain(6);
        let checkpoint = checkpoint_of(&records[4]);
        records[1].entry.outcome = "denied:expired".into();
        relink(&mut records);
        whole(&records).expect("the rewritten chain is consistent in itself");
        let mut verifier = ChainVerifier::whole_chain();
        verifier.pin(&checkpoint).expect("pinned");
        let (sequence, fault) = failing_at(run(verifier, &records));
        assert_eq!(sequence, 5);
        assert!(matches!(fault, AuditFault::Rewritten { .. }), "{fault:?}");
    }

    #[test]
    fn a_network_view_that_skips_its_checkpoint_withholds_it() {
        let records = chain(6);
        let mut verifier = ChainVerifier::one_network();
        verifier.pin(&checkpoint_of(&records[3])).expect("pinned");
        let view = [records[0].clone(), records[5].clone()];
        let (sequence, fault) = failing_at(run(verifier.clone(), &view));
        assert_eq!(sequence, 4);
        assert!(matches!(fault, AuditFault::Withheld { .. }), "{fault:?}");
        let (sequence, fault) = failing_at(run(verifier, &view[..1]));
        assert_eq!(sequence, 4);
        assert!(matches!(fault, AuditFault::Withheld { .. }), "{fault:?}");
    }

    #[test]
    fn a_checkpoint_behind_the_entries_checked_is_refused() {
        let records = chain(3);
        let mut verifier = ChainVerifier::whole_chain();
        for record in &records {
            verifier.push(record).expect("verifies");
        }
        let err = verifier
            .pin(&checkpoint_of(&records[1]))
            .expect_err("too late");
        assert!(matches!(err.fault, AuditFault::BadCheckpoint(_)));
    }

    #[test]
    fn checkpoint_signatures_are_checked_by_the_node_named() {
        let body = checkpoint_of(&chain(1)[0]);
        let signed = SignedCheckpoint {
            node_signature: BASE64.encode(b"sig"),
            body: body.clone(),
        };
        let expected = body.signing_bytes().expect("bytes");
        let good = |node: &str, msg: &[u8], sig: &[u8]| {
            node == "did:key:node" && msg == expected.as_slice() && sig == b"sig"
        };
        signed.check_signature(None, good).expect("verifies");
        signed
            .check_signature(Some("did:key:node"), good)
            .expect("verifies");
        let err = signed
            .check_signature(Some("did:key:other"), good)
            .expect_err("foreign");
        assert!(matches!(err.fault, AuditFault::ForeignCheckpoint { .. }));
        let err = signed
            .check_signature(None, |_, _, _| false)
            .expect_err("bad signature");
        assert_eq!(err.sequence, 1);
        let mut wrong_type = signed.clone();
        wrong_type.body.kind = "encnet.decrypt-result/v1".into();
        assert!(wrong_type.check_signature(None, good).is_err());
        let mut not_base64 = signed;
        not_base64.node_signature = "!".into();
        assert!(not_base64.check_signature(None, good).is_err());
    }

    #[test]
    fn a_checkpoint_travels_as_flat_camel_case_json() {
        let signed = SignedCheckpoint {
            body: checkpoint_of(&chain(1)[0]),
            node_signature: "c2ln".into(),
        };
        let json = serde_json::to_value(&signed).expect("json");
        assert_eq!(json["type"], CHECKPOINT_TYPE);
        assert_eq!(json["headHash"], signed.body.head_hash);
        assert_eq!(json["nodeSignature"], "c2ln");
        let back: SignedCheckpoint = serde_json::from_value(json).expect("parses");
        assert_eq!(back, signed);
        let bytes = signed.body.signing_bytes().expect("bytes");
        let text = String::from_utf8(bytes).expect("utf-8");
        assert!(text.starts_with("{\"headHash\":"), "{text}");
    }
}
