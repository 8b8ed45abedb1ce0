//! The rules of the node. Handlers call these; these call the store and the
//! key backend. Every UCAN-gated operation records exactly one audit entry,
//! allowed or denied.

mod args;
mod attestation;
mod authz;
mod checkpoint;
mod crypto_pool;
mod decrypt;
mod error;
mod network;
mod rejections;
mod revocation;

pub(crate) use checkpoint::start_checkpoints;
pub(crate) use error::ServiceError;
pub(crate) use network::Transition;

/// The pure steps of a decrypt, for the lab floor (`crate::lab`).
#[cfg(feature = "lab")]
pub(crate) mod pipeline {
    pub(crate) use super::authz::{decode_container, split_container, Authorized};
    pub(crate) use super::decrypt::{answer, check, NodeKeys};
}

use encnet_core::api::{NetworkDescriptor, NodeInfo};
use encnet_ucan::{Did, Ed25519Signer};

use crate::backend::LocalBackend;
use crate::store::{AuditDraft, Decision, NonceClaim, Store};
use authz::{Authorized, Authorizer, Expectation};

/// Everything the routes need, shared behind an `Arc`.
pub(crate) struct Node {
    store: Store,
    backend: LocalBackend,
    signer: Ed25519Signer,
    node_did: Did,
    authorizer: Authorizer,
    crypto: crypto_pool::CryptoPool,
}

impl Node {
    pub(crate) fn new(
        store: Store,
        backend: LocalBackend,
        signer: Ed25519Signer,
        max_ttl_secs: i64,
    ) -> Self {
        let node_did = signer.did();
        let crypto = crypto_pool::CryptoPool::new();
        Self {
            store,
            backend,
            authorizer: Authorizer::new(node_did.clone(), max_ttl_secs, crypto.clone()),
            signer,
            node_did,
            crypto,
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn node_did(&self) -> &Did {
        &self.node_did
    }

    /// `GET /v1/info`.
    pub(crate) fn info(&self) -> NodeInfo {
        NodeInfo {
            node_did: self.node_did.to_string(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            suites: vec![
                encnet_core::suite::Suite::V1.as_str().to_owned(),
                encnet_core::suite::Suite::V2.as_str().to_owned(),
            ],
            key_backends: vec!["local-one-of-one".to_owned()],
        }
    }

    /// `GET /v1/networks/{id}`.
    pub(crate) async fn descriptor(&self, id: &str) -> Result<NetworkDescriptor, ServiceError> {
        let record = self
            .store
            .network(id)
            .await?
            .ok_or(ServiceError::NetworkNotFound)?;
        let mut descriptor = network::descriptor(&record, &self.node_did);
        descriptor.attestations = attestation::served(self.store.attestations(id).await?)?;
        Ok(descriptor)
    }

    /// Runs `op` under the capability check for `expect`, and records one
    /// audit entry when it fails after the invocation's signature verified
    /// (a success records its own, atomically with its change). A request
    /// refused before that is only counted: strangers cannot grow the log.
    async fn gated<T, F, Fut>(
        &self,
        bearer: Option<&str>,
        expect: Expectation<'_>,
        op: F,
    ) -> Result<T, ServiceError>
    where
        F: FnOnce(Authorized, Decision) -> Fut,
        Fut: std::future::Future<Output = Result<T, ServiceError>>,
    {
        let now = crate::clock::now_unix();
        let mut audit = None;
        let result = match self
            .authorizer
            .authorize(&self.store, bearer, &expect, now, &mut audit)
            .await
        {
            Ok(auth) => {
                let decision = Decision {
                    nonce: NonceClaim {
                        issuer: auth.issuer().to_string(),
                        nonce: auth.invocation.payload.nonce.clone(),
                        expires_at: auth.exp(),
                        cited: auth.cited.clone(),
                        network: None,
                    },
                    audit: AuditDraft {
                        outcome: "allowed".to_owned(),
                        ..audit.clone().unwrap_or_default()
                    },
                    now,
                };
                op(auth, decision).await
            }
            Err(err) => Err(err),
        };
        if let Err(err) = &result {
            match audit {
                Some(audit) => self.record_denial(audit, err).await,
                None => rejections::count(expect.command, err),
            }
        }
        result
    }

    /// Counts a request refused before its invocation was read (e.g. an
    /// oversized body); nothing is written.
    pub(crate) async fn record_rejection(&self, route: &str, err: &ServiceError) {
        rejections::count(route, err);
    }

    async fn record_denial(&self, mut audit: AuditDraft, err: &ServiceError) {
        audit.outcome = format!("denied:{}", err.code());
        if let Err(store_err) = self.store.append_audit(audit).await {
            tracing::error!(error = %crate::report::Chain(&store_err), "could not record a denial in the audit log");
        }
    }
}
