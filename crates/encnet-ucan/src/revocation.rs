//! Revocation (UCAN decision 10): `/ucan/revoke` invocations and who may
//! issue them. Pure functions; the revocation store is the node's.

use std::collections::{BTreeSet, HashSet};

use cid::Cid;
use ipld_core::ipld::Ipld;

use crate::command::Command;
use crate::delegation::Delegation;
use crate::did::{Did, Signer};
use crate::envelope::Signed;
use crate::error::UcanError;
use crate::invocation::{Invocation, InvocationBuilder};
use crate::time;

/// The command of a revocation invocation.
pub const REVOKE_COMMAND: &str = "/ucan/revoke";

/// Answers whether a delegation has been revoked.
pub trait RevocationLookup {
    /// Whether the delegation with this CID is revoked.
    fn is_revoked(&self, cid: &Cid) -> bool;
}

/// Nothing is revoked.
impl RevocationLookup for () {
    fn is_revoked(&self, _: &Cid) -> bool {
        false
    }
}

impl RevocationLookup for HashSet<Cid> {
    fn is_revoked(&self, cid: &Cid) -> bool {
        self.contains(cid)
    }
}

impl RevocationLookup for BTreeSet<Cid> {
    fn is_revoked(&self, cid: &Cid) -> bool {
        self.contains(cid)
    }
}

/// The arguments of a `/ucan/revoke` invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// CID of the delegation to revoke.
    pub revoke: Cid,
    /// CIDs of the delegations from the root to the target (excluded),
    /// proving the revoker is on the path.
    pub path: Vec<Cid>,
}

impl Revocation {
    /// Reads the arguments of a `/ucan/revoke` invocation.
    pub fn from_invocation(inv: &Invocation) -> Result<Self, UcanError> {
        if inv.cmd.as_str() != REVOKE_COMMAND {
            return Err(UcanError::malformed("not a /ucan/revoke invocation"));
        }
        let revoke = match inv.args.get("revoke") {
            Some(Ipld::Link(cid)) => *cid,
            _ => return Err(UcanError::malformed("revoke must be a link")),
        };
        let path = match inv.args.get("path") {
            None => Vec::new(),
            Some(Ipld::List(items)) => items
                .iter()
                .map(|item| match item {
                    Ipld::Link(cid) => Ok(*cid),
                    _ => Err(UcanError::malformed("path must be a list of links")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(UcanError::malformed("path must be a list of links")),
        };
        if inv.args.len() > 1 + usize::from(inv.args.contains_key("path")) {
            return Err(UcanError::malformed("unknown revocation argument"));
        }
        Ok(Self { revoke, path })
    }

    /// The invocation arguments.
    pub fn to_args(&self) -> std::collections::BTreeMap<String, Ipld> {
        let mut args = std::collections::BTreeMap::new();
        args.insert("revoke".to_owned(), Ipld::Link(self.revoke));
        if !self.path.is_empty() {
            let path = self.path.iter().copied().map(Ipld::Link).collect();
            args.insert("path".to_owned(), Ipld::List(path));
        }
        args
    }
}

/// Builds and signs a `/ucan/revoke` invocation. `sub` is the principal
/// whose authority revokes: the signer itself (then `proofs` is empty), or a
/// principal that delegated `/ucan/revoke` to the signer through `proofs`.
pub fn revoke<S: Signer + ?Sized>(
    signer: &S,
    sub: Did,
    revocation: &Revocation,
    proofs: Vec<Cid>,
    exp: i64,
) -> Result<Signed<Invocation>, UcanError> {
    let cmd: Command = REVOKE_COMMAND.parse()?;
    InvocationBuilder::new(signer, sub, cmd)
        .args(revocation.to_args())
        .proofs(proofs)
        .expiration(exp)
        .sign()
}

/// Which chains a revocation applies to (UCAN.md decision 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationScope {
    /// Revoked by its own issuer: unusable in every chain.
    Everywhere,
    /// Revoked through a path: unusable in chains of this subject only, so a
    /// stranger's self-made root cannot revoke a powerline delegation for
    /// everybody else.
    Subject(Did),
}

/// Whether `revoker` may revoke `target`, and for which chains.
///
/// The target's own issuer always may, everywhere. Anyone else needs `path`,
/// the delegations from a root to `target` (root first, `target` excluded),
/// checked as a decrypt chain is at `now`: a self-issued root, aligned
/// principals up to `path[last].aud == target.iss`, one subject (or
/// powerline), narrowing commands, every link within its time bounds and
/// none of them in `revoked`, and no principal issuing twice (a delegate who
/// signs a link back to the owner cannot climb above a sibling). `revoker`
/// must have issued one of the path's links; the revocation then holds for
/// the path's subject.
///
/// After validating a revocation invocation's own chain, pass its `sub` as
/// `revoker`: that is the issuer itself when it has no proofs, or the
/// principal that delegated `/ucan/revoke` to it.
pub fn check_revoker(
    revoker: &Did,
    target: &Signed<Delegation>,
    path: &[Signed<Delegation>],
    now: i64,
    revoked: &dyn RevocationLookup,
) -> Result<RevocationScope, UcanError> {
    if target.payload.iss.same_principal(revoker) {
        return Ok(RevocationScope::Everywhere);
    }
    let subject = path_subject(path)?;
    check_path_links(path, now, revoked)?;
    let chain: Vec<&Delegation> = path.iter().chain([target]).map(|d| &d.payload).collect();
    check_path_shape(&chain, subject)?;
    if path.iter().any(|d| d.payload.iss.same_principal(revoker)) {
        Ok(RevocationScope::Subject(subject.clone()))
    } else {
        Err(UcanError::RevocationDenied(
            "the revoker issued nothing on the path",
        ))
    }
}

/// The subject of the root at the front of `path`.
fn path_subject(path: &[Signed<Delegation>]) -> Result<&Did, UcanError> {
    let root = path
        .first()
        .ok_or(UcanError::RevocationDenied("empty path"))?;
    root.payload
        .sub
        .as_ref()
        .filter(|_| root.payload.is_root())
        .ok_or(UcanError::RevocationDenied(
            "the path does not start at a root",
        ))
}

/// Every link of the path is usable now.
fn check_path_links(
    path: &[Signed<Delegation>],
    now: i64,
    revoked: &dyn RevocationLookup,
) -> Result<(), UcanError> {
    for link in path {
        time::check_nbf(link.payload.nbf, now)
            .and_then(|()| time::check_exp(link.payload.exp, now))
            .map_err(|_| UcanError::RevocationDenied("a path link is not valid now"))?;
        if revoked.is_revoked(&link.cid) {
            return Err(UcanError::RevocationDenied("a path link is revoked"));
        }
    }
    Ok(())
}

/// Aligned, one subject, narrowing, and acyclic: `chain` is the path then
/// the target.
fn check_path_shape(chain: &[&Delegation], subject: &Did) -> Result<(), UcanError> {
    for pair in chain.windows(2) {
        let [from, to] = pair else { continue };
        if !from.aud.same_principal(&to.iss) {
            return Err(UcanError::RevocationDenied("the path is not aligned"));
        }
        if !from.cmd.is_prefix_of(&to.cmd) {
            return Err(UcanError::RevocationDenied("the path widens a command"));
        }
        if to.sub.as_ref().is_some_and(|s| !s.same_principal(subject)) {
            return Err(UcanError::RevocationDenied("the path changes subject"));
        }
    }
    let mut issuers = HashSet::with_capacity(chain.len());
    if chain
        .iter()
        .all(|d| issuers.insert(d.iss.without_fragment()))
    {
        Ok(())
    } else {
        Err(UcanError::RevocationDenied(
            "a principal issues twice on the path",
        ))
    }
}
