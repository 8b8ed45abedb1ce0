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
