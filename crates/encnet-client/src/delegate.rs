//! Delegations a network owner (or a holder, re-delegating) issues.

use encnet_core::InlineEnvelope;
use encnet_ucan::{Command, Delegation, DelegationBuilder, Did, Ed25519Signer, Policy, Signed};

use crate::ClientError;

/// What to grant.
pub struct Grant<'a> {
    /// The network owner: the subject of the chain.
    pub owner: &'a Did,
    /// The network the grant is limited to (a `.network` policy).
    pub network: &'a str,
    /// The command, e.g. `/encryption/decrypt`.
    pub command: &'a str,
    /// Unix seconds after which the grant expires.
    pub expires_at: i64,
    /// When non-empty, only these envelopes (a `.keyHash` policy).
    pub only: &'a [InlineEnvelope],
}

/// Signs a delegation of `grant` from `issuer` to `audience`.
pub fn delegate(
    issuer: &Ed25519Signer,
    audience: &Did,
    grant: &Grant<'_>,
) -> Result<Signed<Delegation>, ClientError> {
    let command: Command = grant
        .command
        .parse()
        .map_err(|_| ClientError::Usage(format!("invalid command {:?}", grant.command)))?;
    DelegationBuilder::new(issuer, audience.clone(), Some(grant.owner.clone()), command)
        .policy(policy(grant)?)
        .expiration(grant.expires_at)
        .sign()
        .map_err(ClientError::from)
}

/// `.network == network`, and `.keyHash` one of the envelopes' when given.
fn policy(grant: &Grant<'_>) -> Result<Policy, ClientError> {
    let mut statements = vec![serde_json::json!(["==", ".network", grant.network])];
    if !grant.only.is_empty() {
        let alternatives: Vec<_> = grant
            .only
            .iter()
            .map(|e| serde_json::json!(["==", ".keyHash", e.encrypted_symmetric_key_hash]))
            .collect();
        statements.push(serde_json::json!(["or", alternatives]));
    }
    Policy::from_json(&serde_json::Value::Array(statements)).map_err(ClientError::from)
}

/// Decodes delegation tokens (e.g. a container's, in any order) and orders
/// them into one chain, root first: each delegation's `aud` issues the next.
/// Anything else (an invocation, two roots, a branch, a token left over) is
/// an error.
pub fn chain_from_tokens(tokens: &[Vec<u8>]) -> Result<Vec<Signed<Delegation>>, ClientError> {
    let mut rest = tokens
        .iter()
        .map(|t| Signed::<Delegation>::from_bytes(t))
        .collect::<Result<Vec<_>, _>>()?;
    let broken = |what: &str| ClientError::Usage(format!("the delegations {what}"));
    let roots = rest.iter().filter(|d| d.payload.is_root()).count();
    if roots != 1 {
        return Err(broken(&format!(
            "hold {roots} root delegations, not one chain from one root"
        )));
    }
    let mut chain = Vec::with_capacity(rest.len());
    let mut next = rest.iter().position(|d| d.payload.is_root());
    while let Some(index) = next {
        let link = rest.swap_remove(index);
        next = rest
            .iter()
            .position(|d| d.payload.iss.same_principal(&link.payload.aud));
        chain.push(link);
    }
    if !rest.is_empty() {
        return Err(broken("do not form one chain (a token does not follow on)"));
    }
    Ok(chain)
}

/// Whether `chain` (root first) can prove `command` on `args` for `holder`
/// at `now`: the leaf is addressed to `holder`, and every link has the
/// subject `owner`, is within its time bounds, covers the command and has a
/// policy that holds on `args`. The node decides; this only picks a chain.
pub fn chain_fits(
    chain: &[Signed<Delegation>],
    holder: &Did,
    owner: &Did,
    command: &Command,
    args: &encnet_ucan::Ipld,
    now: i64,
) -> bool {
    let Some(leaf) = chain.last() else {
        return false;
    };
    leaf.payload.aud.same_principal(holder)
        && chain.iter().all(|d| {
            let p = &d.payload;
            p.sub.as_ref().is_none_or(|sub| sub.same_principal(owner))
                && p.exp.is_none_or(|exp| now < exp)
                && p.nbf.is_none_or(|nbf| nbf <= now)
                && p.cmd.is_prefix_of(command)
                && p.pol.eval(args)
        })
}
