//! The signed envelope `[signature, {"h": header, "<tag>": payload}]`, its
//! strict decoding, and [`Signed`], a token whose signature has been verified.

use std::collections::BTreeMap;

use cid::Cid;
use ipld_core::ipld::Ipld;

use crate::cbor;
use crate::did::{Did, Signer};
use crate::error::UcanError;
use crate::varsig::VarsigHeader;

/// Which kind of token an envelope holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `ucan/dlg@…`
    Delegation,
    /// `ucan/inv@…`
    Invocation,
}

impl TokenKind {
    /// The tag encnet writes (UCAN decision 2: rc.1, the one go-ucan reads).
    pub fn tag(self) -> &'static str {
        match self {
            Self::Delegation => "ucan/dlg@1.0.0-rc.1",
            Self::Invocation => "ucan/inv@1.0.0-rc.1",
        }
    }

    /// The kind a tag names, for the two versions accepted on read.
    pub fn from_tag(tag: &str) -> Option<Self> {
        match tag {
            "ucan/dlg@1.0.0-rc.1" | "ucan/dlg@1.0.0" => Some(Self::Delegation),
            "ucan/inv@1.0.0-rc.1" | "ucan/inv@1.0.0" => Some(Self::Invocation),
            _ => None,
        }
    }
}

/// A decoded but not yet verified envelope.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// The varsig header.
    pub header: VarsigHeader,
    /// The type tag as received.
    pub tag: String,
    /// The kind the tag names.
    pub kind: TokenKind,
    /// The payload map.
    pub payload: BTreeMap<String, Ipld>,
    /// Where the SigPayload (the signed bytes) starts in the envelope bytes.
    sig_payload_start: usize,
}

impl Envelope {
    /// Decodes an envelope strictly: canonical DAG-CBOR, exactly two items,
    /// a SigPayload of exactly `h` and a known tag.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UcanError> {
        let Ipld::List(items) = cbor::decode_strict(bytes)? else {
            return Err(UcanError::malformed("envelope is not a list"));
        };
        let [Ipld::Bytes(signature), Ipld::Map(mut sig_payload)] = <[Ipld; 2]>::try_from(items)
            .map_err(|_| UcanError::malformed("envelope must have two items"))?
        else {
            return Err(UcanError::malformed("envelope must be [bytes, map]"));
        };
        let Some(Ipld::Bytes(header)) = sig_payload.remove("h") else {
            return Err(UcanError::malformed("SigPayload has no byte header h"));
        };
        let mut rest = sig_payload.into_iter();
        let (Some((tag, payload)), None) = (rest.next(), rest.next()) else {
            return Err(UcanError::malformed(
                "SigPayload must hold exactly h and a tag",
            ));
        };
        let kind = TokenKind::from_tag(&tag).ok_or_else(|| UcanError::UnknownTag(tag.clone()))?;
        let Ipld::Map(payload) = payload else {
            return Err(UcanError::malformed("payload is not a map"));
        };
        let header = VarsigHeader::from_bytes(&header)?;
        // The array head is one byte; the signature item is its head plus
        // its bytes. The input re-encoded exactly, so this is where the
        // received SigPayload starts.
        let sig_payload_start = 1 + cbor::head_len(signature.len() as u64) + signature.len();
        Ok(Self {
            signature,
            header,
            tag,
            kind,
            payload,
            sig_payload_start,
        })
    }

    /// The signed bytes, as received.
    fn signed_bytes<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        bytes.get(self.sig_payload_start..).unwrap_or_default()
    }
}

/// A token payload: [`crate::Delegation`] or [`crate::Invocation`].
pub trait Payload: Sized {
    /// The kind of token this payload travels in.
    const KIND: TokenKind;
    /// Decodes and validates the payload map.
    fn from_map(map: BTreeMap<String, Ipld>) -> Result<Self, UcanError>;
    /// Encodes the payload map (unset optional fields omitted).
    fn to_ipld(&self) -> Ipld;
    /// The principal that signs the token.
    fn issuer(&self) -> &Did;
}

/// A decoded token whose signature verified against its issuer, with the
/// exact bytes received and their CID.
#[derive(Debug, Clone)]
pub struct Signed<T> {
    /// The decoded payload.
    pub payload: T,
    /// The envelope bytes, exactly as received.
    pub bytes: Vec<u8>,
    /// CIDv1 (dag-cbor, sha2-256) of [`Signed::bytes`].
    pub cid: Cid,
    /// The varsig header.
    pub header: VarsigHeader,
    /// The tag the token carried (`ucan/dlg@1.0.0-rc.1`, …).
    pub tag: String,
}

impl<T: Payload> Signed<T> {
    /// Decodes a token strictly, checks its kind, verifies its signature
    /// over the received SigPayload bytes and hashes the received bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UcanError> {
        Self::from_envelope(
            Envelope::from_bytes(bytes)?,
            bytes.to_vec(),
            cbor::cid_of(bytes),
        )
    }

    /// [`Signed::from_bytes`] for a token whose envelope is already decoded
    /// from `bytes` and whose CID is known (a container sorting its tokens
    /// decodes and hashes each once).
    pub(crate) fn from_envelope(
        mut envelope: Envelope,
        bytes: Vec<u8>,
        cid: Cid,
    ) -> Result<Self, UcanError> {
        if envelope.kind != T::KIND {
            return Err(UcanError::UnknownTag(envelope.tag));
        }
        let payload = T::from_map(std::mem::take(&mut envelope.payload))?;
        let issuer = payload.issuer();
        let alg = issuer.algorithm()?;
        if alg != envelope.header.alg {
            // The header claims an algorithm the issuer's key cannot use.
            return Err(UcanError::InvalidSignature);
        }
        issuer.public_key()?.verify(
            &envelope.header,
            envelope.signed_bytes(&bytes),
            &envelope.signature,
        )?;
        Ok(Self {
            payload,
            bytes,
            cid,
            header: envelope.header,
            tag: envelope.tag,
        })
    }

    /// Encodes and signs `payload`, then decodes the result as a reader
    /// would, so a token that could not be read back is never handed out.
    pub fn sign<S: Signer + ?Sized>(payload: &T, signer: &S) -> Result<Self, UcanError> {
        if !payload.issuer().same_principal(&signer.did()) {
            return Err(UcanError::malformed("the signer is not the issuer"));
        }
        let header = signer.varsig_header();
        let mut sig_payload = BTreeMap::new();
        sig_payload.insert("h".to_owned(), Ipld::Bytes(header.to_bytes()));
        sig_payload.insert(T::KIND.tag().to_owned(), payload.to_ipld());
        let sig_payload = Ipld::Map(sig_payload);
        let signature = signer.sign(&cbor::encode(&sig_payload)?);
        let envelope = Ipld::List(vec![Ipld::Bytes(signature), sig_payload]);
        Self::from_bytes(&cbor::encode(&envelope)?)
    }
}

/// The CID encnet computes for token bytes (CIDv1, dag-cbor, sha2-256).
pub fn cid_of(bytes: &[u8]) -> Cid {
    cbor::cid_of(bytes)
}
