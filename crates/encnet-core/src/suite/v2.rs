//! `x25519-hkdf-sha256-aes256gcm/v2`, the default for new networks.
//!
//! `k = HKDF-SHA256(ikm = dh, salt = E || P, info)` and the wrapped key is
//! `E(32) || AES-256-GCM_k(nonce = 0^12, dataKey)`; the zero nonce is safe
//! because `k` is unique per ephemeral key, as in age.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{DataKey, PublicKey, SecretKey, WrapContext, KEY_LEN};
use crate::aead::{AeadKey, NONCE_LEN, TAG_LEN};
use crate::error::SuiteError;

/// Domain label at the start of the HKDF `info`.
const INFO_LABEL: &[u8] = b"encnet/wrap/v2";
/// Total length of a wrapped key (80).
pub(super) const WRAPPED_LEN: usize = KEY_LEN + KEY_LEN + TAG_LEN;
const ZERO_NONCE: [u8; NONCE_LEN] = [0u8; NONCE_LEN];

/// `"encnet/wrap/v2" || 0 || networkId || 0 || u64be(keyVersion)`, then
/// `|| 0 || cid` when re-wrapping for an invocation.
pub(crate) fn info(ctx: &WrapContext<'_>) -> Vec<u8> {
    let cid_len = ctx.invocation_cid.map_or(0, |c| 1 + c.len());
    let mut info = Vec::with_capacity(INFO_LABEL.len() + ctx.network_id.len() + 10 + cid_len);
    info.extend_from_slice(INFO_LABEL);
    info.push(0);
    info.extend_from_slice(ctx.network_id.as_bytes());
    info.push(0);
    info.extend_from_slice(&ctx.key_version.to_be_bytes());
    if let Some(cid) = ctx.invocation_cid {
        info.push(0);
        info.extend_from_slice(cid);
    }
    info
}

fn wrap_key(
    dh: &[u8; KEY_LEN],
    ephemeral: &PublicKey,
    receiver: &PublicKey,
    ctx: &WrapContext<'_>,
) -> Result<AeadKey, SuiteError> {
    let mut salt = [0u8; 2 * KEY_LEN];
    salt[..KEY_LEN].copy_from_slice(ephemeral.as_bytes());
    salt[KEY_LEN..].copy_from_slice(receiver.as_bytes());
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    // expand fails only for outputs above 255 * 32 bytes; never for 32.
    Hkdf::<Sha256>::new(Some(&salt), dh)
        .expand(&info(ctx), k.as_mut())
        .map_err(|_| SuiteError::UnwrapFailed)?;
    Ok(AeadKey::new(&k))
}

pub(super) fn wrap(
    data_key: &DataKey,
    receiver: &PublicKey,
    ctx: &WrapContext<'_>,
    ephemeral: &SecretKey,
) -> Result<Vec<u8>, SuiteError> {
    let dh = ephemeral.diffie_hellman(receiver.as_bytes())?;
    let e = ephemeral.public_key();
    let mut out = Vec::with_capacity(WRAPPED_LEN);
    out.extend_from_slice(e.as_bytes());
    wrap_key(&dh, &e, receiver, ctx)?
        .seal_append(ZERO_NONCE, &[], data_key.as_bytes(), &mut out)
        .map_err(|_| SuiteError::SealFailed)?;
    Ok(out)
}

pub(super) fn unwrap(
    wrapped: &[u8],
    secret: &SecretKey,
    ctx: &WrapContext<'_>,
) -> Result<DataKey, SuiteError> {
    if wrapped.len() != WRAPPED_LEN {
        return Err(SuiteError::BadLength {
            what: "v2 wrapped key",
            expected: WRAPPED_LEN,
            actual: wrapped.len(),
        });
    }
    let (e, body) = wrapped.split_at(KEY_LEN);
    let e = PublicKey::from_bytes_canonical(e)?;
    let dh = secret.diffie_hellman(e.as_bytes())?;
    let key = wrap_key(&dh, &e, &secret.public_key(), ctx)?
        .open(ZERO_NONCE, &[], body)
        .ok_or(SuiteError::UnwrapFailed)?;
    DataKey::from_bytes(&key)
}
