//! Network administration (DESIGN §4.7): create, rotate, retire, revoke,
//! restore, destroy, and the owner's audit read. Each is a UCAN invocation
//! with `sub` = owner; each change and its audit entry commit together.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use encnet_core::api::command;
use encnet_core::api::{AuditPage, Member, NetworkDescriptor, NetworkState};
use encnet_core::network_id::NetworkId;
use encnet_core::suite::Suite;
use encnet_ucan::Did;

use super::args::{int_arg, optional_int_arg, optional_string_arg, string_arg};
use super::authz::{Authorized, Expectation};
use super::decrypt::{backend_error, wire_suite};
use super::{Node, ServiceError};
use crate::clock;
use crate::store::{Change, NetworkRecord, StateChange};

/// Largest audit page served at once.
const MAX_AUDIT_PAGE: u64 = 1000;

/// A lifecycle transition an owner can invoke.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Transition {
    /// `active → revoked`.
    Revoke,
    /// `revoked → active`.
    Restore,
    /// `revoked → destroyed` (DESIGN §4.2: only from `revoked`).
    Destroy,
}

impl Transition {
    fn command(self) -> &'static str {
        match self {
            Self::Revoke => command::NETWORK_REVOKE,
            Self::Restore => command::NETWORK_RESTORE,
            Self::Destroy => command::NETWORK_DESTROY,
        }
    }

    /// Restore and destroy are the owner's alone (`iss == sub`, no proofs),
    /// so an admin delegate cannot undo an emergency revoke.
    fn owner_only(self) -> bool {
        matches!(self, Self::Restore | Self::Destroy)
    }

    /// The state change this transition makes from `current`, if allowed.
    fn change(self, current: NetworkState) -> Option<StateChange> {
        let to = match (self, current) {
            (Self::Revoke, NetworkState::Active) => NetworkState::Revoked,
            (Self::Restore, NetworkState::Revoked) => NetworkState::Active,
            (Self::Destroy, NetworkState::Revoked) => NetworkState::Destroyed,
            _ => return None,
        };
        Some(StateChange { from: current, to })
    }
}

impl Node {
    /// `/encryption/network/create`: a new one-of-one network owned by `sub`.
    pub(crate) async fn create_network(
        &self,
        bearer: Option<&str>,
    ) -> Result<NetworkDescriptor, ServiceError> {
        let expect = Expectation {
            command: command::NETWORK_CREATE,
            network: None,
        };
        self.gated(bearer, expect, |auth, mut decision| async move {
            let args = auth.args();
            let name = string_arg(args, "name")?;
            let alg = match optional_string_arg(args, "alg")? {
                None => Suite::default(),
                Some(alg) => wire_suite(alg)?,
            };
            if args.contains_key("threshold") || args.contains_key("members") {
                return Err(ServiceError::UnsupportedBackend("threshold".into()));
            }
            let id = NetworkId::new(auth.invocation.payload.sub.as_str(), name)
                .map_err(|err| ServiceError::BadRequest(err.to_string()))?;
            let network_id = id.to_string();
            decision.audit.network = network_id.clone();
            let key = self
                .backend
                .generate(&network_id, 1)
                .map_err(backend_error)?;
            let record = NetworkRecord::new_one_of_one(
                &id,
                alg,
                key.public_key.clone(),
                clock::now_rfc3339(),
            );
            let change = Change::CreateNetwork {
                network: Box::new(record.clone()),
                key,
            };
            self.store.decide(decision, change).await?;
            Ok(descriptor(&record, &self.node_did))
        })
        .await
    }

    /// `/encryption/network/rotate`: a new key version; older ones keep
    /// decrypting until retired.
    pub(crate) async fn rotate_network(
        &self,
        network: &str,
        bearer: Option<&str>,
    ) -> Result<NetworkDescriptor, ServiceError> {
        let expect = Expectation {
            command: command::NETWORK_ROTATE,
            network: Some(network),
        };
        self.gated(bearer, expect, |_auth, decision| async move {
            let record = self.active_network(network).await?;
            let key = self
                .backend
                .generate(network, record.key_version + 1)
                .map_err(backend_error)?;
            let network = network.to_owned();
            self.store
                .decide(
                    decision,
                    Change::Rotate {
                        network: network.clone(),
                        key,
                    },
                )
                .await?;
            self.descriptor(&network).await
        })
        .await
    }

    /// `/encryption/network/retire`: raise `minDecryptionVersion`.
    pub(crate) async fn retire_network(
        &self,
        network: &str,
        bearer: Option<&str>,
    ) -> Result<NetworkDescriptor, ServiceError> {
        let expect = Expectation {
            command: command::NETWORK_RETIRE,
            network: Some(network),
        };
        self.gated(bearer, expect, |auth, decision| async move {
            let min_version = int_arg(auth.args(), "minDecryptionVersion")?;
            let record = self.active_network(network).await?;
            if min_version < record.min_decryption_version || min_version > record.key_version {
                return Err(ServiceError::BadRequest(format!(
                    "minDecryptionVersion must be between {} and {}",
                    record.min_decryption_version, record.key_version
                )));
            }
            let change = Change::Retire {
                network: network.to_owned(),
                min_version,
            };
            self.store.decide(decision, change).await?;
            self.descriptor(network).await
        })
        .await
    }

    /// Revoke, restore or destroy.
    pub(crate) async fn transition_network(
        &self,
        network: &str,
        transition: Transition,
        bearer: Option<&str>,
    ) -> Result<NetworkDescriptor, ServiceError> {
        let expect = Expectation {
            command: transition.command(),
            network: Some(network),
        };
        self.gated(bearer, expect, |auth, decision| async move {
            if transition.owner_only() {
                require_owner(&auth)?;
            }
            let record = self
                .store
                .network(network)
                .await?
                .ok_or(ServiceError::NetworkNotFound)?;
            let change = transition
                .change(record.state)
                .ok_or(ServiceError::InvalidState(record.state.as_str()))?;
            let network = network.to_owned();
            let change = match transition {
                Transition::Destroy => Change::Destroy {
                    network: network.clone(),
                    from: change.from,
                },
                _ => Change::State {
                    network: network.clone(),
                    change,
                },
            };
            self.store.decide(decision, change).await?;
            self.descriptor(&network).await
        })
        .await
    }

    /// `/encryption/audit/read`: the network's audit entries after `after`.
    pub(crate) async fn read_audit(
        &self,
        network: &str,
        bearer: Option<&str>,
    ) -> Result<AuditPage, ServiceError> {
        let expect = Expectation {
            command: command::AUDIT_READ,
            network: Some(network),
        };
        self.gated(bearer, expect, |auth, decision| async move {
            // Decided before the read is recorded: a bad page is a 400.
            let after = optional_int_arg(auth.args(), "after")?.unwrap_or(0);
            if i64::try_from(after).is_err() {
                return Err(ServiceError::BadRequest(format!(
                    "args.after must be at most {}",
                    i64::MAX
                )));
            }
            let limit = optional_int_arg(auth.args(), "limit")?
                .unwrap_or(MAX_AUDIT_PAGE)
                .clamp(1, MAX_AUDIT_PAGE);
            // Reading is audited too; the page then includes this read,
            // and the checkpoint signed now covers it: a client reading to
            // the end of the network's log meets that entry and compares.
            let read = self.store.record_allowed(decision).await?;
            let checkpoint = self.checkpoint(&read).await?;
            let entries = self
                .store
                .audit_page(network, after, u32::try_from(limit).unwrap_or(1000))
                .await?;
            Ok(AuditPage {
                entries,
                checkpoint: Some(checkpoint),
            })
        })
        .await
    }

    async fn active_network(&self, network: &str) -> Result<NetworkRecord, ServiceError> {
        let record = self
            .store
            .network(network)
            .await?
            .ok_or(ServiceError::NetworkNotFound)?;
        match record.state {
            NetworkState::Active => Ok(record),
            NetworkState::Revoked => Err(ServiceError::NetworkRevoked),
            NetworkState::Destroyed => Err(ServiceError::NetworkDestroyed),
            other => Err(ServiceError::InvalidState(other.as_str())),
        }
    }
}

/// The invocation is the owner's own: issued by its subject, with no proofs.
pub(super) fn require_owner(auth: &Authorized) -> Result<(), ServiceError> {
    let payload = &auth.invocation.payload;
    if payload.iss.same_principal(&payload.sub) && payload.prf.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::OwnerOnly)
    }
}

/// The public descriptor of a one-of-one network held by this node.
pub(super) fn descriptor(record: &NetworkRecord, node_did: &Did) -> NetworkDescriptor {
    NetworkDescriptor {
        network_id: record.network_id.clone(),
        owner_did: record.owner_did.clone(),
        name: record.name.clone(),
        members: vec![Member {
            node_id: node_did.to_string(),
            role: "custodian".to_owned(),
            url: None,
            verification_share: None,
        }],
        threshold: record.threshold,
        state: record.state,
        public_encryption_key: BASE64.encode(&record.public_key),
        alg: record.alg.as_str().to_owned(),
        key_version: record.key_version,
        min_decryption_version: record.min_decryption_version,
        key_backend: record.key_backend,
        created_at: record.created_at.clone(),
        updated_at: record.updated_at.clone(),
        attestations: Vec::new(),
    }
}
