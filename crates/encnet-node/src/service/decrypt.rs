//! `POST /v1/networks/{id}/decrypt` (DESIGN §4.6): after the capability
//! check, the network checks, then custody re-wraps the data key to the
//! receiver and the node signs the answer; the answer is sent once the nonce
//! and the decision are durable.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use encnet_core::api::{
    DecryptArgs, DecryptResult, DecryptResultBody, NetworkState, DECRYPT_RESULT_TYPE,
};
use encnet_core::canonical;
use encnet_core::envelope::key_hash;
use encnet_core::suite::{PublicKey, Suite};
use encnet_ucan::{Did, Ed25519Signer, Signer};
use subtle::ConstantTimeEq;

use super::authz::{Authorized, Expectation};
use super::{Node, ServiceError};
use crate::backend::{BackendError, LocalBackend, Rewrap};
use crate::store::{NetworkKey, NetworkRecord};

impl Node {
    /// Runs every check of DESIGN §4.6 and answers with the signed re-wrap.
    pub(crate) async fn decrypt(
        self: &Arc<Self>,
        network: &str,
        bearer: Option<&str>,
    ) -> Result<DecryptResult, ServiceError> {
        let expect = Expectation {
            command: encnet_core::api::command::DECRYPT,
            network: Some(network),
        };
        self.gated(bearer, expect, |auth, mut decision| async move {
            let args = DecryptArgs::from_ipld(auth.args())?;
            let network = self
                .store
                .network_key(network, args.key_version)
                .await?
                .ok_or(ServiceError::NetworkNotFound)?;
            let checked = check(&network.record, args)?;
            // The state is checked again as of the commit.
            decision.nonce.network = Some(network.record.network_id.clone());
            // Signed before the commit, so only the answer's write is left
            // once the batch is durable; it is sent only if the commit holds.
            let node = Arc::clone(self);
            let answer = self
                .crypto
                .run(move || {
                    let keys = NodeKeys {
                        backend: &node.backend,
                        signer: &node.signer,
                        did: &node.node_did,
                    };
                    answer(&keys, &network, &checked, &auth)
                })
                .await??;
            self.store.record_allowed(decision).await?;
            Ok(answer)
        })
        .await
    }
}

/// What answers a decrypt: custody and the node's signing identity.
pub(crate) struct NodeKeys<'a> {
    pub(crate) backend: &'a LocalBackend,
    pub(crate) signer: &'a Ed25519Signer,
    /// `signer`'s DID, encoded once rather than per answer.
    pub(crate) did: &'a Did,
}

/// A decrypt request that passed every check on its network row.
pub(crate) struct Checked {
    args: DecryptArgs,
    receiver: PublicKey,
}

/// The checks of DESIGN §4.6 that need the network row, in order: network
/// active, `alg` matches, `keyVersion` known and not retired; `keyHash`
/// matches `wrappedKey`; the receiver key is well-formed.
pub(crate) fn check(record: &NetworkRecord, args: DecryptArgs) -> Result<Checked, ServiceError> {
    check_network(record, &args)?;
    check_key_hash(&args)?;
    let receiver = PublicKey::from_bytes(&args.receiver_key).map_err(key_error)?;
    Ok(Checked { args, receiver })
}

/// The cryptography of one decrypt once it is authorized and checked:
/// custody opens the sealed network key, unwraps the data key and re-wraps
/// it to the receiver (v2: bound to the invocation CID), and the node signs
/// the answer. No I/O, so the lab floor (`lab::Floor`) measures exactly
/// this and cannot drift from it.
pub(crate) fn answer(
    keys: &NodeKeys<'_>,
    network: &NetworkKey,
    checked: &Checked,
    auth: &Authorized,
) -> Result<DecryptResult, ServiceError> {
    let wrapped_key = rewrap(keys.backend, network, checked, auth)?;
    sign_result(keys, &network.record, &checked.args, auth, wrapped_key)
}

fn rewrap(
    backend: &LocalBackend,
    network: &NetworkKey,
    checked: &Checked,
    auth: &Authorized,
) -> Result<Vec<u8>, ServiceError> {
    let sealed = network
        .sealed
        .as_ref()
        .ok_or(ServiceError::UnknownKeyVersion)?;
    let request = Rewrap {
        network_id: &network.record.network_id,
        key_version: checked.args.key_version,
        suite: checked.args.alg,
        wrapped_key: &checked.args.wrapped_key,
        receiver: &checked.receiver,
        invocation_cid: &auth.cid_bytes,
    };
    backend.rewrap(sealed, &request).map_err(backend_error)
}

fn sign_result(
    keys: &NodeKeys<'_>,
    record: &NetworkRecord,
    args: &DecryptArgs,
    auth: &Authorized,
    wrapped_key: Vec<u8>,
) -> Result<DecryptResult, ServiceError> {
    let body = DecryptResultBody {
        kind: DECRYPT_RESULT_TYPE.to_owned(),
        network_id: record.network_id.clone(),
        node_id: keys.did.to_string(),
        invocation_cid: auth.invocation.cid.to_string(),
        key_hash: args.key_hash.clone(),
        receiver_key_hash: canonical::sha256_hex(&args.receiver_key),
        alg: args.alg.as_str().to_owned(),
        key_version: args.key_version,
        wrapped_key: BASE64.encode(wrapped_key),
    };
    let bytes = body
        .signing_bytes()
        .map_err(|err| ServiceError::Internal(Box::new(err)))?;
    let signature = keys.signer.sign(&bytes);
    Ok(DecryptResult {
        body,
        node_signature: BASE64.encode(signature),
    })
}

/// A suite by its wire name exactly: aliases such as `v1` would let a
/// request slip past a delegation policy on `.alg` (DESIGN §4.6).
pub(super) fn wire_suite(alg: &str) -> Result<Suite, ServiceError> {
    Suite::from_wire(alg)
        .map_err(|_| ServiceError::BadRequest(format!("args.alg: unknown suite {alg:?}")))
}

/// Network active, `alg` matches, `keyVersion` known and not retired.
fn check_network(record: &NetworkRecord, args: &DecryptArgs) -> Result<(), ServiceError> {
    match record.state {
        NetworkState::Active => {}
        NetworkState::Revoked => return Err(ServiceError::NetworkRevoked),
        NetworkState::Destroyed => return Err(ServiceError::NetworkDestroyed),
        other => return Err(ServiceError::InvalidState(other.as_str())),
    }
    if args.alg != record.alg {
        return Err(ServiceError::AlgMismatch);
    }
    if args.key_version == 0 || args.key_version > record.key_version {
        return Err(ServiceError::UnknownKeyVersion);
    }
    if args.key_version < record.min_decryption_version {
        return Err(ServiceError::KeyVersionRetired);
    }
    Ok(())
}

/// `keyHash` is the envelope's `encryptedSymmetricKeyHash` of `wrappedKey`.
fn check_key_hash(args: &DecryptArgs) -> Result<(), ServiceError> {
    let expected = key_hash(&BASE64.encode(&args.wrapped_key));
    if bool::from(expected.as_bytes().ct_eq(args.key_hash.as_bytes())) {
        Ok(())
    } else {
        Err(ServiceError::HashMismatch)
    }
}

fn key_error(err: encnet_core::error::SuiteError) -> ServiceError {
    backend_error(BackendError::from(err))
}

pub(super) fn backend_error(err: BackendError) -> ServiceError {
    match err {
        BackendError::LowOrderPoint => ServiceError::LowOrderPoint,
        BackendError::BadKey(msg) => ServiceError::BadKey(msg),
        BackendError::UnwrapFailed => ServiceError::UnwrapFailed,
        BackendError::Sealed(msg) => ServiceError::Internal(msg.into()),
    }
}
