//! Delegations (`ucan/dlg@…`): the payload, its decoding, and a builder
//! that signs.

use std::collections::BTreeMap;

use ipld_core::ipld::Ipld;

use crate::command::Command;
use crate::did::{Did, Signer};
use crate::envelope::{Payload, Signed, TokenKind};
use crate::error::UcanError;
use crate::ipld::{Fields, MapBuilder};
use crate::policy::Policy;

/// A delegation payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Delegation {
    /// The delegator, who signs.
    pub iss: Did,
    /// The delegate.
    pub aud: Did,
    /// The subject; `None` is a powerline delegation (`sub: null`).
    pub sub: Option<Did>,
    /// The command delegated (and every command below it).
    pub cmd: Command,
    /// Conditions on the invocation's arguments.
    pub pol: Policy,
    /// Random bytes that make the token unique.
    pub nonce: Vec<u8>,
    /// Asserted data; not authority.
    pub meta: Option<BTreeMap<String, Ipld>>,
    /// Not valid before (Unix seconds).
    pub nbf: Option<i64>,
    /// Expiry (Unix seconds); `None` never expires.
    pub exp: Option<i64>,
}

impl Delegation {
    /// Whether this is a root delegation (`iss == sub`).
    pub fn is_root(&self) -> bool {
        self.sub
            .as_ref()
            .is_some_and(|sub| sub.same_principal(&self.iss))
    }
}

impl Payload for Delegation {
    const KIND: TokenKind = TokenKind::Delegation;

    fn from_map(map: BTreeMap<String, Ipld>) -> Result<Self, UcanError> {
        let mut f = Fields::new(map);
        let delegation = Self {
            iss: f.did("iss")?,
            aud: f.did("aud")?,
            sub: f.nullable_did("sub")?,
            cmd: f.string("cmd")?.parse()?,
            pol: Policy::from_ipld(&Ipld::List(f.list("pol")?))?,
            nonce: f.nonce()?,
            meta: f.opt_map("meta")?,
            nbf: f.opt_time("nbf")?,
            exp: f.exp()?,
        };
        f.finish()?;
        Ok(delegation)
    }

    fn to_ipld(&self) -> Ipld {
        let did = |d: &Did| Ipld::String(d.as_str().to_owned());
        MapBuilder::default()
            .set("iss", did(&self.iss))
            .set("aud", did(&self.aud))
            .set("sub", self.sub.as_ref().map_or(Ipld::Null, did))
            .set("cmd", Ipld::String(self.cmd.as_str().to_owned()))
            .set("pol", self.pol.to_ipld())
            .set("nonce", Ipld::Bytes(self.nonce.clone()))
            .set_opt("meta", self.meta.clone().map(Ipld::Map))
            .set_opt("nbf", self.nbf.map(|t| Ipld::Integer(t.into())))
            .set(
                "exp",
                self.exp.map_or(Ipld::Null, |t| Ipld::Integer(t.into())),
            )
            .build()
    }

    fn issuer(&self) -> &Did {
        &self.iss
    }
}

/// Builds and signs a delegation: a 16-byte random nonce, `exp` always
/// written (null unless [`DelegationBuilder::expiration`] is called).
#[derive(Debug)]
pub struct DelegationBuilder<'a, S: Signer + ?Sized> {
    signer: &'a S,
    payload: Delegation,
}

impl<'a, S: Signer + ?Sized> DelegationBuilder<'a, S> {
    /// `signer` delegates `cmd` on `sub` (`None`: powerline) to `aud`.
    pub fn new(signer: &'a S, aud: Did, sub: Option<Did>, cmd: Command) -> Self {
        Self {
            payload: Delegation {
                iss: signer.did(),
                aud,
                sub,
                cmd,
                pol: Policy::default(),
                nonce: crate::invocation::random_nonce(),
                meta: None,
                nbf: None,
                exp: None,
            },
            signer,
        }
    }

    /// Sets the policy.
    pub fn policy(mut self, pol: Policy) -> Self {
        self.payload.pol = pol;
        self
    }

    /// Sets the expiry (Unix seconds).
    pub fn expiration(mut self, exp: i64) -> Self {
        self.payload.exp = Some(exp);
        self
    }

    /// Sets the start of validity (Unix seconds).
    pub fn not_before(mut self, nbf: i64) -> Self {
        self.payload.nbf = Some(nbf);
        self
    }

    /// Sets the metadata.
    pub fn meta(mut self, meta: BTreeMap<String, Ipld>) -> Self {
        self.payload.meta = Some(meta);
        self
    }

    /// Replaces the random nonce (at least 12 bytes are required on read).
    pub fn nonce(mut self, nonce: Vec<u8>) -> Self {
        self.payload.nonce = nonce;
        self
    }

    /// Encodes, signs, and reads the token back.
    pub fn sign(self) -> Result<Signed<Delegation>, UcanError> {
        Signed::sign(&self.payload, self.signer)
    }
}
