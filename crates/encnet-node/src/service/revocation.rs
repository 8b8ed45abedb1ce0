//! `POST /v1/revocations` (UCAN.md decision 10): a `/ucan/revoke` invocation
//! whose subject has authority over the target: its issuer, or an issuer
//! upstream of it on a path valid now. The target and the path travel in
//! the container; a revocation is never undone.
//!
//! A revocation is stored under a key: the target's CID when its own issuer
//! revoked it (it holds for every chain), or the CID and the path's subject
//! (it holds for chains of that subject only). [`cited_keys`] gives the keys
//! a chain must not hit.

use encnet_core::api::command;
use encnet_core::api::RevocationReceipt;
use encnet_ucan::revocation::{self, RevocationScope};
use encnet_ucan::{Cid, Delegation, Did, Ipld, RevocationLookup, Signed};

use super::authz::{Authorized, Expectation};
use super::{Node, ServiceError};
use crate::store::{AuditDraft, Change};

/// The key a revocation of `cid` is stored under for `scope`.
fn revocation_key(cid: &Cid, scope: &RevocationScope) -> String {
    match scope {
        RevocationScope::Everywhere => cid.to_string(),
        RevocationScope::Subject(subject) => scoped_key(cid, subject),
    }
}

fn scoped_key(cid: &Cid, subject: &Did) -> String {
    format!("{cid} {}", subject.without_fragment())
}

/// Every key under which a revocation of one of `cids` would apply to a
/// chain of `subject`.
pub(super) fn cited_keys(cids: &[Cid], subject: &Did) -> Vec<String> {
    cids.iter()
        .flat_map(|cid| [cid.to_string(), scoped_key(cid, subject)])
        .collect()
}

/// The CIDs among `cids` whose keys are in `revoked_keys` (nothing to
/// format when none is: the usual case).
pub(super) fn revoked_cids(
    cids: &[Cid],
    subject: &Did,
    revoked_keys: &std::collections::HashSet<String>,
) -> std::collections::HashSet<Cid> {
    if revoked_keys.is_empty() {
        return std::collections::HashSet::new();
    }
    cids.iter()
        .filter(|cid| {
            revoked_keys.contains(&cid.to_string())
                || revoked_keys.contains(&scoped_key(cid, subject))
        })
        .copied()
        .collect()
}

impl Node {
    /// Records the revocation of `args.revoke`.
    pub(crate) async fn revoke_delegation(
        &self,
        bearer: Option<&str>,
    ) -> Result<RevocationReceipt, ServiceError> {
        let expect = Expectation {
            command: command::UCAN_REVOKE,
            network: None,
        };
        self.gated(bearer, expect, |auth, mut decision| async move {
            let (target, path) = revocation_args(&auth)?;
            let path_cids: Vec<Cid> = path.iter().map(|d| d.cid).collect();
            let subject = path
                .first()
                .and_then(|root| root.payload.sub.clone())
                .unwrap_or_else(|| auth.invocation.payload.sub.clone());
            // What this node already knows; the commit checks again below.
            let known = self.store.freshness(
                auth.issuer().as_str(),
                &auth.invocation.payload.nonce,
                decision.now,
                &cited_keys(&path_cids, &subject),
            );
            let revoked = revoked_cids(&path_cids, &subject, &known.revoked);
            let scope = revocation::check_revoker(
                &auth.invocation.payload.sub,
                &target,
                &path,
                decision.now,
                &revoked as &dyn RevocationLookup,
            )
            .map_err(|_| ServiceError::NotRevoker)?;
            // The path must still be unrevoked when the revocation commits.
            if let RevocationScope::Subject(subject) = &scope {
                decision.nonce.cited.extend(cited_keys(&path_cids, subject));
            }
            let audits = self
                .audit_on_networks(&scope, &target, &mut decision.audit)
                .await?;
            let change = Change::Revoke {
                key: revocation_key(&target.cid, &scope),
                revoked_by: auth.issuer().to_string(),
                more_audit: audits,
            };
            self.store.decide(decision, change).await?;
            Ok(RevocationReceipt {
                revoked: target.cid.to_string(),
            })
        })
        .await
    }

    /// Puts the decision's audit entry on the first network of the subject
    /// the revocation applies to, and answers copies for the others, so
    /// each owner sees it in their network's log.
    async fn audit_on_networks(
        &self,
        scope: &RevocationScope,
        target: &Signed<Delegation>,
        audit: &mut AuditDraft,
    ) -> Result<Vec<AuditDraft>, ServiceError> {
        let subject = match scope {
            RevocationScope::Subject(subject) => Some(subject),
            RevocationScope::Everywhere => target.payload.sub.as_ref(),
        };
        let Some(subject) = subject else {
            return Ok(Vec::new());
        };
        let mut networks = self
            .store
            .networks_of(subject.without_fragment())
            .await?
            .into_iter();
        let Some(first) = networks.next() else {
            return Ok(Vec::new());
        };
        audit.network = first;
        Ok(networks
            .map(|network| AuditDraft {
                network,
                ..audit.clone()
            })
            .collect())
    }
}

/// `args.revoke` and `args.path`, each decoded from the container.
fn revocation_args(
    auth: &Authorized,
) -> Result<(Signed<Delegation>, Vec<Signed<Delegation>>), ServiceError> {
    let target = cid_arg(auth.args().get("revoke"))
        .ok_or_else(|| ServiceError::BadRequest("args.revoke must be a CID".into()))?;
    let path = match auth.args().get("path") {
        None | Some(Ipld::Null) => Vec::new(),
        Some(Ipld::List(items)) => items
            .iter()
            .map(|item| cid_arg(Some(item)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ServiceError::BadRequest("args.path must hold CIDs".into()))?,
        Some(_) => return Err(ServiceError::BadRequest("args.path must be a list".into())),
    };
    if path.len() > super::authz::MAX_CHAIN {
        return Err(ServiceError::ChainTooLong(super::authz::MAX_CHAIN));
    }
    let find = |cid: &Cid| {
        let bytes = auth.proofs.get(cid).ok_or(ServiceError::UnavailableProof)?;
        Signed::<Delegation>::from_bytes(bytes)
            .map_err(|err| ServiceError::MalformedToken(err.to_string()))
    };
    let target = find(&target)?;
    let path = path.iter().map(find).collect::<Result<Vec<_>, _>>()?;
    Ok((target, path))
}

/// A CID given as an IPLD link or as its text form.
fn cid_arg(value: Option<&Ipld>) -> Option<Cid> {
    match value? {
        Ipld::Link(cid) => Some(*cid),
        Ipld::String(text) => Cid::try_from(text.as_str()).ok(),
        _ => None,
    }
}
