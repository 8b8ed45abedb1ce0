//! At-rest column encryption (DESIGN §3).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::aead::{self, AeadKey, NONCE_LEN, TAG_LEN};
use crate::error::ColumnError;

/// First byte of every sealed value.
pub const SEALED_MARKER: u8 = 0x01;
/// Marker, nonce and tag: the length of a sealed empty value.
pub const SEALED_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// What `open` does with a value that is not sealed (`at_rest.legacy_plaintext`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LegacyPlaintext {
    /// Return legacy plaintext as-is, while `encnet migrate seal-columns` is pending.
    Allow,
    /// Refuse legacy plaintext; the default for a new data directory.
    #[default]
    Reject,
}

impl LegacyPlaintext {
    /// `"allow"` or `"reject"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Reject => "reject",
        }
    }
}

impl fmt::Display for LegacyPlaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LegacyPlaintext {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(Self::Allow),
            "reject" => Ok(Self::Reject),
            other => Err(format!(
                "legacy_plaintext must be \"allow\" or \"reject\", got {other:?}"
            )),
        }
    }
}

/// AES-256-GCM over database cells: `0x01 || nonce(12) || ciphertext || tag(16)`.
///
/// The caller's AAD names the cell, so a value copied to another row or
/// column does not open.
pub struct ColumnEncryption {
    key: AeadKey,
    legacy: LegacyPlaintext,
}

impl ColumnEncryption {
    /// A column cipher under `key` (usually from [`RootKey`](crate::RootKey)).
    pub fn new(key: Zeroizing<[u8; 32]>, legacy: LegacyPlaintext) -> Self {
        Self {
            key: AeadKey::new(&key),
            legacy,
        }
    }

    /// The legacy-plaintext mode.
    pub fn legacy(&self) -> LegacyPlaintext {
        self.legacy
    }

    /// Seals `plaintext` under a fresh random nonce.
    ///
    /// Fails only when AES-256-GCM refuses the value (longer than
    /// 2^36 - 32 bytes, about 64 GiB).
    pub fn try_seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, ColumnError> {
        self.seal_under(aead::random_nonce(), plaintext, aad)
    }

    /// [`try_seal`](Self::try_seal) for callers that cannot return its error
    /// yet; prefer `try_seal`. If AES-256-GCM refuses the value (over about
    /// 64 GiB, never the case for a key) the result is the lone marker byte,
    /// which [`open`](Self::open) always refuses ([`ColumnError::TooShort`]):
    /// never a value sealed under a made-up tag.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        self.try_seal(plaintext, aad)
            .unwrap_or_else(|_| vec![SEALED_MARKER])
    }

    /// Deterministic [`try_seal`](Self::try_seal) for test vectors only:
    /// sealing twice under one nonce breaks AES-GCM.
    #[cfg(feature = "test-vectors")]
    #[doc(hidden)]
    pub fn seal_with_nonce(
        &self,
        nonce: [u8; NONCE_LEN],
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, ColumnError> {
        self.seal_under(nonce, plaintext, aad)
    }

    fn seal_under(
        &self,
        nonce: [u8; NONCE_LEN],
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, ColumnError> {
        let mut out = Vec::with_capacity(SEALED_OVERHEAD + plaintext.len());
        out.push(SEALED_MARKER);
        out.extend_from_slice(&nonce);
        self.key
            .seal_append(nonce, aad, plaintext, &mut out)
            .map_err(|_| ColumnError::SealFailed)?;
        Ok(out)
    }

    /// Opens a stored value. An empty value opens to empty; a value without the
    /// sealed marker is legacy plaintext, returned only in
    /// [`LegacyPlaintext::Allow`] mode.
    pub fn open(&self, stored: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, ColumnError> {
        let Some((&marker, rest)) = stored.split_first() else {
            return Ok(Zeroizing::new(Vec::new()));
        };
        if marker != SEALED_MARKER {
            return match self.legacy {
                LegacyPlaintext::Allow => Ok(Zeroizing::new(stored.to_vec())),
                LegacyPlaintext::Reject => Err(ColumnError::LegacyPlaintextRejected),
            };
        }
        if stored.len() < SEALED_OVERHEAD {
            return Err(ColumnError::TooShort { len: stored.len() });
        }
        let (nonce, body) =
            aead::split_nonce(rest).ok_or(ColumnError::TooShort { len: stored.len() })?;
        self.key.open(nonce, aad, body).ok_or(ColumnError::Tampered)
    }
}

impl fmt::Debug for ColumnEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ColumnEncryption")
            .field("key", &"<redacted>")
            .field("legacy", &self.legacy)
            .finish()
    }
}

/// Whether `stored` carries the sealed marker (empty values do not; they
/// open to empty either way).
pub fn is_sealed(stored: &[u8]) -> bool {
    stored.first() == Some(&SEALED_MARKER)
}

/// Joins AAD parts with `|`, e.g.
/// `networks.sealed_private_key|<networkId>|<keyVersion>`.
pub fn column_aad(parts: &[&str]) -> Vec<u8> {
    parts.join("|").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(legacy: LegacyPlaintext) -> ColumnEncryption {
        ColumnEncryption::new(Zeroizing::new([7u8; 32]), legacy)
    }

    #[test]
    fn round_trip_and_layout() {
        let c = cipher(LegacyPlaintext::Reject);
        let sealed = c.seal(b"secret", b"t|1");
        assert_eq!(sealed.len(), SEALED_OVERHEAD + 6);
        assert!(is_sealed(&sealed));
        assert_eq!(
            c.open(&sealed, b"t|1").as_deref().map(Vec::as_slice),
            Ok(&b"secret"[..])
        );
        assert_eq!(c.open(&sealed, b"t|2"), Err(ColumnError::Tampered));
    }

    #[test]
    fn empty_short_and_legacy() {
        let reject = cipher(LegacyPlaintext::Reject);
        let allow = cipher(LegacyPlaintext::Allow);
        assert!(reject.open(b"", b"").is_ok_and(|v| v.is_empty()));
        assert_eq!(
            reject.open(&[1u8; 28], b""),
            Err(ColumnError::TooShort { len: 28 })
        );
        assert_eq!(
            reject.open(b"plain", b""),
            Err(ColumnError::LegacyPlaintextRejected)
        );
        assert!(allow
            .open(b"plain", b"")
            .is_ok_and(|v| v.as_slice() == b"plain"));
    }

    #[test]
    fn debug_and_serde() {
        assert!(!format!("{:?}", cipher(LegacyPlaintext::Allow)).contains("7"));
        assert_eq!(LegacyPlaintext::default(), LegacyPlaintext::Reject);
        assert_eq!(
            serde_json::to_string(&LegacyPlaintext::Allow)
                .ok()
                .as_deref(),
            Some("\"allow\"")
        );
        assert_eq!(column_aad(&["a", "b", "1"]), b"a|b|1");
    }
}
