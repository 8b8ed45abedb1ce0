//! `/encryption/network/attest` (DESIGN §4.3): the owner's signed statement
//! of what a key version is. The node stores it only if the owner signed it
//! and it describes the stored key exactly, and serves it in the descriptor,
//! where clients check it against the owner DID in the network id.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use encnet_core::api::command;
use encnet_core::api::{KeyBackend, NetworkDescriptor};
use encnet_core::attestation::{Attestation, NetworkKeyStatement};

use super::args::{bytes_arg, string_arg};
use super::authz::Expectation;
use super::network::require_owner;
use super::{Node, ServiceError};
use crate::store::{Change, NetworkRecord};

/// Longest statement accepted: a one-of-one statement is about 400 bytes.
const MAX_STATEMENT_BYTES: usize = 4096;

impl Node {
    /// Stores the owner's attestation `args.statement` (its canonical JSON)
    /// signed by `args.signature`.
    pub(crate) async fn attest_network(
        &self,
        network: &str,
        bearer: Option<&str>,
    ) -> Result<NetworkDescriptor, ServiceError> {
        let expect = Expectation {
            command: command::NETWORK_ATTEST,
            network: Some(network),
        };
        self.gated(bearer, expect, |auth, decision| async move {
            require_owner(&auth)?;
            let statement = parse_statement(string_arg(auth.args(), "statement")?)?;
            let signature = BASE64.encode(bytes_arg(auth.args(), "signature")?);
            let attestation = Attestation {
                statement,
                signature,
            };
            let expected = self.stored_statement(network, &attestation).await?;
            let owner = &auth.invocation.payload.sub;
            attestation
                .check(&expected, |msg, sig| {
                    owner.verify_signature(msg, sig).is_ok()
                })
                .map_err(|err| ServiceError::InvalidAttestation(err.to_string()))?;
            let canonical = canonical_json(&attestation.statement)?;
            let change = Change::Attest {
                network: network.to_owned(),
                version: expected.key_version,
                statement: canonical,
                signature: attestation.signature,
            };
            self.store.decide(decision, change).await?;
            self.descriptor(network).await
        })
        .await
    }

    /// What the statement must say: the stored key of the version it names.
    async fn stored_statement(
        &self,
        network: &str,
        attestation: &Attestation,
    ) -> Result<NetworkKeyStatement, ServiceError> {
        let version = attestation.statement.key_version;
        let stored = self
            .store
            .network_key(network, version)
            .await?
            .ok_or(ServiceError::NetworkNotFound)?;
        // A version that never existed, or whose key was shredded.
        let key = stored
            .sealed
            .as_ref()
            .ok_or(ServiceError::UnknownKeyVersion)?;
        Ok(statement_of(&stored.record, version, &key.public_key))
    }
}

/// The statement describing key `version` (with `public_key`) of `record`.
fn statement_of(record: &NetworkRecord, version: u64, public_key: &[u8]) -> NetworkKeyStatement {
    NetworkKeyStatement {
        kind: encnet_core::attestation::NETWORK_KEY_STATEMENT.to_owned(),
        network_id: record.network_id.clone(),
        key_version: version,
        alg: record.alg.as_str().to_owned(),
        public_encryption_key: BASE64.encode(public_key),
        key_backend: record.key_backend,
        members: None,
        threshold: (record.key_backend == KeyBackend::Threshold).then_some(record.threshold),
    }
}

fn parse_statement(text: &str) -> Result<NetworkKeyStatement, ServiceError> {
    if text.len() > MAX_STATEMENT_BYTES {
        return Err(ServiceError::BadRequest(format!(
            "args.statement longer than {MAX_STATEMENT_BYTES} bytes"
        )));
    }
    serde_json::from_str(text)
        .map_err(|err| ServiceError::BadRequest(format!("args.statement: {err}")))
}

fn canonical_json(statement: &NetworkKeyStatement) -> Result<String, ServiceError> {
    let bytes = statement
        .signing_bytes()
        .map_err(|err| ServiceError::Internal(Box::new(err)))?;
    String::from_utf8(bytes).map_err(|err| ServiceError::Internal(Box::new(err)))
}

/// The attestations stored for a network, as served in its descriptor.
pub(super) fn served(rows: Vec<(String, String)>) -> Result<Vec<Attestation>, ServiceError> {
    rows.into_iter()
        .map(|(statement, signature)| {
            serde_json::from_str(&statement)
                .map(|statement| Attestation {
                    statement,
                    signature,
                })
                .map_err(|err| ServiceError::Internal(format!("stored attestation: {err}").into()))
        })
        .collect()
}
