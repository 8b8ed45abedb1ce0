//! Owner attestation of a network key version (DESIGN §4.3): the owner signs
//! what the key is, so a client checks the key against the owner DID in the
//! network id and need not trust the node that serves it.
//!
//! This module holds the statement, its signed bytes and the comparison
//! with a descriptor. The signature itself is checked by the caller with the
//! owner DID's key (`encnet-ucan` resolves DIDs), through [`Attestation::check`].

use serde::{Deserialize, Serialize};

use crate::api::{KeyBackend, Member, NetworkDescriptor, Threshold};
use crate::canonical;
use crate::error::CanonicalError;

/// The statement's `type`.
pub const NETWORK_KEY_STATEMENT: &str = "encnet.network-key/v1";

/// What the owner signs for one key version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkKeyStatement {
    /// Always [`NETWORK_KEY_STATEMENT`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The network the key belongs to.
    pub network_id: String,
    /// The key version.
    pub key_version: u64,
    /// The suite's wire name.
    pub alg: String,
    /// The X25519 public key, standard base64.
    pub public_encryption_key: String,
    /// Where the private key lives.
    pub key_backend: KeyBackend,
    /// The custodian nodes (threshold networks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Member>>,
    /// t-of-n (threshold networks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
}

impl NetworkKeyStatement {
    /// The statement for the newest key version of `descriptor`.
    pub fn for_descriptor(descriptor: &NetworkDescriptor) -> Self {
        let threshold_network = descriptor.key_backend == KeyBackend::Threshold;
        Self {
            kind: NETWORK_KEY_STATEMENT.to_owned(),
            network_id: descriptor.network_id.clone(),
            key_version: descriptor.key_version,
            alg: descriptor.alg.clone(),
            public_encryption_key: descriptor.public_encryption_key.clone(),
            key_backend: descriptor.key_backend,
            members: threshold_network.then(|| descriptor.members.clone()),
            threshold: threshold_network.then_some(descriptor.threshold),
        }
    }

    /// The bytes the owner signs: the statement's JCS (RFC 8785).
    pub fn signing_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        canonical::to_canonical_vec(self)
    }
}

/// A statement and the owner's signature over its signing bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attestation {
    /// What is attested.
    pub statement: NetworkKeyStatement,
    /// The owner's signature, standard padded base64.
    pub signature: String,
}

/// Why a descriptor's key is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// The descriptor is for another network than the one asked for.
    #[error("the node answered for network {served}, not {requested}")]
    WrongNetwork {
        /// The id asked for.
        requested: String,
        /// The id served.
        served: String,
    },
    /// No attestation covers the key version in use.
    #[error("key version {0} is not attested by the network's owner")]
    Unattested(u64),
    /// The statement is not an encnet key statement.
    #[error("the attestation is not an {NETWORK_KEY_STATEMENT} statement")]
    WrongType,
    /// A field of the statement differs from the key served.
    #[error("the attested {0} differs from the one served")]
    Mismatch(&'static str),
    /// The signature does not verify under the owner DID's key.
    #[error("the attestation's signature is not the owner's")]
    BadSignature,
}

impl Attestation {
    /// Checks that this attestation covers exactly `expected` (every field)
    /// and that `verify(signing bytes, signature bytes)` accepts the
    /// signature; `verify` checks it with the key of the owner DID embedded
    /// in the network id, never with a key the node supplies.
    pub fn check(
        &self,
        expected: &NetworkKeyStatement,
        verify: impl FnOnce(&[u8], &[u8]) -> bool,
    ) -> Result<(), AttestationError> {
        let s = &self.statement;
        if s.kind != NETWORK_KEY_STATEMENT {
            return Err(AttestationError::WrongType);
        }
        let fields = [
            ("networkId", s.network_id == expected.network_id),
            ("keyVersion", s.key_version == expected.key_version),
            ("alg", s.alg == expected.alg),
            (
                "publicEncryptionKey",
                s.public_encryption_key == expected.public_encryption_key,
            ),
            ("keyBackend", s.key_backend == expected.key_backend),
            ("members", s.members == expected.members),
            ("threshold", s.threshold == expected.threshold),
        ];
        if let Some((field, _)) = fields.iter().find(|(_, same)| !same) {
            return Err(AttestationError::Mismatch(field));
        }
        let bytes = s
            .signing_bytes()
            .map_err(|_| AttestationError::BadSignature)?;
        let signature = base64_decode(&self.signature).ok_or(AttestationError::BadSignature)?;
        if verify(&bytes, &signature) {
            Ok(())
        } else {
            Err(AttestationError::BadSignature)
        }
    }
}

/// Checks `descriptor` as served for `requested`: the same network id, and
/// an attestation of its newest key version that `verify` accepts (see
/// [`Attestation::check`]).
pub fn verify_descriptor(
    requested: &str,
    descriptor: &NetworkDescriptor,
    verify: impl FnOnce(&[u8], &[u8]) -> bool,
) -> Result<(), AttestationError> {
    if descriptor.network_id != requested {
        return Err(AttestationError::WrongNetwork {
            requested: requested.to_owned(),
            served: descriptor.network_id.clone(),
        });
    }
    let expected = NetworkKeyStatement::for_descriptor(descriptor);
    descriptor
        .attestations
        .iter()
        .find(|a| a.statement.key_version == descriptor.key_version)
        .ok_or(AttestationError::Unattested(descriptor.key_version))?
        .check(&expected, verify)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}
