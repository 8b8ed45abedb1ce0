//! The cryptographic floor of one decrypt: exactly the irreducible work,
//! on one thread, with no I/O. `cargo bench -p encnet-node --bench
//! decrypt_floor` measures it, and `encnet bench decrypt` runs it in the same
//! process as the load so the two are compared in one run.
//!
//! One operation: decode the invocation and verify its signature, unwrap the
//! data key with the network secret, wrap it to the receiver key (v2, bound to
//! the invocation CID), and sign the canonical answer.

use std::time::{Duration, Instant};

use encnet_core::api::{DecryptResultBody, DECRYPT_RESULT_TYPE};
use encnet_core::suite::{DataKey, PublicKey, SecretKey, Suite, WrapContext};
use encnet_core::{canonical, InlineEnvelope, NetworkId};
use encnet_ucan::{Ed25519Signer, Invocation, InvocationBuilder, Ipld, Signed, Signer};

/// Inputs of one floor operation, made once.
pub struct FloorFixture {
    network_id: String,
    network_secret: SecretKey,
    receiver: PublicKey,
    wrapped_key: Vec<u8>,
    key_hash: String,
    invocation: Vec<u8>,
    node: Ed25519Signer,
}

impl FloorFixture {
    /// A v2 network, one envelope, and one signed decrypt invocation.
    pub fn new() -> Self {
        let owner = Ed25519Signer::generate();
        let node = Ed25519Signer::generate();
        let network_secret = SecretKey::generate();
        // Fixed, valid inputs below: these expects state invariants, not input checks.
        let network =
            NetworkId::new(owner.did().as_str(), "floor").expect("did:key owner, plain name");
        let envelope = InlineEnvelope::seal(
            network.clone(),
            Suite::V2,
            1,
            &network_secret.public_key(),
            b"payload",
            None,
            None,
        )
        .expect("sealing to a fresh key succeeds");
        let receiver = SecretKey::generate().public_key();
        let wrapped_key = envelope
            .wrapped_key()
            .expect("a fresh envelope's key decodes");
        let args = [
            ("network", Ipld::String(network.to_string())),
            ("alg", Ipld::String(Suite::V2.as_str().to_owned())),
            ("keyVersion", Ipld::Integer(1)),
            ("wrappedKey", Ipld::Bytes(wrapped_key.clone())),
            (
                "keyHash",
                Ipld::String(envelope.encrypted_symmetric_key_hash.clone()),
            ),
            ("receiverKey", Ipld::Bytes(receiver.to_bytes().to_vec())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let command = "/encryption/decrypt"
            .parse()
            .expect("a constant, valid command");
        let invocation = InvocationBuilder::new(&owner, owner.did(), command)
            .audience(node.did())
            .args(args)
            .expiration(1 << 40)
            .sign()
            .expect("a well-formed invocation signs")
            .bytes;
        Self {
            network_id: network.to_string(),
            network_secret,
            receiver,
            wrapped_key,
            key_hash: envelope.encrypted_symmetric_key_hash,
            invocation,
            node,
        }
    }

    /// One decrypt's cryptography; returns the signature (to keep it live).
    pub fn run_once(&self) -> Vec<u8> {
        let Ok(invocation) = Signed::<Invocation>::from_bytes(&self.invocation) else {
            return Vec::new();
        };
        let ctx_in = WrapContext {
            network_id: &self.network_id,
            key_version: 1,
            invocation_cid: None,
        };
        let cid = invocation.cid.to_bytes();
        let ctx_out = WrapContext {
            invocation_cid: Some(&cid),
            ..ctx_in
        };
        let data_key: DataKey =
            match Suite::V2.unwrap(&self.wrapped_key, &self.network_secret, &ctx_in) {
                Ok(key) => key,
                Err(_) => return Vec::new(),
            };
        let Ok(rewrapped) = Suite::V2.wrap(&data_key, &self.receiver, &ctx_out) else {
            return Vec::new();
        };
        let body = DecryptResultBody {
            kind: DECRYPT_RESULT_TYPE.to_owned(),
            network_id: self.network_id.clone(),
            node_id: self.node.did().to_string(),
            invocation_cid: invocation.cid.to_string(),
            key_hash: self.key_hash.clone(),
            receiver_key_hash: canonical::sha256_hex(&self.receiver.to_bytes()),
            alg: Suite::V2.as_str().to_owned(),
            key_version: 1,
            wrapped_key: hex::encode(rewrapped),
        };
        body.signing_bytes()
            .map(|bytes| self.node.sign(&bytes))
            .unwrap_or_default()
    }

    /// Runs [`Self::run_once`] on this thread for `duration`; ops per second.
    pub fn measure(&self, duration: Duration) -> f64 {
        let started = Instant::now();
        let mut ops = 0u64;
        while started.elapsed() < duration {
            std::hint::black_box(self.run_once());
            ops += 1;
        }
        ops as f64 / started.elapsed().as_secs_f64()
    }
}

impl Default for FloorFixture {
    fn default() -> Self {
        Self::new()
    }
}
