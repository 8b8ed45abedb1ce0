//! Owner attestation of network keys (DESIGN §4.3), from the client's side:
//! the owner signs each key version once, and every client checks the key it
//! encrypts to against the owner DID embedded in the network id, so a node
//! (or anyone on the path) cannot substitute a key or downgrade the suite.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use encnet_core::api::NetworkDescriptor;
use encnet_core::attestation::{self, Attestation, NetworkKeyStatement};
use encnet_core::NetworkId;
use encnet_ucan::{Did, Ed25519Signer, Signer};

use crate::ClientError;

/// The owner's attestation of the newest key version of `descriptor`.
pub fn sign(
    owner: &Ed25519Signer,
    descriptor: &NetworkDescriptor,
) -> Result<Attestation, ClientError> {
    let statement = NetworkKeyStatement::for_descriptor(descriptor);
    let bytes = statement
        .signing_bytes()
        .map_err(|err| ClientError::Usage(format!("statement: {err}")))?;
    Ok(Attestation {
        statement,
        signature: BASE64.encode(owner.sign(&bytes)),
    })
}

/// Checks that the newest key of `descriptor` is attested by the owner DID
/// embedded in its network id, field by field.
pub fn verify(descriptor: &NetworkDescriptor) -> Result<(), ClientError> {
    let owner = owner_of(&descriptor.network_id)?;
    attestation::verify_descriptor(&descriptor.network_id, descriptor, |msg, sig| {
        owner.verify_signature(msg, sig).is_ok()
    })
    .map_err(ClientError::Attestation)
}

/// Whether each key version from 1 to the newest is attested: the newest
/// checked field by field against the descriptor, older ones (whose keys
/// the descriptor does not show) by their signature and network id.
pub fn attested_versions(descriptor: &NetworkDescriptor) -> Vec<(u64, bool)> {
    let owner = owner_of(&descriptor.network_id).ok();
    let signed_by_owner = |a: &Attestation| {
        a.statement.network_id == descriptor.network_id
            && owner.as_ref().is_some_and(|owner| {
                a.check(&a.statement, |msg, sig| {
                    owner.verify_signature(msg, sig).is_ok()
                })
                .is_ok()
            })
    };
    (1..=descriptor.key_version)
        .map(|version| {
            let attested = if version == descriptor.key_version {
                verify(descriptor).is_ok()
            } else {
                descriptor
                    .attestations
                    .iter()
                    .any(|a| a.statement.key_version == version && signed_by_owner(a))
            };
            (version, attested)
        })
        .collect()
}

fn owner_of(network_id: &str) -> Result<Did, ClientError> {
    let id: NetworkId = network_id
        .parse()
        .map_err(|_| ClientError::InvalidResponse(format!("invalid network id {network_id:?}")))?;
    id.owner_did()
        .parse()
        .map_err(|_| ClientError::InvalidResponse(format!("the owner DID of {network_id}")))
}
