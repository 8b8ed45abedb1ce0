//! X25519 keys, data keys and the one Diffie-Hellman function every suite uses.

use std::fmt;

use base64::{engine::general_purpose::STANDARD, Engine};
use curve25519_dalek::montgomery::MontgomeryPoint;
use rand::RngCore;
use x25519_dalek::StaticSecret;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::SuiteError;

/// Length of keys, public keys and data keys.
pub const KEY_LEN: usize = 32;

/// An X25519 public key that is not of low order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; KEY_LEN]);

impl PublicKey {
    /// Parses 32 bytes, rejecting low-order points (whose DH output is all zero).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SuiteError> {
        let bytes = to_array(bytes, "public key")?;
        // [8]P is the identity (encoded as u = 0) exactly when P has low order,
        // on the curve or on its twist; X25519 scalars are multiples of 8, so
        // these are exactly the keys with an all-zero DH output. Three ladder
        // steps (bits 1000) instead of a full 255-bit multiplication.
        let eight_p = MontgomeryPoint(bytes).mul_bits_be([true, false, false, false].into_iter());
        if eight_p.0 == [0u8; KEY_LEN] {
            return Err(SuiteError::LowOrderPoint);
        }
        Ok(Self(bytes))
    }

    /// Parses an envelope's ephemeral key `E` strictly: also canonical
    /// (`u < p`, bit 255 clear). Honest X25519 public keys always are, and
    /// without this a flipped bit 255 of `E` would leave a v1 wrapped key
    /// opening (X25519 ignores that bit).
    pub fn from_bytes_canonical(bytes: &[u8]) -> Result<Self, SuiteError> {
        let key = Self::from_bytes(bytes)?;
        if !is_canonical(&key.0) {
            return Err(SuiteError::NonCanonicalPoint);
        }
        Ok(key)
    }

    /// Decodes standard base64, then as [`from_bytes`](Self::from_bytes).
    pub fn from_base64(text: &str) -> Result<Self, SuiteError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SuiteError::Base64 { what: "public key" })?;
        Self::from_bytes(&bytes)
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> [u8; KEY_LEN] {
        self.0
    }

    /// The 32 bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Standard base64 (the descriptor's `publicEncryptionKey`).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

/// An X25519 static secret (a network private key or an ephemeral key).
/// Zeroized on drop; `Debug` prints no secret.
#[derive(Clone)]
pub struct SecretKey {
    secret: StaticSecret,
    // Cached: v2 needs it on every unwrap, and it costs a base-point multiplication.
    public: PublicKey,
}

impl SecretKey {
    /// A fresh random secret from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self::from_secret(StaticSecret::from(*bytes))
    }

    /// A secret from its 32 bytes (clamped when used, as X25519 specifies).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SuiteError> {
        let bytes = Zeroizing::new(to_array(bytes, "secret key")?);
        Ok(Self::from_secret(StaticSecret::from(*bytes)))
    }

    /// A secret with the public key stored beside it, without the
    /// base-point multiplication that deriving it costs. The public key is
    /// only ever used as v2's HKDF salt, so a wrong one makes unwrapping
    /// fail; it cannot reveal anything.
    pub fn from_bytes_with_public(bytes: &[u8], public: &[u8]) -> Result<Self, SuiteError> {
        let bytes = Zeroizing::new(to_array(bytes, "secret key")?);
        Ok(Self {
            secret: StaticSecret::from(*bytes),
            public: PublicKey::from_bytes(public)?,
        })
    }

    /// The 32 bytes, for sealing at rest.
    pub fn to_bytes(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    fn from_secret(secret: StaticSecret) -> Self {
        // A clamped scalar times the base point is never of low order.
        let public = PublicKey(x25519_dalek::PublicKey::from(&secret).to_bytes());
        Self { secret, public }
    }

    /// X25519 with this secret; an all-zero output is rejected.
    pub(crate) fn diffie_hellman(
        &self,
        public: &[u8; KEY_LEN],
    ) -> Result<Zeroizing<[u8; KEY_LEN]>, SuiteError> {
        let shared = self
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(*public));
        // Constant-time all-zero check.
        if !shared.was_contributory() {
            return Err(SuiteError::LowOrderPoint);
        }
        Ok(Zeroizing::new(shared.to_bytes()))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A 32-byte payload key. Zeroized on drop; `Debug` prints no secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_LEN]);

impl DataKey {
    /// A fresh random data key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A data key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SuiteError> {
        Ok(Self(to_array(bytes, "data key")?))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// `u < 2^255 - 19` as a little-endian 32-byte string.
fn is_canonical(u: &[u8; KEY_LEN]) -> bool {
    let (low, rest) = u.split_at(1);
    let (middle, top) = rest.split_at(KEY_LEN - 2);
    match top.first() {
        Some(&t) if t < 0x7f => true,
        Some(&0x7f) => {
            !(middle.iter().all(|&b| b == 0xff) && low.first().is_some_and(|&b| b >= 0xed))
        }
        _ => false,
    }
}

fn to_array(bytes: &[u8], what: &'static str) -> Result<[u8; KEY_LEN], SuiteError> {
    bytes.try_into().map_err(|_| SuiteError::BadLength {
        what,
        expected: KEY_LEN,
        actual: bytes.len(),
    })
}

/// Raw X25519 through the suites' DH path, for Wycheproof tests only.
#[doc(hidden)]
pub fn x25519(secret: &[u8], public: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>, SuiteError> {
    let public = to_array(public, "public key")?;
    SecretKey::from_bytes(secret)?.diffie_hellman(&public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_bounds() {
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!is_canonical(&p));
        p[0] = 0xec; // p - 1
        assert!(is_canonical(&p));
        let mut high = [9u8; 32];
        high[31] |= 0x80;
        assert!(!is_canonical(&high));
        assert!(is_canonical(&[9u8; 32]));
    }
}
