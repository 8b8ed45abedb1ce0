//! The decrypt flow as pure steps: [`DecryptRequest::new`] makes the
//! per-request receiver key and the invocation arguments; [`open_answer`]
//! verifies the node's signed answer and every echoed binding before it
//! unwraps the data key and opens the envelope.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use encnet_core::api::{DecryptArgs, DecryptResult, NetworkDescriptor, DECRYPT_RESULT_TYPE};
use encnet_core::canonical;
use encnet_core::suite::{PublicKey, SecretKey, Suite, WrapContext};
use encnet_core::{InlineEnvelope, NetworkId, Zeroizing};
use encnet_ucan::{Cid, Did, Ipld};

use crate::ClientError;

/// Encrypts `plaintext` locally to the network's newest key, once the
/// owner's attestation of that key verifies ([`crate::attest::verify`]).
pub fn encrypt(
    descriptor: &NetworkDescriptor,
    plaintext: &[u8],
    aad: Option<&[u8]>,
) -> Result<InlineEnvelope, ClientError> {
    crate::attest::verify(descriptor)?;
    encrypt_unattested(descriptor, plaintext, aad)
}

/// [`encrypt`] without the attestation check, for networks created before
/// attestations existed: the key is then only as trustworthy as the node
/// that served it.
pub fn encrypt_unattested(
    descriptor: &NetworkDescriptor,
    plaintext: &[u8],
    aad: Option<&[u8]>,
) -> Result<InlineEnvelope, ClientError> {
    let key = BASE64
        .decode(&descriptor.public_encryption_key)
        .map_err(|_| ClientError::InvalidResponse("public key is not base64".into()))?;
    let public = PublicKey::from_bytes(&key)?;
    let suite: Suite = descriptor
        .alg
        .parse()
        .map_err(|_| ClientError::InvalidResponse(format!("unknown suite {}", descriptor.alg)))?;
    let network: NetworkId = descriptor
        .network_id
        .parse()
        .map_err(|_| ClientError::InvalidResponse("invalid network id".into()))?;
    if aad.is_some() && suite == Suite::V1 {
        // v1 (TinyCloud's format) carries `aad` unauthenticated.
        return Err(ClientError::Usage(format!(
            "{} cannot bind AAD; encrypt with a v2 network",
            suite.as_str()
        )));
    }
    Ok(InlineEnvelope::seal(
        network,
        suite,
        descriptor.key_version,
        &public,
        plaintext,
        aad,
        None,
    )?)
}

/// One decrypt request: a fresh receiver key and the invocation arguments.
pub struct DecryptRequest {
    receiver: SecretKey,
    receiver_public: [u8; 32],
    args: BTreeMap<String, Ipld>,
}

impl DecryptRequest {
    /// Validates `envelope` and prepares the arguments for it.
    pub fn new(envelope: &InlineEnvelope) -> Result<Self, ClientError> {
        envelope.validate()?;
        let receiver = SecretKey::generate();
        let receiver_public = receiver.public_key().to_bytes();
        let args = DecryptArgs {
            network: envelope.network_id.to_string(),
            alg: envelope.alg,
            key_version: envelope.key_version,
            wrapped_key: envelope.wrapped_key()?,
            key_hash: envelope.encrypted_symmetric_key_hash.clone(),
            receiver_key: receiver_public.to_vec(),
        }
        .to_ipld();
        Ok(Self {
            receiver,
            receiver_public,
            args,
        })
    }

    /// The invocation arguments.
    pub fn args(&self) -> &BTreeMap<String, Ipld> {
        &self.args
    }
}

/// What the answer must echo: the request as sent.
pub struct Expected<'a> {
    /// The node the invocation was addressed to.
    pub node: &'a Did,
    /// CID of the invocation sent.
    pub invocation: &'a Cid,
}

/// One decrypt round trip as sent and received: the node's answer, not yet
/// verified, and everything it must echo.
pub struct DecryptExchange {
    /// The request sent (it holds the receiver secret).
    pub request: DecryptRequest,
    /// The node the invocation was addressed to.
    pub node: Did,
    /// CID of the invocation sent.
    pub invocation: Cid,
    /// The node's answer, as received.
    pub answer: DecryptResult,
}

impl DecryptExchange {
    /// [`open_answer`] on this exchange: verifies, then opens `envelope`.
    pub fn open(&self, envelope: &InlineEnvelope) -> Result<Zeroizing<Vec<u8>>, ClientError> {
        let expected = Expected {
            node: &self.node,
            invocation: &self.invocation,
        };
        open_answer(&self.answer, &self.request, &expected, envelope)
    }
}

/// Verifies `answer` against the request and opens `envelope`. Any mismatch
/// is an error: an unverified key is never used.
pub fn open_answer(
    answer: &DecryptResult,
    request: &DecryptRequest,
    expected: &Expected<'_>,
    envelope: &InlineEnvelope,
) -> Result<Zeroizing<Vec<u8>>, ClientError> {
    verify_signature(answer, expected.node)?;
    verify_bindings(answer, request, expected, envelope)?;
    let wrapped = BASE64
        .decode(&answer.body.wrapped_key)
        .map_err(|_| ClientError::Verification("wrappedKey is not base64"))?;
    let network_id = envelope.network_id.to_string();
    let cid = expected.invocation.to_bytes();
    let ctx = WrapContext {
        network_id: &network_id,
        key_version: envelope.key_version,
        invocation_cid: Some(&cid),
    };
    let data_key = envelope.alg.unwrap(&wrapped, &request.receiver, &ctx)?;
    Ok(envelope.open(&data_key)?)
}

fn verify_signature(answer: &DecryptResult, node: &Did) -> Result<(), ClientError> {
    let bytes = answer
        .body
        .signing_bytes()
        .map_err(|_| ClientError::Verification("answer is not canonical JSON"))?;
    let signature = BASE64
        .decode(&answer.node_signature)
        .map_err(|_| ClientError::Verification("nodeSignature is not base64"))?;
    let encnet_ucan::PublicKey::Ed25519(key) = node.public_key()? else {
        return Err(ClientError::Verification("the node key is not Ed25519"));
    };
    let signature = ed25519_dalek::Signature::from_slice(&signature)
        .map_err(|_| ClientError::Verification("nodeSignature has the wrong length"))?;
    key.verify_strict(&bytes, &signature)
        .map_err(|_| ClientError::Verification("nodeSignature does not verify"))
}

fn verify_bindings(
    answer: &DecryptResult,
    request: &DecryptRequest,
    expected: &Expected<'_>,
    envelope: &InlineEnvelope,
) -> Result<(), ClientError> {
    let body = &answer.body;
    let checks = [
        (
            body.kind == DECRYPT_RESULT_TYPE,
            "type is not encnet.decrypt-result/v1",
        ),
        (
            body.network_id == envelope.network_id.to_string(),
            "networkId differs from the envelope's",
        ),
        (
            body.node_id == expected.node.as_str(),
            "nodeId is not the node addressed",
        ),
        (
            body.invocation_cid == expected.invocation.to_string(),
            "invocationCid is not the invocation sent",
        ),
        (
            body.key_hash == envelope.encrypted_symmetric_key_hash,
            "keyHash differs from the envelope's",
        ),
        (
            body.receiver_key_hash == canonical::sha256_hex(&request.receiver_public),
            "receiverKeyHash is not the receiver key sent",
        ),
        (
            body.alg == envelope.alg.as_str(),
            "alg differs from the envelope's",
        ),
        (
            body.key_version == envelope.key_version,
            "keyVersion differs from the envelope's",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, what)) => Err(ClientError::Verification(what)),
        None => Ok(()),
    }
}
