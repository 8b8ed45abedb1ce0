//! The inline envelope (DESIGN §4.5), with TinyCloud's JSON field names.

use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::canonical::{sha256_hex, to_canonical_vec};
use crate::error::EnvelopeError;
use crate::network_id::NetworkId;
use crate::suite::{DataKey, PublicKey, Suite, WrapContext, PAYLOAD_OVERHEAD};

/// The only envelope version.
pub const ENVELOPE_VERSION: u64 = 1;

/// A locally encrypted record: the payload plus its data key wrapped to the
/// network public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InlineEnvelope {
    /// Envelope version, always 1.
    pub v: u64,
    /// The network whose key wraps the data key.
    pub network_id: NetworkId,
    /// The suite.
    pub alg: Suite,
    /// The network key version used to wrap.
    pub key_version: u64,
    /// Wrapped data key, standard base64.
    pub encrypted_symmetric_key: String,
    /// [`key_hash`] of `encrypted_symmetric_key`.
    pub encrypted_symmetric_key_hash: String,
    /// The payload, standard base64.
    pub ciphertext: String,
    /// Additional authenticated data, standard base64 (bound by v2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
    /// Free-form application metadata, neither encrypted nor authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

impl InlineEnvelope {
    /// Encrypts `plaintext` locally under a fresh data key wrapped to `network_key`.
    pub fn seal(
        network_id: NetworkId,
        suite: Suite,
        key_version: u64,
        network_key: &PublicKey,
        plaintext: &[u8],
        aad: Option<&[u8]>,
        metadata: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<Self, EnvelopeError> {
        let data_key = DataKey::generate();
        let id = network_id.to_string();
        let ctx = WrapContext {
            network_id: &id,
            key_version,
            invocation_cid: None,
        };
        let wrapped = STANDARD.encode(suite.wrap(&data_key, network_key, &ctx)?);
        let payload = suite.seal_payload(&data_key, plaintext, aad.unwrap_or_default())?;
        Ok(Self {
            v: ENVELOPE_VERSION,
            network_id,
            alg: suite,
            key_version,
            encrypted_symmetric_key_hash: key_hash(&wrapped),
            encrypted_symmetric_key: wrapped,
            ciphertext: STANDARD.encode(payload),
            aad: aad.map(|a| STANDARD.encode(a)),
            metadata,
        })
    }

    /// Parses and [`validate`](Self::validate)s JSON.
    pub fn from_json(json: &[u8]) -> Result<Self, EnvelopeError> {
        let envelope: Self = serde_json::from_slice(json)?;
        envelope.validate()?;
        Ok(envelope)
    }

    /// Serializes to JSON.
    pub fn to_json(&self) -> Result<Vec<u8>, EnvelopeError> {
        Ok(serde_json::to_vec(self)?)
    }

    /// Checks the version, every base64 field, the wrapped-key and payload
    /// lengths, and the key hash (compared in constant time).
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        if self.v != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion(self.v));
        }
        let wrapped = self.wrapped_key()?;
        if wrapped.len() != self.alg.wrapped_len() {
            return Err(crate::error::SuiteError::BadLength {
                what: "encryptedSymmetricKey",
                expected: self.alg.wrapped_len(),
                actual: wrapped.len(),
            }
            .into());
        }
        let payload = self.payload()?;
        if payload.len() < PAYLOAD_OVERHEAD {
            return Err(crate::error::SuiteError::BadLength {
                what: "ciphertext",
                expected: PAYLOAD_OVERHEAD,
                actual: payload.len(),
            }
            .into());
        }
        self.aad_bytes()?;
        let expected = key_hash(&self.encrypted_symmetric_key);
        let same: bool = expected
            .as_bytes()
            .ct_eq(self.encrypted_symmetric_key_hash.as_bytes())
            .into();
        if !same {
            return Err(EnvelopeError::KeyHashMismatch);
        }
        Ok(())
    }

    /// The wrapped data key, decoded.
    pub fn wrapped_key(&self) -> Result<Vec<u8>, EnvelopeError> {
        decode(&self.encrypted_symmetric_key, "encryptedSymmetricKey")
    }

    /// The payload, decoded.
    pub fn payload(&self) -> Result<Vec<u8>, EnvelopeError> {
        decode(&self.ciphertext, "ciphertext")
    }

    /// The AAD, decoded (empty when absent).
    pub fn aad_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        match &self.aad {
            Some(aad) => decode(aad, "aad"),
            None => Ok(Vec::new()),
        }
    }

    /// The [`WrapContext`] the data key was wrapped under; `network_id` must
    /// be this envelope's `network_id.to_string()`.
    pub fn wrap_context<'a>(&self, network_id: &'a str) -> WrapContext<'a> {
        WrapContext {
            network_id,
            key_version: self.key_version,
            invocation_cid: None,
        }
    }

    /// Opens the payload with the (unwrapped) data key.
    pub fn open(&self, data_key: &DataKey) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let payload = self.payload()?;
        let aad = self.aad_bytes()?;
        Ok(self.alg.open_payload(data_key, &payload, &aad)?)
    }
}

/// `encryptedSymmetricKeyHash`: lowercase hex SHA-256 of the canonical JSON of
/// the base64 string, i.e. of `"` + base64 + `"`.
pub fn key_hash(wrapped_key_b64: &str) -> String {
    // Serializing a string never fails; the fallback only avoids a panic path.
    let canonical = to_canonical_vec(wrapped_key_b64)
        .unwrap_or_else(|_| format!("\"{wrapped_key_b64}\"").into_bytes());
    sha256_hex(&canonical)
}

fn decode(text: &str, field: &'static str) -> Result<Vec<u8>, EnvelopeError> {
    STANDARD
        .decode(text)
        .map_err(|_| EnvelopeError::Base64 { field })
}
