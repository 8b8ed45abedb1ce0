//! Varsig v1 headers (`0x34 0x01 <algorithm segments> <payload encoding>`).

use crate::error::UcanError;

/// Varsig prefix and version 1.
const PREFIX: [u8; 2] = [0x34, 0x01];
/// Payload encoding multicodec of DAG-CBOR (`0x71`, one varint byte).
const DAG_CBOR: u8 = 0x71;

/// A signature algorithm, as named by a varsig header or implied by a key
/// type. Only [`Algorithm::Ed25519`] is implemented; the others are
/// recognised so they fail with [`UcanError::UnsupportedAlgorithm`] and can
/// be added without changing any token type (UCAN decision 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// EdDSA over Curve25519 (RFC 8032, no prehash).
    Ed25519,
    /// ECDSA over P-256 with SHA-256.
    Es256,
    /// ECDSA over secp256k1 with SHA-256.
    Es256k,
    /// secp256k1 with keccak-256 over an EIP-191 `personal_sign` message.
    Eip191,
}

impl Algorithm {
    /// The algorithm segments of its varsig header (without prefix and
    /// payload encoding).
    fn segments(self) -> &'static [u8] {
        match self {
            Self::Ed25519 => &[0xed, 0x01, 0xed, 0x01, 0x13],
            Self::Es256 => &[0xec, 0x01, 0x80, 0x24, 0x12],
            Self::Es256k => &[0xec, 0x01, 0xe7, 0x01, 0x12],
            Self::Eip191 => &[0xec, 0x01, 0xe7, 0x01, 0x1b, 0x91, 0xc3, 0x03],
        }
    }

    /// The algorithm's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ed25519 => "Ed25519",
            Self::Es256 => "ES256",
            Self::Es256k => "ES256K",
            Self::Eip191 => "EIP-191",
        }
    }
}

/// A decoded varsig v1 header whose payload encoding is DAG-CBOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VarsigHeader {
    /// The signature algorithm.
    pub alg: Algorithm,
}

impl VarsigHeader {
    /// The header for `alg` over DAG-CBOR payloads.
    pub fn new(alg: Algorithm) -> Self {
        Self { alg }
    }

    /// Encodes the header (`34 01 ed01 ed01 13 71` for Ed25519).
    pub fn to_bytes(self) -> Vec<u8> {
        let mut out = PREFIX.to_vec();
        out.extend_from_slice(self.alg.segments());
        out.push(DAG_CBOR);
        out
    }

    /// Decodes a header. A v1 header of an algorithm not listed in
    /// [`Algorithm`] is [`UcanError::UnsupportedAlgorithm`]; anything else
    /// that is not a DAG-CBOR v1 header is [`UcanError::Malformed`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UcanError> {
        let Some(rest) = bytes.strip_prefix(&PREFIX[..]) else {
            return Err(UcanError::malformed("not a varsig v1 header"));
        };
        let algorithms = [
            Algorithm::Ed25519,
            Algorithm::Es256,
            Algorithm::Es256k,
            Algorithm::Eip191,
        ];
        for alg in algorithms {
            if let Some(encoding) = rest.strip_prefix(alg.segments()) {
                return match encoding {
                    [DAG_CBOR] => Ok(Self { alg }),
                    _ => Err(UcanError::malformed(
                        "varsig payload encoding is not DAG-CBOR",
                    )),
                };
            }
        }
        Err(UcanError::UnsupportedAlgorithm(format!(
            "varsig header {}",
            hex_string(bytes)
        )))
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_header_matches_the_spec() {
        let bytes = VarsigHeader::new(Algorithm::Ed25519).to_bytes();
        assert_eq!(bytes, [0x34, 0x01, 0xed, 0x01, 0xed, 0x01, 0x13, 0x71]);
        assert_eq!(
            VarsigHeader::from_bytes(&bytes).map(|h| h.alg),
            Ok(Algorithm::Ed25519)
        );
    }

    #[test]
    fn round_trips_and_rejects() {
        for alg in [Algorithm::Es256, Algorithm::Es256k, Algorithm::Eip191] {
            let bytes = VarsigHeader::new(alg).to_bytes();
            assert_eq!(VarsigHeader::from_bytes(&bytes).map(|h| h.alg), Ok(alg));
        }
        // RS256 is a recognised v1 header we do not implement.
        let rs256 = [0x34, 0x01, 0x85, 0x24, 0x12, 0x80, 0x02, 0x71];
        assert!(matches!(
            VarsigHeader::from_bytes(&rs256),
            Err(UcanError::UnsupportedAlgorithm(_))
        ));
        // Pre-v1 header of the ucan-wg/container test vectors.
        assert!(VarsigHeader::from_bytes(&[0x34, 0xed, 0x01, 0x71]).is_err());
        // DAG-JSON payload encoding.
        let json = [0x34, 0x01, 0xed, 0x01, 0xed, 0x01, 0x13, 0xa9, 0x02];
        assert!(matches!(
            VarsigHeader::from_bytes(&json),
            Err(UcanError::Malformed(_))
        ));
    }
}
