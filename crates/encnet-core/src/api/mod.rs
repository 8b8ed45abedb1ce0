//! Wire types of the HTTP API, shared by node and client (DESIGN §4.3, §4.6,
//! §4.7, §4.10). Serde only: no behaviour beyond the canonical bytes that a
//! signature or a hash covers.

pub mod code;
pub mod command;
mod decrypt_args;

use serde::{Deserialize, Serialize};

pub use code::ErrorCode;
pub use decrypt_args::{Args, ArgsError, DecryptArgs};

use crate::canonical;
use crate::error::CanonicalError;

/// The `type` of a one-of-one decrypt answer.
pub const DECRYPT_RESULT_TYPE: &str = "encnet.decrypt-result/v1";

/// Lifecycle state of a network (DESIGN §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkState {
    /// Created, key generation not started (threshold only).
    Pending,
    /// Distributed key generation in progress (threshold only).
    Generating,
    /// Usable: encrypts and decrypts.
    Active,
    /// A new key version is being generated.
    Rotating,
    /// Every decrypt is denied until the owner restores it.
    Revoked,
    /// Private keys shredded; envelopes unreadable for ever.
    Destroyed,
    /// Set-up failed.
    Failed,
}

impl NetworkState {
    /// The lowercase wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Generating => "generating",
            Self::Active => "active",
            Self::Rotating => "rotating",
            Self::Revoked => "revoked",
            Self::Destroyed => "destroyed",
            Self::Failed => "failed",
        }
    }

    /// Parses the lowercase wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Generating,
            Self::Active,
            Self::Rotating,
            Self::Revoked,
            Self::Destroyed,
            Self::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// Where a network's private key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyBackend {
    /// One node holds the whole key, sealed at rest.
    #[serde(rename = "local-one-of-one")]
    LocalOneOfOne,
    /// The key is split t-of-n across nodes.
    #[serde(rename = "threshold")]
    Threshold,
}

impl KeyBackend {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LocalOneOfOne => "local-one-of-one",
            Self::Threshold => "threshold",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::LocalOneOfOne, Self::Threshold]
            .into_iter()
            .find(|backend| backend.as_str() == s)
    }
}

/// `threshold {n, t}`: t of n members must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threshold {
    /// Number of members.
    pub n: u16,
    /// Members needed to decrypt.
    pub t: u16,
}

/// One custodian node of a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The member node's DID.
    pub node_id: String,
    /// `custodian` for every member today.
    pub role: String,
    /// Where the member answers, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The member's verification share `X_i` (threshold only), base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_share: Option<String>,
}

/// Public description of a network: `GET /v1/networks/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkDescriptor {
    /// `urn:tinycloud:encryption:<ownerDid>:<name>`.
    pub network_id: String,
    /// The owner's DID, root of every capability on the network.
    pub owner_did: String,
    /// The network's name.
    pub name: String,
    /// Custodian nodes.
    pub members: Vec<Member>,
    /// t-of-n (1-of-1 for a local network).
    pub threshold: Threshold,
    /// Lifecycle state.
    pub state: NetworkState,
    /// X25519 public key of the newest version, base64.
    pub public_encryption_key: String,
    /// Envelope suite, e.g. `x25519-hkdf-sha256-aes256gcm/v2`.
    pub alg: String,
    /// Newest key version; new envelopes use it.
    pub key_version: u64,
    /// Oldest version that still decrypts.
    pub min_decryption_version: u64,
    /// Custody backend.
    pub key_backend: KeyBackend,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// The owner's attestations, one per attested key version (DESIGN §4.3).
    #[serde(default)]
    pub attestations: Vec<crate::attestation::Attestation>,
}

/// `GET /.well-known/encryption/network/{name}?ownerDid=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryRecord {
    /// The network's id.
    pub network_id: String,
    /// X25519 public key of the newest version, base64.
    pub public_encryption_key: String,
    /// Envelope suite.
    pub alg: String,
    /// Newest key version.
    pub key_version: u64,
    /// Lifecycle state.
    pub state: NetworkState,
    /// Path of the full descriptor on this node.
    pub descriptor: String,
}

/// `GET /v1/info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    /// The node's DID: the `aud` of every invocation to it.
    pub node_did: String,
    /// encnet version.
    pub version: String,
    /// Supported envelope suites.
    pub suites: Vec<String>,
    /// Supported key backends.
    pub key_backends: Vec<String>,
}

/// Every field of a decrypt answer that the node signature covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecryptResultBody {
    /// Always [`DECRYPT_RESULT_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The network decrypted for.
    pub network_id: String,
    /// The answering node's DID.
    pub node_id: String,
    /// CID of the invocation answered (base32 text).
    pub invocation_cid: String,
    /// The envelope's `encryptedSymmetricKeyHash`.
    pub key_hash: String,
    /// Lowercase hex SHA-256 of the receiver public key bytes.
    pub receiver_key_hash: String,
    /// Suite used for the re-wrap.
    pub alg: String,
    /// Key version of the envelope.
    pub key_version: u64,
    /// The data key wrapped to the receiver key, base64.
    pub wrapped_key: String,
}

impl DecryptResultBody {
    /// The bytes the node signs: RFC 8785 JSON of this body.
    pub fn signing_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        canonical::to_canonical_vec(self)
    }
}

/// `POST /v1/networks/{id}/decrypt` answer: the body and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecryptResult {
    /// The signed fields.
    #[serde(flatten)]
    pub body: DecryptResultBody,
    /// Ed25519 by the node key over [`DecryptResultBody::signing_bytes`], base64.
    pub node_signature: String,
}

/// The hashed part of one audit entry (DESIGN §4.10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub sequence: u64,
    /// RFC 3339.
    pub time: String,
    /// Network id, or empty when the request named none that parsed.
    pub network: String,
    /// Issuer DID of the invocation, or empty when it did not decode.
    pub requester: String,
    /// UCAN command, or the route when the invocation did not decode.
    pub command: String,
    /// Invocation CID, or empty.
    pub invocation_cid: String,
    /// `allowed` or `denied:<code>`.
    pub outcome: String,
}

impl AuditEntry {
    /// `SHA-256(prev_hash || JCS(entry))`.
    pub fn chain_hash(&self, prev_hash: &[u8; 32]) -> Result<[u8; 32], CanonicalError> {
        let mut input = prev_hash.to_vec();
        input.extend_from_slice(&canonical::to_canonical_vec(self)?);
        Ok(canonical::sha256(&input))
    }
}

/// An audit entry with its chain links, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The hashed fields.
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// Hash of the previous entry, lowercase hex (64 zeros for the first).
    pub prev_hash: String,
    /// `SHA-256(prev_hash || JCS(entry))`, lowercase hex.
    pub entry_hash: String,
}

/// `GET /v1/networks/{id}/audit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    /// Entries in sequence order.
    pub entries: Vec<AuditRecord>,
    /// The checkpoint the node signed at this read: it covers the read's
    /// own entry, the last of the network's log when the page reaches it
    /// (absent from nodes older than checkpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<crate::audit::SignedCheckpoint>,
}

/// RFC 9457 problem details, with encnet's stable `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Stable machine-readable code, e.g. `replay`.
    pub code: ErrorCode,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Answer of `POST /v1/revocations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevocationReceipt {
    /// The revoked delegation's CID.
    pub revoked: String,
}
