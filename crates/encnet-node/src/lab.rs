//! Lab tooling, only with the `lab` feature: not part of the product's API.
//! `encnet-bench` is its one user.
//!
//! [`Floor`] is the cryptographic floor of one decrypt: the node's own
//! per-request functions on one thread, with no I/O. It decodes the
//! container and verifies the invocation's signature, runs the decrypt
//! checks (args, network state, `keyHash`, receiver key), opens the network
//! key sealed under the root key, unwraps the data key, re-wraps it to the
//! receiver (v2: bound to the invocation CID) and signs the answer. Built
//! from the functions the service calls, it cannot drift from them. It
//! leaves out what needs storage or a clock (nonce, revocation and proof
//! look-ups, the commit): a floor invocation is the owner's own, with no
//! chain to walk.
//!
//! [`seed`] fills a data directory with networks and audit entries.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use encnet_core::api::{command, DecryptArgs, DecryptResult};
use encnet_core::root_key::RootKey;
use encnet_core::suite::{PublicKey, Suite};
use encnet_core::{InlineEnvelope, LegacyPlaintext, NetworkId};
use encnet_ucan::{Cid, Container, Did, Ed25519Signer, InvocationBuilder, Ipld};

pub use crate::seed::{seed, SeedPlan};

use crate::backend::LocalBackend;
use crate::service::pipeline::{
    answer, check, decode_container, split_container, Authorized, NodeKeys,
};
use crate::service::ServiceError;
use crate::store::{NetworkKey, NetworkRecord, SealedKey};

/// Why the floor could not be set up or run.
#[derive(Debug, thiserror::Error)]
pub enum FloorError {
    /// The fixture could not be made.
    #[error("floor fixture: {0}")]
    Fixture(String),
    /// The node's decrypt refused the floor's request (`code: detail`).
    #[error("the node's decrypt refused the floor request: {0}")]
    Refused(String),
}

impl From<ServiceError> for FloorError {
    fn from(err: ServiceError) -> Self {
        Self::Refused(format!("{}: {err}", err.code()))
    }
}

/// A node's keys and one of its networks, as the node would hold them.
pub struct Floor {
    backend: LocalBackend,
    signer: Ed25519Signer,
    did: Did,
    owner: Ed25519Signer,
    network: NetworkKey,
    envelope: InlineEnvelope,
}

/// One decrypt invocation in its container, as sent in `Authorization:
/// Bearer`.
pub struct FloorRequest {
    bearer: String,
    cid: Cid,
}

impl FloorRequest {
    /// The invocation's CID, which the answer echoes and v2 binds.
    pub fn invocation_cid(&self) -> &Cid {
        &self.cid
    }
}

impl Floor {
    /// Custody and a node identity derived from a fresh root key as a node
    /// derives them, a v2 network whose key custody generated and sealed,
    /// and an envelope of `plaintext` to that network.
    pub fn new(plaintext: &[u8]) -> Result<Self, FloorError> {
        let fixture =
            |what: &str, err: &dyn std::fmt::Display| FloorError::Fixture(format!("{what}: {err}"));
        let root = RootKey::generate();
        let backend = LocalBackend::new(root.network_seal(LegacyPlaintext::Reject));
        let signer = Ed25519Signer::from_seed(*root.node_identity_seed());
        let owner = Ed25519Signer::generate();
        let id = NetworkId::new(owner.did().as_str(), "floor")
            .map_err(|err| fixture("network id", &err))?;
        let key = backend
            .generate(&id.to_string(), 1)
            .map_err(|err| fixture("network key", &err))?;
        let public =
            PublicKey::from_bytes(&key.public_key).map_err(|err| fixture("network key", &err))?;
        let envelope =
            InlineEnvelope::seal(id.clone(), Suite::V2, 1, &public, plaintext, None, None)
                .map_err(|err| fixture("envelope", &err))?;
        let record = NetworkRecord::new_one_of_one(
            &id,
            Suite::V2,
            key.public_key.clone(),
            crate::clock::now_rfc3339(),
        );
        let sealed = SealedKey {
            public_key: key.public_key,
            sealed_private_key: key.sealed_private_key,
        };
        Ok(Self {
            backend,
            did: signer.did(),
            signer,
            owner,
            network: NetworkKey {
                record,
                sealed: Some(sealed),
            },
            envelope,
        })
    }

    /// The envelope to decrypt.
    pub fn envelope(&self) -> &InlineEnvelope {
        &self.envelope
    }

    /// The node's DID, which signs the answers.
    pub fn node_did(&self) -> &Did {
        &self.did
    }

    /// A decrypt invocation from the network's owner to this node with
    /// `args` (as `encnet_client::decrypt::DecryptRequest::args` makes them
    /// for [`Self::envelope`]).
    pub fn request(&self, args: BTreeMap<String, Ipld>) -> Result<FloorRequest, FloorError> {
        let command = command::DECRYPT
            .parse()
            .map_err(|err| FloorError::Fixture(format!("command: {err}")))?;
        let invocation = InvocationBuilder::new(&self.owner, self.owner.did(), command)
            .audience(self.did.clone())
            .args(args)
            .expiration(1 << 40)
            .sign()
            .map_err(|err| FloorError::Fixture(format!("invocation: {err}")))?;
        Ok(FloorRequest {
            bearer: Container::new(vec![invocation.bytes]).to_header(),
            cid: invocation.cid,
        })
    }

    /// One decrypt of `request` as the node performs it, from the bearer
    /// token to the signed answer.
    pub fn decrypt(&self, request: &FloorRequest) -> Result<DecryptResult, FloorError> {
        let known = encnet_ucan::chain::DelegationCache::new(0);
        let (invocation, proofs) =
            split_container(decode_container(Some(&request.bearer))?, &known)?;
        let auth = Authorized {
            cid_bytes: invocation.cid.to_bytes(),
            invocation,
            proofs,
            cited: Vec::new(),
        };
        let checked = check(
            &self.network.record,
            DecryptArgs::from_ipld(auth.args()).map_err(ServiceError::from)?,
        )?;
        let keys = NodeKeys {
            backend: &self.backend,
            signer: &self.signer,
            did: &self.did,
        };
        Ok(answer(&keys, &self.network, &checked, &auth)?)
    }

    /// Runs [`Self::decrypt`] on this thread for `duration`; decrypts per
    /// second. The first failure ends the run.
    pub fn measure(&self, request: &FloorRequest, duration: Duration) -> Result<f64, FloorError> {
        let started = Instant::now();
        let mut ops = 0u64;
        while started.elapsed() < duration {
            std::hint::black_box(self.decrypt(request)?);
            ops += 1;
        }
        Ok(ops as f64 / started.elapsed().as_secs_f64())
    }
}
