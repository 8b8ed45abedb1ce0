//! Offline verification of the audit log over a node's database (DESIGN
//! §4.10), the export of its latest checkpoint, and the start-up refusal of
//! a chain shorter than its latest checkpoint.
//!
//! The checks themselves are [`encnet_core::audit::ChainVerifier`]'s, the
//! same a client runs over the pages a node serves. Here the chain is read
//! [`PAGE`] rows at a time, with the stored checkpoints of each page's
//! range, so memory stays constant however long the chain is.

use std::path::Path;

use encnet_core::api::AuditRecord;
use encnet_core::audit::{
    AuditError, AuditFault, ChainVerifier, CheckpointBody, MetCheckpoint, SignedCheckpoint,
};
use encnet_core::root_key::RootKey;
use encnet_ucan::{Did, Ed25519Signer, VarsigHeader};

use crate::store::{Store, StoreError};
use crate::NodeError;

/// Entries read per query.
const PAGE: u32 = 4096;

/// The first place where the audit log does not hold (one type for every
/// verifier of the workspace).
pub type ChainBreak = AuditError;

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Number of entries checked.
    pub entries: u64,
    /// The last entry's sequence number (0 for an empty log).
    pub head: u64,
    /// The stored checkpoint of highest sequence, if any: the chain reaches
    /// it and has its hash there.
    pub latest_checkpoint: Option<CheckpointBody>,
    /// Stored checkpoints whose signature and hash were checked.
    pub checkpoints: u64,
    /// Whose signature the checkpoints were checked against.
    pub signer: CheckpointSigner,
    /// The exported checkpoint the log was shown to extend (`--since`).
    pub since: Option<MetCheckpoint>,
}

/// Whose signature a checkpoint must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointSigner {
    /// The node DID derived from the data directory's root key (or
    /// `ENCNET_ROOT_KEY`).
    RootKey(String),
    /// A node DID the caller named.
    Given(String),
    /// No node DID is known: each checkpoint is checked against the
    /// `nodeId` it names, which proves it unaltered but not whose it is.
    OwnNodeId,
}

impl CheckpointSigner {
    fn did(&self) -> Option<&str> {
        match self {
            Self::RootKey(did) | Self::Given(did) => Some(did),
            Self::OwnNodeId => None,
        }
    }

    /// Checks `checkpoint`'s signature by this signer.
    fn check(&self, checkpoint: &SignedCheckpoint) -> Result<(), AuditError> {
        checkpoint.check_signature(self.did(), verify_by_did)
    }
}

/// What to check beyond the chain itself.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// A checkpoint exported earlier: the log must still extend it.
    pub since: Option<SignedCheckpoint>,
    /// The node DID checkpoints must be signed by; default: the one derived
    /// from the root key, when it can be read.
    pub node_did: Option<String>,
}

/// Whether `signature` over `message` verifies under `did`'s key.
pub(crate) fn verify_by_did(did: &str, message: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = did.parse::<Did>().and_then(|did| did.public_key()) else {
        return false;
    };
    key.verify(&VarsigHeader::new(key.algorithm()), message, signature)
        .is_ok()
}

/// Recomputes every link of `records` (in sequence order, from the first).
pub fn verify_audit_chain(records: &[AuditRecord]) -> Result<AuditReport, ChainBreak> {
    let mut verifier = ChainVerifier::whole_chain();
    for record in records {
        verifier.push(record)?;
    }
    let summary = verifier.finish()?;
    Ok(AuditReport {
        entries: summary.checked,
        head: summary.head.map_or(0, |head| head.sequence),
        latest_checkpoint: None,
        checkpoints: 0,
        signer: CheckpointSigner::OwnNodeId,
        since: None,
    })
}

/// Verifies the audit log of the node database in `data_dir`, read-only.
pub async fn verify_data_dir(
    data_dir: &Path,
) -> Result<Result<AuditReport, ChainBreak>, NodeError> {
    verify_database(None, data_dir).await
}

/// Verifies the audit log of the database at `database_url`
/// (`sqlite://PATH` or `postgres://…`; default: SQLite in `data_dir`),
/// read-only.
pub async fn verify_database(
    database_url: Option<&str>,
    data_dir: &Path,
) -> Result<Result<AuditReport, ChainBreak>, NodeError> {
    verify_database_with(database_url, data_dir, &VerifyOptions::default()).await
}

/// [`verify_database`], checking `options` too.
pub async fn verify_database_with(
    database_url: Option<&str>,
    data_dir: &Path,
    options: &VerifyOptions,
) -> Result<Result<AuditReport, ChainBreak>, NodeError> {
    let signer = expected_signer(data_dir, options.node_did.as_deref())?;
    let store = open(database_url, data_dir).await?;
    match verify_store(&store, options, signer).await {
        Ok(report) => Ok(Ok(report)),
        Err(Failure::Broken(broken)) => Ok(Err(broken)),
        Err(Failure::Store(err)) => Err(err.into()),
    }
}

/// The latest stored checkpoint, once its signature verifies and the entry
/// of its sequence still has its hash (the rest of the chain is
/// `verify`'s to check).
pub async fn export_checkpoint(
    database_url: Option<&str>,
    data_dir: &Path,
    node_did: Option<&str>,
) -> Result<Result<SignedCheckpoint, ChainBreak>, NodeError> {
    let signer = expected_signer(data_dir, node_did)?;
    let store = open(database_url, data_dir).await?;
    let Some(latest) = store.latest_checkpoint().await? else {
        let head = store.audit_head().await?;
        return Ok(Err(AuditError {
            sequence: head.map_or(0, |r| r.entry.sequence),
            fault: AuditFault::NoCheckpoint,
        }));
    };
    if let Err(broken) = signer.check(&latest) {
        return Ok(Err(broken));
    }
    Ok(still_covered(&store, &latest.body).await?.map(|()| latest))
}

/// Refuses a chain that no longer reaches its latest checkpoint, or has
/// another hash there: a node must not resume appending to a shortened or
/// rewritten log (the next entries would hide the cut). Two indexed reads,
/// not a walk of the chain; `encnet audit verify` does that.
pub(crate) async fn refuse_truncated(store: &Store) -> Result<(), NodeError> {
    let Some(latest) = store.latest_checkpoint().await? else {
        return Ok(());
    };
    still_covered(store, &latest.body)
        .await?
        .map_err(NodeError::AuditTruncated)
}

/// Whether the stored entry at `checkpoint.sequence` has its hash.
async fn still_covered(
    store: &Store,
    checkpoint: &CheckpointBody,
) -> Result<Result<(), AuditError>, StoreError> {
    let sequence = checkpoint.sequence;
    let fault = match store.audit_entry(sequence).await? {
        Some(entry) if entry.entry_hash == checkpoint.head_hash => return Ok(Ok(())),
        Some(_) => AuditFault::Rewritten {
            checkpoint_time: checkpoint.time.clone(),
        },
        None => {
            let head = store.audit_head().await?.map_or(0, |r| r.entry.sequence);
            let first_missing = match head < sequence {
                true => head + 1,
                false => sequence,
            };
            return Ok(Err(AuditError {
                sequence: first_missing,
                fault: AuditFault::Truncated {
                    last: sequence,
                    checkpoint_time: checkpoint.time.clone(),
                },
            }));
        }
    };
    Ok(Err(AuditError { sequence, fault }))
}

/// Why a verification stopped.
enum Failure {
    Store(StoreError),
    Broken(AuditError),
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

impl From<AuditError> for Failure {
    fn from(err: AuditError) -> Self {
        Self::Broken(err)
    }
}

/// Streams the chain through the verifier, page by page, with the stored
/// checkpoints of each page pinned before its entries.
async fn verify_store(
    store: &Store,
    options: &VerifyOptions,
    signer: CheckpointSigner,
) -> Result<AuditReport, Failure> {
    let mut verifier = ChainVerifier::whole_chain();
    // Read before the chain, so a checkpoint made while this runs (a node
    // may be serving) is never beyond the entries this read reaches.
    let latest = store.latest_checkpoint().await?;
    for checkpoint in latest.iter().chain(&options.since) {
        signer.check(checkpoint)?;
        verifier.pin(&checkpoint.body)?;
    }
    let mut checkpoints = 0;
    let mut page = store.audit_after(0, PAGE).await?;
    while let (Some(first), Some(last)) = (page.first(), page.last()) {
        let (first, last) = (first.entry.sequence, last.entry.sequence);
        for checkpoint in store.checkpoints_between(first, last).await? {
            signer.check(&checkpoint)?;
            verifier.pin(&checkpoint.body)?;
            checkpoints += 1;
        }
        // The next page is read (on another thread) while this one is
        // checked: two pages in memory, whatever the chain's length.
        let (next, checked) = tokio::join!(store.audit_after(last, PAGE), async {
            page.iter().try_for_each(|record| verifier.push(record))
        });
        checked?;
        page = next?;
    }
    let summary = verifier.finish()?;
    Ok(AuditReport {
        entries: summary.checked,
        head: summary.head.map_or(0, |head| head.sequence),
        latest_checkpoint: latest.map(|c| c.body),
        checkpoints,
        signer,
        since: options.since.as_ref().map(|c| MetCheckpoint {
            sequence: c.body.sequence,
            time: c.body.time.clone(),
        }),
    })
}

async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Store, NodeError> {
    Ok(Store::open_read_only(&crate::store_location(database_url, data_dir)?).await?)
}

/// The node DID checkpoints must carry: `given`, else the one derived from
/// `ENCNET_ROOT_KEY` or the data directory's root key (read, used for the
/// DID and dropped), else none.
fn expected_signer(data_dir: &Path, given: Option<&str>) -> Result<CheckpointSigner, NodeError> {
    if let Some(did) = given {
        return Ok(CheckpointSigner::Given(did.to_owned()));
    }
    let path = data_dir.join("root.key");
    let root = match RootKey::from_env()? {
        Some(root) => Some(root),
        // A verifier without the key (an auditor's copy of the database)
        // still checks each checkpoint against the nodeId it names.
        None if path.exists() => RootKey::load(&path).ok(),
        None => None,
    };
    Ok(root.map_or(CheckpointSigner::OwnNodeId, |root| {
        let did = Ed25519Signer::from_seed(*root.node_identity_seed()).did();
        CheckpointSigner::RootKey(did.to_string())
    }))
}
