//! UCAN containers (`ucan-wg/container` v0.1.0): `{"ctn-v1": [token…]}`,
//! optionally gzipped and base64-encoded, behind one header byte.

use std::io::{Read as _, Write as _};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ipld_core::ipld::Ipld;

use crate::chain::ProofStore;
use crate::envelope::{Envelope, Signed, TokenKind};
use crate::error::UcanError;
use crate::invocation::Invocation;

/// Largest decoded (and decompressed) container accepted: bounds memory
/// and gzip bombs.
pub const MAX_CONTAINER_BYTES: usize = 1 << 20;

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
    /// value), holding at most `max_tokens` tokens.
    pub fn from_header(value: &str, max_tokens: usize) -> Result<Self, UcanError> {
        Self::from_bytes(value.trim().as_bytes(), max_tokens)
    }

    /// Reads a serialised container (header byte first) in any form.
    pub fn from_bytes(bytes: &[u8], max_tokens: usize) -> Result<Self, UcanError> {
        let bad = |msg: &str| UcanError::InvalidContainer(msg.to_owned());
        let (&header, body) = bytes.split_first().ok_or_else(|| bad("empty"))?;
        let form = Form::from_header(header).ok_or_else(|| bad("unknown header byte"))?;
        if body.len() > MAX_CONTAINER_BYTES * 2 {
            return Err(bad("too large"));
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
            gunzip(&decoded)?
        } else {
            decoded
        };
        if cbor.len() > MAX_CONTAINER_BYTES {
            return Err(bad("too large"));
        }
        Self::from_cbor(&cbor, max_tokens)
    }

    fn from_cbor(cbor: &[u8], max_tokens: usize) -> Result<Self, UcanError> {
        let bad = |msg: &str| UcanError::InvalidContainer(msg.to_owned());
        let Ipld::Map(mut map) = crate::cbor::decode(cbor)? else {
            return Err(bad("not a map"));
        };
        let (Some(Ipld::List(items)), true) = (map.remove(KEY), map.is_empty()) else {
            return Err(bad("expected exactly the key ctn-v1 holding a list"));
        };
        if items.len() > max_tokens {
            return Err(UcanError::TooManyTokens { max: max_tokens });
        }
        let tokens = items
            .into_iter()
            .map(|item| match item {
                Ipld::Bytes(token) => Ok(token),
                _ => Err(bad("a token is not bytes")),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { tokens })
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
        let cbor = crate::cbor::encode(&map).unwrap_or_default();
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
        let mut invocation = None;
        let mut proofs = ProofStore::new();
        for token in self.tokens {
            match Envelope::from_bytes(&token)?.kind {
                TokenKind::Invocation if invocation.is_some() => {
                    return Err(UcanError::InvalidContainer(
                        "more than one invocation".to_owned(),
                    ))
                }
                TokenKind::Invocation => invocation = Some(token),
                TokenKind::Delegation => {
                    proofs.insert(token);
                }
            }
        }
        let invocation =
            invocation.ok_or_else(|| UcanError::InvalidContainer("no invocation".to_owned()))?;
        Ok((Signed::from_bytes(&invocation)?, proofs))
    }
}

fn gunzip(data: &[u8]) -> Result<Vec<u8>, UcanError> {
    let mut out = Vec::new();
    let limit = MAX_CONTAINER_BYTES as u64 + 1;
    flate2::read::GzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| UcanError::InvalidContainer("bad gzip".to_owned()))?;
    Ok(out)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}
