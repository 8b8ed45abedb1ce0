//! `x25519-aes256gcm/v1`, byte-compatible with TinyCloud clients.
//!
//! `E(32) || 0x01 || nonce(12) || AES-256-GCM_k(dataKey)` with `k = X25519(e, P)`
//! used directly as the AES key and no AAD. Nothing of the [`WrapContext`]
//! is bound: a v1 wrapped key can be moved between networks and versions
//! (a documented limitation of the TinyCloud format).

use super::{DataKey, PublicKey, SecretKey, KEY_LEN};
use crate::aead::{AeadKey, NONCE_LEN, TAG_LEN};
use crate::error::SuiteError;

/// Marker byte after the ephemeral public key.
const MARKER: u8 = 0x01;
/// Total length of a wrapped key (93).
pub(super) const WRAPPED_LEN: usize = KEY_LEN + 1 + NONCE_LEN + KEY_LEN + TAG_LEN;

pub(super) fn wrap(
    data_key: &DataKey,
    receiver: &PublicKey,
    ephemeral: &SecretKey,
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>, SuiteError> {
    let k = ephemeral.diffie_hellman(receiver.as_bytes())?;
    let mut out = Vec::with_capacity(WRAPPED_LEN);
    out.extend_from_slice(ephemeral.public_key().as_bytes());
    out.push(MARKER);
    out.extend_from_slice(&nonce);
    AeadKey::new(&k)
        .seal_append(nonce, &[], data_key.as_bytes(), &mut out)
        .map_err(|_| SuiteError::SealFailed)?;
    Ok(out)
}

pub(super) fn unwrap(wrapped: &[u8], secret: &SecretKey) -> Result<DataKey, SuiteError> {
    let wrapped: &[u8; WRAPPED_LEN] = wrapped.try_into().map_err(|_| SuiteError::BadLength {
        what: "v1 wrapped key",
        expected: WRAPPED_LEN,
        actual: wrapped.len(),
    })?;
    let (e, rest) = wrapped.split_at(KEY_LEN);
    let (&marker, rest) = rest.split_first().ok_or(SuiteError::UnwrapFailed)?;
    if marker != MARKER {
        return Err(SuiteError::BadMarker { found: marker });
    }
    let e = PublicKey::from_bytes_canonical(e)?;
    let (nonce, body) = crate::aead::split_nonce(rest).ok_or(SuiteError::UnwrapFailed)?;
    let k = secret.diffie_hellman(e.as_bytes())?;
    let key = AeadKey::new(&k)
        .open(nonce, &[], body)
        .ok_or(SuiteError::UnwrapFailed)?;
    DataKey::from_bytes(&key)
}
