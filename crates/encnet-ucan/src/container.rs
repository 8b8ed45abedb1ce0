//! UCAN containers (`ucan-wg/container` v0.1.0): `{"ctn-v1": [token…]}`,
//! optionally gzipped and base64-encoded, behind one header byte.

use std::cell::Cell;
use std::fmt;
use std::io::{Read as _, Write as _};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ipld_core::ipld::Ipld;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::cbor;
use crate::chain::{DelegationCache, ProofStore};
use crate::envelope::{Envelope, Signed, TokenKind};
use crate::error::UcanError;
use crate::invocation::Invocation;

/// Default bound on a container's decoded (and decompressed) size, used by
/// [`Container::from_header`] and [`Container::from_bytes`]. Generous; a
/// server should pass its own, near its header limit, through
/// [`ContainerLimits`].
pub const MAX_CONTAINER_BYTES: usize = 1 << 20;

/// Bytes inflated per read while decompressing; the output grows by at
/// most this much past what has been checked.
const INFLATE_CHUNK: usize = 8 * 1024;

/// The caller's bounds on a container read from untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerLimits {
    /// Most tokens; checked from the token array's head, before any token
    /// is copied ([`UcanError::TooManyTokens`]).
    pub max_tokens: usize,
    /// Most bytes of CBOR once base64 is decoded and gzip inflated;
    /// inflation stops as soon as it is passed
    /// ([`UcanError::ContainerTooLarge`]).
    pub max_decoded_bytes: usize,
}

impl ContainerLimits {
    /// `max_tokens` tokens within the default [`MAX_CONTAINER_BYTES`].
    pub fn new(max_tokens: usize) -> Self {
        Self {
            max_tokens,
            max_decoded_bytes: MAX_CONTAINER_BYTES,
        }
    }
}

const KEY: &str = "ctn-v1";

/// The six serialisations, named by their header byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `@`: raw CBOR.
    Raw,
    /// `B`: base64 standard, padded (what encnet writes).
    Base64,
    /// `C`: base64url, unpadded.
    Base64Url,
    /// `M`: gzipped raw CBOR.
    RawGzip,
    /// `O`: gzipped, base64 standard padded.
    Base64Gzip,
    /// `P`: gzipped, base64url unpadded.
    Base64UrlGzip,
}

impl Form {
    /// Every form.
    pub const ALL: [Self; 6] = [
        Self::Raw,
        Self::Base64,
        Self::Base64Url,
        Self::RawGzip,
        Self::Base64Gzip,
        Self::Base64UrlGzip,
    ];

    /// The header byte.
    pub fn header(self) -> u8 {
        match self {
            Self::Raw => b'@',
            Self::Base64 => b'B',
            Self::Base64Url => b'C',
            Self::RawGzip => b'M',
            Self::Base64Gzip => b'O',
            Self::Base64UrlGzip => b'P',
        }
    }

    /// The form of a header byte.
    pub fn from_header(byte: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.header() == byte)
    }

    fn gzip(self) -> bool {
        matches!(self, Self::RawGzip | Self::Base64Gzip | Self::Base64UrlGzip)
    }
}

/// A container: token envelopes, in no meaningful order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Container {
    /// Each token's complete envelope bytes.
    pub tokens: Vec<Vec<u8>>,
}

impl Container {
    /// A container of `tokens`.
    pub fn new(tokens: Vec<Vec<u8>>) -> Self {
        Self { tokens }
    }

    /// Reads a container in any of the six forms (e.g. an HTTP bearer
    /// value), holding at most `max_tokens` tokens and decoding to at most
    /// [`MAX_CONTAINER_BYTES`].
    pub fn from_header(value: &str, max_tokens: usize) -> Result<Self, UcanError> {
        Self::from_header_limited(value, ContainerLimits::new(max_tokens))
    }

    /// [`Container::from_header`] within the caller's `limits`.
    pub fn from_header_limited(value: &str, limits: ContainerLimits) -> Result<Self, UcanError> {
        Self::from_bytes_limited(value.trim().as_bytes(), limits)
    }

    /// Reads a serialised container (header byte first) in any form,
    /// holding at most `max_tokens` tokens and decoding to at most
    /// [`MAX_CONTAINER_BYTES`].
    pub fn from_bytes(bytes: &[u8], max_tokens: usize) -> Result<Self, UcanError> {
        Self::from_bytes_limited(bytes, ContainerLimits::new(max_tokens))
    }

    /// [`Container::from_bytes`] within the caller's `limits`.
    pub fn from_bytes_limited(bytes: &[u8], limits: ContainerLimits) -> Result<Self, UcanError> {
        let bad = |msg: &str| UcanError::InvalidContainer(msg.to_owned());
        let max = limits.max_decoded_bytes;
        let (&header, body) = bytes.split_first().ok_or_else(|| bad("empty"))?;
        let form = Form::from_header(header).ok_or_else(|| bad("unknown header byte"))?;
        // Base64 takes 4 bytes per 3 and gzip adds a little framing, so a
        // body over twice the limit cannot decode within it.
        if body.len() > max.saturating_mul(2) {
            return Err(UcanError::ContainerTooLarge { max });
        }
        let decoded = match form {
            Form::Raw | Form::RawGzip => body.to_vec(),
            Form::Base64 | Form::Base64Gzip => {
                STANDARD.decode(body).map_err(|_| bad("bad base64"))?
            }
            Form::Base64Url | Form::Base64UrlGzip => URL_SAFE_NO_PAD
                .decode(body)
                .map_err(|_| bad("bad base64url"))?,
        };
        let cbor = if form.gzip() {
            gunzip(&decoded, max)?
        } else {
            decoded
        };
        if cbor.len() > max {
            return Err(UcanError::ContainerTooLarge { max });
        }
        Self::from_cbor(&cbor, limits.max_tokens)
    }

    fn from_cbor(cbor: &[u8], max_tokens: usize) -> Result<Self, UcanError> {
        let over = Cell::new(false);
        let mut de = serde_ipld_dagcbor::de::Deserializer::from_slice(cbor);
        let read = Body {
            max_tokens,
            over: &over,
        }
        .deserialize(&mut de)
        .and_then(|tokens| de.end().map(|()| tokens));
        match read {
            Ok(tokens) => Ok(Self { tokens }),
            Err(_) if over.get() => Err(UcanError::TooManyTokens { max: max_tokens }),
            Err(e) => Err(UcanError::InvalidContainer(e.to_string())),
        }
    }

    /// Writes the container in form `B` (base64 standard, padded, no
    /// gzip), the form encnet sends (UCAN decision 11).
    pub fn to_header(&self) -> String {
        String::from_utf8(self.to_bytes(Form::Base64)).unwrap_or_default()
    }

    /// Serialises the container in `form`, tokens sorted bytewise without
    /// duplicates.
    pub fn to_bytes(&self, form: Form) -> Vec<u8> {
        let mut tokens = self.tokens.clone();
        tokens.sort();
        tokens.dedup();
        let list = tokens.into_iter().map(Ipld::Bytes).collect();
        let map = Ipld::Map([(KEY.to_owned(), Ipld::List(list))].into_iter().collect());
        // A map of byte strings always encodes.
        let cbor = cbor::encode(&map).unwrap_or_default();
        let body = if form.gzip() { gzip(&cbor) } else { cbor };
        let mut out = vec![form.header()];
        match form {
            Form::Raw | Form::RawGzip => out.extend_from_slice(&body),
            Form::Base64 | Form::Base64Gzip => {
                out.extend_from_slice(STANDARD.encode(body).as_bytes())
            }
            Form::Base64Url | Form::Base64UrlGzip => {
                out.extend_from_slice(URL_SAFE_NO_PAD.encode(body).as_bytes())
            }
        }
        out
    }

    /// Splits the container into its one invocation (decoded and verified)
    /// and a proof store of every other token. A container with no
    /// invocation or several is [`UcanError::InvalidContainer`].
    pub fn into_invocation(self) -> Result<(Signed<Invocation>, ProofStore), UcanError> {
        self.into_invocation_known(&DelegationCache::new(0))
    }

    /// [`Container::into_invocation`], decoding each token once: a token
    /// whose CID `known` holds verified as a delegation before (a CID is the
    /// hash of the exact bytes), so it is stored without a decode; the
    /// invocation's envelope, decoded to sort it, is the one verified.
    pub fn into_invocation_known(
        self,
        known: &DelegationCache,
    ) -> Result<(Signed<Invocation>, ProofStore), UcanError> {
        let mut invocation = None;
        let mut proofs = ProofStore::new();
        for token in self.tokens {
            // Hashed once: the cache lookup, the store and the token's CID.
            let cid = cbor::cid_of(&token);
            if known.contains(&cid) {
                proofs.insert_hashed(cid, token);
                continue;
            }
            let envelope = Envelope::from_bytes(&token)?;
            match envelope.kind {
                TokenKind::Invocation if invocation.is_some() => {
                    return Err(UcanError::InvalidContainer(
                        "more than one invocation".to_owned(),
                    ))
                }
                TokenKind::Invocation => invocation = Some((envelope, token, cid)),
                TokenKind::Delegation => proofs.insert_hashed(cid, token),
            }
        }
        let (envelope, bytes, cid) =
            invocation.ok_or_else(|| UcanError::InvalidContainer("no invocation".to_owned()))?;
        Ok((Signed::from_envelope(envelope, bytes, cid)?, proofs))
    }
}

/// Inflates at most `max` bytes into a buffer whose capacity never passes
/// `max`, so a gzip bomb costs `max` bytes and the work to inflate them.
fn gunzip(data: &[u8], max: usize) -> Result<Vec<u8>, UcanError> {
    let mut decoder = flate2::read::GzDecoder::new(data);
    let mut out = Vec::new();
    let mut chunk = [0u8; INFLATE_CHUNK];
    loop {
        let n = decoder
            .read(&mut chunk)
            .map_err(|_| UcanError::InvalidContainer("bad gzip".to_owned()))?;
        let read = chunk.get(..n).unwrap_or_default();
        if read.is_empty() {
            return Ok(out);
        }
        let len = out.len() + read.len();
        if len > max {
            return Err(UcanError::ContainerTooLarge { max });
        }
        // Amortised doubling, capped at the limit.
        let target = out.len().saturating_mul(2).max(len).min(max);
        out.reserve_exact(target - out.len());
        out.extend_from_slice(read);
    }
}

/// `{"ctn-v1": [bytes…]}` read lazily: the token count is refused from the
/// array's head, before any token is copied; `over` records that refusal.
struct Body<'a> {
    max_tokens: usize,
    over: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Body<'_> {
    type Value = Vec<Vec<u8>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Body<'_> {
    type Value = Vec<Vec<u8>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of exactly the key ctn-v1")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let key = match map.size_hint() {
            Some(1) => map.next_key::<String>()?,
            _ => None,
        };
        if key.as_deref() != Some(KEY) {
            return Err(de::Error::custom("expected exactly the key ctn-v1"));
        }
        map.next_value_seed(Tokens(self))
    }
}

/// The token list of a [`Body`].
struct Tokens<'a>(Body<'a>);

impl<'de> DeserializeSeed<'de> for Tokens<'_> {
    type Value = Vec<Vec<u8>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Tokens<'_> {
    type Value = Vec<Vec<u8>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of tokens")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let max = self.0.max_tokens;
        let too_many = || {
            self.0.over.set(true);
            de::Error::custom("too many tokens")
        };
        let count = seq.size_hint().unwrap_or(0);
        if count > max {
            return Err(too_many());
        }
        let mut tokens = Vec::with_capacity(count);
        while let Some(Token(token)) = seq.next_element()? {
            if tokens.len() == max {
                return Err(too_many());
            }
            tokens.push(token);
        }
        Ok(tokens)
    }
}

/// One token: a CBOR byte string, nothing else.
struct Token(Vec<u8>);

impl<'de> de::Deserialize<'de> for Token {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_bytes(TokenVisitor)
    }
}

struct TokenVisitor;

impl Visitor<'_> for TokenVisitor {
    type Value = Token;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a token as bytes")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Token, E> {
        Ok(Token(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Token, E> {
        Ok(Token(v))
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflation_never_grows_past_the_limit() {
        let max = 100_000;
        let out = gunzip(&gzip(&vec![0; max]), max).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.len(), max);
        assert!(out.capacity() <= max, "{}", out.capacity());
        assert_eq!(
            gunzip(&gzip(&vec![0; max + 1]), max),
            Err(UcanError::ContainerTooLarge { max })
        );
    }
}
