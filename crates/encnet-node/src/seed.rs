//! `encnet-bench seed` (through `lab::seed`): fills a data directory with
//! networks and audit entries, to measure how the node behaves as its tables
//! grow. Rows are real: keys are sealed under the data directory's root key
//! and the audit chain verifies.

use encnet_core::suite::Suite;
use encnet_core::NetworkId;
use encnet_ucan::Ed25519Signer;

use crate::backend::LocalBackend;
use crate::store::{AuditDraft, NetworkRecord};
use crate::{clock, Config, NodeError};

/// Networks written per transaction.
const NETWORKS_PER_BATCH: u64 = 5_000;
/// Audit entries written per transaction.
const AUDIT_PER_BATCH: u64 = 50_000;
/// Seeded networks are spread over this many owners.
const OWNERS: usize = 100;

/// What to write.
#[derive(Debug, Clone, Copy)]
pub struct SeedPlan {
    /// Networks to add.
    pub networks: u64,
    /// Audit entries to add.
    pub audit_rows: u64,
}

/// Adds `plan`'s rows to the node of `config`, calling `progress(done,
/// total)` after each batch (rows of both kinds together).
pub async fn seed(
    config: &Config,
    plan: SeedPlan,
    mut progress: impl FnMut(u64, u64),
) -> Result<(), NodeError> {
    let (root, store) = crate::open_parts(config).await?;
    let backend = LocalBackend::new(root.network_seal(config.at_rest.legacy_plaintext));
    let owners: Vec<String> = (0..OWNERS)
        .map(|_| Ed25519Signer::generate().did().to_string())
        .collect();
    let total = plan.networks + plan.audit_rows;
    let run = clock::now_unix();
    let id_of = |i: u64| -> Result<NetworkId, NodeError> {
        let owner = &owners[(i % OWNERS as u64) as usize];
        NetworkId::new(owner, &format!("seed-{run}-{i}"))
            .map_err(|err| NodeError::Seed(err.to_string()))
    };

    let mut done = 0;
    for start in (0..plan.networks).step_by(NETWORKS_PER_BATCH as usize) {
        let end = (start + NETWORKS_PER_BATCH).min(plan.networks);
        let now = clock::now_rfc3339();
        let mut batch = Vec::with_capacity((end - start) as usize);
        for i in start..end {
            let id = id_of(i)?;
            let key = backend
                .generate(&id.to_string(), 1)
                .map_err(|err| NodeError::Seed(err.to_string()))?;
            let record =
                NetworkRecord::new_one_of_one(&id, Suite::V2, key.public_key.clone(), now.clone());
            batch.push((record, key));
        }
        store.seed_batch(batch, Vec::new()).await?;
        done += end - start;
        progress(done, total);
    }

    let networks = plan.networks.max(1);
    for start in (0..plan.audit_rows).step_by(AUDIT_PER_BATCH as usize) {
        let end = (start + AUDIT_PER_BATCH).min(plan.audit_rows);
        let drafts = (start..end)
            .map(|i| {
                Ok(AuditDraft {
                    network: id_of(i % networks)?.to_string(),
                    requester: owners[(i % OWNERS as u64) as usize].clone(),
                    command: encnet_core::api::command::DECRYPT.to_owned(),
                    invocation_cid: format!("seed-{run}-{i}"),
                    outcome: "allowed".to_owned(),
                })
            })
            .collect::<Result<Vec<_>, NodeError>>()?;
        store.seed_batch(Vec::new(), drafts).await?;
        done += end - start;
        progress(done, total);
    }
    Ok(())
}
