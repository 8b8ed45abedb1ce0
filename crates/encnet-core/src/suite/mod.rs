//! The envelope suites of DESIGN §4.4: wrap a data key to a network public
//! key, unwrap it with the network secret, re-wrap it to a receiver, and
//! seal or open a payload under the data key.

mod key;
mod v1;
mod v2;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

#[doc(hidden)]
pub use self::key::x25519;
pub use self::key::{DataKey, PublicKey, SecretKey, KEY_LEN};
use crate::aead::{self, AeadKey, NONCE_LEN, TAG_LEN};
use crate::error::SuiteError;

/// Smallest payload: nonce and tag of an empty plaintext.
pub const PAYLOAD_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// An envelope suite.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suite {
    /// `x25519-aes256gcm/v1`: TinyCloud-compatible; binds no context and no AAD.
    V1,
    /// `x25519-hkdf-sha256-aes256gcm/v2`: HKDF-derived wrap key bound to the
    /// network, key version (and invocation on re-wrap); payload AAD bound.
    #[default]
    V2,
}

/// What a wrapped key is bound to (v2 only; v1 ignores it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapContext<'a> {
    /// The network id, as its `urn:tinycloud:encryption:…` string.
    pub network_id: &'a str,
    /// The network key version.
    pub key_version: u64,
    /// Binary CID of the decrypt invocation when re-wrapping to a receiver.
    pub invocation_cid: Option<&'a [u8]>,
}

impl Suite {
    /// Every suite, oldest first.
    pub const ALL: [Self; 2] = [Self::V1, Self::V2];

    /// The wire name (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "x25519-aes256gcm/v1",
            Self::V2 => "x25519-hkdf-sha256-aes256gcm/v2",
        }
    }

    /// Parses the full wire name only (what envelopes and the API carry).
    pub fn from_wire(name: &str) -> Result<Self, SuiteError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| SuiteError::UnknownSuite(name.to_owned()))
    }

    /// Length of a wrapped key: 93 bytes for v1, 80 for v2.
    pub fn wrapped_len(self) -> usize {
        match self {
            Self::V1 => v1::WRAPPED_LEN,
            Self::V2 => v2::WRAPPED_LEN,
        }
    }

    /// Wraps `data_key` to `receiver` under a fresh ephemeral key.
    pub fn wrap(
        &self,
        data_key: &DataKey,
        receiver: &PublicKey,
        ctx: &WrapContext<'_>,
    ) -> Result<Vec<u8>, SuiteError> {
        self.wrap_under(
            data_key,
            receiver,
            ctx,
            &SecretKey::generate(),
            aead::random_nonce(),
        )
    }

    /// Deterministic [`wrap`](Self::wrap) for test vectors only (v2 ignores
    /// `nonce`): reusing an ephemeral key or nonce breaks the wrap.
    #[cfg(feature = "test-vectors")]
    #[doc(hidden)]
    pub fn wrap_with(
        &self,
        data_key: &DataKey,
        receiver: &PublicKey,
        ctx: &WrapContext<'_>,
        ephemeral: &SecretKey,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, SuiteError> {
        self.wrap_under(data_key, receiver, ctx, ephemeral, nonce)
    }

    fn wrap_under(
        &self,
        data_key: &DataKey,
        receiver: &PublicKey,
        ctx: &WrapContext<'_>,
        ephemeral: &SecretKey,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, SuiteError> {
        match self {
            Self::V1 => v1::wrap(data_key, receiver, ephemeral, nonce),
            Self::V2 => v2::wrap(data_key, receiver, ctx, ephemeral),
        }
    }

    /// Unwraps a data key with the network secret.
    pub fn unwrap(
        &self,
        wrapped: &[u8],
        secret: &SecretKey,
        ctx: &WrapContext<'_>,
    ) -> Result<DataKey, SuiteError> {
        match self {
            Self::V1 => v1::unwrap(wrapped, secret),
            Self::V2 => v2::unwrap(wrapped, secret, ctx),
        }
    }

    /// Unwraps with `secret` under `ctx_in` and wraps the data key to
    /// `receiver` under `ctx_out`; the data key is zeroized on return.
    pub fn rewrap(
        &self,
        wrapped: &[u8],
        secret: &SecretKey,
        ctx_in: &WrapContext<'_>,
        receiver: &PublicKey,
        ctx_out: &WrapContext<'_>,
    ) -> Result<Vec<u8>, SuiteError> {
        let data_key = self.unwrap(wrapped, secret, ctx_in)?;
        self.wrap(&data_key, receiver, ctx_out)
    }

    /// Seals a payload: `nonce(12) || AES-256-GCM_dataKey(plaintext)`. v2 binds
    /// `aad`; **v1 ignores `aad`** (TinyCloud compatibility). Fails only for a
    /// plaintext AES-256-GCM refuses (over 2^36 - 32 bytes).
    pub fn seal_payload(
        &self,
        data_key: &DataKey,
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, SuiteError> {
        self.seal_payload_under(data_key, plaintext, aad, aead::random_nonce())
    }

    /// Deterministic [`seal_payload`](Self::seal_payload) for test vectors
    /// only: sealing twice under one nonce breaks AES-GCM.
    #[cfg(feature = "test-vectors")]
    #[doc(hidden)]
    pub fn seal_payload_with(
        &self,
        data_key: &DataKey,
        plaintext: &[u8],
        aad: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, SuiteError> {
        self.seal_payload_under(data_key, plaintext, aad, nonce)
    }

    fn seal_payload_under(
        &self,
        data_key: &DataKey,
        plaintext: &[u8],
        aad: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, SuiteError> {
        let mut out = Vec::with_capacity(PAYLOAD_OVERHEAD + plaintext.len());
        out.extend_from_slice(&nonce);
        AeadKey::new(data_key.as_bytes())
            .seal_append(nonce, self.payload_aad(aad), plaintext, &mut out)
            .map_err(|_| SuiteError::SealFailed)?;
        Ok(out)
    }

    /// Opens a payload made by [`seal_payload`](Self::seal_payload).
    pub fn open_payload(
        &self,
        data_key: &DataKey,
        payload: &[u8],
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SuiteError> {
        if payload.len() < PAYLOAD_OVERHEAD {
            return Err(SuiteError::BadLength {
                what: "payload",
                expected: PAYLOAD_OVERHEAD,
                actual: payload.len(),
            });
        }
        let (nonce, body) = aead::split_nonce(payload).ok_or(SuiteError::PayloadTampered)?;
        AeadKey::new(data_key.as_bytes())
            .open(nonce, self.payload_aad(aad), body)
            .ok_or(SuiteError::PayloadTampered)
    }

    fn payload_aad<'a>(&self, aad: &'a [u8]) -> &'a [u8] {
        match self {
            Self::V1 => &[],
            Self::V2 => aad,
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Accepts the wire names and the short forms `v1` / `v2` (for the CLI).
impl FromStr for Suite {
    type Err = SuiteError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v1" => Ok(Self::V1),
            "v2" => Ok(Self::V2),
            other => Self::from_wire(other),
        }
    }
}

impl Serialize for Suite {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Only the full wire names, so a signed or hashed `alg` has one spelling.
impl<'de> Deserialize<'de> for Suite {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::from_wire(&s).map_err(serde::de::Error::custom)
    }
}

/// Raw AES-256-GCM (12-byte nonce, 16-byte tag) through the payload
/// primitive, for Wycheproof tests and benchmarks only (the caller picks the
/// nonce). Returns `ciphertext || tag`.
#[cfg(feature = "test-vectors")]
#[doc(hidden)]
pub fn aes256gcm_seal(
    key: &[u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SuiteError> {
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    AeadKey::new(key)
        .seal_append(nonce, aad, plaintext, &mut out)
        .map_err(|_| SuiteError::SealFailed)?;
    Ok(out)
}

/// Raw AES-256-GCM open of `ciphertext || tag`, for Wycheproof tests only.
#[doc(hidden)]
pub fn aes256gcm_open(
    key: &[u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SuiteError> {
    AeadKey::new(key)
        .open(nonce, aad, ciphertext_and_tag)
        .ok_or(SuiteError::PayloadTampered)
}

/// Internals exposed for tests.
#[doc(hidden)]
pub fn v2_info(ctx: &WrapContext<'_>) -> Vec<u8> {
    v2::info(ctx)
}
