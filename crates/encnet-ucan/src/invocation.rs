//! Invocations (`ucan/inv@…`): the payload, its decoding, and a builder
//! that signs.

use std::collections::BTreeMap;

use cid::Cid;
use ipld_core::ipld::Ipld;
use rand::RngCore as _;

use crate::command::Command;
use crate::did::{Did, Signer};
use crate::envelope::{Payload, Signed, TokenKind};
use crate::error::UcanError;
use crate::ipld::{Fields, MapBuilder};

/// Length of the nonces encnet writes (UCAN decision 9).
pub const NONCE_LEN: usize = 16;

/// Largest `args` accepted, as DAG-CBOR bytes, checked when an invocation is
/// decoded (so before its signature is verified). Every policy of a chain
/// walks the args, so this bounds that work together with
/// [`crate::policy::EVAL_BUDGET`]; encnet's own args are a few hundred
/// bytes.
pub const MAX_ARGS_BYTES: usize = 8 * 1024;

/// An invocation payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// The invoker, who signs.
    pub iss: Did,
    /// The subject whose authority is used.
    pub sub: Did,
    /// The executor, when it is not the subject.
    pub aud: Option<Did>,
    /// The command to run.
    pub cmd: Command,
    /// The command's arguments; every policy of the chain applies to them.
    pub args: BTreeMap<String, Ipld>,
    /// CIDs of the delegations proving authority, root first.
    pub prf: Vec<Cid>,
    /// Asserted data; not authority.
    pub meta: Option<BTreeMap<String, Ipld>>,
    /// Random bytes that make the invocation unique (replay protection).
    pub nonce: Vec<u8>,
    /// Expiry (Unix seconds); `None` never expires.
    pub exp: Option<i64>,
    /// Issued at (Unix seconds); informational only.
    pub iat: Option<i64>,
    /// The receipt that enqueued this task.
    pub cause: Option<Cid>,
}

impl Invocation {
    /// The executor this invocation is addressed to: `aud`, else `sub`.
    pub fn executor(&self) -> &Did {
        self.aud.as_ref().unwrap_or(&self.sub)
    }

    /// The string argument `key`, if it is a string.
    pub fn arg_str(&self, key: &str) -> Option<&str> {
        crate::ipld::str_arg(&self.args, key)
    }

    /// The integer argument `key`, if it is an integer that fits an `i64`.
    pub fn arg_int(&self, key: &str) -> Option<i64> {
        crate::ipld::int_arg(&self.args, key)
    }

    /// The bytes argument `key`, if it is bytes.
    pub fn arg_bytes(&self, key: &str) -> Option<&[u8]> {
        crate::ipld::bytes_arg(&self.args, key)
    }

    /// The arguments as one IPLD map, the value policies are evaluated on.
    pub fn args_ipld(&self) -> Ipld {
        Ipld::Map(self.args.clone())
    }
}

impl Payload for Invocation {
    const KIND: TokenKind = TokenKind::Invocation;

    fn from_map(map: BTreeMap<String, Ipld>) -> Result<Self, UcanError> {
        let mut f = Fields::new(map);
        let invocation = Self {
            iss: f.did("iss")?,
            sub: f.did("sub")?,
            aud: f.opt_did("aud")?,
            cmd: f.string("cmd")?.parse()?,
            args: bounded_args(f.map("args")?)?,
            prf: f.links("prf")?,
            meta: f.opt_map("meta")?,
            nonce: f.nonce()?,
            exp: f.exp()?,
            iat: f.opt_time("iat")?,
            cause: f.opt_link("cause")?,
        };
        f.finish()?;
        Ok(invocation)
    }

    fn to_ipld(&self) -> Ipld {
        let did = |d: &Did| Ipld::String(d.as_str().to_owned());
        MapBuilder::default()
            .set("iss", did(&self.iss))
            .set("sub", did(&self.sub))
            .set_opt("aud", self.aud.as_ref().map(did))
            .set("cmd", Ipld::String(self.cmd.as_str().to_owned()))
            .set("args", Ipld::Map(self.args.clone()))
            .set(
                "prf",
                Ipld::List(self.prf.iter().copied().map(Ipld::Link).collect()),
            )
            .set_opt("meta", self.meta.clone().map(Ipld::Map))
            .set("nonce", Ipld::Bytes(self.nonce.clone()))
            .set(
                "exp",
                self.exp.map_or(Ipld::Null, |t| Ipld::Integer(t.into())),
            )
            .set_opt("iat", self.iat.map(|t| Ipld::Integer(t.into())))
            .set_opt("cause", self.cause.map(Ipld::Link))
            .build()
    }

    fn issuer(&self) -> &Did {
        &self.iss
    }
}

/// `args` if its encoding fits [`MAX_ARGS_BYTES`].
fn bounded_args(args: BTreeMap<String, Ipld>) -> Result<BTreeMap<String, Ipld>, UcanError> {
    if crate::cbor::encoded_len(&args)? > MAX_ARGS_BYTES {
        return Err(UcanError::ArgsTooLarge {
            max: MAX_ARGS_BYTES,
        });
    }
    Ok(args)
}

/// [`NONCE_LEN`] random bytes from the operating system.
pub(crate) fn random_nonce() -> Vec<u8> {
    let mut nonce = vec![0; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    nonce
}

/// Builds and signs an invocation: a 16-byte random nonce, `exp` always
/// written (null unless [`InvocationBuilder::expiration`] is called).
#[derive(Debug)]
pub struct InvocationBuilder<'a, S: Signer + ?Sized> {
    signer: &'a S,
    payload: Invocation,
}

impl<'a, S: Signer + ?Sized> InvocationBuilder<'a, S> {
    /// `signer` invokes `cmd` on `sub`.
    pub fn new(signer: &'a S, sub: Did, cmd: Command) -> Self {
        Self {
            payload: Invocation {
                iss: signer.did(),
                sub,
                aud: None,
                cmd,
                args: BTreeMap::new(),
                prf: Vec::new(),
                meta: None,
                nonce: random_nonce(),
                exp: None,
                iat: None,
                cause: None,
            },
            signer,
        }
    }

    /// Addresses the invocation to an executor other than the subject.
    pub fn audience(mut self, aud: Did) -> Self {
        self.payload.aud = Some(aud);
        self
    }

    /// Sets all arguments.
    pub fn args(mut self, args: BTreeMap<String, Ipld>) -> Self {
        self.payload.args = args;
        self
    }

    /// Sets one argument.
    pub fn arg(mut self, key: &str, value: Ipld) -> Self {
        self.payload.args.insert(key.to_owned(), value);
        self
    }

    /// Sets the proofs (delegation CIDs, root first).
    pub fn proofs(mut self, prf: Vec<Cid>) -> Self {
        self.payload.prf = prf;
        self
    }

    /// Sets the expiry (Unix seconds).
    pub fn expiration(mut self, exp: i64) -> Self {
        self.payload.exp = Some(exp);
        self
    }

    /// Sets the issue time (Unix seconds).
    pub fn issued_at(mut self, iat: i64) -> Self {
        self.payload.iat = Some(iat);
        self
    }

    /// Sets the metadata.
    pub fn meta(mut self, meta: BTreeMap<String, Ipld>) -> Self {
        self.payload.meta = Some(meta);
        self
    }

    /// Sets the receipt that caused this invocation.
    pub fn cause(mut self, cause: Cid) -> Self {
        self.payload.cause = Some(cause);
        self
    }

    /// Replaces the random nonce (at least 12 bytes are required on read).
    pub fn nonce(mut self, nonce: Vec<u8>) -> Self {
        self.payload.nonce = nonce;
        self
    }

    /// Encodes, signs, and reads the token back.
    pub fn sign(self) -> Result<Signed<Invocation>, UcanError> {
        Signed::sign(&self.payload, self.signer)
    }
}
