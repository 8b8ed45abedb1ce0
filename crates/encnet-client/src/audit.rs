//! A network's audit log as a node serves it (DESIGN §4.10), read page after
//! page and checked with the workspace's one verifier,
//! [`encnet_core::audit::ChainVerifier`].
//!
//! The node's chain runs over every network; a page holds one network's
//! entries, so links to entries of other networks cannot be checked here.
//! What can be: each entry's hash over its own `prevHash` and contents,
//! increasing sequence numbers, the link between entries with consecutive
//! sequence numbers (across pages too), and the end of the log against the
//! checkpoint the node signs at each read. That checkpoint covers the
//! read's own entry, which is the last of the network's log when the read
//! is made: a log that stops before it, skips it or has another hash there
//! was truncated, withheld or rewritten.
//!
//! [`verify_log`] and [`follow_log`] hold one page at a time, however long
//! the log is.

use encnet_core::api::{AuditPage, AuditRecord};
use encnet_core::audit::{AuditError, AuditFault, ChainVerifier, MetCheckpoint};
use encnet_ucan::{Delegation, Did, Ed25519Signer, Signed, VarsigHeader};

use crate::{Client, ClientError};

/// The first entry that does not hold, and why (the workspace's one audit
/// error type).
pub type AuditBreak = AuditError;

/// Verifies every entry of `records` (one network's entries, in the order
/// served); answers the number of entries checked.
pub fn verify_page(records: &[AuditRecord]) -> Result<usize, AuditBreak> {
    let mut verifier = ChainVerifier::one_network();
    for record in records {
        verifier.push(record)?;
    }
    verifier.finish()?;
    Ok(records.len())
}

/// A read of one network's audit log.
#[derive(Clone, Copy)]
pub struct LogRead<'a> {
    /// Who reads: the owner, or a holder of an `/encryption/audit/read`
    /// delegation.
    pub signer: &'a Ed25519Signer,
    /// The network's owner (the invocations' subject).
    pub owner: &'a Did,
    /// The network id.
    pub network: &'a str,
    /// Only entries after this sequence number.
    pub after: u64,
    /// The delegations proving the signer's authority, root first.
    pub proofs: &'a [Signed<Delegation>],
}

/// Why reading a log stopped.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A call to the node failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The log served does not hold.
    #[error(transparent)]
    Broken(#[from] AuditError),
}

/// A log that verified to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLog {
    /// Entries checked.
    pub checked: u64,
    /// The signed checkpoint the last page ends at.
    pub checkpoint: MetCheckpoint,
}

/// Whether to read another page, and after which sequence.
enum Flow {
    Next(u64),
    Done,
}

/// Reads every page of the log from `read.after` to the end, checking each
/// entry, and the end against the checkpoint the node signed at the last
/// read, which must verify under `node` (the DID the client addresses its
/// invocations to: [`Client::node_did`], or one pinned by the caller).
/// `each` receives every entry once it is checked.
pub async fn verify_log(
    client: &Client,
    read: &LogRead<'_>,
    node: &Did,
    mut each: impl FnMut(&AuditRecord),
) -> Result<VerifiedLog, LogError> {
    let node = node.to_string();
    let mut verifier = ChainVerifier::one_network();
    read_pages(client, read, |page| {
        let Some(checkpoint) = page.checkpoint else {
            return Err(no_checkpoint(&verifier, read.after));
        };
        checkpoint.check_signature(Some(&node), verify_by_did)?;
        // The newest checkpoint supersedes one not met yet.
        verifier.clear_pins();
        verifier.pin(&checkpoint.body)?;
        for record in &page.entries {
            verifier.push(record)?;
            each(record);
        }
        Ok(match page.entries.last() {
            Some(last) if verifier.awaits_checkpoint() => Flow::Next(last.entry.sequence),
            _ => Flow::Done,
        })
    })
    .await?;
    let after = read.after;
    let summary = verifier.finish()?;
    let checkpoint = summary.checkpoint.ok_or(AuditError {
        sequence: summary.head.map_or(after, |head| head.sequence),
        fault: AuditFault::NoCheckpoint,
    })?;
    Ok(VerifiedLog {
        checked: summary.checked,
        checkpoint,
    })
}

/// Reads every page of the log from `read.after` to the end, unchecked,
/// passing each entry to `each`; answers how many there were. A node
/// without checkpoints serves one page.
pub async fn follow_log(
    client: &Client,
    read: &LogRead<'_>,
    mut each: impl FnMut(&AuditRecord),
) -> Result<u64, LogError> {
    let mut count = 0;
    read_pages(client, read, |page| {
        page.entries.iter().for_each(&mut each);
        count += page.entries.len() as u64;
        let end = page.checkpoint.map_or(0, |c| c.body.sequence);
        Ok(match page.entries.last() {
            Some(last) if last.entry.sequence < end => Flow::Next(last.entry.sequence),
            _ => Flow::Done,
        })
    })
    .await?;
    Ok(count)
}

/// Fetches pages, each after the last entry of the one before, and hands
/// each to `page` until it says done.
async fn read_pages(
    client: &Client,
    read: &LogRead<'_>,
    mut page: impl FnMut(AuditPage) -> Result<Flow, AuditError>,
) -> Result<(), LogError> {
    let mut after = read.after;
    loop {
        let served = client
            .audit(read.signer, read.owner, read.network, after, read.proofs)
            .await?;
        match page(served)? {
            Flow::Next(last) => after = last,
            Flow::Done => return Ok(()),
        }
    }
}

fn no_checkpoint(verifier: &ChainVerifier, after: u64) -> AuditError {
    AuditError {
        sequence: verifier.head().map_or(after, |head| head.sequence),
        fault: AuditFault::NoCheckpoint,
    }
}

/// Whether `signature` over `message` verifies under `did`'s key.
fn verify_by_did(did: &str, message: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = did.parse::<Did>().and_then(|did| did.public_key()) else {
        return false;
    };
    key.verify(&VarsigHeader::new(key.algorithm()), message, signature)
        .is_ok()
}
