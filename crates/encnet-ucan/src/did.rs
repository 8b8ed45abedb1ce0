//! DIDs, `did:key` public keys, and signers.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::error::UcanError;
use crate::varsig::{Algorithm, VarsigHeader};

/// Multicodecs of the `did:key` key types we recognise.
const ED25519_PUB: u64 = 0xed;
const SECP256K1_PUB: u64 = 0xe7;
const P256_PUB: u64 = 0x1200;
const P384_PUB: u64 = 0x1201;
const P521_PUB: u64 = 0x1202;
const RSA_PUB: u64 = 0x1205;

/// Longest DID accepted (bytes), checked before any decoding: an Ed25519
/// `did:key` is 56, a P-256 one 57, a `did:pkh:eip155` about 60; an RSA
/// `did:key` (~800) is refused, encnet cannot verify it anyway.
pub const MAX_DID_LEN: usize = 256;

/// A syntactically valid DID (`did:<method>:<id>`). A `did:key` must also
/// carry a well-formed multicodec key; whether its type is supported is only
/// asked by [`Did::public_key`], so a token may name a principal whose key
/// type encnet cannot verify as long as that principal signs nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Did(String);

impl Did {
    /// The `did:key` of an Ed25519 public key (`did:key:z6Mk…`).
    pub fn from_ed25519(key: &VerifyingKey) -> Self {
        let mut bytes = vec![0xed, 0x01];
        bytes.extend_from_slice(key.as_bytes());
        Self(format!(
            "did:key:{}",
            multibase::encode(multibase::Base::Base58Btc, bytes)
        ))
    }

    /// The DID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The DID without any `#fragment`, the form principals are compared in.
    pub fn without_fragment(&self) -> &str {
        self.0.split('#').next().unwrap_or(&self.0)
    }

    /// Whether two DIDs name the same principal (fragments ignored).
    pub fn same_principal(&self, other: &Self) -> bool {
        self.without_fragment() == other.without_fragment()
    }

    /// The signature algorithm this DID's key signs with.
    pub fn algorithm(&self) -> Result<Algorithm, UcanError> {
        let rest = self.without_fragment();
        if let Some(key) = rest.strip_prefix("did:key:") {
            let (codec, _) = decode_key(key)?;
            return match codec {
                ED25519_PUB => Ok(Algorithm::Ed25519),
                SECP256K1_PUB => Ok(Algorithm::Es256k),
                P256_PUB => Ok(Algorithm::Es256),
                _ => Err(UcanError::UnsupportedAlgorithm(format!(
                    "did:key multicodec 0x{codec:x}"
                ))),
            };
        }
        if rest.starts_with("did:pkh:eip155:") {
            return Ok(Algorithm::Eip191);
        }
        Err(UcanError::UnsupportedAlgorithm(format!(
            "DID method of {}",
            self.0
        )))
    }

    /// Verifies a signature made by this DID's key over `msg` in the key
    /// type's own form (Ed25519: 64 bytes), for statements signed outside a
    /// UCAN token, such as an owner's attestation of a network key.
    pub fn verify_signature(&self, msg: &[u8], signature: &[u8]) -> Result<(), UcanError> {
        let key = self.public_key()?;
        key.verify(&VarsigHeader::new(key.algorithm()), msg, signature)
    }

    /// The public key this DID resolves to. Only Ed25519 `did:key`s resolve
    /// today; every other key type is [`UcanError::UnsupportedAlgorithm`].
    pub fn public_key(&self) -> Result<PublicKey, UcanError> {
        match self.algorithm()? {
            Algorithm::Ed25519 => {}
            other => return Err(UcanError::UnsupportedAlgorithm(other.name().to_owned())),
        }
        let key = self.without_fragment().trim_start_matches("did:key:");
        let (_, raw) = decode_key(key)?;
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|_| UcanError::malformed("Ed25519 did:key is not 32 bytes"))?;
        VerifyingKey::from_bytes(&raw)
            .map(PublicKey::Ed25519)
            .map_err(|_| UcanError::malformed("Ed25519 did:key is not a curve point"))
    }
}

impl FromStr for Did {
    type Err = UcanError;

    fn from_str(s: &str) -> Result<Self, UcanError> {
        if s.len() > MAX_DID_LEN {
            return Err(UcanError::DidTooLong { max: MAX_DID_LEN });
        }
        let bad = |why: &str| UcanError::malformed(format!("DID {s:?}: {why}"));
        let rest = s
            .strip_prefix("did:")
            .ok_or_else(|| bad("must start with did:"))?;
        let (method, id) = rest.split_once(':').ok_or_else(|| bad("no method"))?;
        if method.is_empty()
            || !method
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(bad("invalid method"));
        }
        let id = id.split('#').next().unwrap_or(id);
        let id_char = |b: u8| b.is_ascii_alphanumeric() || b".-_:%".contains(&b);
        if id.is_empty() || !id.bytes().all(id_char) {
            return Err(bad("invalid method-specific id"));
        }
        if method == "key" {
            let (codec, raw) = decode_key(id)?;
            let expected = match codec {
                ED25519_PUB => Some(32),
                SECP256K1_PUB | P256_PUB => Some(33),
                P384_PUB => Some(49),
                P521_PUB => Some(67),
                _ => None,
            };
            if expected.is_some_and(|len| raw.len() != len) {
                return Err(bad("key has the wrong length"));
            }
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits a `did:key` id (`z…`) into its multicodec and key bytes.
fn decode_key(id: &str) -> Result<(u64, Vec<u8>), UcanError> {
    let bad = |why: &str| UcanError::malformed(format!("did:key: {why}"));
    if !id.starts_with('z') {
        return Err(bad("not base58btc"));
    }
    let (_, bytes) = multibase::decode(id).map_err(|_| bad("not base58btc"))?;
    // Only the minimal varint: `ed 81 00` would be a second DID for the key
    // `ed 01` names (base58btc itself has one spelling per byte string).
    let (codec, raw) = unsigned_varint::decode::u64(&bytes).map_err(|e| match e {
        unsigned_varint::decode::Error::NotMinimal => UcanError::NonCanonical,
        _ => bad("bad multicodec"),
    })?;
    if codec == RSA_PUB && raw.is_empty() {
        return Err(bad("empty key"));
    }
    Ok((codec, raw.to_vec()))
}

/// A public key a DID resolves to (UCAN decision 1: one variant per key
/// type; secp256k1, P-256 and EIP-191 will join Ed25519 here).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// An Ed25519 key.
    Ed25519(VerifyingKey),
}

impl PublicKey {
    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// Verifies `signature` over `msg` as made with `header`'s algorithm.
    /// A header of another algorithm than the key's is
    /// [`UcanError::InvalidSignature`].
    pub fn verify(
        &self,
        header: &VarsigHeader,
        msg: &[u8],
        signature: &[u8],
    ) -> Result<(), UcanError> {
        if header.alg != self.algorithm() {
            return Err(UcanError::InvalidSignature);
        }
        match self {
            Self::Ed25519(key) => {
                let sig =
                    Signature::from_slice(signature).map_err(|_| UcanError::InvalidSignature)?;
                // Strict: rejects small-order keys and malleable signatures.
                key.verify_strict(msg, &sig)
                    .map_err(|_| UcanError::InvalidSignature)
            }
        }
    }
}

/// Something that signs tokens as a DID.
pub trait Signer {
    /// The DID the signatures verify under.
    fn did(&self) -> Did;
    /// The varsig header describing [`Signer::sign`]'s signatures.
    fn varsig_header(&self) -> VarsigHeader;
    /// Signs `msg` (the SigPayload bytes).
    fn sign(&self, msg: &[u8]) -> Vec<u8>;
}

/// An Ed25519 signing key; the key is zeroized on drop and never printed.
pub struct Ed25519Signer {
    key: SigningKey,
}

impl Ed25519Signer {
    /// A fresh key from the operating system's generator.
    pub fn generate() -> Self {
        Self {
            key: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    /// The key for a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let seed = Zeroizing::new(seed);
        Self {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The 32-byte seed.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The signer's `did:key`.
    pub fn did(&self) -> Did {
        Did::from_ed25519(&self.key.verifying_key())
    }
}

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519Signer")
            .field("did", &self.did().as_str())
            .finish_non_exhaustive()
    }
}

impl Signer for Ed25519Signer {
    fn did(&self) -> Did {
        Self::did(self)
    }

    fn varsig_header(&self) -> VarsigHeader {
        VarsigHeader::new(Algorithm::Ed25519)
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        use ed25519_dalek::Signer as _;
        self.key.sign(msg).to_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "did:key:z6MkgGykN9ARNFjEzowVq4mLP2kL4NsyAaDGXeJFQ5qE1bfg";

    #[test]
    fn ed25519_did_round_trips() {
        let signer = Ed25519Signer::from_seed([7; 32]);
        let did = signer.did();
        assert!(did.as_str().starts_with("did:key:z6Mk"));
        let parsed: Did = did.as_str().parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            parsed.public_key(),
            Ok(PublicKey::Ed25519(signer.verifying_key()))
        );
        assert!(ALICE.parse::<Did>().is_ok());
    }

    #[test]
    fn other_key_types_are_unsupported() {
        for codec in [[0xe7, 0x01], [0x80, 0x24]] {
            let mut bytes = codec.to_vec();
            bytes.push(0x02);
            bytes.extend_from_slice(&[9; 32]);
            let did = format!(
                "did:key:{}",
                multibase::encode(multibase::Base::Base58Btc, bytes)
            );
            let did: Did = did.parse().unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(
                did.public_key(),
                Err(UcanError::UnsupportedAlgorithm(_))
            ));
        }
        let pkh: Did = "did:pkh:eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            pkh.public_key(),
            Err(UcanError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn bad_dids_are_rejected() {
        for bad in [
            "",
            "did:",
            "did:key:",
            "did:KEY:z6Mk",
            "did:key:6Mk",
            "did:key:z0OIl",
            "x:y:z",
        ] {
            assert!(bad.parse::<Did>().is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let signer = Ed25519Signer::from_seed([1; 32]);
        let seed_hex: String = signer
            .to_seed()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!format!("{signer:?}").contains(&seed_hex));
    }
}
