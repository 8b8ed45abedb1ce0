//! `POST /v1/revocations` (UCAN.md decision 10): a `/ucan/revoke` invocation
//! whose issuer issued a delegation on the path to the target. The target and
//! the path travel in the container; a revocation is never undone.

use encnet_core::api::RevocationReceipt;
use encnet_ucan::{revocation, Cid, Delegation, Ipld, Signed};

use super::authz::Expectation;
use super::{Node, ServiceError};

impl Node {
    /// Records the revocation of `args.revoke`.
    pub(crate) async fn revoke_delegation(
        &self,
        bearer: Option<&str>,
    ) -> Result<RevocationReceipt, ServiceError> {
        let expect = Expectation {
            command: "/ucan/revoke",
            network: None,
        };
        self.gated(bearer, expect, |auth, decision| async move {
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
            let find = |cid: &Cid| {
                let bytes = auth.proofs.get(cid).ok_or(ServiceError::UnavailableProof)?;
                Signed::<Delegation>::from_bytes(bytes)
                    .map_err(|err| ServiceError::MalformedToken(err.to_string()))
            };
            let target_token = find(&target)?;
            let path_tokens = path.iter().map(find).collect::<Result<Vec<_>, _>>()?;
            // The revoker is the subject whose authority the invocation uses.
            revocation::check_revoker(&auth.invocation.payload.sub, &target_token, &path_tokens)
                .map_err(|_| ServiceError::NotRevoker)?;
            self.store
                .revoke(&target.to_string(), auth.issuer().as_str(), decision)
                .await?;
            Ok(RevocationReceipt {
                revoked: target.to_string(),
            })
        })
        .await
    }
}

/// A CID given as an IPLD link or as its text form.
fn cid_arg(value: Option<&Ipld>) -> Option<Cid> {
    match value? {
        Ipld::Link(cid) => Some(*cid),
        Ipld::String(text) => Cid::try_from(text.as_str()).ok(),
        _ => None,
    }
}
